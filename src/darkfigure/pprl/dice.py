"""Dice similarity of Bloom-filter encodings, on packed bits, with hardware popcount.

A filter is a row of ``uint64`` words (bit ``i`` is bit ``i % 64`` of word ``i // 64``). The Dice
similarity of filters ``a`` and ``b`` is ``2 |a & b| / (|a| + |b|)`` (0 when both are empty).

Compiled with numba, the kernels count bits with LLVM's ``llvm.ctpop.i64``, which numba (compiling
for the host CPU) turns into ``POPCNT`` or, vectorised, ``VPOPCNTQ``. Each filter's own count is taken
once. All pairs of two blocks above a threshold are found with rows sorted by their counts: Dice is at
most ``2 min(|a|, |b|) / (|a| + |b|)``, so for each row only a window of the other block's rows can
reach the threshold, and the rest are skipped uncompared. Without numba (``DARKFIGURE_NO_NUMBA``) the
same pairs and scores come from NumPy (``np.bitwise_count``), chunk by chunk.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from darkfigure._compile import HAVE_NUMBA, kernel
from darkfigure.errors import InputError

# cells per NumPy chunk (the fallback); rows of b per cache tile, words per vector step, and the
# room for pairs per kernel call
_CHUNK_CELLS = 1 << 21
_TILE = 2048
_GROUP = 8
_ROOM = 1 << 16


if HAVE_NUMBA:  # pragma: no branch - the fallback is tested in a subprocess
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _ctpop(typingctx, word):  # type: ignore[no-untyped-def]
        """LLVM ``ctpop`` on one 64-bit word: POPCNT (or VPOPCNTQ when vectorised) on x86-64."""
        signature = types.uint64(types.uint64)

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            return builder.ctpop(args[0])

        return signature, codegen

    @kernel
    def _popcount(word):  # type: ignore[no-untyped-def]
        return _ctpop(word)

else:

    def _popcount(word):  # type: ignore[no-untyped-def]
        return int(word).bit_count()


def popcounts(filters: np.ndarray) -> np.ndarray:
    """The number of set bits of each filter (int64), counted once and reused for every pair.

    >>> popcounts(np.array([[0b1011, 0], [2**64 - 1, 1]], dtype=np.uint64)).tolist()
    [3, 65]
    """
    filters = as_filters(filters)
    return np.bitwise_count(filters).sum(axis=1, dtype=np.int64)


def as_filters(filters: np.ndarray, name: str = "filters") -> np.ndarray:
    """``filters`` as a C-contiguous 2-d uint64 array (rows are records), or an InputError.

    >>> as_filters([[1, 2]]).dtype, as_filters([[1, 2]]).shape
    (dtype('uint64'), (1, 2))
    """
    array = np.asarray(filters)
    if array.ndim != 2 or not (array.dtype == np.uint64 or np.issubdtype(array.dtype, np.integer)):
        raise InputError(
            f"{name}: expected a 2-d array of uint64 words (one row per record); got {array.dtype} with shape "
            f"{array.shape}. Read encoded lists with darkfigure.pprl.read_encoded"
        )
    return np.ascontiguousarray(array, dtype=np.uint64)


def dice_scores(a: np.ndarray, b: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Dice similarity of candidate pairs: row ``left[k]`` of ``a`` with row ``right[k]`` of ``b``.

    >>> a = np.array([[0b1111], [0b0011]], dtype=np.uint64)
    >>> dice_scores(a, a, np.array([0, 0]), np.array([1, 0])).tolist()
    [0.6666666666666666, 1.0]
    """
    a, b = as_filters(a, "a"), as_filters(b, "b")
    _same_width(a, b)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    if len(left) != len(right):
        raise InputError(f"got {len(left)} left and {len(right)} right rows; give one of each per candidate pair")
    if HAVE_NUMBA:
        return _scores_kernel(a, b, popcounts(a), popcounts(b), left, right)
    return _scores_numpy(a, b, popcounts(a), popcounts(b), left, right)


@kernel
def _scores_kernel(a, b, pa, pb, left, right):  # type: ignore[no-untyped-def]
    out = np.empty(len(left), dtype=np.float64)
    n_words = a.shape[1]
    for k in range(len(left)):
        i, j = left[k], right[k]
        common = 0
        for w in range(n_words):
            common += _popcount(a[i, w] & b[j, w])
        total = pa[i] + pb[j]
        out[k] = 2.0 * common / total if total > 0 else 0.0
    return out


def _scores_numpy(a, b, pa, pb, left, right):  # type: ignore[no-untyped-def]
    out = np.empty(len(left), dtype=np.float64)
    step = max(1, _CHUNK_CELLS // max(1, a.shape[1]))
    for start in range(0, len(left), step):
        i, j = left[start : start + step], right[start : start + step]
        common = np.bitwise_count(a[i] & b[j]).sum(axis=1, dtype=np.int64)
        out[start : start + step] = _dice(common, pa[i] + pb[j])
    return out


def _dice(common: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * common / total, 0.0)


def _same_width(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise InputError(
            f"the filters have {a.shape[1] * 64} and {b.shape[1] * 64} bits; encode every list with the same schema"
        )


def _check_threshold(threshold: float) -> float:
    if not (isinstance(threshold, int | float) and 0.0 < float(threshold) <= 1.0):
        raise InputError(f"a Dice threshold must lie in (0, 1], like 0.8; got {threshold!r}")
    return float(threshold)


def dice_pairs(
    a: np.ndarray, b: np.ndarray | None = None, threshold: float = 0.8, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair with Dice similarity at or above ``threshold``: rows of ``a`` against rows of ``b``,
    or, with ``b`` None, pairs ``i < j`` within ``a``. Returns (rows of a, rows of b, Dice), sorted by
    row of ``a`` then row of ``b``. ``workers`` threads share the rows of ``a``.

    >>> a = np.array([[0b1111], [0b0111], [0b1000]], dtype=np.uint64)
    >>> i, j, d = dice_pairs(a, threshold=0.8)
    >>> i.tolist(), j.tolist(), d.round(4).tolist()
    ([0], [1], [0.8571])
    """
    threshold = _check_threshold(threshold)
    a = as_filters(a, "a")
    same = b is None
    b = a if b is None else as_filters(b, "b")
    _same_width(a, b)
    pa, pb = popcounts(a), popcounts(b)
    if HAVE_NUMBA:
        i, j, d = _sorted_pairs(a, b, pa, pb, threshold, same, workers)
        if same:
            i, j = np.minimum(i, j), np.maximum(i, j)
    else:
        i, j, d = _pairs_numpy(a, b, pa, pb, threshold, same)
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]


def _pairs_numpy(a, b, pa, pb, threshold, same):  # type: ignore[no-untyped-def]
    step = max(1, _CHUNK_CELLS // max(1, b.shape[0] * a.shape[1]))
    found = []
    for start in range(0, a.shape[0], step):
        block = a[start : start + step]
        common = np.bitwise_count(block[:, None, :] & b[None, :, :]).sum(axis=2, dtype=np.int64)
        score = _dice(common, pa[start : start + step, None] + pb[None, :])
        keep = score >= threshold
        if same:
            keep &= np.arange(start, start + len(block))[:, None] < np.arange(b.shape[0])[None, :]
        i, j = np.nonzero(keep)
        found.append((i + start, j, score[i, j]))
    return _concatenate(found)


def _concatenate(found):  # type: ignore[no-untyped-def]
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    return tuple(np.concatenate([np.asarray(f[k], dtype=t) for f in found]) for k, t in
                 enumerate((np.int64, np.int64, np.float64)))


def _sorted_pairs(a, b, pa, pb, threshold, same, workers):  # type: ignore[no-untyped-def]
    """Rows sorted by popcount, ``b`` transposed (word-major, so that the kernel runs over 8 of its
    rows at once); each thread takes a share of ``a``'s rows (the kernel frees the GIL)."""
    order_a = np.argsort(pa, kind="stable")
    order_b = order_a if same else np.argsort(pb, kind="stable")
    sa, spa = _padded(a[order_a]), pa[order_a]
    spb = spa if same else pb[order_b]
    sb_t = np.ascontiguousarray(sa.T if same else _padded(b[order_b]).T)
    lo, hi = _windows(spa, spb, threshold, same)
    i, j, d = _pairs_in_windows(sa, sb_t, spa, spb, lo, hi, threshold, workers)
    return order_a[i], order_b[j], d


def _pairs_in_windows(sa, sb_t, spa, spb, lo, hi, threshold, workers):  # type: ignore[no-untyped-def]
    """Rows ``i`` of ``a`` against rows ``lo[i]:hi[i]`` of ``b`` (``lo`` and ``hi`` nondecreasing)."""
    shares = _shares(hi - lo, max(1, int(workers)))
    run = lambda share: _run_rows(sa, sb_t, spa, spb, lo, hi, threshold, *share)  # noqa: E731
    if len(shares) == 1:
        found = [run(shares[0])]
    else:
        with ThreadPoolExecutor(len(shares)) as pool:
            found = list(pool.map(run, shares))
    return _concatenate([f for part in found for f in part])


def pairs_within_groups(
    filters: np.ndarray, groups: np.ndarray, threshold: float, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``i < j`` of records in the same group with Dice at or above ``threshold``; a group
    label below 0 is no group. Returns (i, j, Dice) sorted by i then j.

    >>> f = np.array([[0b111], [0b111], [0b111], [0b110]], dtype=np.uint64)
    >>> i, j, d = pairs_within_groups(f, np.array([1, 2, 1, 1]), 0.8)
    >>> i.tolist(), j.tolist(), d.round(2).tolist()
    ([0, 0, 2], [2, 3, 3], [1.0, 0.8, 0.8])
    """
    threshold = _check_threshold(threshold)
    filters = as_filters(filters)
    groups = np.asarray(groups, dtype=np.int64)
    if len(groups) != len(filters):
        raise InputError(f"got {len(groups)} group labels for {len(filters)} records; give one per record")
    members = np.flatnonzero(groups >= 0)
    members = members[np.argsort(groups[members], kind="stable")]
    labels = groups[members]
    ends = np.searchsorted(labels, labels, side="right").astype(np.int64)
    if HAVE_NUMBA:
        sa, pa = _padded(filters[members]), popcounts(filters)[members]
        lo = np.arange(1, len(members) + 1, dtype=np.int64)
        i, j, d = _pairs_in_windows(sa, np.ascontiguousarray(sa.T), pa, pa, lo, ends, threshold, workers)
    else:
        i, j, d = _groups_numpy(filters[members], labels, ends, threshold)
    i, j = members[i], members[j]
    i, j = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]


def _groups_numpy(filters, labels, ends, threshold):  # type: ignore[no-untyped-def]
    found, start = [], 0
    while start < len(labels):
        end = int(ends[start])
        if end - start > 1:
            part = filters[start:end]
            i, j, d = _pairs_numpy(part, part, popcounts(part), popcounts(part), threshold, True)
            found.append((i + start, j + start, d))
        start = end
    return _concatenate(found)


def _padded(filters: np.ndarray) -> np.ndarray:
    """Filters widened with zero words to a multiple of 8 words (no bit changes)."""
    extra = -filters.shape[1] % _GROUP
    if extra == 0:
        return np.ascontiguousarray(filters)
    return np.ascontiguousarray(np.pad(filters, ((0, 0), (0, extra))))


def _windows(spa: np.ndarray, spb: np.ndarray, threshold: float, same: bool) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``a`` (sorted by popcount), the rows ``lo:hi`` of ``b`` that can reach the
    threshold: ``t |a| / (2 - t) <= |b| <= |a| (2 - t) / t`` (a little wider, so as never to skip a
    pair that could score exactly ``t``)."""
    low = np.ceil(spa * threshold / (2.0 - threshold) * (1 - 1e-9) - 1e-9)
    high = np.floor(spa * (2.0 - threshold) / threshold * (1 + 1e-9) + 1e-9)
    lo = np.searchsorted(spb, low, side="left").astype(np.int64)
    hi = np.searchsorted(spb, high, side="right").astype(np.int64)
    if same:
        lo = np.maximum(lo, np.arange(len(spa), dtype=np.int64) + 1)
        hi = np.maximum(hi, lo)
    return lo, hi


def _shares(widths: np.ndarray, workers: int) -> list[tuple[int, int]]:
    """Split rows into ``workers`` runs of about equal comparisons."""
    total = np.cumsum(widths)
    if workers == 1 or len(widths) == 0 or total[-1] == 0:
        return [(0, len(widths))]
    cuts = np.searchsorted(total, total[-1] * np.arange(1, workers) / workers)
    edges = [0, *sorted(set(int(c) for c in cuts)), len(widths)]
    return [(s, e) for s, e in zip(edges[:-1], edges[1:], strict=True) if e > s]


def _run_rows(sa, sb_t, spa, spb, lo, hi, threshold, start, stop):  # type: ignore[no-untyped-def]
    """Rows ``start:stop`` of ``a`` against ``b``, one tile of ``b``'s rows (kept in cache) at a time."""
    found = []
    counts = np.empty(_TILE, np.int64)
    for tile in range(0, sb_t.shape[1], _TILE):
        # rows whose window meets this tile: lo and hi are nondecreasing, so they are contiguous
        row = max(start, int(np.searchsorted(hi, tile, side="right")))
        end = min(stop, int(np.searchsorted(lo, tile + _TILE, side="left")))
        while row < end:
            out_i, out_j = np.empty(_ROOM, np.int64), np.empty(_ROOM, np.int64)
            out_d = np.empty(_ROOM, np.float64)
            row, n = _tile_kernel(sa, sb_t, spa, spb, lo, hi, threshold, row, end, tile, counts,
                                  out_i, out_j, out_d)
            if n:
                found.append((out_i[:n].copy(), out_j[:n].copy(), out_d[:n].copy()))
    return found


@kernel
def _tile_kernel(a, b_t, pa, pb, lo, hi, threshold, start, stop, tile, counts, out_i, out_j, out_d):  # type: ignore[no-untyped-def]
    """Pairs above the threshold between rows ``start:stop`` of ``a`` and the rows of ``b`` in the
    tile ``tile:tile + len(counts)`` (``b_t`` is ``b`` transposed). For each row of ``a``, the
    common bits with 8 words at a time are added up over ``b``'s rows (a loop the compiler runs on
    vectors, with no per-pair sum across a vector); then the rare rows reaching the threshold are
    kept. Stops early (returning the next row) when the output might not hold another row's pairs."""
    n = 0
    n_words = a.shape[1]
    need = threshold * 0.999999
    room = len(out_i)
    for i in range(start, stop):
        j0 = max(lo[i], tile)
        j1 = min(hi[i], tile + len(counts))
        if j1 <= j0:
            continue
        if n + j1 - j0 > room:
            return i, n
        counts[: j1 - j0] = 0
        hits = 0
        width = j1 - j0
        for g in range(0, n_words, 8):
            x0, x1, x2, x3 = a[i, g], a[i, g + 1], a[i, g + 2], a[i, g + 3]
            x4, x5, x6, x7 = a[i, g + 4], a[i, g + 5], a[i, g + 6], a[i, g + 7]
            b0, b1, b2, b3 = b_t[g, j0:j1], b_t[g + 1, j0:j1], b_t[g + 2, j0:j1], b_t[g + 3, j0:j1]
            b4, b5, b6, b7 = b_t[g + 4, j0:j1], b_t[g + 5, j0:j1], b_t[g + 6, j0:j1], b_t[g + 7, j0:j1]
            for k in range(width):  # k from 0: no negative-index handling, so the loop runs on vectors
                counts[k] += (
                    _popcount(x0 & b0[k]) + _popcount(x1 & b1[k]) + _popcount(x2 & b2[k]) + _popcount(x3 & b3[k])
                    + _popcount(x4 & b4[k]) + _popcount(x5 & b5[k]) + _popcount(x6 & b6[k]) + _popcount(x7 & b7[k])
                )
        p = pa[i]
        pbs = pb[j0:j1]
        for k in range(width):
            hits += 2.0 * counts[k] >= need * (p + pbs[k])
        if hits == 0:
            continue
        for j in range(j0, j1):
            total = p + pb[j]
            if total > 0 and 2.0 * counts[j - j0] >= need * total:
                score = 2.0 * counts[j - j0] / total
                if score >= threshold:
                    out_i[n] = i
                    out_j[n] = j
                    out_d[n] = score
                    n += 1
    return stop, n


def comparisons_skipped(a: np.ndarray, b: np.ndarray | None = None, threshold: float = 0.8) -> float:
    """The share of pairs the popcount bound skips without comparing them.

    >>> a = np.array([[0b1], [0b1111111]], dtype=np.uint64)
    >>> comparisons_skipped(a, threshold=0.8)
    1.0
    """
    threshold = _check_threshold(threshold)
    a = as_filters(a, "a")
    same = b is None
    pa = np.sort(popcounts(a))
    pb = pa if same else np.sort(popcounts(as_filters(b, "b")))
    lo, hi = _windows(pa, pb, threshold, same)
    total = len(pa) * (len(pa) - 1) / 2 if same else len(pa) * len(pb)
    return 1.0 - float((hi - lo).sum()) / total if total else 0.0

