"""One entry point over every estimator: ``estimate(histories, method=..., **settings)``."""

from __future__ import annotations

from typing import Any

from darkfigure.errors import InputError
from darkfigure.estimation.bootstrap import Progress
from darkfigure.estimation.estimators import FixedModel, Stepwise
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories
from darkfigure.settings import default

METHODS = ("stepwise", "bic", "aic", "fixed", "closed", "homeoffice", "lcmcr", "dga")


def make_estimator(
    method: str = default("method"),
    *,
    model: str | None = None,
    max_order: int = default("max_order"),
    p_threshold: float = default("p_threshold"),
    nboot: int | None = None,
    level: float = default("level"),
    seed: int | None = default("seed"),
    chains: int = default("chains"),
    classes: int = default("classes"),
    burnin: int = default("burnin"),
    samples: int = default("samples"),
    thinning: int = default("thinning"),
    progress: Progress | None = None,
) -> Any:
    """The estimator object for ``method`` with the given settings.

    >>> make_estimator("stepwise", nboot=10)
    Stepwise(p_threshold=0.02, nboot=10, level=0.95, seed=None, progress=None)
    """
    if method == "stepwise":
        boots = default("nboot") if nboot is None else nboot
        return Stepwise(p_threshold=p_threshold, nboot=boots, level=level, seed=seed, progress=progress)
    if method == "fixed":
        if model is None:
            raise InputError("--method fixed needs a model, e.g. --model '[12,13]'")
        return FixedModel(model, nboot=nboot or 0, level=level, seed=seed, progress=progress)
    if method in ("bic", "aic"):
        from darkfigure.estimation.selection import ModelSelection

        boots = default("nboot") if nboot is None else nboot  # the search is repeated in every replicate
        return ModelSelection(
            criterion=method, max_order=max_order, nboot=boots, level=level, seed=seed, progress=progress
        )
    if method == "closed":
        from darkfigure.estimation.selection import ClosedPopulation

        return ClosedPopulation(level=level)
    if method == "lcmcr":
        from darkfigure.estimation.lcmcr import LCMCR

        return LCMCR(K=classes, burnin=burnin, samples=samples, thinning=thinning, chains=chains, level=level,
                     seed=seed)
    if method == "dga":
        from darkfigure.estimation.dga import DGA

        return DGA(level=level, seed=seed)
    if method == "homeoffice":
        from darkfigure.estimation.selection import HomeOffice

        return HomeOffice(level=level)
    raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def estimate(histories: CaptureHistories, method: str = default("method"), **settings: Any) -> Estimate:
    """Estimate N from ``histories`` by ``method`` (see :data:`METHODS`).

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> round(estimate(h, "fixed", model="[1,2]").estimate, 3)
    156.0
    """
    return make_estimator(method, **settings).fit(histories)
