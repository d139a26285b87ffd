"""The vectorised Dice kernel against a plain NumPy reference: the same pairs and bit-for-bit the
same scores on random filters at many widths (odd word counts, more than one tile of 2,048 rows),
at thresholds that pairs reach exactly, and in the plain-Python form the kernel takes without numba."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import darkfigure
from darkfigure.pprl import dice


def packed(bits: np.ndarray) -> np.ndarray:
    return np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)


def reference(a: np.ndarray, b: np.ndarray, threshold: float, same: bool):
    """Every pair scored with NumPy: 2.0 * common / total (0 when both are empty), kept at or above
    the threshold; (i, j, score) sorted by i then j."""
    common = np.bitwise_count(a[:, None, :] & b[None, :, :]).sum(axis=2, dtype=np.int64)
    total = np.bitwise_count(a).sum(axis=1, dtype=np.int64)[:, None] + np.bitwise_count(b).sum(axis=1, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, 2.0 * common / total, 0.0)
    keep = score >= threshold
    if same:
        keep &= np.triu(np.ones_like(keep), 1)
    i, j = np.nonzero(keep)
    return i, j, score[i, j]


def clustered(n: int, n_words: int, fill: float, seed: int) -> np.ndarray:
    """Filters in clusters of near-duplicates, with fills spread around ``fill`` (so that the
    popcount windows differ from row to row)."""
    rng = np.random.default_rng(seed)
    n_bits = 64 * n_words
    centres = rng.random((n // 4 + 1, n_bits)) < fill * rng.uniform(0.6, 1.4, (n // 4 + 1, 1))
    bits = centres[rng.integers(0, len(centres), n)] ^ (rng.random((n, n_bits)) < 0.05)
    return packed(bits)


def assert_same(got, want) -> None:
    for x, y in zip(got, want, strict=True):
        assert x.dtype == y.dtype or x.dtype.kind == y.dtype.kind
        np.testing.assert_array_equal(x, y)  # floats too: bit-for-bit equal scores


@pytest.mark.parametrize("n_words", [1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33])
def test_pairs_equal_the_numpy_reference(n_words):
    f = clustered(120, n_words, 0.3, seed=n_words)
    for threshold in (0.5, 0.7, 0.8, 0.9, 1.0):
        assert_same(dice.dice_pairs(f, threshold=threshold), reference(f, f, threshold, True))
        a, b = f[:50], f[50:]
        assert_same(dice.dice_pairs(a, b, threshold=threshold, workers=2), reference(a, b, threshold, False))


def test_exact_ties_are_kept():
    # one word, few bits: many pairs score exactly 2/3, 0.75, 0.8 (2.0 * c / total equals the float
    # threshold), and some a hair below 0.3 + 1e-16; every tie is kept, nothing below is
    rng = np.random.default_rng(11)
    f = np.zeros((400, 1), dtype=np.uint64)
    for row in range(len(f)):
        for bit in rng.choice(12, rng.integers(0, 7), replace=False):
            f[row, 0] |= np.uint64(1) << np.uint64(bit)
    for threshold in (2 / 3, 0.75, 0.8, 0.5, 0.1 + 0.2, 1.0):
        want = reference(f, f, threshold, True)
        assert (want[2] == threshold).sum() > 0 or threshold == 0.1 + 0.2
        assert_same(dice.dice_pairs(f, threshold=threshold), want)
        a, b = f[:150], f[150:]
        assert_same(dice.dice_pairs(a, b, threshold=threshold), reference(a, b, threshold, False))


@pytest.mark.parametrize("n_words", [16, 32, 5])
def test_more_than_one_tile_and_full_output_buffers(n_words):
    # 2,600 rows of b: two tiles; at 0.5 about half of 150 x 2,600 pairs are found, more than one
    # kernel call's room for pairs; at 0.62 the popcount windows cut the tiles
    rng = np.random.default_rng(n_words)
    f = packed(rng.random((2_750, 64 * n_words)) < rng.uniform(0.3, 0.7, (2_750, 1)))
    a, b = f[:150], f[150:]
    for threshold in (0.5, 0.62):
        assert_same(dice.dice_pairs(a, b, threshold=threshold, workers=2), reference(a, b, threshold, False))
    assert_same(dice.dice_pairs(f[:400], threshold=0.6), reference(f[:400], f[:400], 0.6, True))


def test_groups_equal_the_numpy_reference():
    f = clustered(3_000, 17, 0.3, seed=4)  # groups cross the boundary of the first tile
    groups = np.random.default_rng(5).integers(-1, 300, len(f))
    i, j, d = reference(f, f, 0.6, True)
    keep = (groups[i] == groups[j]) & (groups[i] >= 0)
    assert_same(dice.pairs_within_groups(f, groups, 0.6, workers=2), (i[keep], j[keep], d[keep]))


def test_least_common_bits_reach_the_threshold_exactly():
    for threshold in (0.8, 2 / 3, 0.1 + 0.2, 1.0, 1e-9):
        least = dice._least_common(threshold, 128)
        for total in range(1, 257):
            c = int(least[total])
            assert c > 128 or 2.0 * c / total >= threshold
            assert c == 0 or 2.0 * (min(c, 129) - 1) / total < threshold
        assert least[0] > 128  # two empty filters score 0, below any threshold


RUN_PYTHON_KERNEL = """
import json, sys
import numpy as np
from darkfigure import _compile
from darkfigure.pprl import dice
f = np.array(json.loads(sys.argv[1]), dtype=np.uint64)
pa = dice.popcounts(f)
out = {"have_numba": _compile.HAVE_NUMBA}
for t in (0.6, 0.8):
    i, j, d = dice._sorted_pairs(f[:12], f[12:], pa[:12], pa[12:], t, False, 1)  # the tile kernel, in Python
    order = np.lexsort((j, i))
    out[str(t)] = [i[order].tolist(), j[order].tolist(), d[order].tolist()]
print(json.dumps(out))
"""


def test_the_kernel_as_plain_python_gives_the_same_pairs():
    f = clustered(40, 3, 0.4, seed=9)
    package_root = str(Path(darkfigure.__file__).resolve().parents[1])
    environment = dict(os.environ, DARKFIGURE_NO_NUMBA="1")
    environment["PYTHONPATH"] = os.pathsep.join([package_root, environment.get("PYTHONPATH", "")])
    words = json.dumps([[int(x) for x in row] for row in f])
    done = subprocess.run([sys.executable, "-c", RUN_PYTHON_KERNEL, words], capture_output=True, text=True,
                          env=environment, check=True, timeout=300)
    plain = json.loads(done.stdout)
    assert plain.pop("have_numba") is False
    for t, (i, j, d) in plain.items():
        want = reference(f[:12], f[12:], float(t), False)
        assert (i, j, d) == (want[0].tolist(), want[1].tolist(), want[2].tolist())
        assert len(i) > 0
