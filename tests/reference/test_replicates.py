"""Replicate combination against HRDAG verdata's combine_estimates (REFERENCE.md, exact)."""

import pandas as pd
import pytest

from darkfigure.errors import InputError
from darkfigure.estimation.replicates import combine_replicates


def test_colombia_fixture_reproduces_verdata(reference_dir):
    draws = pd.read_csv(reference_dir / "colombia_replicates_draws.csv")
    combined = combine_replicates(draws)
    # verdata combine_estimates: 1,266 / 1,593 / 2,148 (lower / point / upper)
    assert (combined.interval.lower, combined.estimate, combined.interval.upper) == (1266, 1593, 2148)
    assert combined.diagnostics["replicates"] == 20


def test_hand_worked_two_replicates():
    frame = pd.DataFrame({"replicate": ["a"] * 3 + ["b"] * 3, "n_obs": [10] * 3 + [12] * 3,
                          "N": [20, 30, 40, 25, 35, 45]})
    # n0: a = 10, 20, 30 (mean 20); b = 13, 23, 33 (mean 23): point = round(11) + round(21.5) = 11 + 22
    assert combine_replicates(frame).estimate == 33


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (pd.DataFrame({"replicate": ["a"], "n_obs": [3], "N": [5]}), "at least 2 replicates"),
        (pd.DataFrame({"replicate": ["a", "b"], "N": [5, 6]}), "missing n_obs"),
        (pd.DataFrame({"replicate": ["a", "b"], "n_obs": [9, 3], "N": [5, 6]}), "below its replicate"),
    ],
)
def test_bad_replicate_tables(frame, words):
    with pytest.raises(InputError, match=words):
        combine_replicates(frame)
