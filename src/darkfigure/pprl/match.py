"""Linkage of encoded lists: deduplicate within and link across any number of them.

Records are compared within the groups of the blocking (:mod:`darkfigure.pprl.blocking`: the keyed
blocking keys and Hamming LSH bands) with the compiled Dice kernel (:mod:`darkfigure.pprl.dice`);
pairs at or above a Dice floor are kept. Dice becomes a match probability comparable to the
plaintext linkage's without labels, the way Splink treats u- and m-probabilities:

- the **non-match distribution** ``u`` of Dice comes from random record pairs (true matches are a
  negligible share of them), as a fine histogram; its upper tail, where the few true matches among
  random pairs would weigh, is an exponential fitted to the random pairs' quantiles below it;
- blocking compares a biased subset: the share of random pairs of each Dice bin that some blocking
  group compares reweights ``u`` to the compared pairs;
- the **match distribution** ``m`` (a beta density above the floor) and the match share ``lambda``
  among the compared pairs above the floor are fitted by EM with ``u`` fixed;
- a pair's probability is ``lambda m / (lambda m + (1 - lambda) u)``, made nondecreasing in Dice
  (isotonic regression).

By default (record-level filters) the score so calibrated is the Dice corrected by the two records'
neighbourhoods (:mod:`darkfigure.pprl.neighbourhood`; ``neighbourhood=False``: the raw Dice).

So thresholds 0.5, 0.8 and 0.95 mean what they mean for plaintext linkage; the calibration assumes
no Dice baseline (balanced or diffused filters have their own). Deduplication and linkage use the
same calibration. The result is a :class:`darkfigure.linkage.LinkageResult` like
:func:`darkfigure.linkage.link` gives; the raw Dice stays in the pairs (column ``dice``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betainc

from darkfigure._parallel import available_workers
from darkfigure._timing import StageClock
from darkfigure.errors import InputError
from darkfigure.linkage.cluster import LinkageResult, cluster_at_thresholds
from darkfigure.linkage.plaintext import DEFAULT_THRESHOLDS, _link_type, _thresholds
from darkfigure.pprl.blocking import Grouping, LshSettings, key_groupings, lsh_groupings, lsh_settings
from darkfigure.pprl.decisions import one_to_one_probability
from darkfigure.pprl.dice import dice_pairs, dice_scores, pairs_within_groups
from darkfigure.pprl.encode import EncodedList
from darkfigure.pprl.neighbourhood import LOW_PAIRS_PER_RECORD, NeighbourhoodCorrection

BINS = 400  # Dice bins of width 0.0025 on [0, 1]
RANDOM_PAIRS = 1_000_000
ALL_PAIRS_UP_TO = 2e9  # lists with at most this many pairs are compared pair by pair, without blocking
FLOOR_PAIRS_PER_RECORD = 20  # the floor: random pairs above it, scaled to all pairs, about 20 per record
SEGMENT_FLOOR_PAIRS_PER_RECORD = 200  # segmented filters: a lower floor, the segments' levels sort the pairs
TAIL_PAIRS_PER_RECORD = (100, 30, 10)  # the tail of u is fitted through these levels
_EDGES = np.linspace(0.0, 1.0, BINS + 1)
_MID = (_EDGES[:-1] + _EDGES[1:]) / 2


@dataclass(frozen=True)
class DiceCalibration:
    """Match probability by Dice bin: ``probability[k]`` for Dice in bin ``k`` of ``BINS`` equal bins of
    [0, 1] (0 below ``floor``), with the fitted numbers: the match share among compared pairs above the
    floor, the beta ``m`` (on ``(dice - floor) / (1 - floor)``), and the exponential tail of ``u``.

    >>> p = np.where(_MID >= 0.9, 0.99, 0.0)
    >>> c = DiceCalibration(0.7, 0.1, 20.0, 2.0, 0.8, 40.0, 0.0, True, 12, p)
    >>> c.probability(np.array([0.5, 0.85, 0.95])).tolist()
    [0.0, 0.0, 0.99]
    """

    floor: float
    match_share: float
    match_a: float
    match_b: float
    tail_start: float
    tail_rate: float
    tail_curvature: float
    converged: bool
    iterations: int
    by_bin: np.ndarray = field(repr=False)

    def probability(self, dice: np.ndarray) -> np.ndarray:
        """Match probability of each Dice score (nondecreasing; 0 below the floor)."""
        dice = np.asarray(dice, dtype=np.float64)
        k = np.clip(np.searchsorted(_EDGES, dice, side="right") - 1, 0, BINS - 1)
        return np.where(dice < self.floor, 0.0, self.by_bin[k])

    def dice_at(self, probability: float) -> float:
        """The lowest Dice whose match probability reaches ``probability`` (1.0 if none)."""
        reached = np.flatnonzero((self.by_bin >= probability) & (_EDGES[1:] > self.floor))
        return float(max(_EDGES[reached[0]], self.floor)) if len(reached) else 1.0

    def to_dict(self) -> dict[str, Any]:
        """The fitted numbers, with the Dice at match probability 0.5, 0.8, 0.95."""
        names = ("floor", "match_share", "match_a", "match_b", "tail_start", "tail_rate", "tail_curvature",
                 "converged", "iterations")
        return {**{n: getattr(self, n) for n in names},
                "dice_at": {f"{p:g}": self.dice_at(p) for p in DEFAULT_THRESHOLDS}}


def nonmatch_distribution(
    random_dice: np.ndarray, pairs_at_risk: float, n_records: int, levels: tuple[int, ...] = TAIL_PAIRS_PER_RECORD,
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The non-match distribution of Dice over ``BINS`` bins, from the Dice of random pairs: their
    histogram up to ``start``, the random pairs' quantile where 10 pairs per record (the last of ``levels``; of all
    ``pairs_at_risk``) lie above; above it a tail ``S(start) exp(-rate t - curvature t^2)``
    (``t = dice - start``, curvature >= 0: no heavier than exponential) through the quantiles where
    100, 30 and 10 pairs per record (``levels``) lie above. The few true matches among random pairs
    weigh in the histogram only where they are many among few non-matches, which the tail leaves out. Returns
    (bin probabilities, (start, rate, curvature)).

    >>> scores = np.random.default_rng(1).exponential(0.02, 200_000) + 0.4  # a rate-50 exponential tail
    >>> u, (start, rate, curvature) = nonmatch_distribution(scores, 5e6, 1000)
    >>> round(float(u.sum()), 3), round(start, 3), round(rate), round(curvature)
    (1.0, 0.525, 51, 0)
    """
    r = np.sort(np.asarray(random_dice, dtype=np.float64))
    if len(r) == 0:
        raise InputError("no random record pairs to measure the non-match Dice distribution; give more records")
    above = np.array([min(0.5, k * n_records / max(pairs_at_risk, 1.0)) for k in levels])
    s = np.quantile(r, 1.0 - above)
    start = float(min(_EDGES[np.searchsorted(_EDGES, s[-1])], 1.0))
    rate, curvature = _tail_shape(s - s[-1], np.log(above / above[-1]))
    u = np.histogram(r, _EDGES)[0] / len(r)
    tail = _EDGES[:-1] >= start
    survive = float((r >= start).mean())
    log_s = lambda x: -rate * (x - start) - curvature * (x - start) ** 2  # noqa: E731
    u[tail] = survive * (np.exp(log_s(_EDGES[:-1][tail])) - np.exp(log_s(_EDGES[1:][tail])))
    return u, (start, rate, curvature)


def _tail_shape(t: np.ndarray, log_survival: np.ndarray) -> tuple[float, float]:
    """``(rate, curvature)`` of ``log S(t) = -rate t - curvature t^2`` through the points (t, log S)
    (the last is t = 0); curvature 0 (an exponential) when the points bend the other way."""
    t = np.minimum(t, -1.0 / BINS * np.arange(len(t) - 1, -1, -1))  # distinct points, at least a bin apart
    rate = log_survival[-2] / -t[-2]
    return max(float(rate), 1.0), 0.0


def calibrate(
    dice: np.ndarray, random_dice: np.ndarray, pairs_at_risk: float, n_records: int, floor: float | None = None,
    compared_share: np.ndarray | None = None, tail_levels: tuple[int, ...] = TAIL_PAIRS_PER_RECORD,
) -> DiceCalibration:
    """Match probability from the Dice of the compared pairs and of random pairs: the floor from
    :func:`dice_floor` (unless given), ``u`` from :func:`nonmatch_distribution` times
    ``compared_share`` (the share of random pairs of each Dice bin the blocking compares; 1 without
    blocking), then ``m`` and the match share by :func:`fit_calibration`.

    >>> rng = np.random.default_rng(3)
    >>> population = np.r_[rng.normal(0.45, 0.03, 999_000), 0.6 + 0.4 * rng.beta(3, 1, 1000)]
    >>> random = population[rng.integers(0, len(population), 200_000)]
    >>> c = calibrate(population, random, len(population), 1400)
    >>> c.probability(np.array([0.5, 0.6, 0.7, 0.9])).round(2).tolist()
    [0.0, 0.02, 1.0, 1.0]
    """
    floor = dice_floor(random_dice, pairs_at_risk, n_records) if floor is None else float(floor)
    u, tail = nonmatch_distribution(random_dice, pairs_at_risk, n_records, tail_levels)
    share = np.ones(BINS) if compared_share is None else compared_share
    return fit_calibration(dice, u * share, floor, tail)


def dice_floor(random_dice: np.ndarray, pairs_at_risk: float, n_records: int) -> float:
    """The lowest Dice kept: where random pairs above it, scaled to all ``pairs_at_risk``, are about
    20 per record (at most the random pairs' median), down to a bin edge.

    >>> dice_floor(np.linspace(0, 1, 100_001), 1e6, 1000)
    0.98
    """
    level = 1.0 - min(0.5, FLOOR_PAIRS_PER_RECORD * n_records / max(pairs_at_risk, 1.0))
    return float(_EDGES[np.searchsorted(_EDGES, np.quantile(random_dice, level), side="right") - 1])


def fit_calibration(
    dice: np.ndarray, u: np.ndarray, floor: float, tail: tuple[float, float, float] = (1.0, 0.0, 0.0),
    max_iter: int = 500,
) -> DiceCalibration:
    """Fit the match share and the beta ``m`` to the Dice of the compared pairs at or above ``floor``
    by EM, with the non-match distribution ``u`` (per bin, reweighted to the compared pairs) fixed.

    >>> rng = np.random.default_rng(1)
    >>> u = np.histogram(rng.beta(60, 40, 100_000), _EDGES)[0] / 1e5
    >>> d = np.concatenate([rng.beta(60, 40, 100_000), 0.7 + 0.3 * rng.beta(30, 2, 500)])
    >>> c = fit_calibration(d, u, floor=0.7)
    >>> round(c.match_share, 2), c.probability(np.array([0.72, 0.8, 0.99])).round(3).tolist()
    (0.22, [0.0, 1.0, 1.0])
    """
    d = np.asarray(dice, dtype=np.float64)
    counts = np.histogram(d[d >= floor], _EDGES)[0].astype(np.float64)
    above = _EDGES[:-1] >= floor - 1e-12
    if counts.sum() < 2:
        raise InputError(f"fewer than 2 compared record pairs reach Dice {floor:g}; cannot calibrate")
    u_c = np.where(above, u, 0.0)
    u_c = u_c / u_c.sum() if u_c.sum() > 0 else above / above.sum()
    x = np.clip((_MID - floor) / (1 - floor), 1e-6, 1 - 1e-6)
    share, a, b = 0.5, 2.0, 1.0
    previous, converged, iterations = -np.inf, False, 0
    for _ in range(max_iter):
        iterations += 1
        m = _beta_bins(a, b, floor) * above
        mix = share * m + (1 - share) * u_c
        post = np.divide(share * m, mix, out=np.zeros_like(mix), where=mix > 0)
        w = counts * post
        share = float(np.clip(w.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        a, b = _moments(x, w)
        loglik = float((counts * np.log(np.where(mix > 0, mix, 1.0))).sum())
        if abs(loglik - previous) <= 1e-9 * max(abs(loglik), 1.0):
            converged = True
            break
        previous = loglik
    m = _beta_bins(a, b, floor) * above
    mix = share * m + (1 - share) * u_c
    post = np.divide(share * m, mix, out=np.ones_like(mix), where=mix > 0) * above
    monotone = _isotonic(post, counts + 1.0) * above
    return DiceCalibration(floor, share, a, b, *tail, converged, iterations, monotone)


def _beta_bins(a: float, b: float, floor: float) -> np.ndarray:
    """Probability of each Dice bin under Beta(a, b) on [floor, 1]."""
    x = np.clip((_EDGES - floor) / (1 - floor), 0.0, 1.0)
    return np.diff(betainc(a, b, x))


def _moments(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Beta parameters with the weighted mean and variance of ``x`` (``a`` at least 1: the match
    density does not pile up at the floor)."""
    total = w.sum()
    if total <= 0:
        return 2.0, 1.0
    mean = float((w * x).sum() / total)
    var = float((w * (x - mean) ** 2).sum() / total)
    var = min(max(var, 1e-6), mean * (1 - mean) * 0.999)
    common = mean * (1 - mean) / var - 1
    return max(mean * common, 1.0), max((1 - mean) * common, 1e-3)


def _isotonic(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares nondecreasing fit (pool adjacent violators).

    >>> _isotonic(np.array([0.1, 0.3, 0.2, 0.9]), np.ones(4)).round(2).tolist()
    [0.1, 0.25, 0.25, 0.9]
    """
    values, weights, sizes = [], [], []
    for yi, wi in zip(y.tolist(), w.tolist(), strict=True):
        values.append(yi)
        weights.append(wi)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            wsum = weights[-2] + weights[-1]
            values[-2] = (values[-2] * weights[-2] + values[-1] * weights[-1]) / wsum
            weights[-2], sizes[-2] = wsum, sizes[-2] + sizes[-1]
            del values[-1], weights[-1], sizes[-1]
    return np.repeat(values, sizes)


# ------------------------------------------------------------------ linkage
def link_encoded(
    lists: Sequence[EncodedList] | Mapping[str, EncodedList],
    *,
    deduplicate: bool = True,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    threshold: float | None = None,
    seed: int = 0,
    lsh: LshSettings | bool = True,
    dice_floor: float | None = None,
    workers: int | None = None,
    one_to_one: bool = False,
    neighbourhood: bool = True,
) -> LinkageResult:
    """Deduplicate and link encoded lists; entity ids at each match-probability threshold.

    Blocking: every keyed blocking column of the lists, and (``lsh=True``, the default) Hamming LSH
    with settings from :func:`~darkfigure.pprl.blocking.lsh_settings`, or the given
    :class:`~darkfigure.pprl.blocking.LshSettings` (``False``: keys only). ``dice_floor`` (default:
    where random pairs above it, scaled to all pairs, are about 20 per record) is the lowest Dice
    kept. ``threshold`` (default: the middle of ``thresholds``) is the clustering
    ``records.entity_id`` follows. ``one_to_one=True``: each list holds each person at most once, so
    no pair within a list is compared and a record links to at most one record of each other list
    (:func:`~darkfigure.pprl.decisions.one_to_one_probability`: a clear best pair rises, contested ones fall).
    ``neighbourhood`` (record-level filters; segmented ones are matched per segment): calibrate the
    Dice corrected by the two records' neighbourhoods (:mod:`darkfigure.pprl.neighbourhood`), pairs
    compared down to where random pairs number about 60 per record; ``False``: the raw Dice.

    >>> from darkfigure.pprl import default_schema, encode_list
    >>> people = pd.DataFrame({"family_name": ["Kim", "Ri", "Pak", "Choe"],
    ...                        "given_name": ["Minji", "Yonghui", "Sujin", "Okhui"],
    ...                        "birth_date": ["1990-05-04", "1985-01-30", "1971-03-02", "1966-11-12"]})
    >>> a = encode_list(people, default_schema(), b"s" * 32, "A")
    >>> b = encode_list(people.iloc[[0, 1]].assign(given_name=["Min-ji", "Yong-hui"]), default_schema(), b"s" * 32, "B")
    >>> result = link_encoded([a, b], seed=1)
    >>> result.records["entity_id"].tolist()
    [1, 2, 3, 4, 1, 2]
    """
    encoded = _checked_lists(lists)
    cut_offs, chosen = _thresholds(thresholds, threshold)
    link_type = _link_type(len(encoded), deduplicate and not one_to_one)
    clock = StageClock()
    records, filters, blocks = _stack(encoded)
    list_codes = pd.factorize(records["list"])[0]
    at_risk = _pairs_at_risk(list_codes, link_type)
    groupings, rules = _groupings(filters, blocks, lsh, seed, at_risk)
    clock.lap("block")
    sample = _random_pairs(filters, list_codes, link_type, groupings, seed, at_risk)
    segments = encoded[0].segments
    floor = sample.floor(segmented=bool(segments)) if dice_floor is None else float(dice_floor)
    corrected = neighbourhood and not segments
    if corrected and dice_floor is None:
        floor = min(floor, max(sample.floor(per_record=LOW_PAIRS_PER_RECORD), floor - 0.05))
    workers = available_workers() if workers is None else max(1, int(workers))
    left, right, dice = _compare(filters, groupings, floor, workers)
    if link_type == "link_only":
        keep = list_codes[left] != list_codes[right]
        left, right, dice = left[keep], right[keep], dice[keep]
    clock.lap("compare")
    correction = NeighbourhoodCorrection.fit(len(records), left, right, dice, floor) if corrected else None
    if segments:
        probability, calibration, warnings = _segment_probability(filters, left, right, sample, segments)
    elif correction is not None:
        probability, calibration, warnings = correction.probability(left, right, dice, sample)
    else:
        calibration, warnings = _calibrate(dice, sample, floor)
        probability = calibration.probability(dice) if calibration is not None else np.zeros(len(dice))
    if one_to_one:
        probability = one_to_one_probability(left, right, probability, list_codes)
    clock.lap("train")
    keep = probability >= min(cut_offs)
    pairs = pd.DataFrame({"unique_id_l": left[keep], "unique_id_r": right[keep],
                          "match_probability": probability[keep], "dice": dice[keep]})
    clusterings = cluster_at_thresholds(len(records), pairs, cut_offs)
    clock.lap("cluster")
    model = {**_model(link_type, encoded, calibration, floor, warnings, len(left), sample), "one_to_one": one_to_one,
             "neighbourhood": correction.to_dict() if correction is not None else None}
    return LinkageResult.from_clusterings(records, _named_pairs(records, pairs), clusterings, chosen, model=model,
                                          blocking_rules=tuple(rules), timings=clock.laps)


@dataclass(frozen=True)
class _RandomPairs:
    """Dice of random record pairs (of the kind the link type compares), whether the blocking
    compares each, the number of pairs at risk and of records."""

    dice: np.ndarray
    compared: np.ndarray
    pairs_at_risk: float
    n_records: int
    left: np.ndarray | None = None
    right: np.ndarray | None = None

    def floor(self, segmented: bool = False, per_record: float | None = None) -> float:
        """The default Dice floor of these random pairs (:func:`dice_floor`; segmented filters: where
        random pairs above it are about 200 per record; else ``per_record`` if given)."""
        per_record = SEGMENT_FLOOR_PAIRS_PER_RECORD if segmented else per_record or FLOOR_PAIRS_PER_RECORD
        return dice_floor(self.dice, self.pairs_at_risk, self.n_records * per_record / FLOOR_PAIRS_PER_RECORD)

    def compared_share(self, scores: np.ndarray | None = None) -> np.ndarray:
        """Share of random pairs the blocking compares, per bin of their Dice (or of ``scores``):
        nondecreasing, 1 in bins with fewer than 20 random pairs above the last measured one."""
        scores = self.dice if scores is None else scores
        total = np.histogram(scores, _EDGES)[0]
        hit = np.histogram(scores[self.compared], _EDGES)[0]
        share = np.where(total >= 20, hit / np.maximum(total, 1), np.nan)
        measured = np.flatnonzero(~np.isnan(share))
        if len(measured):
            share[measured[-1] + 1:] = 1.0
        return np.maximum.accumulate(np.nan_to_num(share, nan=0.0))


def _pairs_at_risk(list_codes: np.ndarray, link_type: str) -> float:
    """Record pairs the link type could link: all pairs, or (link only) pairs across lists."""
    n = float(len(list_codes))
    sizes = np.bincount(list_codes).astype(np.float64)
    return (n * n - (sizes**2).sum()) / 2 if link_type == "link_only" else n * (n - 1) / 2


def _random_pairs(
    filters: np.ndarray, list_codes: np.ndarray, link_type: str, groupings: list[Grouping] | None, seed: int,
    at_risk: float,
) -> _RandomPairs:
    n = len(filters)
    rng = np.random.default_rng([seed, 7])
    left, right = rng.integers(0, n, RANDOM_PAIRS), rng.integers(0, n, RANDOM_PAIRS)
    keep = left != right
    if link_type == "link_only":
        keep &= list_codes[left] != list_codes[right]
    left, right = left[keep], right[keep]
    if len(left) == 0:
        raise InputError("the lists hold no pair of records to compare; give more records")
    compared = np.full(len(left), groupings is None)
    for g in groupings or []:
        compared |= (g.labels[left] == g.labels[right]) & (g.labels[left] >= 0)
    return _RandomPairs(dice_scores(filters, filters, left, right), compared, float(at_risk), n, left, right)


def _segment_probability(
    filters: np.ndarray, left: np.ndarray, right: np.ndarray, sample: _RandomPairs,
    segments: tuple[tuple[str, int], ...],
) -> tuple[np.ndarray, Any, list[str]]:
    """Segmented filters: match probability from each segment's Dice level, Fellegi-Sunter style
    (:mod:`darkfigure.pprl.fellegi`), u from the random pairs, m by EM on the compared pairs."""
    from darkfigure.pprl.fellegi import agreement_levels, fit_segment_model
    from darkfigure.pprl.segments import segment_bounds, segment_dice

    if len(left) < 2:
        return np.zeros(len(left)), None, ["fewer than 2 record pairs reached the Dice floor: no pair is linked"]
    bounds = segment_bounds([bits // 64 for _, bits in segments])
    compared = agreement_levels(segment_dice(filters, left, right, bounds))
    random = agreement_levels(segment_dice(filters, sample.left, sample.right, bounds))
    model = fit_segment_model(compared, random, sample.pairs_at_risk, tuple(g for g, _ in segments))
    warnings = [] if model.converged else ["the Fellegi-Sunter EM did not converge"]
    return model.probability(compared), model, warnings


def _calibrate(dice: np.ndarray, sample: _RandomPairs, floor: float) -> tuple[DiceCalibration | None, list[str]]:
    """The match probability of each Dice bin, from the random pairs' non-match distribution and
    the compared pairs (None, and a warning, when fewer than 2 pairs reach the floor)."""
    if (dice >= floor).sum() < 2:
        return None, [f"fewer than 2 record pairs reached Dice {floor:g}: no pair is linked"]
    calibration = calibrate(dice, sample.dice, sample.pairs_at_risk, sample.n_records, floor,
                            sample.compared_share())
    warnings = [] if calibration.converged else ["the calibration EM did not converge in 500 iterations"]
    return calibration, warnings


def _checked_lists(lists: Sequence[EncodedList] | Mapping[str, EncodedList]) -> list[EncodedList]:
    encoded = list(lists.values()) if isinstance(lists, Mapping) else list(lists)
    if not encoded:
        raise InputError("no encoded lists given; give one or more lists read with darkfigure.pprl.read_encoded")
    names = [e.name for e in encoded]
    if len(set(names)) != len(names):
        raise InputError(f"encoded lists must have distinct names; got {names}")
    for e in encoded:
        if e.schema_id != encoded[0].schema_id or e.filter_bits != encoded[0].filter_bits:
            raise InputError(
                f"list {e.name!r} was encoded with schema {e.schema_id!r} ({e.filter_bits} bits) but list "
                f"{encoded[0].name!r} with {encoded[0].schema_id!r} ({encoded[0].filter_bits} bits); every list "
                "must be encoded with the same schema and secret"
            )
        if e.n_records == 0:
            raise InputError(f"list {e.name!r} has no records; remove it or encode it again")
    _check_same_secret(encoded)
    return encoded


def _check_same_secret(encoded: list[EncodedList]) -> None:
    """Lists whose key check values differ were encoded with different secrets: their filters share
    nothing, and linking them would silently find no one twice. Lists without one (files written
    before it was recorded) are not checked."""
    checked = [e for e in encoded if e.secret_check is not None]
    for e in checked[1:]:
        if e.secret_check != checked[0].secret_check:
            raise InputError(
                f"lists {checked[0].name!r} and {e.name!r} were encoded with different secrets (their secret "
                "checks differ), so their records cannot be linked; every organisation must encode with the same "
                "secret file: encode the lists again with it"
            )


def _stack(encoded: list[EncodedList]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    records = pd.DataFrame({
        "list": np.concatenate([[e.name] * e.n_records for e in encoded]).astype(object),
        "record_id": np.concatenate([np.asarray(e.record_ids).astype(str) for e in encoded]).astype(object),
    })
    filters = np.ascontiguousarray(np.concatenate([e.filters for e in encoded]), dtype=np.uint64)
    blocks = pd.concat([e.blocks.reset_index(drop=True) for e in encoded], ignore_index=True)
    return records, filters, blocks


def _groupings(
    filters: np.ndarray, blocks: pd.DataFrame, lsh: LshSettings | bool, seed: int, at_risk: float
) -> tuple[list[Grouping] | None, list[str]]:
    """The blocking passes; None (every pair compared) when ``lsh`` is True and the lists hold at
    most ``ALL_PAIRS_UP_TO`` pairs: the kernel compares them faster than blocking would pay for."""
    if lsh is True and at_risk <= ALL_PAIRS_UP_TO:
        return None, [f"every pair ({at_risk:,.0f} pairs)"]
    groupings = key_groupings(blocks)
    rules = [f"same {g.name}" for g in groupings]
    if lsh is True:
        lsh = lsh_settings(filters, seed=seed)
    if isinstance(lsh, LshSettings):
        groupings += lsh_groupings(filters, lsh)
        rules.append(lsh.describe())
    if not groupings:
        raise InputError("no blocking: the lists have no blocking keys and LSH is off; use lsh=True")
    return groupings, rules


def _compare(
    filters: np.ndarray, groupings: list[Grouping] | None, floor: float, workers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs at or above ``floor`` in some grouping (every pair when None), each once (i < j)."""
    if groupings is None:
        return dice_pairs(filters, threshold=max(floor, 1e-9), workers=workers)
    found = [pairs_within_groups(filters, g.labels, floor, workers) for g in groupings]
    left = np.concatenate([f[0] for f in found])
    right = np.concatenate([f[1] for f in found])
    dice = np.concatenate([f[2] for f in found])
    _, first = np.unique(left * len(filters) + right, return_index=True)
    return left[first], right[first], dice[first]


def _model(
    link_type: str, encoded: list[EncodedList], calibration: Any, floor: float,
    warnings: list[str], compared: int, sample: _RandomPairs,
) -> dict[str, Any]:
    return {
        "link_type": link_type,
        "comparison": ("Dice similarity per segment of encoded Bloom filters" if encoded[0].segments
                       else "Dice similarity of encoded Bloom filters"),
        "schema_id": encoded[0].schema_id,
        "filter_bits": encoded[0].filter_bits,
        "dice_floor": floor,
        "pairs_at_or_above_floor": compared,
        "pairs_at_risk": sample.pairs_at_risk,
        "random_pairs": len(sample.dice),
        "calibration": calibration.to_dict() if calibration is not None else None,
        "warnings": warnings,
    }


def _named_pairs(records: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    left = records.iloc[pairs["unique_id_l"]].reset_index(drop=True).add_suffix("_l")
    right = records.iloc[pairs["unique_id_r"]].reset_index(drop=True).add_suffix("_r")
    p = pairs["match_probability"].to_numpy()
    scores = pd.DataFrame({
        "match_probability": p,
        "match_weight": np.log2(np.clip(p, 1e-12, 1 - 1e-12) / np.clip(1 - p, 1e-12, None)),
        "dice": pairs["dice"].to_numpy(),
    })
    out = pd.concat([left, right, scores], axis=1)
    return out.sort_values("match_probability", ascending=False, kind="stable").reset_index(drop=True)
