"""Prevalence: binomial intervals against published values, shares from strata worked by hand, and
the stratified estimate beating the documented share on a simulated coalition with a hidden form."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta, binomtest

from darkfigure.errors import InputError
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.results import Estimate
from darkfigure.estimation.strata import StrataEstimate, StratumResult
from darkfigure.publish.prevalence import (
    documented_shares,
    estimated_shares,
    exact_interval,
    prevalence_table,
    wilson_interval,
)
from darkfigure.simulate import parse_scenario, simulate_coalition

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in
# Medicine 17:857-872, Table II: method 3 (Wilson score) and method 5 (Clopper-Pearson exact), 95 %.
NEWCOMBE = {
    (81, 263): ((0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148): ((0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20): ((0.0, 0.1611), (0.0, 0.1684)),
    (1, 29): ((0.0061, 0.1718), (0.0009, 0.1776)),
}


@pytest.mark.parametrize(("k", "n"), list(NEWCOMBE))
def test_intervals_match_newcombe_table(k, n):
    wilson, exact = NEWCOMBE[(k, n)]
    assert wilson_interval(k, n) == pytest.approx(wilson, abs=5e-5)  # printed to 4 decimals
    assert exact_interval(k, n) == pytest.approx(exact, abs=5e-5)


def test_wilson_three_of_ten_by_hand():
    # z = 1.959964: centre (3 + z^2/2)/(10 + z^2) = 0.35549, half z/(10+z^2) sqrt(3*7/10 + z^2/4) = 0.24772
    assert wilson_interval(3, 10) == pytest.approx((0.1078, 0.6032), abs=5e-5)


@pytest.mark.parametrize(("k", "n", "level"), [(3, 10, 0.95), (0, 7, 0.9), (12, 12, 0.99), (57, 400, 0.8)])
def test_exact_interval_equals_scipy_binomtest(k, n, level):
    ci = binomtest(k, n).proportion_ci(level, method="exact")
    assert exact_interval(k, n, level) == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_binomial_inputs_are_checked():
    with pytest.raises(InputError, match="0 <= k <= n"):
        wilson_interval(5, 3)
    with pytest.raises(InputError, match="level"):
        exact_interval(1, 3, level=95)


def test_documented_shares_counts_entities_and_skips_unknown():
    cases = pd.DataFrame({"form": ["marriage"] * 7 + ["cybersex"] * 3 + [None] * 4})
    table = documented_shares(cases, "form", method="exact")
    assert table["form"].tolist() == ["cybersex", "marriage"]
    assert table["documented"].tolist() == [3, 7]
    assert table["share"].tolist() == [0.3, 0.7]
    assert table.loc[0, ["lower", "upper"]].tolist() == pytest.approx([0.0667, 0.6525], abs=5e-5)  # Clopper-Pearson


def test_documented_shares_reads_aggregated_counts_and_keeps_empty_categories():
    cases = pd.DataFrame({"form": pd.Categorical(["a", "b"], categories=["a", "b", "c"]), "count": [3, 7]})
    table = documented_shares(cases, "form")
    assert table["documented"].tolist() == [3, 7, 0]
    assert table.loc[2, "lower"] == 0.0 and table.loc[2, "upper"] == pytest.approx(0.2775, abs=5e-5)  # Wilson 0/10


def test_documented_shares_errors():
    cases = pd.DataFrame({"form": ["a"]})
    with pytest.raises(InputError, match="not found"):
        documented_shares(cases, "province")
    with pytest.raises(InputError, match="wilson, exact"):
        documented_shares(cases, "form", method="wald")


def test_documented_number_carries_share_and_n_uncertainty():
    cases = pd.DataFrame({"form": ["a"] * 30 + ["b"] * 70})
    fixed_n = Estimate("x", ("A",), 100, 1000.0, "m", (Interval(0.95, 1000.0, 1000.0, "bootstrap-percentile"),),
                       replicates=np.full(4000, 1000.0))
    table = documented_shares(cases, "form", total=fixed_n, seed=3)
    assert table["estimate"].tolist() == [300.0, 700.0]
    # N known exactly: the interval is 1000 x the Jeffreys Beta(30.5, 70.5) quantiles (up to draw error)
    expected = 1000 * beta.ppf([0.025, 0.975], 30.5, 70.5)
    assert table.loc[0, ["estimate_lower", "estimate_upper"]].tolist() == pytest.approx(expected, abs=6.0)
    spread_n = Estimate("x", ("A",), 100, 1000.0, "m", (Interval(0.95, 800.0, 1300.0, "profile"),))
    wide = documented_shares(cases, "form", total=spread_n)  # no replicates: the ends multiplied
    assert wide.loc[0, "estimate_lower"] == pytest.approx(800 * table.loc[0, "lower"])
    assert wide.loc[0, "estimate_upper"] == pytest.approx(1300 * table.loc[0, "upper"])


def _stratum(key, n, draws):
    draws = np.asarray(draws, float)
    est = Estimate("fixed", ("A", "B", "C"), n, float(np.mean(draws)), "[1,2,3]",
                   (Interval(0.95, draws.min(), draws.max(), "bootstrap-percentile"),), replicates=draws)
    return StratumResult(key, n, 3, est)


def test_estimated_shares_divide_draws_position_by_position():
    strata = StrataEstimate(("form",), (_stratum(("cyber",), 10, [90, 100, 110]),
                                        _stratum(("marriage",), 80, [290, 300, 310])), None)
    table = estimated_shares(strata, level=0.5)
    # totals per draw 380, 400, 420: cyber shares 90/380 = 0.236842, 0.25, 110/420 = 0.261905;
    # quantiles 0.25 and 0.75 by linear interpolation: 0.243421 and 0.255952
    row = table.iloc[0]
    assert (row["observed"], row["estimate"], row["share"]) == (10, 100.0, 0.25)
    assert (row["lower"], row["upper"]) == (95.0, 105.0)
    assert (row["share_lower"], row["share_upper"]) == pytest.approx((0.2434211, 0.2559524), abs=1e-7)


def test_estimated_shares_sum_over_other_strata():
    strata = StrataEstimate(("form", "year"), (
        _stratum(("cyber", 2020), 10, [40, 50, 60]),
        _stratum(("cyber", 2021), 10, [40, 50, 60]),
        _stratum(("marriage", 2020), 12, [20, 30, 40]),
        _stratum(("marriage", 2021), 80, [280, 270, 260]),
    ), None)
    table = estimated_shares(strata, category="form").set_index("form")
    # by hand: cyber 50 + 50 = 100, marriage 30 + 270 = 300; draws 80/100/120 and 300/300/300
    assert table.loc["cyber", "estimate"] == 100.0 and table.loc["cyber", "observed"] == 20
    assert table.loc["marriage", "estimate"] == 300.0 and table.loc["cyber", "share"] == 0.25
    assert table.loc["cyber", ["lower", "upper"]].tolist() == pytest.approx([81.0, 119.0])  # 2.5%/97.5% of 80..120
    with pytest.raises(InputError, match="name the category"):
        estimated_shares(strata)


def test_an_unestimable_stratum_leaves_no_estimate_and_no_shares():
    """Walkthrough issue 2: a stratum counted as observed only made the other shares far too large
    (ForcedMarriage 62.5% instead of 16.7%). Its category gets no number and no category a share."""
    strata = StrataEstimate(("form", "year"), (
        _stratum(("cyber", 2020), 10, [40, 50, 60]),
        _stratum(("cyber", 2021), 10, [40, 50, 60]),
        StratumResult(("marriage", 2020), 12, 2, None, "not estimable: 2 informative list(s)"),
        _stratum(("marriage", 2021), 80, [280, 288, 296]),
    ), None)
    table = estimated_shares(strata, category="form").set_index("form")
    assert table.loc["cyber", "estimate"] == 100.0  # complete: 50 + 50
    assert np.isnan(table.loc["marriage", "estimate"])  # 288 + 12 would leave out the thin stratum's dark figure
    assert table[["share", "share_lower", "share_upper"]].isna().all().all()
    assert "marriage, 2020 could not be estimated" in table.loc["marriage", "note"]
    assert "no estimated share: marriage could not be estimated" in table.loc["cyber", "note"]


def test_estimated_shares_without_draws_have_no_interval():
    plain = Estimate("closed", ("A", "B", "C"), 10, 40.0, "Mt", (Interval(0.95, 30.0, 55.0, "profile"),))
    strata = StrataEstimate(("form",), (StratumResult(("a",), 10, 3, plain), _stratum(("b",), 30, [50, 70])), None)
    table = estimated_shares(strata)
    assert table["share"].tolist() == [0.4, 0.6]
    assert table["share_lower"].isna().all()
    assert table.loc[0, ["lower", "upper"]].tolist() == [30.0, 55.0]  # its own interval


def hidden_form_scenario(n=4000, hidden=0.25):
    """Cybersex victims' capture rate is a quarter of the others' (as benchmarks/prevalence_visibility.py)."""
    lists = {name: {"label": name, "kind": "NGO", "capture": c,
                    "recording": {"record_prefix": f"{name[:2].upper()}-", "columns": {"record_id": "id"}}}
             for name, c in (("church", 0.3), ("hotline", 0.25), ("police", 0.3), ("shelter", 0.2))}
    return parse_scenario({
        "name": "hidden-form", "n": n,
        "strata": {"sex": {"Feminine": 1.0}, "year": {"2020": 1.0}, "exploitation_form": {
            "ForcedMarriage": 0.45, "Prostitution": 0.35, "RemoteInteractiveServices": 0.20}},
        "heterogeneity": {"kind": "lognormal", "sigma": 0.5},
        "multipliers": {"exploitation_form": {"RemoteInteractiveServices": hidden}},
        "lists": lists,
    })


@pytest.mark.parametrize("seed", [1, 2])
def test_estimated_share_of_a_hidden_form_is_closer_to_the_truth(seed):
    coalition = simulate_coalition(hidden_form_scenario(), seed=seed)
    people = coalition.population
    truth = float((people["exploitation_form"] == "RemoteInteractiveServices").mean())
    seen = people[people["history"].str.contains("1")]
    entities = pd.DataFrame({name: seen["history"].str[j].astype(int).to_numpy()
                             for j, name in enumerate(coalition.scenario.lists)})
    entities["form"] = seen["exploitation_form"].astype(str).to_numpy()
    table = prevalence_table(entities, "form", list(coalition.scenario.lists), "stepwise", {"nboot": 100, "seed": seed})
    row = table.set_index("form").loc["RemoteInteractiveServices"]
    assert abs(truth - 0.20) < 0.02  # the scenario's share
    assert row["share"] < 0.12  # documented: less than half the truth
    assert abs(row["estimated_share"] - truth) < 0.05
    assert abs(row["estimated_share"] - truth) < abs(row["share"] - truth) / 2
    assert row["estimated_share_lower"] < truth < row["estimated_share_upper"]
    assert not row["lower"] < truth < row["upper"]  # the documented interval misses it


def test_release_table_has_no_estimated_total_when_a_category_is_unestimable():
    """Walkthrough issue 2: the '(not recorded)' stratum failed on the noisy table and the release
    published a total of 6,616 beside a headline N of 18,207, and ForcedMarriage at 62.5%."""
    from darkfigure.estimation.strata import estimate_strata
    from darkfigure.histories import CaptureHistories
    from darkfigure.publish.config import ReleaseConfig
    from darkfigure.publish.report import _total_line
    from darkfigure.publish.tables import category_prevalence_table

    patterns = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
    h = CaptureHistories.from_counts(patterns, [30, 20, 25, 6, 5, 4, 2], lists=["police", "ngo", "health"])
    only_two = h.with_counts([40, 30, 0, 10, 0, 0, 0])  # nobody on health: 2 informative lists
    parts = [(("labour",), h), (("sexual",), only_two)]
    strata = estimate_strata(parts, ["form"], "fixed", {"model": "[12]", "nboot": 0}, workers=1)
    table, _ = category_prevalence_table(parts, strata, "form", ReleaseConfig())
    table = table.set_index("form")
    assert table.loc["labour", "estimate"] > 92 and pd.isna(table.loc["sexual", "estimate"])
    assert table["estimated_share"].isna().all()  # no share of a total that lacks sexual's dark figure
    assert table.loc["Total", "documented"] == 92 + 80 and pd.isna(table.loc["Total", "estimate"])
    assert table.loc["Total", "note"].startswith("no estimated total: sexual could not be estimated")
    line = _total_line(table.reset_index(), "form", {"estimate": 500.0, "method": "stepwise"})
    assert line.startswith("No estimated total or estimated shares") and "The headline N (500)" in line
