"""Neighbourhood (hubness) correction of Dice scores for record-level Bloom filters.

A record-level filter mixes all fields, so some records score high against many others (a common
family name and given name, a short or half-empty record: a *hub*) and others low against all (a
long record, an unusual name). Their Dice scores with true matches and with look-alikes shift
together, so one Dice cut-off for every record mixes the hubs' look-alikes with the other records'
matches. After the cross-domain similarity local scaling of Conneau et al. (2018, word translation),
each pair's Dice is measured against the two records' neighbourhoods:

    s = dice - strength (h_a + h_b) / 2 + strength median(h)

with ``h_r`` the mean of record ``r``'s ``NEIGHBOURS`` highest Dice among the compared pairs (the
Dice floor where fewer reach it). Adding ``strength median(h)`` keeps ``s`` on the Dice scale. The
match probability is then calibrated on ``s`` as on Dice (:func:`darkfigure.pprl.match.calibrate`,
``u`` from random pairs' corrected scores), with the non-match tail fitted higher up
(``TAIL_PAIRS_PER_RECORD``): the correction thins the look-alike tail, so the tail is fitted where it
is.

Measured on person-v2 filters (``benchmarks/bench_pprl_accuracy.py``, docs/pprl.md): F1 at 0.8 up
0.7 to 1.6 points on the simulations and FEBRL, precision at 0.8 kept. Segmented filters (person-v3)
weigh each field apart already and are not corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

NEIGHBOURS = 10  # h: mean of each record's 10 highest Dice
STRENGTH = 0.375  # beta: the share of the neighbourhood's excess taken off a pair's Dice
LOW_PAIRS_PER_RECORD = 60  # pairs are compared down to the Dice where random pairs number 60 per record
TAIL_PAIRS_PER_RECORD = (30, 10, 3)  # the non-match tail of the corrected score is fitted through these


def record_neighbourhood(
    n_records: int, left: np.ndarray, right: np.ndarray, dice: np.ndarray, k: int = NEIGHBOURS, fill: float = 0.0
) -> np.ndarray:
    """Mean of each record's ``k`` highest Dice among the pairs ``(left, right, dice)``, ``fill``
    standing in for the missing ones of records with fewer than ``k`` pairs.

    >>> record_neighbourhood(3, np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([0.9, 0.5, 0.7]), k=3).round(3)
    array([0.467, 0.533, 0.4  ])
    """
    ends = np.r_[np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)]
    scores = np.r_[dice, dice].astype(np.float64)
    order = np.argsort(ends + 0.5 * (1.0 - np.clip(scores, 0.0, 1.0)), kind="stable")  # by record, best first
    ends, scores = ends[order], scores[order]
    start = np.searchsorted(ends, np.arange(n_records))
    rank = np.arange(len(ends)) - start[ends]
    top = rank < k
    total = np.bincount(ends[top], weights=scores[top], minlength=n_records)
    found = np.bincount(ends[top], minlength=n_records)
    return (total + (k - found) * fill) / k


@dataclass(frozen=True)
class NeighbourhoodCorrection:
    """Each record's neighbourhood ``hub`` (mean of its ``neighbours`` highest Dice, missing ones at
    ``low``, the Dice the pairs were compared down to) and the ``strength`` of the correction;
    ``centre`` is the median of ``hub``.

    >>> c = NeighbourhoodCorrection.fit(3, np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([0.9, 0.5, 0.7]),
    ...                                 low=0.5, neighbours=2, strength=0.5)
    >>> c.hub.tolist(), c.centre
    ([0.7, 0.8, 0.6], 0.7)
    >>> c.scores(np.array([0, 0]), np.array([1, 2]), np.array([0.9, 0.5])).round(3).tolist()
    [0.875, 0.525]
    """

    strength: float
    neighbours: int
    low: float
    centre: float
    hub: np.ndarray = field(repr=False)

    @classmethod
    def fit(
        cls, n_records: int, left: np.ndarray, right: np.ndarray, dice: np.ndarray, low: float,
        neighbours: int = NEIGHBOURS, strength: float = STRENGTH,
    ) -> NeighbourhoodCorrection:
        """The correction from the compared pairs at or above ``low``."""
        keep = np.asarray(dice) >= low
        hub = record_neighbourhood(n_records, left[keep], right[keep], dice[keep], neighbours, low)
        return cls(float(strength), int(neighbours), float(low), float(np.median(hub)), hub)

    def scores(self, left: np.ndarray, right: np.ndarray, dice: np.ndarray) -> np.ndarray:
        """The corrected score of each pair, clipped to [0, 1]."""
        shift = self.strength * (0.5 * (self.hub[left] + self.hub[right]) - self.centre)
        return np.clip(np.asarray(dice, dtype=np.float64) - shift, 0.0, 1.0)

    def probability(
        self, left: np.ndarray, right: np.ndarray, dice: np.ndarray, sample: Any
    ) -> tuple[np.ndarray, Any, list[str]]:
        """Match probability of the corrected scores, calibrated as Dice is, on the random pairs'
        corrected scores (``sample``: match.py's random pairs; the floor where they number about 20 per
        record): (probabilities, the calibration or None, warnings)."""
        from darkfigure.pprl.match import calibrate, dice_floor

        scores = self.scores(left, right, dice)
        random = self.scores(sample.left, sample.right, sample.dice)
        floor = dice_floor(random, sample.pairs_at_risk, sample.n_records)
        if (scores >= floor).sum() < 2:
            return np.zeros(len(dice)), None, [f"fewer than 2 record pairs reached score {floor:g}: no pair is linked"]
        calibration = calibrate(scores, random, sample.pairs_at_risk, sample.n_records, floor,
                                sample.compared_share(random), TAIL_PAIRS_PER_RECORD)
        warnings = [] if calibration.converged else ["the calibration EM did not converge in 500 iterations"]
        return calibration.probability(scores), calibration, warnings

    def to_dict(self) -> dict[str, Any]:
        """The settings and the spread of the records' neighbourhoods."""
        q = np.quantile(self.hub, [0.1, 0.5, 0.9]) if len(self.hub) else np.zeros(3)
        return {"strength": self.strength, "neighbours": self.neighbours, "compared_down_to": self.low,
                "hub_quantiles_10_50_90": [float(v) for v in q]}
