"""The latent-class sampler (LCMCR): compiled and plain Python agree draw for draw, a seed gives the
same draws, bad parameters are refused, and the posterior is calibrated on tables simulated from the
model itself (simulation-based calibration, Talts et al. 2018)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import darkfigure
from darkfigure import _compile
from darkfigure.errors import InputError
from darkfigure.estimation._lcmcr_kernel import _multinomial, run_chain
from darkfigure.estimation.lcmcr import (
    LCMCR,
    chain_generators,
    convergence,
    convergence_warnings,
)
from darkfigure.estimation.lcmcr import _sample_chains as sample_chains
from darkfigure.estimation.loglinear import fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories
from darkfigure.simulate.tables import mixture_probabilities, sample_table

# A 4-list table with patterns seen once, a few times and hundreds of times, so that every branch
# of the multinomial draws runs (categorical draws and conditional binomials).
PATTERNS = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [1, 0, 1, 0],
            [0, 1, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]]
COUNTS = [403, 545, 33, 621, 20, 35, 1, 205, 6, 3]
SHORT = dict(n_classes=6, a_alpha=0.25, b_alpha=0.25, warmup=20, burnin=30, samples=25, thinning=2)

PLAIN_CHAIN = """
import json, sys
import numpy as np
from darkfigure import _compile
from darkfigure.estimation._lcmcr_kernel import run_chain
args = json.loads(sys.argv[1])
draws = run_chain(np.array(args["patterns"], dtype=np.int64), np.array(args["counts"], dtype=np.int64),
                  *args["settings"], np.random.default_rng(args["seed"]))
print(json.dumps({"have_numba": _compile.HAVE_NUMBA, "draws": [d.tolist() for d in draws]}))
"""


def short_chain(seed: int) -> tuple[np.ndarray, ...]:
    patterns = np.array(PATTERNS, dtype=np.int64)
    return run_chain(patterns, np.array(COUNTS, dtype=np.int64), *SHORT.values(), np.random.default_rng(seed))


def table(patterns: list[list[int]], counts: list[int]) -> CaptureHistories:
    return CaptureHistories.from_counts(patterns, counts)


@pytest.mark.skipif(not _compile.HAVE_NUMBA, reason="numba not installed: only the plain path exists")
def test_compiled_and_plain_python_give_identical_draws(seed: int) -> None:
    environment = dict(os.environ, DARKFIGURE_NO_NUMBA="1")
    package_root = str(Path(darkfigure.__file__).resolve().parents[1])
    environment["PYTHONPATH"] = os.pathsep.join([package_root, environment.get("PYTHONPATH", "")])
    arguments = json.dumps({"patterns": PATTERNS, "counts": COUNTS, "settings": list(SHORT.values()), "seed": seed})
    done = subprocess.run([sys.executable, "-c", PLAIN_CHAIN, arguments], capture_output=True, text=True,
                          env=environment, check=True, timeout=300)
    plain = json.loads(done.stdout)
    assert plain["have_numba"] is False
    compiled = short_chain(seed)
    for ours, theirs in zip(compiled, plain["draws"], strict=True):
        assert ours.tolist() == theirs  # exact: the same floats, not merely close
    assert len(set(compiled[0].tolist())) > 5  # the chain moved


def test_same_seed_same_draws_different_seed_different_draws(seed: int) -> None:
    first, again, other = short_chain(seed), short_chain(seed), short_chain(seed + 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_parallel_chains_are_the_chains_of_their_seeds(seed: int) -> None:
    h = table(PATTERNS, COUNTS)
    fitter = LCMCR(K=5, burnin=50, samples=20, thinning=2, chains=3, seed=seed)
    parallel = fitter.fit(h)
    settings = fitter._checked()
    by_chain = [sample_chains(h, settings, [g]).n_total[0] for g in chain_generators(seed, 3)]
    assert parallel.replicates.tolist() == np.concatenate(by_chain).tolist()
    assert fitter.fit(h).replicates.tolist() == parallel.replicates.tolist()


def test_estimate_is_pooled_posterior_median_with_central_interval(seed: int) -> None:
    h = table(PATTERNS, COUNTS)
    e = LCMCR(K=5, burnin=200, samples=200, thinning=3, chains=2, level=0.9, seed=seed).fit(h)
    draws = e.replicates
    assert (e.method, e.model, e.n_observed) == ("lcmcr", "latent classes K=5", sum(COUNTS))
    assert len(draws) == 400 and draws.min() >= sum(COUNTS)
    assert e.estimate == np.median(draws)
    iv = e.interval
    assert (iv.kind, iv.level) == ("posterior", 0.9)
    assert (iv.lower, iv.upper) == tuple(np.quantile(draws, [0.05, 0.95]))
    assert e.diagnostics["chains"] == 2 and len(e.diagnostics["chain_medians"]) == 2
    assert {"rhat", "ess_bulk", "ess_tail"} <= set(e.diagnostics)
    assert list(e.table["chain"]) == [1, 2]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("K", 0, "The 'K' parameter of LCMCR must be an int in the range [1, inf). Got 0 instead."),
        ("K", 2.5, "The 'K' parameter of LCMCR must be an int"),
        ("a_alpha", 0.0, "The 'a_alpha' parameter of LCMCR must be a float in the range (0.0, inf]. Got 0.0"),
        ("b_alpha", -1, "The 'b_alpha' parameter of LCMCR must be a float in the range (0.0, inf]"),
        ("burnin", -1, "The 'burnin' parameter of LCMCR must be an int in the range [0, inf). Got -1 instead."),
        ("samples", 1, "The 'samples' parameter of LCMCR must be an int in the range [2, inf). Got 1 instead."),
        ("thinning", 0, "The 'thinning' parameter of LCMCR must be an int in the range [1, inf)."),
        ("chains", 0, "The 'chains' parameter of LCMCR must be an int in the range [1, inf)."),
        ("level", 1.0, "The 'level' parameter of LCMCR must be a float in the range (0, 1)"),
        ("seed", -3, "The 'seed' parameter must be a non-negative int or None. Got -3 instead."),
    ],
)
def test_bad_parameters_are_refused_with_sklearn_messages(name: str, value: object, message: str) -> None:
    with pytest.raises(InputError) as caught:
        LCMCR(**{name: value}).fit(table(PATTERNS, COUNTS))
    assert str(caught.value).startswith(message)


def test_one_class_is_model_mt_and_agrees_with_its_estimate(seed: int) -> None:
    # K = 1: every entity in one class, lists independent (Rcapture's Mt). With 1,900 cases seen
    # the prior p(N) ~ 1/N and the flat priors of the capture probabilities matter little.
    h = sample_table(mixture_probabilities([[0.3, 0.4, 0.2, 0.5]], [1.0]), 3000, np.random.default_rng(seed))
    mt = fit_model(h, HierarchicalModel.independence(4))
    e = LCMCR(K=1, burnin=500, samples=1000, thinning=2, chains=2, seed=seed).fit(h)
    assert abs(e.estimate - mt.estimate) < 0.2 * mt.se
    assert abs(e.se - mt.se) < 0.1 * mt.se


def test_tables_it_cannot_use_are_refused() -> None:
    with pytest.raises(InputError, match="at least 2 lists"):
        LCMCR().fit(CaptureHistories(("A",), np.array([0, 5])))
    with pytest.raises(InputError, match="every count in the table is 0"):
        LCMCR().fit(CaptureHistories(("A", "B"), np.array([0, 0, 0, 0])))


def test_two_lists_warn_that_classes_are_not_identified(seed: int) -> None:
    e = LCMCR(K=3, burnin=50, samples=50, thinning=1, chains=2, seed=seed).fit(table([[1, 0], [0, 1], [1, 1]],
                                                                                    [30, 20, 6]))
    assert any("not identified" in w for w in e.warnings)


def test_multinomial_draws_keep_every_entity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    out = np.zeros(4, dtype=np.int64)
    for size in (0, 1, 7, 12, 13, 500, 10**6):
        _multinomial(rng, size, np.array([0.5, 1e-9, 0.3, 0.2]), out)
        assert out.sum() == size and out.min() >= 0
    _multinomial(rng, 10**6, np.array([0.5, 0.0, 0.3, 0.2]), out)
    assert out[1] == 0 and abs(out[0] / 10**6 - 0.5) < 0.005  # 5 standard errors is 0.0025


def test_diagnostics_and_warnings_of_agreeing_and_disagreeing_chains(seed: int) -> None:
    rng = np.random.default_rng(seed)
    agree = rng.normal(20000, 3000, size=(4, 1000))
    checks = convergence(agree)
    assert checks["rhat"] < 1.01 and checks["ess_bulk"] > 3000
    assert convergence_warnings(checks, np.median(agree, axis=1), agree.ravel()) == ()
    apart = agree.copy()
    apart[1] -= 8000  # one chain in another mode, as LCMCR on the UK lists (REFERENCE.md)
    checks = convergence(apart)
    notes = convergence_warnings(checks, np.median(apart, axis=1), apart.ravel())
    assert checks["rhat"] > 1.05
    assert "chains disagree" in notes[0] and "multimodal" in notes[0] and "Do not trust any single chain" in notes[0]


def test_one_chain_says_it_cannot_check_for_other_modes(seed: int) -> None:
    e = LCMCR(K=5, burnin=100, samples=100, thinning=2, chains=1, seed=seed).fit(table(PATTERNS, COUNTS))
    assert np.isfinite(e.diagnostics["rhat"])  # split R-hat of the one chain
    assert any("one chain cannot show" in w for w in e.warnings)


# --- simulation-based calibration -------------------------------------------------------------


def prior_population(rng: np.random.Generator, n_classes: int, n_lists: int) -> tuple[np.ndarray, np.ndarray]:
    """Class weights and capture probabilities from LCMCR's prior: truncated stick-breaking with
    alpha ~ Gamma(0.25, rate 0.25), capture probabilities uniform."""
    alpha = rng.gamma(0.25, 1 / 0.25)
    breaks = 1.0 - rng.random(n_classes - 1) ** (1.0 / alpha)  # Beta(1, alpha) by inversion
    rest = np.concatenate([[1.0], np.cumprod(1.0 - breaks)])
    weights = np.append(breaks * rest[:-1], rest[-1])
    return weights, rng.random((n_classes, n_lists))


def calibration_rank(rng: np.random.Generator, replicate: int, n_seen: int, n_lists: int, k: int) -> int:
    """Rank of the true N among the posterior draws for one table drawn from the model.

    LCMCR's prior p(N) ~ 1/N is improper, but with the number seen n held fixed the posterior is that
    of a proper model: parameters from their prior, n patterns from the mixture given they were seen,
    and n0 ~ NegativeBinomial(n, P(seen)) (the full conditional the sampler draws n0 from).
    """
    weights, capture = prior_population(rng, k, n_lists)
    cells = mixture_probabilities(capture, weights)
    seen = rng.multinomial(n_seen, cells[1:] / cells[1:].sum())
    n_total = n_seen + rng.negative_binomial(n_seen, 1.0 - cells[0])
    h = CaptureHistories(tuple("ABCDEFGH"[:n_lists]), np.concatenate([[0], seen]))
    draws = LCMCR(K=k, burnin=1000, samples=99, thinning=20, chains=1, seed=replicate).fit(h).replicates
    return int((draws < n_total).sum() + rng.integers(0, (draws == n_total).sum() + 1))


def calibration_p_value(replications: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    ranks = np.array([calibration_rank(rng, r, 300, 5, 10) for r in range(replications)])
    counts = np.bincount(ranks // 10, minlength=10)  # 100 possible ranks in 10 bins
    return float(stats.chisquare(counts).pvalue)


def test_posterior_of_n_is_calibrated_on_tables_from_the_model(seed: int) -> None:
    assert calibration_p_value(150, seed) > 0.001


@pytest.mark.slow
def test_posterior_of_n_is_calibrated_on_tables_from_the_model_long(seed: int) -> None:
    assert calibration_p_value(1000, seed + 1) > 0.001


def test_interval_covers_truth_with_a_hidden_group_ten_times_less_visible(seed: int) -> None:
    # Two groups of 2,000: one caught by each of 5 lists with probability 0.8, the other with 0.08.
    # Independence (Mt) misses most of the hidden group; the latent classes find it.
    rng = np.random.default_rng(seed)
    cells = mixture_probabilities([[0.8] * 5, [0.08] * 5], [0.5, 0.5])
    covered = 0
    for replicate in range(4):
        h = sample_table(cells, 4000, rng)
        assert fit_model(h, HierarchicalModel.independence(5)).estimate < 3000
        e = LCMCR(burnin=2000, samples=500, thinning=10, chains=2, seed=replicate).fit(h)
        covered += e.interval.covers(4000)
    assert covered >= 3
