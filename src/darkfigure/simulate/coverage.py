"""Coverage of interval estimates on tables drawn from a known truth.

The design of Chan, Silverman & Vincent (2021, section 3.4): take a fitted model as the truth
(cell probabilities ``fitted / N`` and the dark figure ``n0 / N``), draw tables of ``N`` entities,
estimate each, and count how often the interval holds the true N.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from darkfigure.errors import DarkfigureError
from darkfigure.estimation.loglinear import LoglinearFit
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories
from darkfigure.simulate.tables import sample_table


@dataclass(frozen=True)
class CoverageStudy:
    """How often intervals covered the true N over simulated tables."""

    true_n: int
    covered: int
    estimated: int
    failed: int
    median_estimate: float

    @property
    def rate(self) -> float:
        return self.covered / self.estimated if self.estimated else float("nan")


def truth_from_fit(fit: LoglinearFit) -> np.ndarray:
    """Cell probabilities over all ``2**t`` cells (cell 0 first) implied by a fitted model."""
    probabilities = np.zeros(1 << len(fit.lists))
    probabilities[fit.cells] = fit.fitted
    probabilities[0] = fit.dark_figure
    return probabilities / probabilities.sum()


def coverage_study(
    probabilities: np.ndarray,
    true_n: int,
    estimate: Callable[[CaptureHistories, int], Estimate],
    n_tables: int,
    seed: int,
    lists: tuple[str, ...] | None = None,
) -> CoverageStudy:
    """Draw ``n_tables`` tables and estimate each with ``estimate(histories, table_seed)``.

    >>> from darkfigure.simulate.tables import independent_probabilities
    >>> from darkfigure.estimation import Stepwise
    >>> p = independent_probabilities([0.3, 0.3, 0.3])
    >>> study = coverage_study(p, 500, lambda h, s: Stepwise(nboot=0).fit(h), 10, seed=1)
    >>> study.estimated
    10
    """
    rng = np.random.default_rng(seed)
    covered = estimated = failed = 0
    values = []
    for k in range(n_tables):
        table = sample_table(probabilities, true_n, rng, lists)
        try:
            result = estimate(table, seed + k)
        except DarkfigureError:
            failed += 1
            continue
        estimated += 1
        values.append(result.estimate)
        covered += bool(result.interval and result.interval.covers(true_n))
    return CoverageStudy(true_n, covered, estimated, failed, float(np.median(values)) if values else float("nan"))
