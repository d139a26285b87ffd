"""One-to-one linkage of deduplicated lists: the competing-candidates probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkfigure.pprl import default_schema, encode_list
from darkfigure.pprl.decisions import one_to_one_probability
from darkfigure.pprl.match import calibrate, link_encoded

SECRET = b"0123456789abcdef0123456789abcdef"


def test_one_round_hand_worked():
    # lists A = {0, 1}, B = {2, 3}; pairs (0,2) p 0.5, (1,2) p 0.2, (1,3) p 0.2: odds 1, 0.25, 0.25.
    # Expected matches M = 0.9, so c = 1 - 0.9 / 2 = 0.55 on both sides. S = c + the other candidates' odds:
    # (0,2): S_a = 0.55, S_b = 0.55 + 0.25 = 0.8   -> 1 / (1 + 0.44)        = 0.694444
    # (1,2): S_a = 0.55 + 0.25, S_b = 0.55 + 1     -> 0.25 / (0.25 + 1.24)  = 0.167785
    # (1,3): S_a = 0.55 + 0.25, S_b = 0.55         -> 0.25 / (0.25 + 0.44)  = 0.362319
    # no record's probabilities add up to more than 1 (record 2: 0.862), so none is scaled
    p = one_to_one_probability(np.array([0, 1, 1]), np.array([2, 2, 3]), np.array([0.5, 0.2, 0.2]),
                               np.array([0, 0, 1, 1]), rounds=1)
    assert p == pytest.approx([1 / 1.44, 0.25 / 1.49, 0.25 / 0.69], rel=1e-9)


def test_pairs_within_a_list_get_nothing_and_records_at_most_one():
    rng = np.random.default_rng(0)
    codes = np.repeat([0, 1, 2], 50)
    left, right = rng.integers(0, 150, 2000), rng.integers(0, 150, 2000)
    keep = left < right
    left, right = left[keep], right[keep]
    p = one_to_one_probability(left, right, rng.random(len(left)), codes)
    assert (p[codes[left] == codes[right]] == 0).all()
    for side, other in ((left, right), (right, left)):  # per record and other list: at most 1 in all
        total = np.bincount(side * 3 + codes[other], weights=p, minlength=450)
        assert total.max() <= 1 + 1e-9


def _one_to_one_pairs(seed: int, n: int, overlap: float) -> tuple[np.ndarray, ...]:
    """Two lists of ``n`` records, a share ``overlap`` of them one person in both; every pair's Dice:
    matches 0.5 + 0.5 Beta(3, 1), non-matches 90% Normal(0.45, 0.03), 10% look-alikes 0.45 + Exp(0.04)
    (the synthetic pairs of test_match.py, here with the one-to-one structure)."""
    rng = np.random.default_rng(seed)
    left, right = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(n, 2 * n), indexing="ij"))
    matched = rng.random(n) < overlap
    label = (right - n == left) & matched[left]
    look_alike = rng.random(len(left)) < 0.1
    dice = np.where(look_alike, 0.45 + rng.exponential(0.04, len(left)), rng.normal(0.45, 0.03, len(left)))
    dice[label] = 0.5 + 0.5 * rng.beta(3, 1, label.sum())
    return left, right, np.clip(dice, 0.0, 1.0), label


def _pair_f1(predicted: np.ndarray, truth: np.ndarray, n_true: int) -> float:
    return 2 * (predicted & truth).sum() / (predicted.sum() + n_true)


@pytest.mark.parametrize("overlap", [0.9, 0.4])
def test_one_to_one_keeps_its_precision_and_raises_f1(overlap):
    # labels known: pairs given >= 0.8 after the one-to-one step are matches at least ~80% of the time
    # (measured 0.997 and 0.907), and F1 at 0.8 beats the pairwise probability's (measured 0.901 against
    # 0.740 at overlap 0.9, 0.834 against 0.526 at 0.4): here the look-alike tail is heavier than the
    # pairwise calibration's exponential, so look-alikes compete with the matches, which the step weighs
    left, right, dice, label = _one_to_one_pairs(1, 1200, overlap)
    random = dice[np.random.default_rng(2).integers(0, len(dice), 300_000)]
    c = calibrate(dice[dice >= 0.5], random, pairs_at_risk=len(dice), n_records=2400)
    kept = dice >= c.floor
    pairwise = c.probability(dice[kept])
    p = one_to_one_probability(left[kept], right[kept], pairwise, np.repeat([0, 1], 1200))
    truth = label[kept]
    assert truth[p >= 0.8].mean() >= 0.8
    assert _pair_f1(p >= 0.8, truth, label.sum()) > _pair_f1(pairwise >= 0.8, truth, label.sum()) + 0.05


def test_link_encoded_one_to_one_links_across_lists_only():
    people = pd.DataFrame({"record_id": ["a1", "a2", "a3", "a4"],
                           "family_name": ["Kim", "Ri", "Pak", "Choe"],
                           "given_name": ["Minji", "Yonghui", "Sujin", "Okhui"],
                           "birth_date": ["1990-05-04", "1985-01-30", "1971-03-02", "1966-11-12"]})
    a = encode_list(people, default_schema(), SECRET, "A")
    b = encode_list(people.iloc[[0, 1]].assign(record_id=["b1", "b2"], given_name=["Min-ji", "Yong-hui"]),
                    default_schema(), SECRET, "B")
    result = link_encoded([a, b], seed=1, one_to_one=True)
    assert result.model["link_type"] == "link_only" and result.model["one_to_one"]
    assert result.entity_ids(0.8).tolist() == [1, 2, 3, 4, 1, 2]
    assert (result.pairs["list_l"] != result.pairs["list_r"]).all()
