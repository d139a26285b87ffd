"""fit_model itself against Rcapture (REFERENCE.md, 'Rcapture examples' and the UK closedp.t table)."""

import pytest

from darkfigure.estimation import HierarchicalModel, fit_model


def test_hiv_model_12(reference_dir):
    from darkfigure import CaptureHistories

    hiv = CaptureHistories.read_csv(reference_dir / "hiv_4lists.csv")
    fit = fit_model(hiv, HierarchicalModel.parse("[12]", 4))
    # Rcapture closedpCI.t(mX = ~ . + c1:c2): 12,318.5 (se 1,188.7, deviance 7.614, df 9, AIC 86.65, BIC 119.935)
    assert fit.estimate == pytest.approx(12318.5, abs=0.05)
    assert fit.se == pytest.approx(1188.7, abs=0.05)
    assert fit.deviance == pytest.approx(7.614, abs=5e-4)
    assert fit.df == 9
    assert fit.aic == pytest.approx(86.65, abs=5e-3)
    assert fit.bic == pytest.approx(119.935, abs=5e-4)


def test_uk6_independence_is_rcapture_mt(uk6):
    fit = fit_model(uk6, HierarchicalModel.independence(6))
    # Rcapture closedp.t, Mt: 12214.0, se 676.5, deviance 179.355, df 56, AIC 305.020, BIC 346.440
    assert (fit.estimate, fit.se) == (pytest.approx(12214.0, abs=0.05), pytest.approx(676.5, abs=0.05))
    assert (fit.deviance, fit.df) == (pytest.approx(179.355, abs=5e-4), 56)
    assert (fit.aic, fit.bic) == (pytest.approx(305.020, abs=5e-4), pytest.approx(346.440, abs=5e-4))


def test_uk5_bic_of_the_stepwise_model(uk5):
    fit = fit_model(uk5, HierarchicalModel.parse("[12,13,24,25,35,45]", 5))
    # MultipleSystemsEstimation: 11,312.99 with BIC 198.6047
    assert fit.estimate == pytest.approx(11312.99, abs=0.005)
    assert fit.bic == pytest.approx(198.6047, abs=5e-5)
