"""Estimation of the hidden total by multiple systems estimation.

Estimators store their settings in the constructor and do the work in ``fit(histories)``, which
returns a frozen :class:`Estimate`.
"""

from darkfigure.estimation.api import METHODS, estimate, make_estimator
from darkfigure.estimation.bic import ModelChoice, select_model
from darkfigure.estimation.closed import ClosedModels, closed_models
from darkfigure.estimation.estimators import FixedModel, Stepwise
from darkfigure.estimation.existence import Estimability, check_estimable
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.loglinear import LoglinearFit, fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.estimation.profile import ProfileInterval, profile_interval
from darkfigure.estimation.replicates import combine_estimates, combine_replicates
from darkfigure.estimation.results import Estimate
from darkfigure.estimation.selection import ClosedPopulation, HomeOffice, ModelSelection
from darkfigure.estimation.sensitivity import sensitivity_table
from darkfigure.estimation.strata import StrataEstimate, estimate_strata, split_strata

__all__ = [
    "METHODS",
    "ClosedModels",
    "ClosedPopulation",
    "Estimability",
    "Estimate",
    "FixedModel",
    "HierarchicalModel",
    "HomeOffice",
    "Interval",
    "LoglinearFit",
    "ModelChoice",
    "ModelSelection",
    "ProfileInterval",
    "Stepwise",
    "StrataEstimate",
    "check_estimable",
    "closed_models",
    "combine_estimates",
    "combine_replicates",
    "estimate",
    "estimate_strata",
    "fit_model",
    "make_estimator",
    "profile_interval",
    "select_model",
    "sensitivity_table",
    "split_strata",
]
