"""Known truth: how often does the stepwise BCa 95% interval cover N? (Chan et al. 2021 report ~90%.)

The quick version runs in the default suite; ``benchmarks/coverage_stepwise.py`` runs the full study.
"""

import pytest

from darkfigure.estimation import Stepwise
from darkfigure.estimation.loglinear import fit_model
from darkfigure.simulate.coverage import coverage_study, truth_from_fit


def _uk5_truth(uk5):
    fit = fit_model(uk5, _stepwise_model(uk5))
    return truth_from_fit(fit), round(fit.estimate)


def _stepwise_model(uk5):
    from darkfigure.estimation.stepwise import stepwise_path

    return stepwise_path(uk5.counts, uk5.cells, uk5.n_lists).model


def test_stepwise_bca_coverage_on_uk5_shaped_truth(uk5):
    probabilities, true_n = _uk5_truth(uk5)
    study = coverage_study(
        probabilities, true_n, lambda h, s: Stepwise(nboot=200, seed=s).fit(h), n_tables=60, seed=2026,
        lists=uk5.lists,
    )
    assert study.failed == 0
    # Chan et al. report about 90%; the full study (benchmarks/coverage_stepwise.py) measured 91.5%
    assert 0.80 <= study.rate <= 0.97, study
    assert study.median_estimate == pytest.approx(true_n, rel=0.1)
