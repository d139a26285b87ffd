"""Blocking for encoded lists: which record pairs are compared at all.

Two kinds of grouping, each a group label per record (-1: in no group); records are compared only
with records in the same group of some grouping (the union, like Splink's blocking rules):

- the keyed coarse blocking keys of the encoded lists (``block_birth_year`` ...), one grouping each
  (an empty key is no group);
- Hamming LSH on the filters' bits: a band samples ``bits`` bit positions (seeded) and groups the
  records that agree on all of them. Two filters agreeing on a share ``p`` of their bits share a band
  with chance ``p ** bits``, so with enough bands nearly every close pair meets in one, while random
  pairs (agreeing on far fewer bits) rarely do. :func:`lsh_settings` picks ``bits`` and the number of
  bands from the filters: about ``PAIRS_PER_RECORD`` compared pairs per record per band, and bands
  enough that a pair with Dice ``LSH_RECALL_DICE`` is compared with chance ``LSH_RECALL``.

:func:`blocking_quality` measures pairs completeness (the share of true matching pairs compared)
and the reduction ratio (the share of all pairs not compared).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from darkfigure.errors import InputError

PAIRS_PER_RECORD = 40
LSH_RECALL_DICE = 0.8
LSH_RECALL = 0.995
MAX_BANDS = 48
_SAMPLE_PAIRS = 20_000


@dataclass(frozen=True)
class Grouping:
    """One blocking pass: a name (``block_birth_year``, ``lsh band 3``) and a label per record.

    >>> g = Grouping("k", np.array([0, 0, 1, -1]))
    >>> g.n_pairs
    1
    """

    name: str
    labels: np.ndarray

    @property
    def n_pairs(self) -> int:
        """Record pairs this pass compares (pairs within each group)."""
        sizes = np.bincount(self.labels[self.labels >= 0]).astype(np.int64)
        return int((sizes * (sizes - 1) // 2).sum())


@dataclass(frozen=True)
class LshSettings:
    """Hamming LSH: ``bands`` bands of ``bits`` bit positions each, drawn with ``seed``.

    >>> LshSettings(bands=2, bits=3).describe()
    'Hamming LSH, 2 bands of 3 bits'
    """

    bands: int
    bits: int
    seed: int = 0

    def describe(self) -> str:
        """One line for the linkage result's blocking rules."""
        return f"Hamming LSH, {self.bands} bands of {self.bits} bits"


def key_groupings(blocks: pd.DataFrame) -> list[Grouping]:
    """One grouping per keyed blocking column; empty or missing keys are in no group.

    >>> key_groupings(pd.DataFrame({"block_birth_year": ["a1", "b2", "a1", ""]}))[0].labels.tolist()
    [0, 1, 0, -1]
    """
    out = []
    for column in blocks.columns:
        values = blocks[column].astype("string").str.strip().replace("", pd.NA)
        labels, _ = pd.factorize(values, use_na_sentinel=True)
        out.append(Grouping(str(column), labels.astype(np.int64)))
    return out


def lsh_groupings(filters: np.ndarray, settings: LshSettings) -> list[Grouping]:
    """Hamming LSH bands of packed filters (records x uint64 words): one grouping per band.

    >>> filters = np.array([[0b1101], [0b1101], [0b0010]], dtype=np.uint64)
    >>> [g.labels.tolist() for g in lsh_groupings(filters, LshSettings(bands=1, bits=2, seed=1))]
    [[0, 0, 1]]
    """
    if not 1 <= settings.bits <= 62:
        raise InputError(f"an LSH band takes 1 to 62 bits; got {settings.bits}")
    rng = np.random.default_rng(settings.seed)
    usable = _informative_bits(_sample_bits(filters, settings.seed))
    out = []
    for band in range(settings.bands):
        positions = rng.choice(usable, size=min(settings.bits, len(usable)), replace=False)
        keys = np.zeros(len(filters), dtype=np.uint64)
        for k, position in enumerate(positions):
            bit = (filters[:, position // 64] >> np.uint64(position % 64)) & np.uint64(1)
            keys |= bit << np.uint64(k)
        out.append(Grouping(f"lsh band {band + 1}", pd.factorize(keys)[0].astype(np.int64)))
    return out


def _sample_bits(filters: np.ndarray, seed: int, size: int = 20_000) -> np.ndarray:
    """The bits (boolean) of up to ``size`` records drawn with ``seed``: enough to measure bit shares."""
    rows = np.random.default_rng(seed).permutation(len(filters))[:size] if len(filters) > size else slice(None)
    raw = np.ascontiguousarray(filters[rows].astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(raw, axis=1, bitorder="little").astype(bool)


def _informative_bits(bits: np.ndarray) -> np.ndarray:
    """Bit positions set in some records and clear in others (a constant bit groups nothing apart)."""
    share = bits.mean(axis=0)
    usable = np.flatnonzero((share > 0.02) & (share < 0.98))
    return usable if len(usable) else np.arange(bits.shape[1])


def lsh_settings(filters: np.ndarray, seed: int = 0, pairs_per_record: int = PAIRS_PER_RECORD) -> LshSettings:
    """Bits per band and bands from the filters: bits so that a band compares about
    ``pairs_per_record`` pairs per record (from the agreement of random pairs), bands so that a
    pair with Dice ``LSH_RECALL_DICE`` meets in some band with chance ``LSH_RECALL`` (at most
    ``MAX_BANDS``).

    >>> rng = np.random.default_rng(0)
    >>> s = lsh_settings(rng.integers(0, 2**63, (5000, 16)).astype(np.uint64), seed=1)
    >>> (s.bits, s.bands)
    (6, 17)
    """
    n = len(filters)
    if n < 2:
        return LshSettings(bands=1, bits=1, seed=seed)
    bits = _sample_bits(filters, seed)
    random_agreement = _random_agreement(bits, seed)
    pairs = n * (n - 1) / 2
    target = min(1.0, pairs_per_record * n / pairs)
    k = 1 if random_agreement <= 0 else math.ceil(math.log(target) / math.log(random_agreement))
    k = int(min(max(k, 1), 62))
    match_agreement = _agreement_at(bits, LSH_RECALL_DICE)
    hit = match_agreement**k
    bands = math.ceil(math.log(1 - LSH_RECALL) / math.log(1 - hit)) if hit < 1 else 1
    return LshSettings(bands=int(min(max(bands, 1), MAX_BANDS)), bits=k, seed=seed)


def _random_agreement(bits: np.ndarray, seed: int) -> float:
    """The mean share of bit positions on which two random records agree (informative bits only)."""
    rng = np.random.default_rng(seed)
    usable = bits[:, _informative_bits(bits)]
    left = rng.integers(0, len(bits), _SAMPLE_PAIRS)
    right = rng.integers(0, len(bits), _SAMPLE_PAIRS)
    keep = left != right
    return float((usable[left[keep]] == usable[right[keep]]).mean()) if keep.any() else 0.5


def _agreement_at(bits: np.ndarray, dice: float) -> float:
    """Share of agreeing bits of two filters of typical fill with this Dice: ``1 - (1 - D) 2 f``."""
    fill = float(bits.mean())
    return max(0.0, min(1.0, 1.0 - (1.0 - dice) * 2.0 * fill))


def blocking_quality(groupings: Sequence[Grouping], truth: Sequence[object] | np.ndarray) -> dict[str, float]:
    """Pairs completeness (true matching pairs compared by some grouping / all true matching pairs),
    reduction ratio (1 - compared pairs / all pairs; a pair compared by two groupings counts once)
    and the comparisons done (summed over groupings).

    >>> g = [Grouping("k", np.array([0, 0, 1, 1]))]
    >>> blocking_quality(g, [1, 1, 2, 3])
    {'pairs_completeness': 1.0, 'reduction_ratio': 0.6666666666666667, 'comparisons': 2, 'pairs_compared': 2}
    """
    entity = pd.factorize(pd.Series(np.asarray(truth, dtype=object)))[0]
    n = len(entity)
    true_pairs = _pairs_sharing([entity], n)
    compared = _pairs_sharing([g.labels for g in groupings], n)
    found = len(np.intersect1d(true_pairs, compared, assume_unique=True))
    total = n * (n - 1) // 2
    return {
        "pairs_completeness": found / len(true_pairs) if len(true_pairs) else 1.0,
        "reduction_ratio": 1.0 - len(compared) / total if total else 0.0,
        "comparisons": int(sum(g.n_pairs for g in groupings)),
        "pairs_compared": int(len(compared)),
    }


def _pairs_sharing(label_sets: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Unique codes ``i * n + j`` (i < j) of the pairs sharing a label in some label set (for
    measuring blocking; it lists every compared pair, so use it on test-sized data)."""
    codes = []
    for labels in label_sets:
        members = np.flatnonzero(labels >= 0)
        members = members[np.argsort(labels[members], kind="stable")]
        sorted_labels = labels[members]
        ends = np.searchsorted(sorted_labels, sorted_labels, side="right")
        after = ends - np.arange(len(members)) - 1
        left = np.repeat(np.arange(len(members)), after)
        right = left + 1 + np.arange(len(left)) - np.repeat(np.cumsum(after) - after, after)
        i, j = members[left], members[right]
        codes.append(np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j))
    return np.unique(np.concatenate(codes)) if codes else np.empty(0, np.int64)
