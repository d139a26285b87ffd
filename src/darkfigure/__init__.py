"""darkfigure: defensible estimates of hidden populations from organisations' case lists.

>>> from darkfigure import CaptureHistories, Stepwise
>>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
>>> round(Stepwise(nboot=0).fit(h).estimate)
156
"""

from darkfigure.errors import (
    AccessDenied,
    DarkfigureError,
    EstimationError,
    InputError,
    LinkageError,
    ModelNotEstimable,
    PrivacyBudgetExceeded,
)
from darkfigure.estimation import (
    Estimate,
    FixedModel,
    HierarchicalModel,
    Interval,
    Stepwise,
    estimate,
)
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
