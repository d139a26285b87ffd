"""Truth-known simulation: capture-history tables, and coalitions of organisations' lists."""

from darkfigure.simulate.coalition import Coalition, simulate_coalition
from darkfigure.simulate.scenarios import PRESETS, Scenario, load_scenario, parse_scenario
from darkfigure.simulate.tables import (
    independent_probabilities,
    loglinear_probabilities,
    mixture_probabilities,
    sample_table,
)

__all__ = [
    "PRESETS",
    "Coalition",
    "Scenario",
    "independent_probabilities",
    "load_scenario",
    "loglinear_probabilities",
    "mixture_probabilities",
    "parse_scenario",
    "sample_table",
    "simulate_coalition",
]
