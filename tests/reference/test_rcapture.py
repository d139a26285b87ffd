"""Closed-population models and profile intervals against Rcapture 1.4-4 (REFERENCE.md).

Numbers printed to one decimal are matched within 0.05, to three decimals within 0.0005, and so on:
the tolerance is half a unit of the last printed digit.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from darkfigure.errors import InputError
from darkfigure.estimation.closed import (
    CLOSED_MODELS,
    capture_counts,
    closed_design,
    closed_models,
    fit_closed,
    glm_like_r,
    heterogeneity_columns,
    info_code,
)
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.estimation.profile import cormack, profile_interval
from darkfigure.histories import CaptureHistories

DATA = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mse"


def read(name: str) -> CaptureHistories:
    return CaptureHistories.read_csv(DATA / name)


@pytest.fixture(scope="module")
def uk6() -> CaptureHistories:
    return read("uk2013_6lists.csv")


@pytest.fixture(scope="module")
def lesbian() -> CaptureHistories:
    return read("lesbian_4lists.csv")


# REFERENCE.md, "UK, 6 lists, Rcapture closedp.t": abundance, stderr, deviance, df, AIC, BIC
UK6_CLOSEDP = {
    "M0": (13597.5, 766.6, 1980.477, 61, 2096.142, 2107.976),
    "Mt": (12214.0, 676.5, 179.355, 56, 305.020, 346.440),
    "Mh Chao (LB)": (13677.1, 777.9, 1979.734, 60, 2097.400, 2115.151),
    "Mh Poisson2": (13750.6, 1841.0, 1980.468, 60, 2098.133, 2115.885),
    "Mh Darroch": (13356.5, 3385.2, 1980.471, 60, 2098.137, 2115.888),
    "Mh Gamma3.5": (12979.1, 4831.1, 1980.461, 60, 2098.126, 2115.877),
    "Mth Chao (LB)": (12298.5, 686.6, 177.961, 55, 305.626, 352.964),
    "Mth Poisson2": (13168.8, 1710.6, 178.966, 55, 306.631, 353.969),
    "Mth Darroch": (13696.8, 3503.3, 179.145, 55, 306.810, 354.147),
    "Mth Gamma3.5": (14206.0, 5434.1, 179.194, 55, 306.859, 354.196),
    "Mb": (7604.6, 915.5, 1969.129, 60, 2086.794, 2104.546),
    "Mbh": (3362.6, 72.3, 981.289, 59, 1100.954, 1124.623),
}


@pytest.mark.parametrize("model", list(UK6_CLOSEDP))
def test_uk6_closedp_row(uk6, model):
    row = closed_models(uk6).table().loc[model]
    n, se, deviance, df, aic, bic = UK6_CLOSEDP[model]
    assert row["abundance"] == pytest.approx(n, abs=0.05)
    assert row["stderr"] == pytest.approx(se, abs=0.05)
    assert row["deviance"] == pytest.approx(deviance, abs=0.0005)
    assert row["df"] == df
    assert row["AIC"] == pytest.approx(aic, abs=0.0005)
    assert row["BIC"] == pytest.approx(bic, abs=0.0005)


def test_uk6_table_shape_and_order(uk6):
    table = closed_models(uk6).table()
    assert list(table.index) == [name for name, _, _ in CLOSED_MODELS] == list(UK6_CLOSEDP)
    columns = ["abundance", "stderr", "deviance", "df", "AIC", "BIC", "infoFit", "warning"]
    assert list(table.columns) == columns
    assert (table["infoFit"] == 0).all()  # Rcapture prints "OK" for every model of this table


def test_uk6_best_is_mt(uk6):
    models = closed_models(uk6)
    assert models.best("bic").name == "Mt"
    assert models.best("aic").name == "Mt"  # 305.020 < 305.626 (Mth Chao)
    assert models.to_dict()["best_bic"] == "Mt"


def test_uk6_chao_sets_negative_eta_to_zero(uk6):
    models = closed_models(uk6)
    for name in ("Mh Chao (LB)", "Mth Chao (LB)"):
        fit = models[name]
        assert fit.zeroed_eta  # some eta were negative in the first fit
        assert not set(fit.zeroed_eta) & set(fit.term_names)
        etas = [v for k, v in fit.coefficients.items() if k.startswith("eta")]
        assert all(v >= 0 for v in etas)


def test_lesbian_closedp(lesbian):
    # REFERENCE.md, Rcapture example "lesbian": closedp.t
    models = closed_models(lesbian)
    expected = {"M0": 3829.2, "Mt": 3738.5, "Mh Chao (LB)": 4420.0, "Mth Chao (LB)": 4321.4}
    expected["Mth Darroch"] = 6963.7
    for name, value in expected.items():
        assert models[name].abundance == pytest.approx(value, abs=0.05)
    best = models.best("bic")
    assert best.name == "Mth Darroch"
    assert best.bic == pytest.approx(236.623, abs=0.0005)


def test_lesbian_darroch_hierarchical(lesbian):
    # REFERENCE.md: model [12,13,14] with Darroch heterogeneity: 7,030.7 (se 687.2, deviance 7.24, df 6)
    fit = fit_closed(lesbian, "[12,13,14]", "darroch")
    assert fit.abundance == pytest.approx(7030.7, abs=0.05)
    assert fit.stderr == pytest.approx(687.2, abs=0.05)
    assert fit.deviance == pytest.approx(7.24, abs=0.005)
    assert fit.df == 6
    assert fit.name == "[12,13,14] Darroch"


def test_hiv_model_12():
    # REFERENCE.md, Rcapture example HIV, mX = ~ . + c1:c2
    fit = fit_closed(read("hiv_4lists.csv"), HierarchicalModel.parse("[12]", 4))
    assert fit.abundance == pytest.approx(12318.5, abs=0.05)
    assert fit.stderr == pytest.approx(1188.7, abs=0.05)
    assert fit.deviance == pytest.approx(7.614, abs=0.0005)
    assert fit.df == 9
    assert fit.aic == pytest.approx(86.65, abs=0.005)
    assert fit.bic == pytest.approx(119.935, abs=0.0005)


# ---------------------------------------------------------------- profile likelihood (closedpCI.t)
def test_uk6_mt_profile_interval(uk6):
    # REFERENCE.md: 12,214.00 (se 676.45), profile maximum 12,208.57, interval 10,983.85 to 13,648.21
    ci = profile_interval(uk6, "Mt")
    assert ci.estimate == pytest.approx(12214.00, abs=0.005)
    assert ci.se == pytest.approx(676.45, abs=0.005)
    assert ci.profile_maximum == pytest.approx(12208.57, abs=0.005)
    assert ci.lower == pytest.approx(10983.85, abs=0.005)
    assert ci.upper == pytest.approx(13648.21, abs=0.005)
    assert ci.level == 0.95 and ci.warnings == ()


def test_uk5_mt_profile_interval():
    # REFERENCE.md: 13,444.13 (se 806.93), profile maximum 13,437.92, interval 11,985.12 to 15,165.90
    ci = profile_interval(read("uk2013_5lists.csv"), HierarchicalModel.independence(5))
    assert ci.estimate == pytest.approx(13444.13, abs=0.005)
    assert ci.se == pytest.approx(806.93, abs=0.005)
    assert ci.profile_maximum == pytest.approx(13437.92, abs=0.005)
    assert ci.lower == pytest.approx(11985.12, abs=0.005)
    assert ci.upper == pytest.approx(15165.90, abs=0.005)


def test_hiv_profile_interval():
    # REFERENCE.md: HIV [12]: profile maximum 12,308, 95% interval 10,266 to 14,992.3
    ci = profile_interval(read("hiv_4lists.csv"), "[12]")
    assert ci.profile_maximum == pytest.approx(12308, abs=0.5)
    assert ci.lower == pytest.approx(10266, abs=0.5)
    assert ci.upper == pytest.approx(14992.3, abs=0.05)


def test_lesbian_darroch_profile_interval(lesbian):
    # REFERENCE.md: [12,13,14] with Darroch: profile 7,015.5, interval 5,836.8 to 8,558.7
    ci = profile_interval(lesbian, "[12,13,14]", heterogeneity="darroch")
    assert ci.estimate == pytest.approx(7030.7, abs=0.05)
    assert ci.profile_maximum == pytest.approx(7015.5, abs=0.05)
    assert ci.lower == pytest.approx(5836.8, abs=0.05)
    assert ci.upper == pytest.approx(8558.7, abs=0.05)


def test_profile_interval_narrows_with_level(uk6):
    wide, narrow = profile_interval(uk6, "Mt", level=0.99), profile_interval(uk6, "Mt", level=0.8)
    assert wide.lower < narrow.lower < narrow.profile_maximum < narrow.upper < wide.upper
    assert wide.profile_maximum == pytest.approx(narrow.profile_maximum, abs=1e-3)


def test_profile_rejects_behavioural_models_and_bad_level(uk6):
    with pytest.raises(InputError, match="N = n"):
        profile_interval(uk6, "Mb")
    with pytest.raises(InputError, match="level"):
        profile_interval(uk6, "Mt", level=95)


# ---------------------------------------------------------------- worked by hand
def test_two_lists_lincoln_petersen():
    # n1 = 36, n2 = 26, both 6: Mt gives N = n1 n2 / m = 156; two lists fit only M0, Mt, Mb (Rcapture)
    h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    models = closed_models(h)
    assert [f.name for f in models.fits] == ["M0", "Mt", "Mb"]
    assert models["Mt"].abundance == pytest.approx(156.0, rel=1e-9)
    assert models["Mt"].df == 0 and models["Mt"].deviance == pytest.approx(0.0, abs=1e-9)


def test_two_lists_m0_closed_form():
    # M0 on two lists is saturated in the capture counts: 2 e^(b0 + b1) = f1 and e^(b0 + 2 b1) = f2,
    # so the dark figure e^b0 = (f1 / 2)^2 / f2
    h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    fit = closed_models(h)["M0"]
    fitted = fit.glm.fitted
    assert fitted[0] + fitted[1] == pytest.approx(50.0, rel=1e-9)
    assert fitted[2] == pytest.approx(6.0, rel=1e-9)
    assert fit.abundance == pytest.approx(56 + 25.0**2 / 6.0, rel=1e-9)  # n + (f1/2)^2 / f2


def test_heterogeneity_columns_by_hand():
    h = CaptureHistories.from_counts([[1, 0, 0, 0], [1, 1, 1, 1]], [3, 1])
    k = capture_counts(h.cells)
    assert k.tolist() == [bin(c).count("1") for c in range(1, 16)]
    chao = heterogeneity_columns(h, "chao")  # eta3 = max(k - 2, 0), eta4 = max(k - 3, 0)
    assert chao[14].tolist() == [2.0, 1.0]  # pattern 1111
    assert chao[6].tolist() == [1.0, 0.0] and chao[2].tolist() == [0.0, 0.0]  # 1110 and 1100
    assert heterogeneity_columns(h, "poisson")[14, 0] == 2.0**4 - 1
    assert heterogeneity_columns(h, "gamma", theta=3.5)[14, 0] == pytest.approx(math.log(3.5 / 7.5))
    assert heterogeneity_columns(h, "darroch")[14, 0] == 8.0


def test_behavioural_design_by_hand():
    h = CaptureHistories.from_counts([[1, 0, 0], [0, 0, 1], [0, 1, 1]], [3, 2, 1])
    x = closed_design(h, "Mbh").x
    row = {int(c): x[i] for i, c in enumerate(h.cells)}
    # pattern 011 (lists 2 and 3): not caught by list 1, one list before the first capture, one after
    assert row[0b110].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert row[0b100].tolist() == [1.0, 1.0, 2.0, 0.0]
    assert row[0b001].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_glm_like_r_matches_saturated_fit():
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    fit, warnings = glm_like_r(x, np.array([10.0, 30.0]))
    assert np.exp(fit.coefficients).tolist() == pytest.approx([10.0, 3.0], rel=1e-9)
    assert warnings == []


def test_cormack_small_total_is_exact_log_ratio():
    n0, total = 3.0, 10.0  # log(n0^n0 N! / (N^N n0!))
    exact = math.log(3**3 * math.factorial(10) / (10**10 * math.factorial(3)))
    assert cormack(n0, total) == pytest.approx(exact, rel=1e-12)
    assert cormack(0.0, 500.0) == pytest.approx(-500 + 0.5 * math.log(2 * math.pi * 500), rel=1e-12)


def test_info_codes_as_rcapture():
    assert info_code(["the asymptotic bias is large"]) == 1
    assert info_code(["glm: design matrix not of full rank", "glm: algorithm did not converge"]) == 12
    assert info_code(["glm: fitted rates numerically 0 occurred"]) == 3


def test_bad_model_and_heterogeneity_are_input_errors(uk6):
    with pytest.raises(InputError, match="model must be"):
        closed_design(uk6, "Mx")
    with pytest.raises(InputError, match="heterogeneity must be"):
        closed_design(uk6, "Mh", "normal")
    with pytest.raises(InputError, match="no heterogeneity"):
        closed_design(uk6, "Mb", "chao")
    two = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [3, 2, 1])
    with pytest.raises(InputError, match="at least 3 lists"):
        closed_design(two, "Mh")


def test_rank_deficient_design_drops_the_aliased_column_as_r_does():
    # the saturated model [123] already fits the 7 cells exactly; a Darroch column adds nothing and
    # R's glm reports it as NA with "design matrix not of full rank" (Rcapture's infoFit 2)
    h = CaptureHistories.from_counts(
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
        [50, 40, 30, 10, 8, 6, 2],
    )
    with_tau = fit_closed(h, "[123]", "darroch")
    saturated = fit_closed(h, "[123]")
    assert with_tau.info == 2 and "not of full rank (fewer rows than columns)" in with_tau.warnings[0]
    assert "tau" not in with_tau.term_names and with_tau.df == 0
    assert with_tau.abundance == pytest.approx(saturated.abundance, rel=1e-9)
    ci = profile_interval(h, "[123]", heterogeneity="darroch")  # Rcapture gives no interval here
    assert math.isnan(ci.lower) and "not of full rank" in ci.warnings[0]
