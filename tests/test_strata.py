"""Strata: splitting, not-estimable strata, draw-by-draw totals, caching, and the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from darkfigure.cli import app
from darkfigure.errors import InputError
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.results import Estimate
from darkfigure.estimation.strata import StratumResult, combine_strata, estimate_strata, split_strata
from darkfigure.simulate import independent_probabilities, sample_table

TRUTH = {"north": 3000, "south": 2000}


@pytest.fixture(scope="module")
def stratified(tmp_path_factory):
    rng = np.random.default_rng(11)
    frames = []
    for province, n in TRUTH.items():
        table = sample_table(independent_probabilities([0.2, 0.15, 0.1, 0.12]), n, rng).to_frame(include_zero=False)
        frames.append(table.assign(province=province))
    # a stratum where only two lists have cases: not estimable
    frames.append(pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "C": [0, 0, 0], "D": [0, 0, 0],
                                "count": [5, 4, 2], "province": "west"}))
    path = tmp_path_factory.mktemp("strata") / "records.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_split_keeps_all_cases(stratified):
    frame = pd.read_csv(stratified)
    parts = split_strata(frame, ["province"])
    assert [k for k, _ in parts] == [("north",), ("south",), ("west",)]
    assert sum(h.n_observed for _, h in parts) == frame["count"].sum()


def test_strata_estimates_recover_truth_and_flag_thin_strata(stratified, tmp_path):
    parts = split_strata(pd.read_csv(stratified), ["province"])
    result = estimate_strata(parts, ["province"], "stepwise", {"nboot": 200, "seed": 5}, workers=2,
                             cache_dir=tmp_path)
    by_key = {s.key[0]: s for s in result.strata}
    assert by_key["west"].estimate is None and "informative list" in by_key["west"].reason
    for province, n in TRUTH.items():
        iv = by_key[province].estimate.interval
        assert iv.lower < n < iv.upper
    assert result.total.interval.covers(sum(TRUTH.values()))
    assert any("not estimable" in w for w in result.total.warnings)
    again = estimate_strata(parts, ["province"], "stepwise", {"nboot": 200, "seed": 5}, workers=1,
                            cache_dir=tmp_path)
    assert again.total.estimate == result.total.estimate  # cached results come back identical
    assert len(list(tmp_path.glob("*.pickle"))) == 2


def test_total_adds_draws_position_by_position():
    def bayes(draws):
        draws = np.asarray(draws, float)
        return Estimate("lcmcr", ("A", "B"), 1, float(np.median(draws)), "m",
                        (Interval(0.95, draws.min(), draws.max(), "posterior"),), replicates=draws)

    results = [StratumResult(("a",), 1, 3, bayes([10, 20, 30])), StratumResult(("b",), 1, 3, bayes([1, 2, 3]))]
    total = combine_strata(results, level=0.5)
    # draws 11, 22, 33: median 22, 25% and 75% quantiles 16.5 and 27.5
    assert (total.estimate, total.interval.lower, total.interval.upper) == (22.0, 16.5, 27.5)
    assert total.interval.kind == "posterior"


def test_total_uses_the_requested_level(stratified):
    parts = split_strata(pd.read_csv(stratified), ["province"])
    result = estimate_strata(parts, ["province"], "stepwise", {"nboot": 100, "seed": 2, "level": 0.8}, workers=1)
    assert result.total.interval.level == 0.8
    assert result.total.n_observed == sum(h.n_observed for _, h in parts)  # the thin stratum's cases count


def test_cli_strata_json(stratified):
    result = CliRunner().invoke(app, ["estimate", str(stratified), "--strata", "province", "--nboot", "100",
                                      "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [row["province"] for row in out["strata"]] == ["north", "south", "west", "total"]


def test_unknown_stratum_column(stratified):
    with pytest.raises(InputError, match="provnce"):
        split_strata(pd.read_csv(stratified), ["provnce"])
