"""Stepwise selection against SparseMSE (REFERENCE.md, 'Stepwise selection of pairwise interactions')."""

import numpy as np
import pytest

from darkfigure.estimation import Stepwise
from darkfigure.estimation.intervals import bca_interval
from darkfigure.estimation.stepwise import stepwise_path


def _names(path, lists):
    return [":".join(lists[j] for j in range(len(lists)) if s.term >> j & 1) for s in path.steps]


def test_uk6_stepwise_model_and_estimate(uk6):
    path = stepwise_path(uk6.counts, uk6.cells, uk6.n_lists)
    # SparseMSE 2.0.1: 11,417.99, interactions in the order added
    assert _names(path, uk6.lists) == ["PF:NCA", "LA:NG", "NG:GP", "LA:PF", "PF:GP", "GO:GP", "NG:GO"]
    assert uk6.n_observed + np.exp(path.intercept) == pytest.approx(11417.99, abs=0.005)


def test_uk6_normal_on_log_interval(uk6):
    est = Stepwise(nboot=0).fit(uk6)
    iv = est.interval_of("normal-log")
    assert (iv.lower, iv.upper) == (pytest.approx(9977.3, abs=0.05), pytest.approx(13145.7, abs=0.05))


def test_uk5_stepwise_model_estimate_interval(uk5):
    est = Stepwise(nboot=0).fit(uk5)
    # SparseMSE: 11,312.99, model [12,13,24,25,35,45], normal-on-log 9,884.4 to 13,027.4
    assert est.estimate == pytest.approx(11312.99, abs=0.005)
    assert est.model == "[LA:NG,LA:PFNCA,NG:GO,NG:GP,PFNCA:GP,GO:GP]"
    iv = est.interval_of("normal-log")
    assert (iv.lower, iv.upper) == (pytest.approx(9884.4, abs=0.05), pytest.approx(13027.4, abs=0.05))


def test_uk5_jackknife_acceleration(uk5):
    # deterministic part of the BCa interval: SparseMSE's ahat = -0.01218
    est = Stepwise(nboot=10, seed=0).fit(uk5)
    assert est.diagnostics["acceleration"] == pytest.approx(-0.01218, abs=5e-6)


# SparseMSE, nboot 1000 (one run of R's random stream): 2.5%, 10%, 90%, 97.5% BCa quantiles
BCA_REFERENCE = {
    "uk5": [8784.8, 9623.9, 12531.1, 14700.5],
    "uk6": [9267.0, 9682.3, 12576.5, 14306.8],
}


@pytest.mark.parametrize("table", ["uk5", "uk6"])
def test_bca_quantiles_match_within_monte_carlo_error(table, request):
    """R's numbers are one draw of a Monte-Carlo quantity: compare them with the mean of several of
    ours, allowing 4 Monte-Carlo standard deviations measured from our own runs."""
    h = request.getfixturevalue(table)
    runs = []
    for seed in range(5):
        est = Stepwise(nboot=1000, seed=seed).fit(h)  # the production path, 95% BCa as reported
        eighty = bca_interval(est.replicates, est.estimate, est.diagnostics["acceleration"], 0.8)
        ninety_five = est.interval_of("bca", 0.95)
        runs.append([ninety_five.lower, eighty.lower, eighty.upper, ninety_five.upper])
    runs = np.array(runs)
    mean, sd = runs.mean(axis=0), runs.std(axis=0, ddof=1)
    tolerance = 4 * sd * np.sqrt(1 + 1 / len(runs))
    assert np.all(np.abs(mean - BCA_REFERENCE[table]) < tolerance), (mean, sd)
