"""The Dice kernel: hand-worked scores, agreement with a brute-force count, and the same pairs and
scores without numba (DARKFIGURE_NO_NUMBA) as with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import darkfigure
from darkfigure.errors import InputError
from darkfigure.pprl import dice


def packed(bits: np.ndarray) -> np.ndarray:
    return np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)


def near_duplicates(n: int, n_bits: int = 1024, seed: int = 3, noise: float = 0.06) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bits = rng.random((n, n_bits)) < 0.3
    bits[1::2] = bits[::2] ^ (rng.random((n // 2, n_bits)) < noise)
    return packed(bits)


def brute_force(a: np.ndarray, b: np.ndarray, threshold: float, same: bool):
    """Dice of every pair from Python's own int.bit_count, one pair at a time."""
    out = []
    for i in range(len(a)):
        for j in range(i + 1 if same else 0, len(b)):
            common = sum(int(x & y).bit_count() for x, y in zip(a[i], b[j], strict=True))
            total = sum(int(x).bit_count() for x in a[i]) + sum(int(y).bit_count() for y in b[j])
            score = 2.0 * common / total if total else 0.0
            if score >= threshold:
                out.append((i, j, score))
    return out


def test_hand_worked_dice():
    # |a| = 4, |b| = 3, |a & b| = 3: Dice = 6 / 7; a with itself 1; an empty filter 0 by definition
    a = np.array([[0b1111, 0], [0b0111, 0], [0, 0]], dtype=np.uint64)
    scores = dice.dice_scores(a, a, [0, 0, 2], [1, 0, 2])
    np.testing.assert_allclose(scores, [6 / 7, 1.0, 0.0], rtol=1e-15)
    assert dice.popcounts(a).tolist() == [4, 3, 0]


@pytest.mark.parametrize("n_bits", [1024, 960, 64])
@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.9])
def test_pairs_match_brute_force(n_bits, threshold):
    f = near_duplicates(60, n_bits)
    i, j, d = dice.dice_pairs(f, threshold=threshold)
    assert list(zip(i.tolist(), j.tolist(), d.tolist(), strict=True)) == brute_force(f, f, threshold, True)
    a, b = f[:25], f[25:]
    i, j, d = dice.dice_pairs(a, b, threshold=threshold, workers=2)
    assert list(zip(i.tolist(), j.tolist(), d.tolist(), strict=True)) == brute_force(a, b, threshold, False)


def test_popcount_bound_skips_only_impossible_pairs():
    rng = np.random.default_rng(5)
    # fills from 5% to 60%: many pairs cannot reach 0.8 by their counts alone
    bits = rng.random((300, 1024)) < np.linspace(0.05, 0.6, 300)[:, None]
    bits[150:] = bits[:150] ^ (rng.random((150, 1024)) < 0.02)
    f = packed(bits)
    assert dice.comparisons_skipped(f, threshold=0.8) > 0.5
    i, j, d = dice.dice_pairs(f, threshold=0.8)
    full = dice.dice_scores(f, f, *np.triu_indices(len(f), 1))
    assert len(d) == int((full >= 0.8).sum()) >= 140


def test_pairs_within_groups():
    f = near_duplicates(80)
    groups = np.repeat(np.arange(20), 4)
    groups[::7] = -1
    i, j, d = dice.pairs_within_groups(f, groups, 0.6, workers=2)
    expected = [(p, q, s) for p, q, s in brute_force(f, f, 0.6, True) if groups[p] == groups[q] >= 0]
    assert list(zip(i.tolist(), j.tolist(), d.tolist(), strict=True)) == expected


def test_bad_input():
    f = near_duplicates(4)
    with pytest.raises(InputError, match="threshold must lie in"):
        dice.dice_pairs(f, threshold=0)
    with pytest.raises(InputError, match="same schema"):
        dice.dice_pairs(f, f[:, :8])
    with pytest.raises(InputError, match="2-d array"):
        dice.dice_pairs(np.zeros(3, dtype=np.uint64))


RUN_KERNELS = """
import json, sys
import numpy as np
from darkfigure import _compile
from darkfigure.pprl import dice
f = np.array(json.loads(sys.argv[1]), dtype=np.uint64)
groups = np.arange(len(f)) % 5
out = {"have_numba": _compile.HAVE_NUMBA}
for t in (0.55, 0.8):
    out[f"self {t}"] = [x.tolist() for x in dice.dice_pairs(f, threshold=t)]
    out[f"cross {t}"] = [x.tolist() for x in dice.dice_pairs(f[:30], f[30:], threshold=t)]
    out[f"groups {t}"] = [x.tolist() for x in dice.pairs_within_groups(f, groups, t)]
out["scores"] = dice.dice_scores(f, f, np.arange(len(f)), np.arange(len(f))[::-1]).tolist()
print(json.dumps(out))
"""


def run_kernels(f: np.ndarray, **env: str) -> dict:
    package_root = str(Path(darkfigure.__file__).resolve().parents[1])
    environment = {k: v for k, v in os.environ.items() if k != "DARKFIGURE_NO_NUMBA"}
    environment["PYTHONPATH"] = os.pathsep.join([package_root, environment.get("PYTHONPATH", "")])
    environment.update(env)
    words = json.dumps([[int(x) for x in row] for row in f])
    done = subprocess.run([sys.executable, "-c", RUN_KERNELS, words], capture_output=True, text=True,
                          env=environment, check=True, timeout=300)
    return json.loads(done.stdout)


def test_same_pairs_and_scores_without_numba():
    f = near_duplicates(70)
    compiled, plain = run_kernels(f), run_kernels(f, DARKFIGURE_NO_NUMBA="1")
    assert compiled.pop("have_numba") is True and plain.pop("have_numba") is False
    assert compiled == plain  # identical pairs and bit-identical scores
    assert len(compiled["self 0.8"][0]) >= 35  # the 35 planted near-duplicate pairs
