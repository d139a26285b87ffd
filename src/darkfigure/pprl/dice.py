"""Dice similarity of Bloom-filter encodings, on packed bits, with hardware popcount.

A filter is a row of ``uint64`` words (bit ``i`` is bit ``i % 64`` of word ``i // 64``). The Dice
similarity of filters ``a`` and ``b`` is ``2 |a & b| / (|a| + |b|)`` (0 when both are empty).

Compiled with numba, the kernels count bits with LLVM's ``llvm.ctpop``. All pairs of two blocks
above a threshold are found with ``b`` cut into tiles of 2,048 rows stored word-major (so a tile
stays in cache and 8 of its rows sit side by side in one cache line): one step ANDs a word of ``a``
with that word of 8 rows of ``b`` and counts the bits of all 8 at once, on a vector of 8 x 64 bits
(``VPOPCNTQ`` on a 512-bit register where the CPU has AVX-512 VPOPCNTDQ; elsewhere LLVM splits it).
The threshold is turned once into the least number of common bits each total ``|a| + |b|`` needs,
so a pair is tested by comparing two integers and only the rare pairs above it are divided. Each
filter's own count is taken once; rows are sorted by it, since Dice is at most
``2 min(|a|, |b|) / (|a| + |b|)``: for each row only a window of the other block's rows can reach
the threshold, and the rest are skipped uncompared. Without numba (``DARKFIGURE_NO_NUMBA``) the same
pairs and scores come from NumPy (``np.bitwise_count``), chunk by chunk.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from darkfigure._compile import HAVE_NUMBA, kernel
from darkfigure.errors import InputError

# cells per NumPy chunk (the fallback); rows of b per cache tile; rows of b per vector step (8 x 64
# bits: one AVX-512 register); words of a tile's row (its rows, then one step of zeros to read past
# the end); filters are padded to a multiple of 8 words; room for pairs per kernel call
_CHUNK_CELLS = 1 << 21
_TILE = 2048
_LANES = 8
_ROW = _TILE + _LANES
_GROUP = 8
_ROOM = 1 << 16


if HAVE_NUMBA:  # pragma: no branch - the fallback is tested in a subprocess
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
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

    @intrinsic
    def _add_common_bits(typingctx, counts, rows, k, words, first, need):  # type: ignore[no-untyped-def]
        """``counts[k:k + 8]`` (from 0 if ``first``) plus, over ``w``, the set bits of ``words[w] &
        rows[w * _ROW + k:][:8]``: 8 rows of ``b`` against a run of a row's words, on 8-lane vectors
        (LLVM's ``ctpop`` on ``<8 x i64>``). Returns, as the bits of an int64, the lanes whose new
        count reaches ``need[k:k + 8]``."""
        arrays = (counts, rows, need)  # read and written with no bounds check: the callers size them
        if not (isinstance(words, types.UniTuple) and words.dtype == types.uint64) or any(
                x.ndim != 1 or x.layout != "C" or x.dtype.bitwidth != 64 for x in arrays):
            return None

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            vector = ir.VectorType(ir.IntType(64), _LANES)
            ctpop = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vector, [vector]), f"llvm.ctpop.v{_LANES}i64")
            data = [context.make_array(sig.args[n])(context, builder, args[n]).data for n in (0, 1, 5)]
            total = ir.Constant(vector, None)
            for w in range(sig.args[3].count):
                loaded = _lanes_at(builder, data[1], builder.add(args[2], ir.Constant(ir.IntType(64), w * _ROW)))
                both = builder.and_(loaded, _splat(builder, builder.extract_value(args[3], w), vector))
                total = builder.add(total, builder.call(ctpop, [both]))
            total = builder.add(total, builder.select(args[4], ir.Constant(vector, None),
                                                      _lanes_at(builder, data[0], args[2])))
            builder.store(total, _lanes_pointer(builder, data[0], args[2]), align=8)
            reached = builder.icmp_signed(">=", total, _lanes_at(builder, data[2], args[2]))
            return builder.zext(builder.bitcast(reached, ir.IntType(_LANES)), ir.IntType(64))

        return types.int64(counts, rows, k, words, first, need), codegen

    def _lanes_pointer(builder, data, index):  # type: ignore[no-untyped-def]
        return builder.bitcast(builder.gep(data, [index]), ir.VectorType(ir.IntType(64), _LANES).as_pointer())

    def _lanes_at(builder, data, index):  # type: ignore[no-untyped-def]
        """The 8 int64 words from ``data[index]`` as one vector (an unaligned load)."""
        vector = ir.VectorType(ir.IntType(64), _LANES)
        return builder.load(_lanes_pointer(builder, data, index), align=8, typ=vector)

    def _splat(builder, value, vector):  # type: ignore[no-untyped-def]
        lanes = ir.Constant(ir.VectorType(ir.IntType(32), vector.count), [0] * vector.count)
        one = builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(one, ir.Constant(vector, ir.Undefined), lanes)

else:

    def _popcount(word):  # type: ignore[no-untyped-def]
        return int(word).bit_count()

    def _add_common_bits(counts, rows, k, words, first, need):  # type: ignore[no-untyped-def]
        reached = 0
        for lane in range(_LANES):
            common = sum(_popcount(x & rows[w * _ROW + k + lane]) for w, x in enumerate(words))
            counts[k + lane] = common if first else counts[k + lane] + common
            reached |= int(counts[k + lane] >= need[k + lane]) << lane
        return reached


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
    """Rows sorted by popcount, ``b`` in word-major tiles (so that the kernel runs over 8 of its
    rows at once); each thread takes a share of ``a``'s rows (the kernel frees the GIL)."""
    order_a = np.argsort(pa, kind="stable")
    order_b = order_a if same else np.argsort(pb, kind="stable")
    sa, spa = _padded(a[order_a]), pa[order_a]
    spb = spa if same else pb[order_b]
    tiles = _tiled(sa if same else _padded(b[order_b]))
    lo, hi = _windows(spa, spb, threshold, same)
    i, j, d = _pairs_in_windows(sa, tiles, spa, spb, lo, hi, threshold, workers)
    return order_a[i], order_b[j], d


def _pairs_in_windows(sa, tiles, spa, spb, lo, hi, threshold, workers):  # type: ignore[no-untyped-def]
    """Rows ``i`` of ``a`` against rows ``lo[i]:hi[i]`` of ``b`` (``lo`` and ``hi`` nondecreasing)."""
    shares = _shares(hi - lo, max(1, int(workers)))
    least = _least_common(threshold, sa.shape[1] * 64)
    run = lambda share: _run_rows(sa, tiles, spa, spb, lo, hi, least, threshold, *share)  # noqa: E731
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
        i, j, d = _pairs_in_windows(sa, _tiled(sa), pa, pa, lo, ends, threshold, workers)
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


def _tiled(filters: np.ndarray) -> np.ndarray:
    """Padded filters as tiles of ``_TILE`` rows, word-major: word ``w`` of row ``t * _TILE + k`` is
    ``tiles[t, w * _ROW + k]`` (zeros after the last row and in each word's last ``_LANES``)."""
    n, n_words = filters.shape
    n_tiles = max(1, -(-n // _TILE))
    tiles = _aligned_zeros(n_tiles * n_words * _ROW).reshape(n_tiles, n_words, _ROW)
    for t in range(n_tiles):
        part = filters[t * _TILE : (t + 1) * _TILE]
        tiles[t, :, : len(part)] = part.T
    return tiles.reshape(n_tiles, n_words * _ROW)


def _aligned_zeros(n: int) -> np.ndarray:
    """``n`` int64 zeros starting on a 64-byte boundary (a cache line: the kernel's 8-lane loads
    from 8-row-aligned positions then never straddle two lines)."""
    raw = np.zeros(n + _LANES, dtype=np.uint64)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip : skip + n]


def _least_common(threshold: float, n_bits: int) -> np.ndarray:
    """For each total ``|a| + |b|`` from 0 to ``2 n_bits``, the least common bit count ``c`` whose
    Dice ``2.0 * c / total`` (the very float expression the kernel scores with) reaches the
    threshold; a total no count can reach (0) gets a count above any filter's."""
    total = np.arange(2 * n_bits + 1, dtype=np.int64)
    guess = np.maximum(np.floor(threshold * total / 2.0).astype(np.int64) - 2, 0)
    steps = guess[:, None] + np.arange(6)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        reach = (total[:, None] > 0) & (2.0 * steps / total[:, None] >= threshold)
    least = guess + np.argmax(reach, axis=1)
    return np.where(reach.any(axis=1), least, np.int64(4 * n_bits + 1))


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


def _run_rows(sa, tiles, spa, spb, lo, hi, least, threshold, start, stop):  # type: ignore[no-untyped-def]
    """Rows ``start:stop`` of ``a`` against ``b``, one tile of ``b``'s rows (kept in cache) at a time."""
    found = []
    counts, need = _aligned_zeros(_TILE + _LANES).view(np.int64), _aligned_zeros(_TILE + _LANES).view(np.int64)
    for tile in range(len(tiles)):
        # rows whose window meets this tile: lo and hi are nondecreasing, so they are contiguous
        row = max(start, int(np.searchsorted(hi, tile * _TILE, side="right")))
        end = min(stop, int(np.searchsorted(lo, (tile + 1) * _TILE, side="left")))
        while row < end:
            out_i, out_j = np.empty(_ROOM, np.int64), np.empty(_ROOM, np.int64)
            out_d = np.empty(_ROOM, np.float64)
            row, n = _tile_kernel(sa, tiles[tile], tile * _TILE, spa, spb, lo, hi, least, threshold, row, end,
                                  counts, need, out_i, out_j, out_d)
            if n:
                found.append((out_i[:n].copy(), out_j[:n].copy(), out_d[:n].copy()))
    return found


@kernel
def _tile_kernel(a, rows, base, pa, pb, lo, hi, least, threshold, start, stop, counts, need, out_i, out_j, out_d):  # type: ignore[no-untyped-def]
    """Pairs above the threshold between rows ``start:stop`` of ``a`` and the tile of ``b``'s rows
    ``base:base + _TILE`` (``rows``, word-major). For each row of ``a``, the common bits with the
    window's rows of ``b`` are counted 8 rows at a time; a row of ``b`` is a hit when its count
    reaches ``least[|a| + |b|]`` (``need``, looked up once per popcount of ``a``). Stops early
    (returning the next row) when the output might not hold another row's pairs."""
    n, room = 0, len(out_i)
    cached, low, high = -1, 0, 0
    for i in range(start, stop):
        j0, j1 = max(lo[i], base), min(hi[i], base + _TILE)
        if j1 <= j0:
            continue
        if n + j1 - j0 > room:
            return i, n
        p = pa[i]
        if p != cached or j0 < low or j1 > high:
            for j in range(j0, j1):
                need[j - base] = least[p + pb[j]]
            cached, low, high = p, j0, j1
        if not _count_row(a, i, rows, j0 - base, j1 - base, counts, need):
            continue
        for j in range(j0, j1):
            if counts[j - base] >= need[j - base]:
                score = 2.0 * counts[j - base] / (p + pb[j])
                if score >= threshold:
                    out_i[n], out_j[n], out_d[n] = i, j, score
                    n += 1
    return stop, n


@kernel
def _count_row(a, i, rows, start, stop, counts, need):  # type: ignore[no-untyped-def]
    """``counts[k]``: the common bits of row ``i`` of ``a`` and row ``k`` of the tile ``rows``, for
    ``k`` from ``start`` rounded down to a multiple of 8 up to ``stop`` rounded up, 16 words per
    pass. Returns whether any count from ``start`` to ``stop`` reaches its ``need``. The vector
    step reads and writes 8 lanes unchecked: ``stop`` is at most ``_TILE``, ``rows`` holds ``_ROW``
    words per word of ``a`` and ``counts`` and ``need`` hold ``_TILE + 7`` values."""
    g, n_words, hits, first = 0, a.shape[1], 0, start - start % _LANES
    while g + 16 <= n_words:
        words = (a[i, g], a[i, g + 1], a[i, g + 2], a[i, g + 3], a[i, g + 4], a[i, g + 5], a[i, g + 6],
                 a[i, g + 7], a[i, g + 8], a[i, g + 9], a[i, g + 10], a[i, g + 11], a[i, g + 12],
                 a[i, g + 13], a[i, g + 14], a[i, g + 15])
        part, hits = rows[g * _ROW :], 0
        for k in range(first, stop, _LANES):
            hits |= _add_common_bits(counts, part, k, words, g == 0, need) & _lanes(start - k, stop - k)
        g += 16
    if g < n_words:  # the last 8 words
        words8 = (a[i, g], a[i, g + 1], a[i, g + 2], a[i, g + 3], a[i, g + 4], a[i, g + 5], a[i, g + 6],
                  a[i, g + 7])
        part, hits = rows[g * _ROW :], 0
        for k in range(first, stop, _LANES):
            hits |= _add_common_bits(counts, part, k, words8, g == 0, need) & _lanes(start - k, stop - k)
    return hits != 0


@kernel
def _lanes(low, high):  # type: ignore[no-untyped-def]
    """Bits ``low:high`` of the 8 (clipped to 0:8): the lanes of a vector step that hold window rows."""
    return (1 << max(0, min(high, _LANES))) - (1 << max(0, min(low, _LANES)))


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

