"""Estimators over other engines: choosing among closed models sensibly."""

import numpy as np

from darkfigure.estimation import ClosedPopulation
from darkfigure.simulate.tables import independent_probabilities, sample_table


def test_closed_population_skips_models_rcapture_warns_about():
    # independent lists, true N = 800: Mbh has the lowest BIC here but a large asymptotic bias
    # (Rcapture infoFit 1) and an impossible N below the documented count; it must not be chosen
    h = sample_table(independent_probabilities([0.3, 0.2, 0.25]), 800, np.random.default_rng(2))
    result = ClosedPopulation().fit(h)
    assert result.model != "Mbh"
    assert result.estimate >= h.n_observed
    assert result.interval.covers(800)
