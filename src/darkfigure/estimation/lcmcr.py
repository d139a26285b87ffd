"""Bayesian nonparametric latent-class capture-recapture (Manrique-Vallier 2016), as the R package
LCMCR fits it and HRDAG uses it: several chains in parallel processes, pooled, with R-hat and
effective sample size of N, and warnings when the chains disagree.

Each entity belongs to one of at most ``K`` latent classes with stick-breaking weights
(concentration ``alpha ~ Gamma(a_alpha, b_alpha)``); within a class the lists capture
independently with probabilities drawn from Beta(1, 1). N has LCMCR's prior p(N) ~ 1/N.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from darkfigure._parallel import available_workers
from darkfigure.errors import InputError
from darkfigure.estimation._lcmcr_kernel import run_chain
from darkfigure.estimation._params import check_int, check_level, check_real, make_rng
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories
from darkfigure.settings import default

WARMUP_SWEEPS = 500  # LCMCR's warm-up at fixed alpha before its burn-in (NPLCM_CR_Basic_Freq.cpp)
RHAT_LIMIT = 1.05  # above this the chains disagree
MIN_ESS = 400  # Vehtari et al. (2021): below this the interval's ends are uncertain


@dataclass(frozen=True)
class _Settings:
    K: int
    a_alpha: float
    b_alpha: float
    burnin: int
    samples: int
    thinning: int
    chains: int
    level: float


@dataclass(frozen=True)
class _ChainDraws:
    """Posterior draws, one row a chain: N, the concentration alpha, and the classes in use."""

    n_total: np.ndarray
    alpha: np.ndarray
    classes_used: np.ndarray


@dataclass
class LCMCR:
    """Latent-class model of Manrique-Vallier (2016), the R package LCMCR's ``lcmCR`` with the
    settings of its manual (K = 10, a_alpha = b_alpha = 0.25, 10,000 sweeps of burn-in, 1,000 draws
    thinned by 100), run as ``chains`` chains in parallel processes.

    The estimate is the posterior median of N over all chains, the interval the central posterior
    interval, ``se`` the posterior standard deviation, ``replicates`` the pooled draws of N (sum them
    draw by draw across strata), ``table`` one row a chain. ``diagnostics`` holds R-hat and effective
    sample sizes of N; ``warnings`` say when the chains disagree (this sampler can sit in one mode of
    the posterior for a long time: see the UK lists in the tests) or when too few draws back the
    interval. The same seed gives the same draws on every run.

    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]],
    ...                                  [50, 40, 30, 60, 5, 4, 6])
    >>> e = LCMCR(K=5, burnin=200, samples=100, thinning=5, chains=2, seed=1).fit(h)
    >>> e.method, e.interval.kind, len(e.replicates), e.interval.lower < e.estimate < e.interval.upper
    ('lcmcr', 'posterior', 200, True)
    """

    K: int = 10
    a_alpha: float = 0.25
    b_alpha: float = 0.25
    burnin: int = 10_000
    samples: int = 1_000
    thinning: int = 100
    chains: int = default("chains")
    level: float = default("level")
    seed: int | np.random.Generator | None = default("seed")

    def fit(self, histories: CaptureHistories) -> Estimate:
        settings = self._checked()
        _check_table(histories)
        generators = chain_generators(self.seed, settings.chains)
        draws = _sample_chains(histories, settings, generators)
        return _estimate(histories, draws, settings)

    def _checked(self) -> _Settings:
        inf = float("inf")
        return _Settings(
            K=check_int("LCMCR", "K", self.K, 1),
            a_alpha=check_real("LCMCR", "a_alpha", self.a_alpha, 0.0, inf, open_low=True),
            b_alpha=check_real("LCMCR", "b_alpha", self.b_alpha, 0.0, inf, open_low=True),
            burnin=check_int("LCMCR", "burnin", self.burnin),
            samples=check_int("LCMCR", "samples", self.samples, 2),
            thinning=check_int("LCMCR", "thinning", self.thinning, 1),
            chains=check_int("LCMCR", "chains", self.chains, 1),
            level=check_level("LCMCR", self.level),
        )


def chain_generators(seed: int | np.random.Generator | None, chains: int) -> list[np.random.Generator]:
    """Independent generators, one a chain, spawned from the seed (the same seed, the same chains).

    >>> [g.integers(100) for g in chain_generators(7, 2)] == [g.integers(100) for g in chain_generators(7, 2)]
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed.spawn(chains)
    make_rng(seed)  # validates the seed
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(chains)]


def _check_table(histories: CaptureHistories) -> None:
    if histories.n_lists < 2:
        raise InputError(f"LCMCR needs at least 2 lists; the table has {histories.n_lists}")
    if histories.n_observed == 0:
        raise InputError("LCMCR needs observed cases; every count in the table is 0")


def _observed_patterns(histories: CaptureHistories) -> tuple[np.ndarray, np.ndarray]:
    """The distinct observed capture patterns and how often each occurs."""
    seen = histories.counts > 0
    return np.ascontiguousarray(histories.patterns[seen], dtype=np.int64), histories.counts[seen].astype(np.int64)


def _one_chain(job: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    patterns, freq, s, rng = job
    return run_chain(patterns, freq, s.K, s.a_alpha, s.b_alpha, WARMUP_SWEEPS, s.burnin, s.samples, s.thinning, rng)


def _compile_once(patterns: np.ndarray, freq: np.ndarray) -> None:
    """Compile (or load from cache) the kernel here, before the workers fork, so they need not."""
    run_chain(patterns[:1], freq[:1], 2, 1.0, 1.0, 0, 0, 2, 1, np.random.default_rng(0))


def _sample_chains(
    histories: CaptureHistories, settings: _Settings, generators: list[np.random.Generator]
) -> _ChainDraws:
    """Run the chains (in parallel processes when there are several) and stack their draws."""
    patterns, freq = _observed_patterns(histories)
    jobs = [(patterns, freq, settings, rng) for rng in generators]
    workers = min(len(jobs), available_workers())
    if workers == 1:
        results = [_one_chain(job) for job in jobs]
    else:
        _compile_once(patterns, freq)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_one_chain, jobs))
    return _ChainDraws(*(np.vstack([r[i] for r in results]) for i in range(3)))


def convergence(n_total: np.ndarray) -> dict[str, float]:
    """Rank-normalised R-hat and bulk and tail effective sample sizes of N (ArviZ), from the
    chains x draws array; one chain is split in two halves for its R-hat.

    >>> d = convergence(np.random.default_rng(0).normal(size=(4, 500)))
    >>> d["rhat"] < 1.01, d["ess_bulk"] > 1000
    (True, True)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    draws = np.asarray(n_total, dtype=np.float64)
    halves = draws if draws.shape[0] > 1 else draws[:, : draws.shape[1] // 2 * 2].reshape(2, -1)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "rhat": float(az.rhat(halves)),
            "ess_bulk": float(az.ess(draws, method="bulk")),
            "ess_tail": float(az.ess(draws, method="tail")),
        }


def _estimate(histories: CaptureHistories, draws: _ChainDraws, s: _Settings) -> Estimate:
    pooled = draws.n_total.ravel().astype(np.float64)
    tail = (1.0 - s.level) / 2.0
    lower, upper = np.quantile(pooled, [tail, 1.0 - tail])
    checks = convergence(draws.n_total)
    medians = np.median(draws.n_total, axis=1)
    diagnostics = {
        **checks,
        "chains": s.chains,
        "K": s.K,
        "a_alpha": s.a_alpha,
        "b_alpha": s.b_alpha,
        "draws_per_chain": s.samples,
        "burnin": s.burnin,
        "thinning": s.thinning,
        "chain_medians": [float(m) for m in medians],
        "classes_used": float(draws.classes_used.mean()),
    }
    return Estimate(
        method="lcmcr",
        lists=histories.lists,
        n_observed=histories.n_observed,
        estimate=float(np.median(pooled)),
        model=f"latent classes K={s.K}",
        intervals=(Interval(s.level, float(lower), float(upper), "posterior"),),
        se=float(pooled.std(ddof=1)),
        table=_chain_table(draws, s.level),
        replicates=pooled,
        warnings=convergence_warnings(checks, medians, pooled) + _table_warnings(histories),
        diagnostics=diagnostics,
    )


def _chain_table(draws: _ChainDraws, level: float) -> pd.DataFrame:
    """One row a chain: its median and central interval of N, median alpha, mean classes in use."""
    tail = (1.0 - level) / 2.0
    return pd.DataFrame(
        {
            "chain": np.arange(1, draws.n_total.shape[0] + 1),
            "median": np.median(draws.n_total, axis=1),
            "lower": np.quantile(draws.n_total, tail, axis=1),
            "upper": np.quantile(draws.n_total, 1.0 - tail, axis=1),
            "alpha": np.median(draws.alpha, axis=1),
            "classes_used": draws.classes_used.mean(axis=1),
        }
    )


def convergence_warnings(checks: dict[str, float], medians: np.ndarray, pooled: np.ndarray) -> tuple[str, ...]:
    """Warnings that name the problem when the chains disagree, when one chain cannot tell, or when
    too few effectively independent draws back the interval.

    >>> convergence_warnings({"rhat": 1.3, "ess_bulk": 900.0, "ess_tail": 900.0},
    ...                      np.array([21000.0, 13000.0]), np.arange(10000.0, 30000.0))[0][:23]
    'the 2 chains disagree ('
    """
    notes = []
    q1, q3 = np.quantile(pooled, [0.25, 0.75])
    outside = [f"{m:,.0f}" for m in medians if not q1 <= m <= q3]
    rhat = checks["rhat"]
    if len(medians) > 1 and (rhat > RHAT_LIMIT or outside):
        notes.append(
            f"the {len(medians)} chains disagree (R-hat of N {rhat:.2f}; chain medians "
            f"{', '.join(f'{m:,.0f}' for m in medians)}): the posterior of N looks multimodal or the chains "
            "have not mixed, and one chain alone would give a misleading answer. Do not trust any single chain; "
            "run longer (more burnin and samples) or more chains until R-hat is below 1.05"
        )
    elif len(medians) == 1:
        notes.append(
            "one chain cannot show whether the sampler found every mode of the posterior of N (on some tables "
            "chains of this sampler sit in different modes); run several chains (chains=4) and check R-hat"
            + (f"; this chain has not settled (split R-hat {rhat:.2f}), run it longer" if rhat > RHAT_LIMIT else "")
        )
    ess = min(checks["ess_bulk"], checks["ess_tail"])
    if ess < MIN_ESS:
        notes.append(
            f"effective sample size of N is only {ess:.0f} (below {MIN_ESS}): the interval's ends are uncertain; "
            "run longer, keep more draws or run more chains"
        )
    return tuple(notes)


def _table_warnings(histories: CaptureHistories) -> tuple[str, ...]:
    if histories.n_lists > 2:
        return ()
    return ("with 2 lists the latent classes are not identified: the posterior of N largely reflects the prior",)
