"""Dice similarity per segment of segmented record-level filters (schema person-v3 and later).

A segmented filter is one record-level filter whose written bits are cut into consecutive segments,
each a whole number of 64-bit words; a segment's bits come from the fields the schema puts in it
(see :mod:`darkfigure.pprl.schema`). For a pair of records the Dice similarity of each segment is
computed apart, so that the linker can weigh the segments' agreement one by one, the way plaintext
linkage weighs fields (Fellegi-Sunter). A segment that is empty in either record is *missing* for
the pair (``NaN``): a field the record lacks neither agrees nor disagrees.
"""

from __future__ import annotations

import numpy as np

from darkfigure._compile import kernel
from darkfigure.errors import InputError
from darkfigure.pprl.dice import _popcount  # the hardware popcount (plain Python without numba)


def segment_bounds(words: list[int] | tuple[int, ...] | np.ndarray) -> np.ndarray:
    """Word boundaries of consecutive segments of the given widths (in 64-bit words).

    >>> segment_bounds([2, 1, 3]).tolist()
    [0, 2, 3, 6]
    """
    widths = np.asarray(words, dtype=np.int64)
    if (widths <= 0).any():
        raise InputError(f"every segment needs at least one 64-bit word; got widths {widths.tolist()}")
    return np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)


def segment_dice(filters: np.ndarray, left: np.ndarray, right: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Dice similarity of each segment for record pairs ``(left[k], right[k])``: a float matrix of
    pairs x segments, ``NaN`` where the segment is empty in either record (a missing field).

    >>> f = np.array([[0b1111, 0b0], [0b0111, 0b1]], dtype=np.uint64)
    >>> segment_dice(f, np.array([0]), np.array([1]), segment_bounds([1, 1])).round(4).tolist()
    [[0.8571, nan]]
    """
    filters = np.ascontiguousarray(filters, dtype=np.uint64)
    bounds = np.ascontiguousarray(bounds, dtype=np.int64)
    if filters.ndim != 2 or bounds[-1] != filters.shape[1]:
        raise InputError(
            f"the segments cover {int(bounds[-1])} words but the filters have {filters.shape[-1]}; "
            "read the segment layout from the same schema the lists were encoded with"
        )
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    counts = segment_popcounts(filters, bounds)
    return _segment_kernel(filters, counts, left, right, bounds)


def segment_popcounts(filters: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Set bits of each segment of each filter (records x segments, int64).

    >>> segment_popcounts(np.array([[0b1011, 3]], dtype=np.uint64), segment_bounds([1, 1])).tolist()
    [[3, 2]]
    """
    per_word = np.bitwise_count(np.asarray(filters, dtype=np.uint64)).astype(np.int64)
    return np.add.reduceat(per_word, np.asarray(bounds[:-1], dtype=np.int64), axis=1)


@kernel
def _segment_kernel(filters, counts, left, right, bounds):  # type: ignore[no-untyped-def]
    n_segments = len(bounds) - 1
    out = np.empty((len(left), n_segments), dtype=np.float64)
    for k in range(len(left)):
        i, j = left[k], right[k]
        for s in range(n_segments):
            total = counts[i, s] + counts[j, s]
            if counts[i, s] == 0 or counts[j, s] == 0:
                out[k, s] = np.nan
                continue
            common = 0
            for w in range(bounds[s], bounds[s + 1]):
                common += _popcount(filters[i, w] & filters[j, w])
            out[k, s] = 2.0 * common / total
    return out
