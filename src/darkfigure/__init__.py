"""darkfigure: defensible estimates of hidden populations from organisations' case lists."""

from darkfigure.errors import DarkfigureError, EstimationError, InputError
from darkfigure.histories import CaptureHistories

__all__ = ["CaptureHistories", "DarkfigureError", "EstimationError", "InputError"]
__version__ = "0.1.0"
