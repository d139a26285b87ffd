"""Truth-known simulation: capture-history tables and, later, whole coalitions of lists."""

from darkfigure.simulate.tables import (
    independent_probabilities,
    loglinear_probabilities,
    mixture_probabilities,
    sample_table,
)

__all__ = ["independent_probabilities", "loglinear_probabilities", "mixture_probabilities", "sample_table"]
