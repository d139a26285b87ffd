"""Fitting one hierarchical log-linear model to capture histories, with the extended MLE.

The Poisson GLM is fitted to the observable cells; the estimated dark figure is the fitted value of
the unobservable all-zero cell, ``exp(intercept)``, and ``N = n + exp(intercept)``. Terms whose lists
share no case are fixed at minus infinity (their cells left out), as SparseMSE does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from darkfigure.errors import EstimationError, ModelNotEstimable
from darkfigure.estimation._glm import PoissonFit, fit_poisson
from darkfigure.estimation.existence import (
    check_counts,
    describe_terms,
    empty_terms,
    kept_cells,
    reduced_design,
)
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories


@dataclass(frozen=True)
class LoglinearFit:
    """One fitted log-linear model.

    ``parameters`` counts the estimated parameters plus the empty-overlap terms (as SparseMSE's AIC
    does); ``df`` is fitted cells minus estimated parameters.
    """

    model: HierarchicalModel
    lists: tuple[str, ...]
    n_observed: int
    cells: np.ndarray
    observed: np.ndarray
    glm: PoissonFit
    term_names: tuple[str, ...]
    empty_terms: tuple[str, ...]

    @property
    def dark_figure(self) -> float:
        return float(math.exp(self.glm.coefficients[0]))

    @property
    def estimate(self) -> float:
        return self.n_observed + self.dark_figure

    @property
    def log_dark_figure_se(self) -> float:
        return float(math.sqrt(self.glm.covariance[0, 0]))

    @property
    def se(self) -> float:
        """Standard error of N as Rcapture gives it: ``sqrt(n0^2 var(log n0) + n0)``."""
        n0 = self.dark_figure
        return float(math.sqrt(n0 * n0 * self.glm.covariance[0, 0] + n0))

    @property
    def deviance(self) -> float:
        return self.glm.deviance

    @property
    def loglik(self) -> float:
        return self.glm.loglik

    @property
    def parameters(self) -> int:
        return len(self.term_names) + len(self.empty_terms)

    @property
    def df(self) -> int:
        return len(self.observed) - len(self.term_names)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.parameters

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + self.parameters * math.log(self.n_observed)

    @property
    def fitted(self) -> np.ndarray:
        return self.glm.fitted

    def coefficients(self) -> pd.DataFrame:
        """Coefficients with standard errors (R's ``summary(glm)`` table, less the p-values)."""
        se = np.sqrt(np.diag(self.glm.covariance))
        return pd.DataFrame(
            {"estimate": self.glm.coefficients, "se": se}, index=pd.Index(self.term_names, name="term")
        )

    def name(self, with_names: bool = False) -> str:
        return self.model.name(self.lists if with_names or self.model.n_lists > 9 else None)


def fit_model(
    histories: CaptureHistories,
    model: HierarchicalModel,
    *,
    check: bool = True,
    start: np.ndarray | None = None,
) -> LoglinearFit:
    """Fit ``model`` to ``histories``; refuse (with the reason) a model whose MLE is not usable.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> round(fit_model(h, HierarchicalModel.independence(2)).estimate, 6)  # Lincoln-Petersen
    156.0
    """
    if model.n_lists != histories.n_lists:
        raise ModelNotEstimable(
            f"model {model} is for {model.n_lists} lists; the table has {histories.n_lists}", code=2
        )
    return fit_counts(histories.counts, histories.cells, histories.lists, model, check=check, start=start)


def fit_counts(
    counts: np.ndarray,
    cells: np.ndarray,
    lists: tuple[str, ...],
    model: HierarchicalModel,
    *,
    check: bool = True,
    start: np.ndarray | None = None,
) -> LoglinearFit:
    """:func:`fit_model` on raw cell counts (used in bootstrap loops)."""
    if check:
        verdict = check_counts(counts, cells, model)
        if not verdict.ok:
            raise ModelNotEstimable(f"model {model.name(lists)}: {verdict.message}", code=verdict.code)
        empty = verdict.empty_terms
    else:
        empty = empty_terms(counts, cells, model)
    keep = kept_cells(cells, empty)
    x = reduced_design(model, cells[keep], empty)
    y = counts[keep].astype(np.float64)
    glm = fit_poisson(x, y, start=None if start is None else start[keep])
    if not glm.converged:
        raise EstimationError(
            f"the fit of model {model.name(lists)} did not converge in {glm.iterations} iterations; "
            "its estimate would not be trustworthy: try a simpler model"
        )
    names = tuple(n for n, c in zip(model.term_names(lists), model.columns, strict=True) if c not in empty)
    return LoglinearFit(
        model=model,
        lists=tuple(lists),
        n_observed=int(counts.sum()),
        cells=cells[keep],
        observed=y,
        glm=glm,
        term_names=names,
        empty_terms=tuple(describe_terms(empty, tuple(lists))),
    )
