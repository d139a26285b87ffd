"""The nonparametric bootstrap of an estimator of N, repeating model selection in every replicate.

Replicates resample the observed cases (a multinomial draw of ``n`` over the observed cells), as
SparseMSE's ``estimatepopulation`` does; the acceleration of the BCa interval comes from the
jackknife, leaving out one case of each capture history in turn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from darkfigure.errors import DarkfigureError
from darkfigure.estimation.intervals import jackknife_acceleration

CountsEstimator = Callable[[np.ndarray], float]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap replicates of N, the jackknife acceleration and how many replicates failed."""

    replicates: np.ndarray
    acceleration: float
    failures: int


def bootstrap(
    counts: np.ndarray,
    estimator: CountsEstimator,
    nboot: int,
    rng: np.random.Generator,
    progress: Progress | None = None,
) -> BootstrapResult:
    """Run ``estimator`` on ``nboot`` resampled tables and on the jackknife tables.

    A replicate whose estimator fails (a resampled table too sparse for it) is dropped and counted in
    ``failures``; the caller decides whether too many failed.

    >>> counts = np.array([30, 20, 6])
    >>> lp = lambda c: (c[0] + c[2]) * (c[1] + c[2]) / c[2] if c[2] else math.nan
    >>> res = bootstrap(counts, lp, 200, np.random.default_rng(1))
    >>> 120 < float(np.median(res.replicates)) < 200, res.failures
    (True, 0)
    """
    n = int(counts.sum())
    probabilities = counts / n
    draws = rng.multinomial(n, probabilities, size=nboot)
    values = np.empty(nboot)
    for b in range(nboot):
        values[b] = _safe(estimator, draws[b])
        if progress is not None:
            progress(b + 1, nboot)
    jack = np.array([_leave_one_out(estimator, counts, k) for k in range(len(counts))])
    ok = np.isfinite(values)
    finite = np.isfinite(jack)
    jack = np.where(finite, jack, np.mean(jack[finite]) if finite.any() else 0.0)
    acceleration = jackknife_acceleration(counts, jack) if finite.any() else math.nan
    return BootstrapResult(values[ok], acceleration, int((~ok).sum()))


def _leave_one_out(estimator: CountsEstimator, counts: np.ndarray, k: int) -> float:
    if counts[k] == 0:
        return 0.0
    reduced = counts.copy()
    reduced[k] -= 1
    return _safe(estimator, reduced)


def _safe(estimator: CountsEstimator, counts: np.ndarray) -> float:
    try:
        value = float(estimator(counts))
    except (DarkfigureError, np.linalg.LinAlgError, ZeroDivisionError):
        return math.nan  # this resample is too sparse for the estimator: counted as a failure
    return value if math.isfinite(value) else math.nan
