"""Match probability from per-segment Dice of segmented filters, Fellegi-Sunter style.

With a segmented schema (person-v3) each record pair gets one Dice per segment
(:func:`darkfigure.pprl.segments.segment_dice`). Each segment's Dice is cut into agreement levels
(``LEVELS``: below 0.55 is the lowest level, 1.0 the highest; a segment empty in either record is
missing and weighs nothing), and the levels are combined as plaintext linkage (Splink) combines
fields:

- ``u`` (the non-match probability of each level of each segment) from random record pairs;
- ``m`` and the match share by EM on the compared pairs, segments conditionally independent, with
  the non-match distribution among the compared pairs free (the compared pairs are selected by
  their similarity, so their non-matches agree more than random pairs); started from the pairs
  whose present segments mostly reach the two highest levels;
- a pair's probability is ``prior * prod m / (prior * prod m + (1 - prior) * prod u)`` with ``u``
  from the random pairs and the prior the expected matches over all pairs at risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

LEVELS = np.array([0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.999])
MAX_ITERATIONS = 500


def agreement_levels(dice: np.ndarray) -> np.ndarray:
    """Agreement level of each Dice (0 below 0.55 ... 10 at 1.0); -1 where missing (NaN).

    >>> agreement_levels(np.array([[0.3, 1.0, np.nan, 0.82]])).tolist()
    [[0, 10, -1, 6]]
    """
    dice = np.asarray(dice, dtype=np.float64)
    levels = np.searchsorted(LEVELS, np.nan_to_num(dice, nan=0.0), side="right")
    return np.where(np.isnan(dice), -1, levels).astype(np.int64)


@dataclass(frozen=True)
class SegmentModel:
    """Fitted m- and u-probabilities per segment and level, the match share among the compared
    pairs and the prior over all pairs at risk.

    >>> m = np.array([[0.1, 0.9]]); u = np.array([[0.9, 0.1]])
    >>> SegmentModel(("name",), m, u, 0.1, 0.01, True, 3).probability(np.array([[1], [0], [-1]])).round(4).tolist()
    [0.0833, 0.0011, 0.01]
    """

    segments: tuple[str, ...]
    m: np.ndarray = field(repr=False)
    u: np.ndarray = field(repr=False)
    match_share: float
    prior: float
    converged: bool
    iterations: int

    def probability(self, levels: np.ndarray) -> np.ndarray:
        """Match probability of pairs given their agreement levels (pairs x segments)."""
        weight = _log_likelihood(levels, self.m) - _log_likelihood(levels, self.u)
        logit = np.log(self.prior / (1 - self.prior)) + weight
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))

    def to_dict(self) -> dict[str, Any]:
        """The fitted numbers: match share, prior, and the match weight (log2 m/u) of each level."""
        weights = np.log2(self.m / self.u).round(3)
        return {"method": "Fellegi-Sunter on per-segment Dice levels", "levels": LEVELS.tolist(),
                "match_share": self.match_share, "prior": self.prior, "converged": self.converged,
                "iterations": self.iterations,
                "match_weights": {s: weights[k].tolist() for k, s in enumerate(self.segments)}}


def _log_likelihood(levels: np.ndarray, table: np.ndarray) -> np.ndarray:
    present = levels >= 0
    picked = table[np.arange(table.shape[0])[None, :], np.maximum(levels, 0)]
    return np.where(present, np.log(picked), 0.0).sum(axis=1)


def _level_counts(levels: np.ndarray, weights: np.ndarray, n_levels: int) -> np.ndarray:
    out = np.zeros((levels.shape[1], n_levels))
    for s in range(levels.shape[1]):
        present = levels[:, s] >= 0
        out[s] = np.bincount(levels[present, s], weights=weights[present], minlength=n_levels)
    return out


def _normalised(counts: np.ndarray, pseudo: float) -> np.ndarray:
    counts = counts + pseudo
    return counts / counts.sum(axis=1, keepdims=True)


def fit_segment_model(
    compared: np.ndarray, random: np.ndarray, pairs_at_risk: float, segments: tuple[str, ...]
) -> SegmentModel:
    """Fit m, u and the prior from the agreement levels of the compared pairs and of random pairs.

    >>> rng = np.random.default_rng(0)
    >>> non = rng.integers(0, 4, (5000, 3)); match = np.full((200, 3), 10)
    >>> model = fit_segment_model(np.r_[non, match], rng.integers(0, 4, (20000, 3)), 1e6, ("a", "b", "c"))
    >>> round(model.match_share, 3), model.probability(np.array([[10, 10, 10], [0, 1, 2]])).round(3).tolist()
    (0.038, [1.0, 0.0])
    """
    n_levels = len(LEVELS) + 1
    patterns, inverse, counts = np.unique(compared, axis=0, return_inverse=True, return_counts=True)
    u_random = _normalised(_level_counts(random, np.ones(len(random)), n_levels), 0.5)
    present = np.maximum((patterns >= 0).sum(axis=1), 1)
    post = (((patterns >= n_levels - 2).sum(axis=1) / present) >= 0.6).astype(np.float64)
    previous, converged, iterations = -np.inf, False, 0
    for iterations in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported
        share = float(np.clip((post * counts).sum() / counts.sum(), 1e-9, 0.5))
        m = _normalised(_level_counts(patterns, post * counts, n_levels), 0.01)
        u = _normalised(_level_counts(patterns, (1 - post) * counts, n_levels), 0.01)
        lm, lu = np.log(share) + _log_likelihood(patterns, m), np.log(1 - share) + _log_likelihood(patterns, u)
        post = 1.0 / (1.0 + np.exp(np.clip(lu - lm, -700, 700)))
        loglik = float((counts * np.logaddexp(lm, lu)).sum())
        if abs(loglik - previous) <= 1e-10 * max(abs(loglik), 1.0):
            converged = True
            break
        previous = loglik
    prior = float(np.clip((post * counts).sum() / max(pairs_at_risk, 1.0), 1e-12, 0.5))
    return SegmentModel(segments, m, u_random, share, prior, converged, iterations)
