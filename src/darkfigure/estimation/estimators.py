"""Estimators in the scikit-learn manner: the constructor stores parameters, ``fit`` does the work
and returns a frozen :class:`~darkfigure.estimation.results.Estimate`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from darkfigure.errors import EstimationError
from darkfigure.estimation._params import check_int, check_level, check_lists, check_real, make_rng
from darkfigure.estimation.bootstrap import Progress, bootstrap
from darkfigure.estimation.intervals import Interval, bca_interval, normal_log_interval
from darkfigure.estimation.loglinear import LoglinearFit, fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.estimation.results import Estimate
from darkfigure.estimation.stepwise import StepwisePath, stepwise_path
from darkfigure.histories import CaptureHistories
from darkfigure.settings import default

MAX_FAILED_SHARE = 0.05  # more failed bootstrap replicates than this gets a warning


@dataclass
class Stepwise:
    """Stepwise selection of pairwise interactions with BCa bootstrap intervals (Chan, Silverman &
    Vincent 2021), the selection repeated in every bootstrap replicate.

    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]],
    ...                                  [50, 40, 30, 60, 5, 4, 6])
    >>> e = Stepwise(nboot=50, seed=1).fit(h)
    >>> e.model, e.interval.kind
    ('[A:C,B:C]', 'bca')
    """

    p_threshold: float = default("p_threshold")
    nboot: int = default("nboot")
    level: float = default("level")
    seed: int | np.random.Generator | None = default("seed")
    progress: Progress | None = None

    def fit(self, histories: CaptureHistories) -> Estimate:
        p_threshold = check_real("Stepwise", "p_threshold", self.p_threshold, 0.0, 1.0)
        nboot = check_int("Stepwise", "nboot", self.nboot)
        level = check_level("Stepwise", self.level)
        rng = make_rng(self.seed)
        check_lists("Stepwise", histories.n_lists)
        path = stepwise_path(histories.counts, histories.cells, histories.n_lists, p_threshold)
        fit = fit_model(histories, path.model, check=False)
        estimator = _stepwise_estimator(histories, p_threshold)
        return _with_bootstrap(
            "stepwise", histories, fit, estimator, nboot, level, rng, self.progress,
            table=_steps_table(path, histories), diagnostics={"p_threshold": p_threshold},
        )


@dataclass
class FixedModel:
    """One log-linear model chosen by the user, e.g. ``"[12,13]"`` or ``"[LA:NG,NG:GP]"``.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> e = FixedModel("[1,2]", nboot=0).fit(h)
    >>> round(e.estimate, 6), e.interval.kind
    (156.0, 'profile')
    """

    model: str | HierarchicalModel = "[]"
    nboot: int = 0
    level: float = default("level")
    seed: int | np.random.Generator | None = default("seed")
    progress: Progress | None = None

    def fit(self, histories: CaptureHistories) -> Estimate:
        nboot = check_int("FixedModel", "nboot", self.nboot)
        level = check_level("FixedModel", self.level)
        check_lists("FixedModel", histories.n_lists)
        model = self.model
        if not isinstance(model, HierarchicalModel):
            model = HierarchicalModel.parse(str(model), histories.lists)
        fit = fit_model(histories, model)
        cells, lists = histories.cells, histories.lists

        def estimator(counts: np.ndarray) -> float:
            from darkfigure.estimation.loglinear import fit_counts

            return fit_counts(counts, cells, lists, model).estimate

        result = _with_bootstrap("fixed", histories, fit, estimator, nboot, level, make_rng(self.seed), self.progress)
        from darkfigure.estimation.selection import _profile_of

        profile, notes = _profile_of(histories, model, level)
        return replace(result, intervals=profile + result.intervals, warnings=result.warnings + notes)


def _stepwise_estimator(histories: CaptureHistories, p_threshold: float) -> Callable[[np.ndarray], float]:
    cells, t = histories.cells, histories.n_lists

    def estimator(counts: np.ndarray) -> float:
        return float(counts.sum() + math.exp(stepwise_path(counts, cells, t, p_threshold).intercept))

    return estimator


def _with_bootstrap(
    method: str,
    histories: CaptureHistories,
    fit: LoglinearFit,
    estimator: Callable[[np.ndarray], float],
    nboot: int,
    level: float,
    rng: np.random.Generator,
    progress: Progress | None,
    table: pd.DataFrame | None = None,
    diagnostics: dict | None = None,
) -> Estimate:
    """The Estimate of a log-linear fit, with BCa intervals first when ``nboot > 0``."""
    normal = normal_log_interval(fit.n_observed, math.log(fit.dark_figure), fit.log_dark_figure_se, level)
    intervals: list[Interval] = [normal]
    diagnostics = dict(diagnostics or {})
    warnings: list[str] = []
    replicates = None
    if nboot > 0:
        boot = bootstrap(histories.counts, estimator, nboot, rng, progress)
        replicates = boot.replicates
        try:
            intervals.insert(0, bca_interval(boot.replicates, fit.estimate, boot.acceleration, level))
        except EstimationError as exc:
            warnings.append(str(exc))
        diagnostics.update(nboot=nboot, acceleration=boot.acceleration, bootstrap_failures=boot.failures)
        if boot.failures > MAX_FAILED_SHARE * nboot:
            warnings.append(
                f"{boot.failures:,} of {nboot:,} bootstrap replicates could not be estimated; the BCa interval "
                "rests on the others and may be too narrow"
            )
    return Estimate(
        method=method,
        lists=histories.lists,
        n_observed=histories.n_observed,
        estimate=fit.estimate,
        model=fit.name(with_names=True),
        intervals=tuple(intervals),
        se=fit.se,
        table=table,
        fitted=fitted_table(histories, fit),
        replicates=replicates,
        warnings=tuple(warnings) + _fit_warnings(fit),
        diagnostics=diagnostics | {"deviance": fit.deviance, "df": fit.df, "aic": fit.aic, "bic": fit.bic},
    )


def fitted_table(histories: CaptureHistories, fit: LoglinearFit) -> pd.DataFrame:
    """Observed and fitted counts of every observable cell (0 for cells fixed at zero)."""
    frame = histories.to_frame()
    fitted = np.zeros(len(histories.cells))
    fitted[np.searchsorted(histories.cells, fit.cells)] = fit.fitted
    frame["fitted"] = fitted
    return frame


def _fit_warnings(fit: LoglinearFit) -> tuple[str, ...]:
    if not fit.empty_terms:
        return ()
    return (
        f"the lists of {', '.join(fit.empty_terms)} share no case: those interactions are fixed at minus "
        "infinity (extended MLE) and their cells at zero",
    )


def _steps_table(path: StepwisePath, histories: CaptureHistories) -> pd.DataFrame:
    from darkfigure.estimation.existence import describe_terms

    names = describe_terms(tuple(s.term for s in path.steps), histories.lists)
    return pd.DataFrame(
        {
            "step": range(1, len(path.steps) + 1),
            "added": names,
            "p_value": [s.p_value for s in path.steps],
            "estimate": [s.estimate for s in path.steps],
        }
    )
