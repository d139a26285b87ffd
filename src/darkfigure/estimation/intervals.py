"""Interval estimates of N: normal on the log dark figure, and bootstrap BCa."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from darkfigure.errors import EstimationError


@dataclass(frozen=True)
class Interval:
    """A two-sided interval for N at a confidence (or credibility) level.

    ``kind`` names how it was made: ``normal-log``, ``bca``, ``profile``, ``posterior``.
    """

    level: float
    lower: float
    upper: float
    kind: str

    def to_dict(self) -> dict[str, float | str | None]:
        """JSON-ready; an end that is not finite (a profile that never crosses) becomes None."""
        return {"level": self.level, "lower": _finite(self.lower), "upper": _finite(self.upper), "kind": self.kind}

    def covers(self, value: float) -> bool:
        return self.lower <= value <= self.upper


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def normal_log_interval(n_observed: int, log_dark: float, log_dark_se: float, level: float) -> Interval:
    """``n + exp(log n0 -/+ z se)``: normal on the log of the dark figure (SparseMSE's intervals).

    >>> iv = normal_log_interval(100, math.log(50.0), 0.0, 0.95)
    >>> (iv.lower, iv.upper)
    (150.0, 150.0)
    """
    z = norm.ppf(0.5 + level / 2)
    lower = n_observed + math.exp(log_dark - z * log_dark_se)
    upper = n_observed + math.exp(log_dark + z * log_dark_se)
    return Interval(level, lower, upper, "normal-log")


def bca_quantiles(replicates: np.ndarray, estimate: float, acceleration: float, probs: np.ndarray) -> np.ndarray:
    """BCa quantiles (DiCiccio & Efron 1996) as SparseMSE's ``bcaconfvalues``: bias from the share of
    replicates below the estimate, quantiles of type 8 (``median_unbiased``)."""
    z0 = norm.ppf(np.mean(replicates < estimate))
    za = norm.ppf(probs) + z0
    adjusted = norm.cdf(z0 + za / (1 - acceleration * za))
    return np.quantile(replicates, adjusted, method="median_unbiased")


MIN_REPLICATES = 20


def bca_interval(replicates: np.ndarray, estimate: float, acceleration: float, level: float) -> Interval:
    """Two-sided BCa interval at ``level``.

    >>> reps = np.linspace(90, 110, 1001)
    >>> iv = bca_interval(reps, 100.0, 0.0, 0.9)
    >>> round(iv.lower, 1), round(iv.upper, 1)
    (91.0, 109.0)
    """
    below = np.mean(replicates < estimate) if len(replicates) else math.nan
    if len(replicates) < MIN_REPLICATES or not 0 < below < 1 or not math.isfinite(acceleration):
        raise EstimationError(
            f"no BCa interval: {len(replicates)} usable bootstrap replicates, {below:.0%} of them below the "
            f"estimate; it needs at least {MIN_REPLICATES} on both sides"
        )
    alpha = (1 - level) / 2
    lower, upper = bca_quantiles(replicates, estimate, acceleration, np.array([alpha, 1 - alpha]))
    return Interval(level, float(lower), float(upper), "bca")


def jackknife_acceleration(counts: np.ndarray, leave_one_out: np.ndarray) -> float:
    """Acceleration from the leave-one-case-out estimates, one per cell, weighted by the cell counts
    (SparseMSE: each residual counts as often as its capture history occurs)."""
    w = counts.astype(np.float64)
    use = w > 0
    resid = np.sum(w[use] * leave_one_out[use]) / w.sum() - leave_one_out[use]
    denominator = 6.0 * np.sum(w[use] * resid**2) ** 1.5
    return 0.0 if denominator == 0 else float(np.sum(w[use] * resid**3) / denominator)
