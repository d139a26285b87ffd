"""Decisions beyond one pair at a time: one-to-one linkage of deduplicated lists.

Where each list holds each person at most once (FEBRL4: two lists, no duplicates within a list), a
record links to at most one record of each other list, so a pair's probability also depends on the
two records' other candidates: a pair that is the clear best of both records is likelier a match
than its Dice alone says, and one that competes with a better candidate less likely.

The model (after the competing-risks view of Fellegi-Sunter matching under a one-to-one constraint,
as in Sadinle's bipartite record linkage, with the records' choices treated as independent): record
``a`` of list ``A`` has a match in list ``B`` with prior ``rho``, equally likely any of ``B``'s
records. Given the Dice of all of ``a``'s pairs, the odds that ``a`` matches ``b`` are the pairwise
calibration's odds ``O_ab`` (its prior already the match share among pairs), set against
``S_a = c_A + sum of O_aj over a's other candidates j in B``, where ``c_A = 1 - M / n_A`` is the
share of ``A``'s records without a match above the Dice floor (``M`` matches there, ``n_A`` records).
With ``b``'s side alike,

    P(a matches b) = O_ab / (O_ab + S_a S_b),

scaled down where a record's probabilities over one list would add up to more than 1 (the two
sides are weighed apart), and ``M`` is re-estimated as their sum, a few rounds (an EM on the match
count).
When most records have a match (``c`` near 0) a clear best pair gets a probability near 1 even at a
modest Dice; when few do (``c`` near 1) the probability stays near the pairwise one, lowered by
competitors.
"""

from __future__ import annotations

import numpy as np

ROUNDS = 10


def one_to_one_probability(
    left: np.ndarray, right: np.ndarray, probability: np.ndarray, list_codes: np.ndarray, rounds: int = ROUNDS
) -> np.ndarray:
    """Match probability of pairs across lists under one-to-one linkage (each list holds each person
    at most once), from the pairwise probabilities of every compared pair above the Dice floor.
    ``left`` and ``right`` index records, ``list_codes`` gives each record's list (0, 1, ...); pairs
    within one list get probability 0.

    Two lists of two records, ``A = {0, 1}`` and ``B = {2, 3}``: record 3's only candidate is 1, while
    record 2's candidates 0 and 1 compete; both lists are mostly matched:

    >>> p = one_to_one_probability(np.array([0, 1, 1]), np.array([2, 2, 3]), np.array([0.5, 0.2, 0.2]),
    ...                            np.array([0, 0, 1, 1]))
    >>> p.round(2).tolist()
    [0.73, 0.27, 0.7]
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    codes = np.asarray(list_codes, dtype=np.int64)
    across = codes[left] != codes[right]
    odds = np.where(across, _odds(np.asarray(probability, dtype=np.float64)), 0.0)
    n_lists, n = int(codes.max()) + 1, len(codes)
    key_l, key_r = left * n_lists + codes[right], right * n_lists + codes[left]
    keys = np.r_[key_l, key_r]
    total = np.bincount(keys, weights=np.r_[odds, odds], minlength=n * n_lists)
    other_l, other_r = total[key_l] - odds, total[key_r] - odds
    sizes = np.bincount(codes, minlength=n_lists).astype(np.float64)
    result = np.where(across, np.asarray(probability, dtype=np.float64), 0.0)
    for _ in range(max(int(rounds), 1)):
        unmatched = _unmatched_share(result, codes[left], codes[right], sizes)
        s_l = unmatched[codes[left], codes[right]] + other_l
        s_r = unmatched[codes[right], codes[left]] + other_r
        result = _at_most_one(np.divide(odds, odds + s_l * s_r, out=np.zeros_like(odds), where=across),
                              key_l, key_r, keys, n * n_lists)
    return result


def _at_most_one(
    probability: np.ndarray, key_l: np.ndarray, key_r: np.ndarray, keys: np.ndarray, n_keys: int
) -> np.ndarray:
    """Scale pairs so that no record's probabilities of matching a record of one list add up to more
    than 1 (the two sides' competitors are weighed apart, so their product can overshoot)."""
    total = np.bincount(keys, weights=np.tile(probability, 2), minlength=n_keys)
    return probability / np.maximum(1.0, np.maximum(total[key_l], total[key_r]))


def _odds(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 0.0, 1.0 - 1e-9)
    return p / (1.0 - p)


def _unmatched_share(probability: np.ndarray, list_l: np.ndarray, list_r: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``c[A, B]``: the share of list ``A``'s records without a match in list ``B`` (1 - expected
    matches / size), at least 1e-6."""
    k = len(sizes)
    matches = np.bincount(list_l * k + list_r, weights=probability, minlength=k * k).reshape(k, k)
    matches = matches + matches.T
    return np.maximum(1.0 - matches / sizes[:, None], 1e-6)
