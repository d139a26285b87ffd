"""Bayesian model averaging of N over all decomposable graphical models of the lists (Madigan & York
1997), exact, as the R package dga (Johndrow, Lum & Ball; HRDAG).

Each decomposable graph ``g`` has a hyper-Dirichlet prior with ``delta`` prior cases per cell of the
full table, so a margin over ``k`` of the ``t`` lists gets ``delta * 2**(t - k)`` per cell. With ``N0``
cases on no list, the log marginal likelihood of ``g`` is the sum over its cliques minus the sum over
its separators of the Dirichlet-multinomial log marginal of that margin,

    lgamma(A) - lgamma(n + N0 + A) + sum over margin cells of [lgamma(m + a) - lgamma(a)],

with ``A = delta * 2**t``, ``a`` the per-cell prior and ``m`` the margin counts (``N0`` added to the
margin's all-absent cell). Add the multinomial coefficient ``lgamma(n + N0 + 1) - lgamma(N0 + 1) -
sum lgamma(y + 1)`` and the log prior on ``N = n + N0`` (``-log N``, or the negative binomial of
Madigan & York), normalise over every pair (graph, ``N0``) of the grid with equal prior weight on the
graphs, and sum over graphs: that is dga's ``bma.cr``. Summaries follow dga: the mode is the first
grid value of highest probability, a quantile at level ``q`` is the first grid value whose cumulative
probability exceeds ``q``.

The grid of ``N0`` runs from ``min_missing`` (default 1, as in dga's examples, ``Nmissing <- 1:300``;
0 is allowed, and with three lists and a weak prior its mass is not negligible) to ``max_missing``.
The posterior can have a heavy tail (it falls like ``N**-(1 + delta*(2**t - 1))`` under the saturated
graph with the ``1/N`` prior), so the top of the grid can matter: a coarse pilot over ``N0`` on a
geometric scale, extrapolated as a power law, estimates the mass beyond the grid (a warning above
1e-4 of the whole), and chooses the grid when ``max_missing`` is None. For large grids, graphs that
together hold under 1e-10 of the mass on a finer pilot are left out of the exact sums, which then run
compiled (numba, when installed) in threads.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import gammaln

from darkfigure._compile import HAVE_NUMBA, kernel
from darkfigure.errors import InputError
from darkfigure.estimation._params import check_int, check_level, check_real, make_rng
from darkfigure.estimation.graphs import DecomposableGraphs, check_graph_lists, decomposable_graphs
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories

PRIORS = ("1/N", "negbin")
QUANTILE_LEVELS = (0.025, 0.1, 0.5, 0.9, 0.975)
MAX_AUTO_MISSING = 1_000_000  # the automatic grid stops here (work grows with graphs x grid)
TAIL_TOLERANCE = 1e-6  # the automatic grid reaches where less than this share of the posterior lies beyond
TAIL_WARNING = 1e-4  # more than this share beyond the grid gets a warning
PRUNE_SHARE = 1e-10  # graphs that together hold less than this share of the mass are left out of the sums
PRUNE_RATIO = 1.02  # spacing of the geometric part of the pilot that finds them
PILOT_TOP = 1e12  # the pilot over N0 reaches this far; beyond it the tail is extrapolated as a power law
PILOT_RATIO = 1.1  # spacing of the geometric part of the pilots that choose the grid and measure the tail
TAIL_REACH = 1e4  # the tail pilot reaches this many times the grid's top N, then extrapolates
TOP_GRAPHS = 20  # rows of the table
CELLS_PER_CHUNK = 4_000_000  # graphs x grid values held in memory at once
COMPILED_CHUNK = 512  # grid values per call of the compiled kernel (its margins stay in cache)
COMPILED_CUT = 50.0  # the compiled sums skip terms below exp(-50) of the largest (under 1e-12 of the total)


@dataclass(frozen=True)
class Components:
    """Per margin (bit mask ``c`` of lists, 1 .. 2**t - 1): the Dirichlet-multinomial log marginal
    is ``constant[c] + lgamma(N0 + offset[c]) - lgamma(N0 + n + total_prior)``.

    >>> Components.of(np.array([0, 30, 20, 6]), 2, 0.25).offset.tolist()  # cases off the margin's lists + prior
    [20.5, 30.5, 0.25]
    """

    constant: np.ndarray
    offset: np.ndarray
    n_observed: int
    total_prior: float

    @classmethod
    def of(cls, table: np.ndarray, n_lists: int, delta: float) -> Components:
        """Margins of the full table (``table[0]``, the unseen cell, is taken as 0)."""
        cells = np.arange(1 << n_lists)
        counts = table.astype(np.float64).copy()
        counts[0] = 0.0
        total_prior = delta * (1 << n_lists)
        constant, offset = np.zeros(cells.size - 1), np.zeros(cells.size - 1)
        for c in range(1, cells.size):
            prior = delta * (1 << (n_lists - c.bit_count()))
            margin = np.bincount(cells & c, weights=counts, minlength=cells.size)[_submasks(c)]
            constant[c - 1] = (
                gammaln(total_prior) + gammaln(margin[1:] + prior).sum() - margin.size * gammaln(prior)
            )
            offset[c - 1] = margin[0] + prior
        return cls(constant, offset, int(counts.sum()), total_prior)

    def log_ml(self, missing: np.ndarray) -> np.ndarray:
        """Log marginal of every margin at every ``N0``: (2**t - 1) x len(missing)."""
        x = missing[None, :]
        common = gammaln(x + self.n_observed + self.total_prior)
        return self.constant[:, None] + gammaln(x + self.offset[:, None]) - common


def _submasks(c: int) -> np.ndarray:
    """The cells of the margin over lists ``c``, all-absent first (their values in the full mask)."""
    subs = [s for s in range(c + 1) if s & c == s]
    return np.asarray(subs, dtype=np.int64)


@dataclass(frozen=True)
class Joint:
    """The joint posterior log density of (graph, ``N0``), up to a constant."""

    graphs: DecomposableGraphs
    components: Components
    prior: str
    prior_params: tuple[float, ...]

    @property
    def n_observed(self) -> int:
        return self.components.n_observed

    def log_base(self, missing: np.ndarray) -> np.ndarray:
        """Multinomial coefficient (without its constant) plus the log prior of ``N = n + N0``."""
        total = missing + self.n_observed
        base = gammaln(total + 1.0) - gammaln(missing + 1.0)
        if self.prior == "1/N":
            return base - np.log(total)
        a, b = self.prior_params
        negbin = total * math.log(b) - (total + a) * math.log1p(b) + gammaln(total + a) - gammaln(total + 1.0)
        return base + negbin - gammaln(a)

    def log_joint(self, missing: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """All graphs (or the given rows) x ``missing``."""
        rows = np.arange(len(self.graphs)) if rows is None else rows
        log_ml, base = self.margins(missing), self.log_base(missing)
        if HAVE_NUMBA:  # a sparse sum: faster, and no BLAS threads to wait for on a busy machine
            index, weight = self.graphs.sparse
            joint = np.empty((rows.size, missing.size))
            _joint_kernel(index[rows], weight[rows], log_ml, base, joint)
            return joint
        joint = self.graphs.incidence[rows] @ log_ml[:-1]
        joint += base[None, :]
        return joint

    def margins(self, missing: np.ndarray) -> np.ndarray:
        """The margins' log marginals, with a row of zeros below for the padding of ``graphs.sparse``."""
        return np.vstack([self.components.log_ml(missing), np.zeros((1, missing.size))])

    def chunks(self, missing: np.ndarray, n_rows: int) -> list[np.ndarray]:
        size = max(1, CELLS_PER_CHUNK // max(n_rows, 1))
        return [missing[i : i + size] for i in range(0, missing.size, size)]


def _log_sum_columns(values: np.ndarray) -> np.ndarray:
    top = values.max(axis=0)
    return np.log(np.exp(values - top).sum(axis=0)) + top


@dataclass(frozen=True)
class Pilot:
    """The marginal log density of ``N0`` (summed over graphs) on a coarse grid from ``start`` to
    10**12: every whole number below 256, then a geometric scale."""

    points: np.ndarray
    log_density: np.ndarray

    @classmethod
    def of(cls, joint: Joint, start: float, stop: float = PILOT_TOP) -> Pilot:
        points = pilot_points(start, stop, PILOT_RATIO)
        parts = [_log_sum_columns(joint.log_joint(chunk)) for chunk in joint.chunks(points, len(joint.graphs))]
        return cls(points, np.concatenate(parts))

    def suffix_masses(self, scale: float) -> np.ndarray:
        """Mass from each point on, relative to ``exp(scale)``: the log density is taken as linear
        between points, and as a power law past the last."""
        logs = self.log_density - scale
        segments = _segment_masses(self.points, logs)
        tail = _power_tail(self.points, logs)
        return np.concatenate([np.cumsum(segments[::-1])[::-1] + tail, [tail]])


def pilot_points(start: float, stop: float, ratio: float) -> np.ndarray:
    """Whole numbers from ``start`` below 256, then steps of ``ratio`` up to ``stop`` (both included).

    >>> pilot_points(254, 270, 1.025).tolist()
    [254.0, 255.0, 256.0, 262.4, 268.96, 270.0]
    """
    whole = np.arange(start, min(256.0, stop))
    low = max(256.0, float(start))
    steps = np.floor(math.log(stop / low) / math.log(ratio) + 1e-9) if stop > low else 0
    geometric = low * ratio ** np.arange(int(steps) + 1)
    return np.unique(np.concatenate([whole, geometric, [float(stop)]]))


def _segment_masses(x: np.ndarray, logs: np.ndarray) -> np.ndarray:
    """Integral between neighbouring points (along the last axis) of a density whose log is linear
    between them."""
    width, rise = np.diff(x), np.diff(logs, axis=-1)
    flat = np.abs(rise) < 1e-9
    start = np.exp(logs[..., :-1])
    curved = start * np.expm1(np.where(flat, 0.0, rise)) / np.where(flat, 1.0, rise)
    return np.where(flat, start, curved) * width


def _power_tail(x: np.ndarray, logs: np.ndarray) -> float:
    exponent = -(logs[-1] - logs[-2]) / math.log(x[-1] / x[-2])
    return math.inf if exponent <= 1.0 else float(math.exp(logs[-1]) * x[-1] / (exponent - 1.0))


@dataclass(frozen=True)
class Posterior:
    """The exact posterior of ``N = n + N0`` on the grid, with graph probabilities and means."""

    n_observed: int
    missing: np.ndarray
    probability: np.ndarray
    graph_rows: np.ndarray
    graph_probability: np.ndarray
    graph_mean: np.ndarray
    tail_share: float
    n_graphs: int

    @property
    def values(self) -> np.ndarray:
        return self.missing + self.n_observed

    def quantile(self, level: float) -> float:
        """dga's posteriorQuantiles: the first grid value whose cumulative probability exceeds ``level``."""
        above = np.flatnonzero(np.cumsum(self.probability) > level)
        return float(self.values[above[0] if above.size else -1])

    @property
    def mean(self) -> float:
        return float(self.probability @ self.values)

    @property
    def sd(self) -> float:
        return float(math.sqrt(max(self.probability @ (self.values - self.mean) ** 2, 0.0)))

    @property
    def mode(self) -> float:
        return float(self.values[int(np.argmax(self.probability))])

    @property
    def bayes_estimate(self) -> float:
        """Madigan & York's estimate under relative squared error, dga's bayesEstimator."""
        return float((self.probability / self.values).sum() / (self.probability / self.values**2).sum())

    def draws(self, size: int, rng: np.random.Generator) -> np.ndarray:
        cdf = np.cumsum(self.probability)
        index = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
        return self.values[np.minimum(index, self.values.size - 1)].astype(np.float64)


def posterior(joint: Joint, min_missing: int, max_missing: int | None) -> Posterior:
    """The exact posterior over graphs and the grid ``N0 = min_missing .. max_missing`` (chosen when
    None).

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> post = posterior(DGA()._joint(h), 1, 2000)
    >>> post.quantile(0.5), post.mode, post.graph_probability.round(3).tolist()
    (135.0, 57.0, [0.703, 0.297])
    """
    top = max_missing if max_missing is not None else _auto_top(joint, min_missing)
    missing = np.arange(min_missing, top + 1, dtype=np.float64)
    rows = _kept_graphs(joint, min_missing, top)
    marginal, mass, first, scale = _exact_sums(joint, rows, missing)
    reach = TAIL_REACH * (top + joint.n_observed)
    beyond = float(Pilot.of(joint, top + 0.5, reach).suffix_masses(scale)[0])
    total = marginal.sum()
    return Posterior(
        n_observed=joint.n_observed,
        missing=missing.astype(np.int64),
        probability=marginal / total,
        graph_rows=rows,
        graph_probability=mass / total,
        graph_mean=first / np.where(mass > 0, mass, 1.0) + joint.n_observed,
        tail_share=beyond / (beyond + total) if math.isfinite(beyond) else 1.0,
        n_graphs=len(joint.graphs),
    )


def _auto_top(joint: Joint, min_missing: int) -> int:
    """The first pilot point beyond which less than TAIL_TOLERANCE of the mass lies, capped."""
    pilot = Pilot.of(joint, min_missing)
    suffix = pilot.suffix_masses(float(pilot.log_density.max()))
    if not math.isfinite(suffix[0]):
        return MAX_AUTO_MISSING
    small = np.flatnonzero(suffix[:-1] < TAIL_TOLERANCE * suffix[0])
    top = pilot.points[small[0]] if small.size else PILOT_TOP
    return int(min(max(math.ceil(top), min_missing), MAX_AUTO_MISSING))


def _kept_graphs(joint: Joint, min_missing: int, top: int) -> np.ndarray:
    """The graphs that hold all but PRUNE_SHARE of the mass on a fine pilot grid over ``N0``, largest
    first (all of them when the exact sums are small anyway)."""
    n_graphs = len(joint.graphs)
    if n_graphs * (top - min_missing + 1) <= CELLS_PER_CHUNK:
        return np.arange(n_graphs)
    points = pilot_points(min_missing, top, PRUNE_RATIO)
    block = max(1, CELLS_PER_CHUNK // points.size)
    log_mass = np.concatenate(
        [_log_row_masses(joint.log_joint(points, np.arange(i, min(i + block, n_graphs))), points)
         for i in range(0, n_graphs, block)]
    )
    order = np.argsort(-log_mass, kind="stable")
    share = np.exp(log_mass[order] - log_mass.max())
    left = np.cumsum(share[::-1])[::-1] / share.sum()  # share of the graphs from each on
    kept = np.concatenate([[True], left[1:] >= PRUNE_SHARE])
    return np.sort(order[kept])


def _log_row_masses(log_joint: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Log of each row's trapezoid-rule integral over ``points``."""
    spacing = np.diff(points)
    widths = (np.concatenate([spacing, [0.0]]) + np.concatenate([[0.0], spacing])) / 2.0
    top = log_joint.max(axis=1, keepdims=True)
    log_joint -= top
    masses = _exp_relative(log_joint, 0.0) @ np.maximum(widths, 0.5)
    return np.log(np.maximum(masses, 1e-300)) + top[:, 0]


def _exp_relative(values: np.ndarray, scale: float) -> np.ndarray:
    """``exp(values - scale)`` in place; values more than 700 below count as exp(-700) (subnormal
    results would be slow, and these are below 1e-300 of the largest)."""
    values -= scale
    np.maximum(values, -700.0, out=values)
    return np.exp(values, out=values)


Sums = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def _exact_sums(joint: Joint, rows: np.ndarray, missing: np.ndarray) -> Sums:
    """Sums over the kept graphs (per ``N0``) and over the grid (per graph: mass, first moment),
    relative to ``exp(scale)``; compiled, and in threads for large grids, when numba is there."""
    if HAVE_NUMBA:
        return _compiled_sums(joint, rows, missing)
    return _numpy_sums(joint, rows, missing)


def _numpy_sums(joint: Joint, rows: np.ndarray, missing: np.ndarray) -> Sums:
    """With NumPy, chunk by chunk, ``scale`` the largest joint log density met."""
    marginal = np.empty(missing.size)
    mass, first = np.zeros(rows.size), np.zeros(rows.size)
    done, scale = 0, -np.inf
    for chunk in joint.chunks(missing, rows.size):
        log_joint = joint.log_joint(chunk, rows)
        top = float(log_joint.max())
        if top > scale:
            shrink = math.exp(scale - top) if math.isfinite(scale) else 0.0
            marginal[:done] *= shrink
            mass *= shrink
            first *= shrink
            scale = top
        weights = _exp_relative(log_joint, scale)
        marginal[done : done + chunk.size] = weights.sum(axis=0)
        mass += weights.sum(axis=1)
        first += weights @ chunk
        done += chunk.size
    return marginal, mass, first, scale


@dataclass
class DGA:
    """Bayesian model averaging over every decomposable graphical model of the lists (Madigan & York
    1997; R package dga), exact on a grid of the number of unseen cases.

    ``delta`` is the hyper-Dirichlet prior's cases per cell (default ``2**-t``); ``prior`` on N is
    ``"1/N"`` or ``"negbin"`` with ``prior_params=(a, b)`` (log prior ``N log b - (N + a) log(1 + b)
    + lgamma(N + a) - lgamma(N + 1) - lgamma(a)``, mean ``a b``); ``max_missing`` is the top of the
    grid of unseen cases (None: chosen so that under 1e-6 of the posterior lies beyond, at most
    1,000,000). The estimate is the posterior median, the interval the equal-tailed posterior
    interval, ``se`` the posterior standard deviation; ``replicates`` holds ``ndraws`` draws from the
    posterior when a ``seed`` is given. Up to 6 lists.

    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[1,1,0],[0,0,1],[1,0,1],[0,1,1],[1,1,1]],
    ...                                  [60, 49, 4, 247, 112, 142, 12])
    >>> e = DGA(delta=1.0, max_missing=300).fit(h)
    >>> e.estimate, e.interval.lower, e.interval.upper, round(e.diagnostics["posterior_mean"], 2)
    (732.0, 682.0, 798.0, 733.72)
    """

    delta: float | None = None
    prior: str = "1/N"
    prior_params: tuple[float, float] | None = None
    max_missing: int | None = None
    min_missing: int = 1
    level: float = 0.95
    seed: int | np.random.Generator | None = None
    ndraws: int = 10_000

    def fit(self, histories: CaptureHistories) -> Estimate:
        check_graph_lists(histories.n_lists)
        joint = self._joint(histories)
        min_missing = check_int("DGA", "min_missing", self.min_missing, 0)
        max_missing = self.max_missing
        if max_missing is not None:
            max_missing = check_int("DGA", "max_missing", max_missing, max(min_missing, 1))
        level = check_level("DGA", self.level)
        post = posterior(joint, min_missing, max_missing)
        draws = None
        if self.seed is not None:
            draws = post.draws(check_int("DGA", "ndraws", self.ndraws, 1), make_rng(self.seed))
        return _estimate(histories, joint, post, level, draws, auto=max_missing is None)

    def _joint(self, histories: CaptureHistories) -> Joint:
        t = histories.n_lists
        delta = 2.0**-t if self.delta is None else check_real("DGA", "delta", self.delta, 0.0, math.inf, open_low=True)
        if histories.n_observed == 0:
            raise InputError("DGA needs at least one observed case; the table is empty")
        table = np.concatenate([[0], histories.counts])
        return Joint(decomposable_graphs(t), Components.of(table, t, delta), *_prior(self.prior, self.prior_params))


def _prior(prior: str, params: tuple[float, float] | None) -> tuple[str, tuple[float, ...]]:
    if prior not in PRIORS:
        raise InputError(f"The 'prior' parameter of DGA must be one of {', '.join(PRIORS)}. Got {prior!r} instead.")
    if prior == "1/N":
        if params is not None:
            raise InputError(f"the 1/N prior takes no prior_params; got {params!r}. Use prior='negbin' for (a, b).")
        return prior, ()
    if params is None or len(params) != 2:
        raise InputError(
            f"the negbin prior needs prior_params=(a, b), two positive numbers (mean a*b); got {params!r}"
        )
    a, b = (check_real("DGA", name, v, 0.0, math.inf, open_low=True) for name, v in zip("ab", params, strict=True))
    return prior, (a, b)


def _estimate(
    histories: CaptureHistories, joint: Joint, post: Posterior, level: float, draws: np.ndarray | None, auto: bool
) -> Estimate:
    alpha = (1.0 - level) / 2.0
    best = int(np.argmax(post.graph_probability))
    lists = histories.lists
    quantiles = {f"{q:g}": post.quantile(q) for q in QUANTILE_LEVELS}
    diagnostics = {
        "posterior_mean": post.mean,
        "posterior_mode": post.mode,
        "posterior_sd": post.sd,
        "bayes_estimate": post.bayes_estimate,
        "quantiles": quantiles,
        "best_graph_probability": float(post.graph_probability[best]),
        "delta": joint.components.total_prior / (1 << histories.n_lists),
        "prior": joint.prior if not joint.prior_params else f"{joint.prior}{joint.prior_params}",
        "max_missing": int(post.missing[-1]),
        "share_beyond_grid": post.tail_share,
        "graphs": post.n_graphs,
        "graphs_summed": int(post.graph_rows.size),
    }
    return Estimate(
        method="dga",
        lists=lists,
        n_observed=histories.n_observed,
        estimate=post.quantile(0.5),
        model=joint.graphs.name(int(post.graph_rows[best]), lists),
        intervals=(Interval(level, post.quantile(alpha), post.quantile(1.0 - alpha), "posterior"),),
        se=post.sd,
        table=_graph_table(joint.graphs, post, lists),
        replicates=draws,
        warnings=_grid_warnings(post, auto),
        diagnostics=diagnostics,
    )


def _graph_table(graphs: DecomposableGraphs, post: Posterior, lists: tuple[str, ...]) -> pd.DataFrame:
    order = np.argsort(-post.graph_probability, kind="stable")[:TOP_GRAPHS]
    return pd.DataFrame(
        {
            "model": [graphs.name(int(post.graph_rows[i]), lists) for i in order],
            "probability": post.graph_probability[order],
            "mean": post.graph_mean[order],
        }
    )


def _grid_warnings(post: Posterior, auto: bool) -> tuple[str, ...]:
    if post.tail_share <= TAIL_WARNING:
        return ()
    top = int(post.values[-1])
    advice = (
        f"the automatic grid stops at {MAX_AUTO_MISSING:,} unseen cases"
        if auto
        else "raise max_missing (or leave it None to choose the grid)"
    )
    return (
        f"posterior mass reaches the top of the grid: about {post.tail_share:.2%} of the posterior lies beyond "
        f"N = {top:,}, so the estimate and interval depend on where the grid stops; {advice}, or use a larger "
        "delta or an informative prior on N (prior='negbin')",
    )


def _compiled_sums(joint: Joint, rows: np.ndarray, missing: np.ndarray) -> Sums:
    """With the compiled kernel, chunks of the grid in parallel threads; ``scale`` the largest joint
    log density on a coarse grid (the NumPy sums take over in the rare case the exact grid exceeds
    it by more than 600)."""
    index, weight = (part[rows] for part in joint.graphs.sparse)
    scale = float(joint.log_joint(pilot_points(missing[0], missing[-1], PRUNE_RATIO), rows).max())
    chunks = [missing[i : i + COMPILED_CHUNK] for i in range(0, missing.size, COMPILED_CHUNK)]

    def run(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        marginal, mass, first = np.zeros(chunk.size), np.zeros(rows.size), np.zeros(rows.size)
        log_ml, base = joint.margins(chunk), joint.log_base(chunk)
        top = _grid_kernel(index, weight, log_ml, base, chunk, scale, COMPILED_CUT, marginal, mass, first)
        return marginal, mass, first, top

    if len(chunks) == 1:
        parts = [run(chunks[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1, 8)) as pool:
            parts = list(pool.map(run, chunks))
    if max(part[3] for part in parts) > 600.0:  # pragma: no cover - the coarse grid missed a peak widely
        return _numpy_sums(joint, rows, missing)
    mass = np.sum([part[1] for part in parts], axis=0)
    first = np.sum([part[2] for part in parts], axis=0)
    return np.concatenate([part[0] for part in parts]), mass, first, scale


@kernel
def _joint_kernel(index, weight, log_ml, base, joint):  # type: ignore[no-untyped-def]
    """``joint[g] = base + sum over k of weight[g, k] * log_ml[index[g, k]]``."""
    n_graphs, width = index.shape
    for g in range(n_graphs):
        row = joint[g]
        for j in range(base.shape[0]):
            row[j] = base[j]
        for k in range(width):
            w, margin = weight[g, k], log_ml[index[g, k]]
            for j in range(base.shape[0]):
                row[j] += w * margin[j]


@kernel
def _grid_kernel(index, weight, log_ml, base, missing, scale, cut, marginal, mass, first):  # type: ignore[no-untyped-def]
    """For each graph and ``N0`` (column of ``log_ml``): the joint log density relative to ``scale``
    and, where it is above ``-cut``, its exponential summed per ``N0`` (into ``marginal``) and per
    graph (``mass``, and ``first`` times ``N0``). Returns the largest relative log density met."""
    n_graphs, width = index.shape
    size = missing.shape[0]
    value = np.empty(size)
    top = -np.inf
    for g in range(n_graphs):
        for j in range(size):
            value[j] = base[j] - scale
        for k in range(width):
            w, margin = weight[g, k], log_ml[index[g, k]]
            for j in range(size):
                value[j] += w * margin[j]
        for j in range(size):
            top = max(top, value[j])
            if value[j] > -cut:
                share = math.exp(value[j])
                marginal[j] += share
                mass[g] += share
                first[g] += share * missing[j]
    return top
