"""The Home Office method (Silverman 2014, 2020) on the UK 2013 six-list table (REFERENCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkfigure.errors import InputError
from darkfigure.estimation.homeoffice import home_office
from darkfigure.histories import CaptureHistories

DATA = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mse"


@pytest.fixture(scope="module")
def uk6_result():
    return home_office(CaptureHistories.read_csv(DATA / "uk2013_6lists.csv"))


def test_uk6_estimate_and_profile_interval(uk6_result):
    # REFERENCE.md: "The older Home Office method ... UK 6 lists 11,408.92, 95% 9,982.26 to 13,181.69"
    assert uk6_result.estimate == pytest.approx(11408.92, abs=0.005)
    assert uk6_result.interval.lower == pytest.approx(9982.26, abs=0.005)
    assert uk6_result.interval.upper == pytest.approx(13181.69, abs=0.005)
    assert uk6_result.interval.level == 0.95


def test_uk6_chosen_model(uk6_result):
    # the interactions the method adds, in order; the same model as SparseMSE's stepwise selection,
    # whose Poisson estimate REFERENCE.md gives as 11,417.99
    added = ["PF:NCA", "LA:NG", "NG:GP", "LA:PF", "PF:GP", "GO:GP", "NG:GO"]
    assert [s.term for s in uk6_result.steps] == added
    assert uk6_result.fit.name(with_names=True) == "[LA:NG,LA:PF,NG:GO,NG:GP,PF:GP,PF:NCA,GO:GP]"
    assert uk6_result.fit.estimate == pytest.approx(11417.99, abs=0.005)
    assert uk6_result.interval.estimate == pytest.approx(11417.99, abs=0.005)


def test_uk6_steps_lower_aic_with_significant_terms(uk6_result):
    aics = [s.aic for s in uk6_result.steps]
    assert aics == sorted(aics, reverse=True)
    assert all(s.p_value < 0.05 for s in uk6_result.steps)
    assert uk6_result.to_dict()["steps"][0]["term"] == "PF:NCA"


def test_no_interaction_when_lists_are_independent():
    # three independent lists, each catching with odds 1/2: cells halve with every list, so the
    # unseen cell holds 160 and N = 380 + 160; no interaction can lower the AIC
    h = CaptureHistories.from_counts(
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
        [80, 80, 80, 40, 40, 40, 20],
    )
    result = home_office(h)
    assert result.steps == ()
    assert result.model.terms == frozenset()
    assert result.fit.estimate == pytest.approx(540.0, rel=1e-9)


def test_threshold_is_checked():
    h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [3, 2, 1])
    with pytest.raises(InputError, match="threshold"):
        home_office(h, threshold=5)
