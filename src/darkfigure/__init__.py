"""darkfigure: defensible estimates of hidden populations from organisations' case lists.

>>> from darkfigure import CaptureHistories, Stepwise
>>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
>>> round(Stepwise(nboot=0).fit(h).estimate)
156

The estimation names load on first use (PEP 562), so ``import darkfigure.casestore`` or the command
line's help do not pay for SciPy and numba.
"""

from __future__ import annotations

import importlib
import typing

from darkfigure.errors import (
    AccessDenied,
    DarkfigureError,
    EstimationError,
    InputError,
    LinkageError,
    ModelNotEstimable,
    PrivacyBudgetExceeded,
)

if typing.TYPE_CHECKING:
    from darkfigure.estimation import Estimate, FixedModel, HierarchicalModel, Interval, Stepwise, estimate
    from darkfigure.histories import CaptureHistories

__all__ = [
    "AccessDenied",
    "CaptureHistories",
    "DarkfigureError",
    "Estimate",
    "EstimationError",
    "FixedModel",
    "HierarchicalModel",
    "InputError",
    "Interval",
    "LinkageError",
    "ModelNotEstimable",
    "PrivacyBudgetExceeded",
    "Stepwise",
    "estimate",
]
__version__ = "0.1.0"

_MODULE_OF = {
    "CaptureHistories": "darkfigure.histories",
    **dict.fromkeys(("Estimate", "FixedModel", "HierarchicalModel", "Interval", "Stepwise", "estimate"),
                    "darkfigure.estimation"),
}


def __getattr__(name: str) -> typing.Any:
    """Import a public name from its module on first use, then keep it here."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names with every public name, imported or not yet."""
    return sorted({*globals(), *__all__})
