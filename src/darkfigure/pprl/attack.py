"""An audit tool: a frequency-alignment attack and a bit-pattern-mining attack on encoded lists.

The attacker holds encoded records but not the secret, knows the encoding schema and the frequency
distribution of the encoded values in the population (for names, public name statistics), and
aligns them (Kuzu et al. 2011; Christen et al. 2017):

1. group the encodings: identical filters, or (against random bit flipping) clusters of filters whose
   Dice similarity reaches ``similarity``;
2. sort the groups by size and the known values by frequency, and label the i-th largest group with
   the i-th most frequent value, one to one.

A record is re-identified when its group's label is its true value. :func:`audit_encoding` runs the
attack at several similarity levels and reports the best share; run it on your own encodings of a
single field (the weakest case) before trusting a schema. The low levels (Dice 0.4 to 0.7) matter
for record-level filters: whole filters do not repeat, but records that share a very common value
(a family name held by a quarter of the people) are a little more alike than other records, and
leader clustering at a low Dice gathers them into groups that are mostly that value (docs/pprl.md,
Attack results).

:func:`pattern_mining_attack` works on record-level filters, where whole filters do not repeat
(Christen, Ranbaduge, Vatsalan & Schnell 2018, 2019): the bit positions of one q-gram are set together
in every record that has the q-gram, so positions whose sets of records nearly coincide (Jaccard)
are grouped, each group's count of records is aligned with the expected counts of the family-name
bigrams (from the public name frequencies and the schema's n-gram length), and a record is labelled
with the name all of whose identified bigrams it contains.

>>> import numpy as np
>>> filters = np.array([[1], [1], [1], [2], [2], [4]], dtype=np.uint64)
>>> r = frequency_attack(filters, {"kim": 0.5, "lee": 0.3, "park": 0.2})
>>> r.guesses.tolist()
['kim', 'kim', 'kim', 'lee', 'lee', 'park']
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from darkfigure.errors import InputError
from darkfigure.pprl.encode import EncodedList

DEFAULT_SIMILARITIES = (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4)
DEFAULT_JACCARDS = (0.6, 0.75, 0.9)
MAX_GROUP_RATIO = 2.0  # a group over twice its value's expected count is left unlabelled


@dataclass(frozen=True)
class AttackResult:
    """The attack's guess per record (``None`` where its group got no value) and each record's group.

    A record counts as re-identified when its guess is its true value *and* the guess is right for
    at least half of its group: a label that is wrong for most of a group re-identifies no one (it
    is no better than guessing the commonest value for everyone).

    >>> r = AttackResult(np.array(["kim", "kim", None], dtype=object), np.array([0, 0, 1]), 1.0)
    >>> r.share_reidentified(["kim", "lee", "lee"]), r.share_correct(["kim", "lee", "lee"])
    (0.3333333333333333, 0.3333333333333333)
    >>> r.share_reidentified(["kim", "lee", "lee"]) == r.share_reidentified(["kim", "kim", "x"]) / 2
    True
    """

    guesses: np.ndarray
    groups: np.ndarray
    setting: float  # frequency alignment: the Dice level; spectral attack: the clusters; pattern mining: 1.0

    @property
    def n_groups(self) -> int:
        """Number of groups the attack formed."""
        return int(self.groups.max()) + 1 if len(self.groups) else 0

    def share_correct(self, truth: Sequence[str] | np.ndarray) -> float:
        """Share of records whose guessed value is their true value (base-rate guesses included)."""
        return float(np.mean(self._correct(truth))) if len(self.guesses) else 0.0

    def share_reidentified(self, truth: Sequence[str] | np.ndarray) -> float:
        """Share of records guessed right in groups whose label is right for at least half."""
        correct = self._correct(truth)
        if not len(correct):
            return 0.0
        rate = np.bincount(self.groups, weights=correct) / np.maximum(np.bincount(self.groups), 1)
        return float(np.mean(correct & (rate[self.groups] >= 0.5)))

    def values_reidentified(self, truth: Sequence[str] | np.ndarray) -> int:
        """Number of distinct values re-identified for at least one record."""
        correct = self._correct(truth)
        rate = np.bincount(self.groups, weights=correct, minlength=1) / np.maximum(np.bincount(self.groups), 1)
        keep = correct & (rate[self.groups] >= 0.5)
        return len(set(np.asarray(truth, dtype=object)[keep]))

    def _correct(self, truth: Sequence[str] | np.ndarray) -> np.ndarray:
        truth = np.array([None if v is None or v is pd.NA or v != v else v for v in truth], dtype=object)
        if len(truth) != len(self.guesses):
            raise InputError(f"expected one true value per record ({len(self.guesses)}), got {len(truth)}")
        return np.asarray(self.guesses == truth, dtype=bool)


@dataclass(frozen=True)
class AttackAudit:
    """Shares re-identified at each similarity level; ``worst`` is the attacker's best.

    >>> AttackAudit({1.0: 0.2, 0.9: 0.3}).worst
    0.3
    """

    shares: Mapping[float, float]

    @property
    def worst(self) -> float:
        """The highest share re-identified over the attack settings tried."""
        return max(self.shares.values())


def frequency_attack(
    filters: np.ndarray | EncodedList,
    frequencies: Mapping[str, float] | pd.Series,
    similarity: float = 1.0,
    max_ratio: float = MAX_GROUP_RATIO,
    seed: int | None = None,
) -> AttackResult:
    """Align the most frequent encodings (or clusters of similar ones) with the most frequent values.

    A group more than ``max_ratio`` times larger than its value's expected count is left unlabelled:
    the attacker sees that the clustering merged different values (labelling it would only be the
    base rate of guessing the commonest value for everyone). Groups of equal size are ranked in the
    order found, or (``seed``) in a random order: the attacker cannot tell them apart.

    >>> f = np.array([[3], [3], [5]], dtype=np.uint64)
    >>> frequency_attack(f, {"kim": 0.6, "lee": 0.4}).guesses.tolist()
    ['kim', 'kim', 'lee']
    """
    words = np.asarray(getattr(filters, "filters", filters), dtype=np.uint64)
    groups = _groups(words, similarity)
    return AttackResult(_aligned(groups, frequencies, max_ratio, seed), groups, similarity)


def _aligned(
    groups: np.ndarray, frequencies: Mapping[str, float] | pd.Series, max_ratio: float, seed: int | None
) -> np.ndarray:
    """Each record's guess: the i-th largest group gets the i-th most frequent value, unless it is more
    than ``max_ratio`` times that value's expected count; equal sizes in random order (``seed``)."""
    sizes = np.bincount(groups)
    shuffle = np.random.default_rng(seed).random(len(sizes)) if seed is not None else np.zeros(len(sizes))
    order = np.lexsort((shuffle, -sizes))
    ranked = pd.Series(frequencies, dtype=float)
    ranked = ranked[ranked > 0].sort_values(ascending=False, kind="stable") / ranked.sum()
    k = min(len(order), len(ranked))
    plausible = sizes[order[:k]] <= max_ratio * len(groups) * ranked.to_numpy()[:k]
    label = np.full(len(sizes), None, dtype=object)
    label[order[:k][plausible]] = np.asarray(ranked.index[:k], dtype=object)[plausible]
    return label[groups]


def spectral_attack(
    filters: np.ndarray | EncodedList,
    frequencies: Mapping[str, float] | pd.Series,
    clusters: int = 4,
    components: int = 10,
    max_ratio: float = MAX_GROUP_RATIO,
    seed: int = 0,
) -> AttackResult:
    """Cluster the records on the first ``components`` principal components of their filters' bits
    (k-means, scipy's ``kmeans2`` with k-means++ starts) into ``clusters`` groups, and align the
    groups, largest first, with the most frequent values as :func:`frequency_attack` does.

    Diffusion hides which positions belong to a value, not that records of one common value are a
    little more alike than others: their filters lean the same way in a few directions, which the
    principal components find wherever the positions are.

    >>> rng = np.random.default_rng(0)
    >>> kim, lee = rng.random(256) < 0.5, rng.random(256) < 0.5  # two names' leanings, 256 bits
    >>> bits = np.r_[rng.random((60, 256)) < np.where(kim, 0.7, 0.3), rng.random((40, 256)) < np.where(lee, 0.7, 0.3)]
    >>> filters = np.packbits(bits, axis=1).view(">u8").astype(np.uint64)
    >>> truth = ["kim"] * 60 + ["lee"] * 40
    >>> spectral_attack(filters, {"kim": 0.6, "lee": 0.4}, clusters=2).share_reidentified(truth)
    1.0
    """
    return _spectral(_principal_points(filters, components), frequencies, clusters, max_ratio, seed)


def _principal_points(filters: np.ndarray | EncodedList, components: int) -> np.ndarray:
    """Each record's coordinates on the first ``components`` principal components of the filters' bits."""
    words = np.ascontiguousarray(np.asarray(getattr(filters, "filters", filters), dtype=np.uint64))
    bits = np.unpackbits(words.astype("<u8").view(np.uint8), axis=1).astype(np.float64)
    u, s, _ = np.linalg.svd(bits - bits.mean(axis=0), full_matrices=False)
    return u[:, :components] * s[:components]


def _spectral(
    points: np.ndarray, frequencies: Mapping[str, float] | pd.Series, clusters: int, max_ratio: float, seed: int
) -> AttackResult:
    from scipy.cluster.vq import kmeans2

    _, found = kmeans2(points, int(clusters), minit="++", seed=seed)
    groups = np.unique(found, return_inverse=True)[1].reshape(-1)
    return AttackResult(_aligned(groups, frequencies, max_ratio, None), groups, float(clusters))


def audit_spectral(
    filters: np.ndarray | EncodedList,
    truth: Sequence[str] | np.ndarray,
    frequencies: Mapping[str, float] | pd.Series,
    clusters: Sequence[int] = (2, 3, 4, 5, 6, 7, 8),
    restarts: int = 3,
    components: int = 10,
) -> AttackAudit:
    """Run :func:`spectral_attack` for each number of clusters (the best of ``restarts`` k-means
    starts; the principal components computed once) against known true values."""
    points = _principal_points(filters, components)
    return AttackAudit({
        k: max(_spectral(points, frequencies, k, MAX_GROUP_RATIO, r).share_reidentified(truth) for r in range(restarts))
        for k in clusters
    })  # fmt: skip


def audit_encoding(
    filters: np.ndarray | EncodedList,
    truth: Sequence[str] | np.ndarray,
    frequencies: Mapping[str, float] | pd.Series,
    similarities: Sequence[float] = DEFAULT_SIMILARITIES,
    tie_orders: int = 0,
) -> AttackAudit:
    """Run :func:`frequency_attack` at each similarity level against known true values.

    With ``tie_orders`` > 0 each share is the mean over that many random orders of the groups of
    equal size (seeded): which of two groups of two identical filters gets "Kim" and which "Lee" is
    a coin the attacker tosses, and one toss may land luckier than the attack's expected success.

    >>> f = np.array([[3], [3], [5]], dtype=np.uint64)
    >>> audit_encoding(f, ["kim", "kim", "lee"], {"kim": 0.6, "lee": 0.4}, similarities=[1.0]).worst
    1.0
    """

    def share(s: float) -> float:
        if not tie_orders:
            return frequency_attack(filters, frequencies, s).share_reidentified(truth)
        runs = [frequency_attack(filters, frequencies, s, seed=k).share_reidentified(truth) for k in range(tie_orders)]
        return float(np.mean(runs))

    return AttackAudit({s: share(s) for s in similarities})


def audit_pattern_mining(
    filters: np.ndarray | EncodedList,
    truth: Sequence[str] | np.ndarray,
    frequencies: Mapping[str, float] | pd.Series,
    name_bits: int = 0,
    jaccards: Sequence[float] = DEFAULT_JACCARDS,
    ngram: int = 2,
) -> AttackAudit:
    """Run :func:`pattern_mining_attack` at each Jaccard level against known true family names.

    >>> rng = np.random.default_rng(1)
    >>> truth = rng.choice(["kim", "li"], 300, p=[0.6, 0.4])
    >>> from darkfigure.pprl import FieldSpec, EncodingSchema, Hardening
    >>> schema = EncodingSchema("t", (FieldSpec("family_name", bits=30),), 256, hardening=Hardening(diffusion=0))
    >>> from darkfigure.pprl.encode import encode_list
    >>> e = encode_list(pd.DataFrame({"family_name": truth}), schema, b"k" * 32, "A")
    >>> audit_pattern_mining(e, truth, {"kim": 0.6, "li": 0.4}, name_bits=30).worst
    1.0
    """
    return AttackAudit({
        j: pattern_mining_attack(filters, frequencies, ngram, j, name_bits=name_bits).share_reidentified(truth)
        for j in jaccards
    })  # fmt: skip


def _groups(words: np.ndarray, similarity: float) -> np.ndarray:
    """Group index per record: identical filters, then (similarity < 1) leader clustering by Dice."""
    unique, inverse, counts = np.unique(words, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    if similarity >= 1.0 or len(unique) < 2:
        return inverse
    return _leader_clusters(unique, counts, similarity)[inverse]


def _leader_clusters(unique: np.ndarray, counts: np.ndarray, similarity: float, block: int = 512) -> np.ndarray:
    """Most frequent encodings first; each joins the most similar earlier leader if similar enough."""
    order = np.argsort(-counts, kind="stable")
    bits = np.unpackbits(np.ascontiguousarray(unique[order].astype("<u8")).view(np.uint8), axis=1)
    bits = bits.astype(np.float32)
    weight = bits.sum(axis=1)
    leader = np.zeros(len(order), dtype=bool)
    cluster = np.zeros(len(order), dtype=np.int64)
    for start in range(0, len(order), block):
        stop = min(start + block, len(order))
        dice = 2 * (bits[start:stop] @ bits[:stop].T) / np.maximum(weight[start:stop, None] + weight[None, :stop], 1)
        for row, i in enumerate(range(start, stop)):
            scores = np.where(leader[:i], dice[row, :i], -1.0)
            best = int(np.argmax(scores)) if i else 0
            if i and scores[best] >= similarity:
                cluster[i] = cluster[best]
            else:
                leader[i], cluster[i] = True, i
    out = np.empty_like(cluster)
    out[order] = np.unique(cluster, return_inverse=True)[1].reshape(-1)
    return out


def pattern_mining_attack(
    filters: np.ndarray | EncodedList,
    frequencies: Mapping[str, float] | pd.Series,
    ngram: int = 2,
    jaccard: float = 0.75,
    min_bits: int = 3,
    max_ratio: float = 1.5,
    top: int = 40,
    name_bits: int = 0,
) -> AttackResult:
    """Re-identify family names in record-level filters from co-occurring bit positions.

    1. Positions set in a plausible share of records are grouped: two positions join when the sets
       of records that have them set have Jaccard similarity ``jaccard`` or more (connected
       components; groups of fewer than ``min_bits`` positions are dropped). Unhardened, each group
       is (mostly) the positions of one q-gram.
    2. A record contains a group when it has at least 80% of its positions set. Groups are assigned
       one to one to the names' ``ngram``-grams by how close their counts are to the expected counts
       (``frequencies``), within a factor ``max_ratio``.
    3. Most frequent names first, the groups (one per n-gram of the name: one identified for an
       earlier name, or one of the three of the closest counts) whose records in common come closest
       to the name's expected count are taken for the name, if within a factor ``max_ratio`` and
       together at least 30% of ``name_bits`` positions (what the schema gives a family name; the
       attacker knows the schema). Records holding them all are labelled with the name (a record
       matching several names: the one with the most n-grams found).

    >>> rng = np.random.default_rng(1)
    >>> truth = rng.choice(["kim", "li", "palk"], 600, p=[0.5, 0.3, 0.2])
    >>> from darkfigure.pprl import FieldSpec, EncodingSchema, Hardening
    >>> schema = EncodingSchema("t", (FieldSpec("family_name", bits=30),), 256, hardening=Hardening(diffusion=0))
    >>> from darkfigure.pprl.encode import encode_list
    >>> e = encode_list(pd.DataFrame({"family_name": truth}), schema, b"k" * 32, "A")
    >>> pattern_mining_attack(e, {"kim": 0.5, "li": 0.3, "palk": 0.2}).share_reidentified(truth)
    1.0
    """
    words = np.asarray(getattr(filters, "filters", filters), dtype=np.uint64)
    bits = np.unpackbits(np.ascontiguousarray(words.astype("<u8")).view(np.uint8), axis=1, bitorder="little")
    ranked = _ranked(frequencies)
    expected = _ngram_counts(ranked, ngram)
    groups = _bit_groups(bits, jaccard, min_bits, expected.max() * max_ratio * len(bits))
    contains = np.zeros((len(bits), len(groups)), dtype=bool)
    for column, group in enumerate(groups):
        contains[:, column] = bits[:, group].mean(axis=1) >= 0.8
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    return _mine_names(contains, sizes, expected, ranked, ngram, max_ratio, top, 0.3 * name_bits)


def _ranked(frequencies: Mapping[str, float] | pd.Series) -> pd.Series:
    ranked = pd.Series(frequencies, dtype=float)
    return ranked[ranked > 0].sort_values(ascending=False, kind="stable") / ranked[ranked > 0].sum()


def _ngrams(value: str, n: int) -> set[str]:
    padded = f"{' ' * (n - 1)}{value}{' ' * (n - 1)}"
    return {padded[i : i + n] for i in range(len(padded) - n + 1)}


def _ngram_counts(ranked: pd.Series, n: int) -> pd.Series:
    """Expected share of records holding each n-gram of the names."""
    shares: dict[str, float] = {}
    for name, share in ranked.items():
        for gram in _ngrams(str(name), n):
            shares[gram] = shares.get(gram, 0.0) + float(share)
    return pd.Series(shares, dtype=float)


def _bit_groups(bits: np.ndarray, jaccard: float, min_bits: int, most: float) -> list[np.ndarray]:
    """Positions grouped by the Jaccard similarity of the records that set them."""
    support = bits.sum(axis=0).astype(np.float64)
    keep = np.flatnonzero((support >= max(3.0, 0.002 * len(bits))) & (support <= most))
    if len(keep) < min_bits:
        return []
    sub = bits[:, keep].astype(np.float32)
    common = sub.T @ sub
    union = support[keep][:, None] + support[keep][None, :] - common
    n, labels = connected_components(csr_matrix(common >= jaccard * union), directed=False)
    groups = [keep[labels == c] for c in range(n)]
    return [g for g in groups if len(g) >= min_bits]


def _mine_names(
    contains: np.ndarray,
    sizes: np.ndarray,
    expected: pd.Series,
    ranked: pd.Series,
    ngram: int,
    max_ratio: float,
    top: int,
    min_positions: float,
) -> AttackResult:
    """Most frequent names first: the groups, one per n-gram of the name (already identified, or a
    free group whose count is near the n-gram's expected count), whose records in common come
    closest to the name's expected count; those records are labelled with the name."""
    n, support = len(contains), contains.sum(axis=0).astype(np.float64)
    assigned: dict[str, int] = {}
    label, best = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for index, name in enumerate(ranked.index[:top]):
        grams = sorted(_ngrams(str(name), ngram))
        options = [_candidates(g, assigned, support, expected[g] * n, max_ratio) for g in grams]
        counts = [expected[g] * n for g in grams]
        found = _best_combination(contains, support, sizes, options, counts, n * ranked.iloc[index], min_positions)
        if found is None or found[0] > np.log(max_ratio):
            continue
        columns = [c for c in found[1] if c >= 0]
        assigned.update({g: c for g, c in zip(grams, found[1], strict=True) if c >= 0})
        match = contains[:, columns].all(axis=1) & (len(columns) > best)
        label[match], best[match] = index, len(columns)
    names = np.asarray(ranked.index, dtype=object)
    guesses = np.where(label >= 0, names[np.maximum(label, 0)], None).astype(object)
    return AttackResult(guesses, label + 1, 1.0)


def _candidates(gram: str, assigned: dict[str, int], support: np.ndarray, count: float, max_ratio: float) -> list[int]:
    """The group already identified as the n-gram, or up to three groups of a plausible count (a group
    may hold several n-grams that always occur together), or none (-1)."""
    if gram in assigned:
        return [assigned[gram]]
    cost = np.abs(np.log(np.maximum(support, 0.5) / max(count, 0.5)))
    return [int(j) for j in np.argsort(cost, kind="stable") if cost[j] <= np.log(max_ratio)][:3] + [-1]


def _best_combination(
    contains: np.ndarray,
    support: np.ndarray,
    sizes: np.ndarray,
    options: list[list[int]],
    counts: list[float],
    target: float,
    min_positions: float,
) -> tuple[float, tuple[int, ...]] | None:
    """The combination (of groups; -1: n-gram not found) whose records in common come closest
    to ``target``, ties broken by the groups' own counts."""
    best = None
    for combination in itertools.product(*options):
        columns = [c for c in combination if c >= 0]
        if not columns or sizes[list(set(columns))].sum() < min_positions:
            continue
        common = float(contains[:, columns].all(axis=1).sum())
        fit = np.mean([abs(np.log(support[c] / k)) for c, k in zip(combination, counts, strict=True) if c >= 0])
        cost = abs(np.log(max(common, 0.5) / max(target, 0.5)))
        if best is None or cost + 0.1 * fit < best[0] + 0.1 * best[2]:
            best = (cost, combination, fit)
    return None if best is None else (best[0], best[1])
