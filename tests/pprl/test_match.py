"""Matching encoded lists: the calibration mixture, blocking measures, and the linkage result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkfigure.errors import InputError
from darkfigure.linkage import (
    ColumnMapping,
    entities_from_pairs,
    evaluate,
    histories_by_threshold,
    identity_frame,
    link,
)
from darkfigure.pprl import default_schema, encode_list
from darkfigure.pprl.blocking import Grouping, LshSettings, blocking_quality, key_groupings, lsh_groupings
from darkfigure.pprl.dice import dice_pairs
from darkfigure.pprl.match import calibrate, link_encoded, nonmatch_distribution
from darkfigure.simulate import load_scenario, simulate_coalition

SECRET = b"0123456789abcdef0123456789abcdef"


def _synthetic_pairs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """2,000,000 record pairs with known labels: 1,500 matches (Dice 0.5 + 0.5 Beta(3, 1)) and
    non-matches, 90% Normal(0.45, 0.03) and 10% look-alikes with an exponential tail (0.45 + Exp(0.04))."""
    rng = np.random.default_rng(seed)
    n_non = 2_000_000 - 1500
    look_alike = rng.random(n_non) < 0.1
    non = np.where(look_alike, 0.45 + rng.exponential(0.04, n_non), rng.normal(0.45, 0.03, n_non))
    dice = np.clip(np.r_[non, 0.5 + 0.5 * rng.beta(3, 1, 1500)], 0.0, 1.0)
    return dice, np.r_[np.zeros(n_non, bool), np.ones(1500, bool)]


@pytest.mark.parametrize("seed", [0, 1])
def test_calibrated_probability_means_precision(seed):
    # labels known: the pairs the calibration gives probability >= 0.8 must be matches at least ~80%
    # of the time, and >= 0.95 at least ~90%; u comes from 300,000 random pairs of the 2,000,000
    # (true matches among them, as in practice), the calibration sees the pairs above its floor
    dice, label = _synthetic_pairs(seed)
    random = dice[np.random.default_rng(seed + 10).integers(0, len(dice), 300_000)]
    c = calibrate(dice[dice >= 0.5], random, pairs_at_risk=len(dice), n_records=2000)
    p = c.probability(dice)
    assert label[p >= 0.8].mean() >= 0.78
    assert label[p >= 0.95].mean() >= 0.9
    assert label[p >= 0.8].sum() / 1500 >= 0.85  # recall: most matches (Dice above ~0.72) kept
    assert (np.diff(c.probability(np.linspace(0, 1, 1001))) >= 0).all()
    assert c.probability(np.array([0.45]))[0] == 0.0


def test_nonmatch_tail_is_exponential_fit():
    # a non-match distribution with a known exponential tail: rate 1 / 0.02 = 50
    scores = 0.3 + np.random.default_rng(2).exponential(0.02, 400_000)
    u, (start, rate, curvature) = nonmatch_distribution(scores, pairs_at_risk=1e7, n_records=2000)
    assert rate == pytest.approx(50, rel=0.1) and curvature == 0.0
    assert u.sum() == pytest.approx(1.0, abs=1e-3)


def test_blocking_quality_hand_worked():
    # records 0-5, truth {0,1}, {2,3}, {4}, {5}; keys group {0,1,2} and {3,4}; LSH-like group {2,3}
    groupings = [Grouping("key", np.array([0, 0, 0, 1, 1, -1])), Grouping("band", np.array([-1, -1, 5, 5, -1, -1]))]
    q = blocking_quality(groupings, [1, 1, 2, 2, 3, 4])
    # compared: (0,1) (0,2) (1,2) (3,4) (2,3) = 5 of 15 pairs; both true pairs compared
    assert q == {"pairs_completeness": 1.0, "reduction_ratio": 1 - 5 / 15, "comparisons": 5, "pairs_compared": 5}


def test_key_groupings_treat_empty_keys_as_no_group():
    g = key_groupings(pd.DataFrame({"block_birth_year": ["aa", "", "aa", None, "bb"]}))[0]
    assert g.labels.tolist() == [0, -1, 0, -1, 1]


def test_lsh_keeps_near_duplicates_together():
    rng = np.random.default_rng(4)
    bits = rng.random((2000, 1024)) < 0.5
    bits[1000:] = bits[:1000] ^ (rng.random((1000, 1024)) < 0.05)  # Dice about 0.95
    filters = np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)
    truth = np.r_[np.arange(1000), np.arange(1000)]
    q = blocking_quality(lsh_groupings(filters, LshSettings(bands=12, bits=12, seed=1)), truth)
    # one band keeps a pair with chance 0.95**12 = 0.54; twelve bands miss it with chance 0.46**12 < 1e-4
    assert q["pairs_completeness"] >= 0.999
    assert q["reduction_ratio"] > 0.99


def people() -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": ["a1", "a2", "a3", "a4", "a5"],
        "family_name": ["Kim", "Ri", "Pak", "Choe", "Han"],
        "given_name": ["Minji", "Yonghui", "Sujin", "Okhui", "Sunhwa"],
        "birth_date": ["1990-05-04", "1985-01-30", "1971-03-02", "1966-11-12", "1999-07-07"],
        "sex": ["f"] * 5,
    })


def test_link_encoded_result_like_plaintext():
    a = encode_list(people(), default_schema(), SECRET, "A")
    other = people().iloc[[0, 1, 3]].assign(record_id=["b1", "b2", "b3"], given_name=["Min-ji", "Yong-hui", "Ok-hui"])
    b = encode_list(other, default_schema(), SECRET, "B")
    result = link_encoded([a, b], seed=1)
    truth = ["Kim", "Ri", "Pak", "Choe", "Han", "Kim", "Ri", "Choe"]
    q = evaluate(result.entity_ids(0.5), truth)
    assert (q.pair_precision, q.pair_recall) == (1.0, 1.0), q.summary()
    assert result.records.columns.tolist() == ["list", "record_id", "entity_id"]
    assert result.records["record_id"].tolist() == ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3"]
    assert {"list_l", "record_id_l", "list_r", "record_id_r", "match_probability", "match_weight",
            "dice"} <= set(result.pairs.columns)
    assert result.thresholds == (0.5, 0.8, 0.95) and result.model["link_type"] == "link_and_dedupe"
    h = histories_by_threshold(result)[0.5]
    assert h.list_sizes() == {"A": 5, "B": 3} and h.n_observed == 5


def test_link_encoded_refuses_mixed_schemas():
    a = encode_list(people(), default_schema(), SECRET, "A")
    b = encode_list(people(), default_schema().with_hardening(flip_probability=0.05), SECRET, "B")
    with pytest.raises(InputError, match="same schema"):
        link_encoded([a, b])
    with pytest.raises(InputError, match="distinct names"):
        link_encoded([a, a])


def test_encoded_accuracy_beside_plaintext():
    # the same simulated coalition (generic, N = 1000, seed 3; about 530 records) linked in plain text
    # and encoded with the default schema; the truth is the simulator's entity ids. The calibrated
    # threshold 0.8 keeps the precision it promises and comes near the best F1 any Dice cut-off reaches
    # with the labels (what the encoding allows; the best cut-off trades precision for recall, 0.8 does
    # not). Measured with person-v2 and this secret (2026-11-29, with the neighbourhood correction, the
    # default): encoded F1 0.896 (precision 0.921; without the correction 0.890, precision 0.900), best
    # Dice cut-off 0.896, plaintext 0.937; the goal (within 0.02 of plaintext) is not reached here
    c = simulate_coalition(load_scenario("generic").with_n(1000), seed=3)
    mapping = ColumnMapping.from_dict(c.mapping()["lists"])
    truth = c.truth["entity_id"].to_numpy()
    plain = evaluate(link(c.lists, mapping, seed=3).entity_ids(0.8), truth)
    frame = identity_frame(c.lists, mapping)
    encoded = [encode_list(frame[frame["list"] == n].reset_index(drop=True), default_schema(), SECRET, n,
                           record_ids=frame.loc[frame["list"] == n, "record_id"].to_numpy()) for n in c.lists]
    q = evaluate(link_encoded(encoded, seed=3).entity_ids(0.8), truth)
    filters = np.concatenate([e.filters for e in encoded])
    i, j, d = dice_pairs(filters, threshold=0.4)
    best = max(evaluate(entities_from_pairs(len(filters), i[d >= t], j[d >= t]), truth).pair_f1
               for t in np.arange(0.4, 1.0, 0.01))
    assert q.pair_f1 >= best - 0.06, (q.summary(), best)
    assert q.pair_precision >= 0.85, q.summary()
    assert q.pair_f1 >= plain.pair_f1 - 0.15, (q.summary(), plain.summary())
