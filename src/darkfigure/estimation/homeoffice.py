"""The Home Office method behind the UK's 2014 estimate of 10,000 to 13,000 victims (Silverman 2014, 2020).

Start from the main-effects model. At each step, fit every model with one more pairwise interaction;
an interaction qualifies when the model is estimable (its MLE exists and is identifiable, the lists
share at least one case), it lowers the AIC, and its coefficient is significant by a normal Wald test
(two-sided p below ``threshold``). Add the qualifying interaction with the lowest AIC; stop when none
qualifies. The reported figure is the multinomial estimate of Rcapture's ``closedpCI.t`` (the maximum
of the profile likelihood) with its profile-likelihood interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from darkfigure.errors import InputError
from darkfigure.estimation.existence import check_counts
from darkfigure.estimation.loglinear import LoglinearFit, fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.estimation.profile import ProfileInterval, profile_interval
from darkfigure.histories import CaptureHistories


@dataclass(frozen=True)
class HomeOfficeStep:
    """One interaction added: its name, the new model's AIC, the Wald p-value and the Poisson N."""

    term: str
    aic: float
    p_value: float
    estimate: float


@dataclass(frozen=True)
class HomeOfficeEstimate:
    """The model the Home Office method chose, its fit, its profile interval and the steps taken."""

    model: HierarchicalModel
    fit: LoglinearFit
    interval: ProfileInterval
    steps: tuple[HomeOfficeStep, ...]

    @property
    def estimate(self) -> float:
        """The reported N: the multinomial estimate (maximum of the profile likelihood)."""
        return self.interval.profile_maximum

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.fit.name(with_names=True),
            "estimate": self.estimate,
            "interval": self.interval.to_dict(),
            "steps": [vars(step) for step in self.steps],
        }


def home_office(
    histories: CaptureHistories, threshold: float = 0.05, level: float = 0.95
) -> HomeOfficeEstimate:
    """Choose pairwise interactions by AIC and Wald tests, then give the profile-likelihood interval.

    >>> h = CaptureHistories.from_counts(
    ...     [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
    ...     [120, 90, 80, 60, 12, 10, 4])
    >>> result = home_office(h)
    >>> result.model.name(), [s.term for s in result.steps]
    ('[12,3]', ['A:B'])
    """
    if not 0.0 < threshold < 1.0:
        raise InputError(f"threshold must be a p-value between 0 and 1, like 0.05; got {threshold}")
    model = HierarchicalModel.independence(histories.n_lists)
    fit = fit_model(histories, model)
    steps: list[HomeOfficeStep] = []
    while (choice := _best_addition(histories, model, fit, threshold)) is not None:
        model, fit, step = choice
        steps.append(step)
    return HomeOfficeEstimate(model, fit, profile_interval(histories, model, level=level), tuple(steps))


def _best_addition(
    histories: CaptureHistories, model: HierarchicalModel, fit: LoglinearFit, threshold: float
) -> tuple[HierarchicalModel, LoglinearFit, HomeOfficeStep] | None:
    best = None
    for pair in _missing_pairs(model):
        candidate = _try_pair(histories, model, pair)
        if candidate is None:
            continue
        new_model, new_fit, p_value = candidate
        if p_value < threshold and new_fit.aic < fit.aic and (best is None or new_fit.aic < best[1].aic):
            term = ":".join(histories.lists[j] for j in range(histories.n_lists) if pair >> j & 1)
            best = (new_model, new_fit, HomeOfficeStep(term, new_fit.aic, p_value, new_fit.estimate))
    return best


def _missing_pairs(model: HierarchicalModel) -> list[int]:
    pairs = [(1 << a) | (1 << b) for a, b in combinations(range(model.n_lists), 2)]
    return [p for p in pairs if p not in model.terms]


def _try_pair(
    histories: CaptureHistories, model: HierarchicalModel, pair: int
) -> tuple[HierarchicalModel, LoglinearFit, float] | None:
    """Fit the model with ``pair`` added; None when it is not estimable or the pair shares no case."""
    candidate = model.with_term(pair)
    verdict = check_counts(histories.counts, histories.cells, candidate)
    if not verdict.ok or pair in verdict.empty_terms:
        return None
    fit = fit_model(histories, candidate, check=False)
    column = [c for c in candidate.columns if c not in verdict.empty_terms].index(pair)
    z = fit.glm.coefficients[column] / math.sqrt(fit.glm.covariance[column, column])
    return candidate, fit, math.erfc(abs(z) / math.sqrt(2.0))  # two-sided normal p-value
