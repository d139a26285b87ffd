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
BOOTSTRAP_METHODS = ("stepwise", "bic", "aic", "fixed")
# settings that only some methods use: giving one to another method is refused, not ignored
APPLIES_TO = {
    "model": ("fixed",),
    "max_order": ("bic", "aic"),
    "nboot": BOOTSTRAP_METHODS,
}


def make_estimator(
    method: str = default("method"),
    *,
    model: str | None = None,
    max_order: int | None = None,
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
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    _refuse_inapplicable(method, model=model, max_order=max_order, nboot=nboot)
    boots = (0 if method == "fixed" else default("nboot")) if nboot is None else nboot
    order = default("max_order") if max_order is None else max_order
    common = {"level": level, "seed": seed}
    if method == "stepwise":
        return Stepwise(p_threshold=p_threshold, nboot=boots, progress=progress, **common)
    if method == "fixed":
        if model is None or not str(model).strip():
            raise InputError("--method fixed needs a model, e.g. --model '[12,13]'")
        return FixedModel(model, nboot=boots, progress=progress, **common)
    if method in ("bic", "aic"):
        from darkfigure.estimation.selection import ModelSelection

        return ModelSelection(criterion=method, max_order=order, nboot=boots, progress=progress, **common)
    if method == "lcmcr":
        from darkfigure.estimation.lcmcr import LCMCR

        return LCMCR(K=classes, burnin=burnin, samples=samples, thinning=thinning, chains=chains, **common)
    if method == "dga":
        from darkfigure.estimation.dga import DGA

        return DGA(**common)
    from darkfigure.estimation.selection import ClosedPopulation, HomeOffice

    return ClosedPopulation(level=level) if method == "closed" else HomeOffice(level=level)


def _refuse_inapplicable(method: str, **given: Any) -> None:
    for name, value in given.items():
        if value is not None and method not in APPLIES_TO[name]:
            option = "--" + name.replace("_", "-")
            raise InputError(
                f"{option} does not apply to --method {method}; it is used by {', '.join(APPLIES_TO[name])}"
            )


def estimate(histories: CaptureHistories, method: str = default("method"), **settings: Any) -> Estimate:
    """Estimate N from ``histories`` by ``method`` (see :data:`METHODS`).

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> round(estimate(h, "fixed", model="[1,2]").estimate, 3)
    156.0
    """
    return make_estimator(method, **settings).fit(histories)
