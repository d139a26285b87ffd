"""Estimation of the hidden total by multiple systems estimation.

Estimators store their settings in the constructor and do the work in ``fit(histories)``, which
returns a frozen :class:`Estimate`.
"""

from darkfigure.estimation.api import METHODS, estimate, make_estimator
from darkfigure.estimation.estimators import FixedModel, Stepwise
from darkfigure.estimation.existence import Estimability, check_estimable
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.loglinear import LoglinearFit, fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.estimation.results import Estimate
from darkfigure.estimation.sensitivity import sensitivity_table

__all__ = [
    "METHODS",
    "Estimability",
    "Estimate",
    "FixedModel",
    "HierarchicalModel",
    "Interval",
    "LoglinearFit",
    "Stepwise",
    "check_estimable",
    "estimate",
    "fit_model",
    "make_estimator",
    "sensitivity_table",
]
