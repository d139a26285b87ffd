"""Multinomial profile-likelihood interval for N, as Rcapture's ``closedpCI.t`` computes it.

For a candidate ``N`` the unobserved cell is given the count ``n0 = N - n`` and the Poisson model is
refitted on all ``2^t`` cells (the unobserved cell has only the intercept). The multinomial profile
log-likelihood is ``-(deviance(N) - 2 c(N)) / 2`` with Cormack's (1992) correction
``c = n0 - N - log(n0 / N) / 2`` (exact factorials when ``N <= 100``). Its maximum is the multinomial
estimate; the interval holds the ``N`` whose profile log-likelihood is within
``qchisq(level, 1) / 2`` of it. Roots are found by Brent's method with warm-started GLM fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import gammaln
from scipy.stats import chi2

from darkfigure.errors import EstimationError, InputError
from darkfigure.estimation._glm import PoissonFit, fit_poisson
from darkfigure.estimation.closed import ClosedDesign, closed_design, fit_design, model_label
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories

X_TOLERANCE = 1e-6  # absolute, in units of N (Rcapture's optimize/uniroot use 1e-4)
UPPER_FACTOR = 3.0  # Rcapture's fmaxSupCL: the upper bound is searched up to 3 times the estimate


@dataclass(frozen=True)
class ProfileInterval:
    """Poisson estimate of N with its standard error, and the multinomial profile-likelihood interval.

    ``profile_maximum`` is the multinomial estimate (the profile's maximum). ``lower`` is the number
    observed when the profile never falls low enough below the maximum; ``upper`` is infinite when it
    does not fall low enough by ``3 N`` (both noted in ``warnings``).
    """

    estimate: float
    se: float
    profile_maximum: float
    lower: float
    upper: float
    level: float
    model: str = ""
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        finite = {k: (None if math.isnan(v) or math.isinf(v) else v) for k, v in self._numbers().items()}
        return {"model": self.model, **finite, "level": self.level, "warnings": list(self.warnings)}

    def _numbers(self) -> dict[str, float]:
        return {
            "estimate": self.estimate,
            "se": self.se,
            "profile_maximum": self.profile_maximum,
            "lower": self.lower,
            "upper": self.upper,
        }


def profile_interval(
    histories: CaptureHistories,
    model: str | HierarchicalModel,
    heterogeneity: str | None = None,
    level: float = 0.95,
    *,
    theta: float | None = None,
) -> ProfileInterval:
    """Estimate N with ``model`` and give Rcapture's multinomial profile-likelihood interval.

    ``model`` is M0, Mt, Mh, Mth or a hierarchical model like ``[12,13]``; ``heterogeneity`` adds
    Chao, Poisson, Darroch or Gamma columns.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [60, 40, 12])
    >>> ci = profile_interval(h, "Mt")
    >>> round(ci.estimate, 3), round(ci.profile_maximum, 3), ci.lower < ci.profile_maximum < ci.upper
    (312.0, 307.331, True)
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"level must be between 0 and 1, like 0.95; got {level}")
    design = closed_design(histories, model, heterogeneity, theta)
    if design.form != "standard":
        raise InputError(f"the profile interval needs N = n + exp(intercept); model {model} has another form")
    label = model_label(model, heterogeneity, theta)
    fit = fit_design(design, label)
    if fit.info == -1:
        raise EstimationError(f"model {model} could not be fitted: {'; '.join(fit.warnings)}")
    if any("not of full rank" in w for w in fit.warnings):
        nan = math.nan
        note = ("design matrix not of full rank: no profile interval",)
        return ProfileInterval(fit.abundance, fit.stderr, nan, nan, nan, level, label, note)
    return _interval(_Profile(design), fit.abundance, fit.stderr, level, label)


class _Profile:
    """The multinomial profile log-likelihood of N for one design, refitted warm from the last N."""

    def __init__(self, design: ClosedDesign) -> None:
        unobserved = np.zeros((1, design.x.shape[1]))
        unobserved[0, 0] = 1.0
        self.x = np.ascontiguousarray(np.vstack([design.x, unobserved]))
        self.y = np.append(design.counts, 0.0)
        self.n = float(design.n_observed)
        self.design = design
        self.start: np.ndarray | None = None
        self.values: dict[float, float] = {}

    def __call__(self, total: float) -> float:
        total = float(total)
        if total not in self.values:
            n0 = max(total - self.n, 0.0)
            self.y[-1] = n0
            self.values[total] = -(self._deviance() - 2.0 * cormack(n0, self.n + n0)) / 2.0
        return self.values[total]

    def _deviance(self) -> float:
        x = self.x
        fit = self._fit(x)
        while self.design.chao:  # Rcapture refits without negative eta here too
            negative = [j for j in range(self.design.n_fixed, x.shape[1]) if fit.coefficients[j] < 0]
            if not negative:
                break
            x = np.ascontiguousarray(np.delete(x, negative[0], axis=1))
            try:
                fit = fit_poisson(x, self.y, start=fit.fitted)
            except EstimationError:  # as Chao.neg: keep the last fit when the smaller one fails
                break
        self.start = fit.fitted
        return fit.deviance

    def _fit(self, x: np.ndarray) -> PoissonFit:
        """Warm start from the last fit, the unobserved cell from its new count; cold if that fails."""
        if self.start is not None:
            start = self.start.copy()
            start[-1] = self.y[-1] + 0.1
            try:
                fit = fit_poisson(x, self.y, start=start)
                if fit.converged:
                    return fit
            except EstimationError:
                pass
        return fit_poisson(x, self.y)


def cormack(n0: float, total: float) -> float:
    """Cormack's (1992) correction from the Poisson to the multinomial profile log-likelihood.

    >>> round(cormack(50.0, 250.0), 6)
    -199.195281
    """
    if total > 100:
        if n0 in (0.0, 1.0):
            return -total + 0.5 * math.log(2 * math.pi * total)
        return n0 - total - 0.5 * math.log(n0 / total)
    n0_log_n0 = n0 * math.log(n0) if n0 > 0 else 0.0
    return n0_log_n0 + float(gammaln(total + 1.0)) - total * math.log(total) - float(gammaln(n0 + 1.0))


def _interval(profile: _Profile, estimate: float, se: float, level: float, label: str) -> ProfileInterval:
    n = profile.n
    best = minimize_scalar(
        lambda v: -profile(v), bounds=(n, 1.5 * estimate), method="bounded", options={"xatol": X_TOLERANCE}
    )
    maximum, top = float(best.x), -float(best.fun)
    cut = top - chi2.ppf(level, 1) / 2.0

    def above(v: float) -> float:
        return profile(v) - cut

    warnings: list[str] = []
    if above(n) > 0:
        lower = n
        warnings.append("the CI lower bound is set to the sample size n")
    else:
        lower = brentq(above, n, maximum, xtol=X_TOLERANCE)
    ceiling = UPPER_FACTOR * estimate
    if above(ceiling) > 0:
        upper = math.inf
        warnings.append(
            f"the CI upper bound is larger than {UPPER_FACTOR:g} times the estimate ({ceiling:.1f})"
        )
    else:
        upper = brentq(above, maximum, ceiling, xtol=X_TOLERANCE)
    return ProfileInterval(estimate, se, maximum, float(lower), float(upper), level, label, tuple(warnings))
