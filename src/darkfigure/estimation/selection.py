"""Estimators over the other engines: closed-population models, the Home Office method and model
selection by information criterion, each returning an :class:`Estimate`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from darkfigure.errors import DarkfigureError, EstimationError, InputError
from darkfigure.estimation._params import check_int, check_level, check_lists, make_rng
from darkfigure.estimation.bootstrap import Progress
from darkfigure.estimation.closed import CLOSED_MODELS, ClosedFit, ClosedModels, closed_models
from darkfigure.estimation.homeoffice import home_office
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.profile import ProfileInterval, profile_interval
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories
from darkfigure.settings import default


@dataclass
class ClosedPopulation:
    """Rcapture's 12 closed-population models (``closedp.t``); the estimate is the model with the
    smallest criterion, with its multinomial profile-likelihood interval.

    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]],
    ...                                  [80, 80, 80, 40, 40, 40, 20])
    >>> e = ClosedPopulation().fit(h)
    >>> e.model, round(e.estimate, 6), e.interval.kind
    ('M0', 540.0, 'profile')
    """

    criterion: str = "bic"
    level: float = default("level")

    def fit(self, histories: CaptureHistories) -> Estimate:
        level = check_level("ClosedPopulation", self.level)
        check_lists("ClosedPopulation", histories.n_lists)
        models = closed_models(histories)
        best = _best_sound(models, self.criterion, histories.n_observed)
        base, kind = next((b, k) for label, b, k in CLOSED_MODELS if label == best.name)
        intervals, warnings = _profile_of(histories, base, level, kind)
        table = models.table().reset_index()
        return Estimate(
            method="closed", lists=histories.lists, n_observed=histories.n_observed, estimate=best.abundance,
            model=best.name, intervals=intervals, se=best.stderr, table=table,
            warnings=tuple(best.warnings) + warnings,
            diagnostics={"criterion": self.criterion, "deviance": best.deviance, "df": best.df,
                         "aic": best.aic, "bic": best.bic},
        )


def _best_sound(models: ClosedModels, criterion: str, n_observed: int) -> ClosedFit:
    """The best model by the criterion among those Rcapture reports without a warning (infoFit 0)
    and whose N is not below the documented count."""
    sound = [f for f in models.fits if f.info == 0 and f.abundance >= n_observed]
    if not sound:
        raise EstimationError(
            "every closed-population model failed or warned (see Rcapture's infoFit); try --method stepwise"
        )
    key = criterion.lower()
    return min(sound, key=lambda f: getattr(f, key))


@dataclass
class HomeOffice:
    """The UK Home Office's 2014 method (Silverman): add the pair that most improves AIC while its
    Wald p-value is below 0.05; report the profile-likelihood maximum and interval.

    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]],
    ...                                  [120, 90, 80, 60, 12, 10, 4])
    >>> HomeOffice().fit(h).model
    '[A:B,C]'
    """

    threshold: float = 0.05
    level: float = default("level")

    def fit(self, histories: CaptureHistories) -> Estimate:
        level = check_level("HomeOffice", self.level)
        check_lists("HomeOffice", histories.n_lists)
        result = home_office(histories, threshold=self.threshold, level=level)
        steps = pd.DataFrame([vars(s) for s in result.steps], columns=["term", "aic", "p_value", "estimate"])
        return Estimate(
            method="homeoffice", lists=histories.lists, n_observed=histories.n_observed,
            estimate=result.estimate, model=result.fit.name(with_names=True),
            intervals=(_as_interval(result.interval),), se=result.interval.se, table=steps,
            warnings=result.interval.warnings,
            diagnostics={"poisson_estimate": result.fit.estimate, "aic": result.fit.aic, "bic": result.fit.bic},
        )


@dataclass
class ModelSelection:
    """The best hierarchical log-linear model by BIC or AIC, over all models up to ``max_order``
    (a downhill search where there are too many to enumerate), with the profile-likelihood interval
    of the chosen model and, when ``nboot > 0``, the BCa interval with the search repeated in every
    bootstrap replicate.

    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]],
    ...                                  [120, 90, 80, 60, 12, 10, 4])
    >>> ModelSelection().fit(h).model
    '[A:B,C]'
    """

    criterion: str = "bic"
    max_order: int = default("max_order")
    nboot: int = 0
    level: float = default("level")
    seed: int | np.random.Generator | None = default("seed")
    progress: Progress | None = None

    def fit(self, histories: CaptureHistories) -> Estimate:
        from darkfigure.estimation.bic import select_model
        from darkfigure.estimation.estimators import _with_bootstrap

        if self.criterion not in ("bic", "aic"):
            raise InputError(
                f"The 'criterion' parameter of ModelSelection must be 'bic' or 'aic'. Got {self.criterion!r} instead."
            )
        max_order = check_int("ModelSelection", "max_order", self.max_order, low=1)
        nboot = check_int("ModelSelection", "nboot", self.nboot)
        level = check_level("ModelSelection", self.level)
        chosen = select_model(histories, criterion=self.criterion, max_order=max_order)
        lists = histories.lists

        def estimator(counts: np.ndarray) -> float:
            replicate = CaptureHistories(lists, np.concatenate([[0], counts]).astype(np.int64))
            return select_model(replicate, criterion=self.criterion, max_order=max_order).best.estimate

        result = _with_bootstrap(
            self.criterion, histories, chosen.best, estimator, nboot, level, make_rng(self.seed), self.progress,
            table=chosen.table, diagnostics={"search": chosen.search, "models_compared": len(chosen.table)},
        )
        profile, warnings = _profile_of(histories, chosen.best.model, level)
        position = 1 if nboot > 0 else 0
        intervals = result.intervals[:position] + profile + result.intervals[position:]
        return _replace(result, intervals=intervals, warnings=result.warnings + warnings)


def _profile_of(
    histories: CaptureHistories, model: object, level: float, heterogeneity: str | None = None
) -> tuple[tuple[Interval, ...], tuple[str, ...]]:
    try:
        profile = profile_interval(histories, model, heterogeneity, level=level)  # type: ignore[arg-type]
    except DarkfigureError as exc:
        return (), (f"no profile-likelihood interval: {exc}",)
    if not np.isfinite(profile.lower):
        return (), profile.warnings
    return (_as_interval(profile),), profile.warnings


def _as_interval(profile: ProfileInterval) -> Interval:
    return Interval(profile.level, profile.lower, profile.upper, "profile")


def _replace(estimate: Estimate, **changes: object) -> Estimate:
    from dataclasses import replace

    return replace(estimate, **changes)  # type: ignore[arg-type]
