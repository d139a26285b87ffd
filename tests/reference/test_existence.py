"""Existence and identifiability of the log-linear MLE.

Against SparseMSE's checkident codes on artificial_3lists (REFERENCE.md), then a randomised
differential test: on sparse random 4- and 5-list tables the rank fast path of ``mle_exists`` must
agree with the linear programme alone, the programme with a second, independent formulation (a
direction of recession), and the identifiability code with an exact rank in integer arithmetic.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from scipy.optimize import linprog

from darkfigure.errors import ModelNotEstimable
from darkfigure.estimation.existence import (
    BOTH,
    FINE,
    NO_MLE,
    NOT_IDENTIFIABLE,
    _linear_programme_optimum,
    check_counts,
    check_estimable,
    kept_cells,
    mle_exists,
    reduced_design,
)
from darkfigure.estimation.loglinear import fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories


# ------------------------------------------------------------------ REFERENCE.md codes
@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("[A:B,A:C,B:C]", NOT_IDENTIFIABLE),  # REFERENCE.md: all three pairs -> 2
        ("[A:B]", NO_MLE),  # REFERENCE.md: pair A:B only -> 1
        ("[A:C,B:C]", FINE),  # REFERENCE.md: pairs A:C and B:C -> 0
    ],
)
def test_artificial_three_lists_codes(artificial: CaptureHistories, model: str, code: int) -> None:
    verdict = check_estimable(artificial, HierarchicalModel.parse(model, artificial.lists))
    assert verdict.code == code
    assert verdict.ok is (code == FINE)


def test_artificial_three_lists_details_by_hand(artificial: CaptureHistories) -> None:
    # A:C and B:C share no case: their cells (AC, BC, ABC) are fixed at zero, leaving A, B, C, AB.
    pairs = check_estimable(artificial, HierarchicalModel.parse("[A:B,A:C,B:C]", artificial.lists))
    assert pairs.empty_terms == (0b101, 0b110)
    assert pairs.rank_deficiency == 1  # intercept, A, B, C, A:B on four cells
    assert "not identifiable" in pairs.message
    with pytest.raises(ModelNotEstimable) as caught:
        fit_model(artificial, HierarchicalModel.parse("[12]", 3))
    assert caught.value.code == NO_MLE
    fine = fit_model(artificial, HierarchicalModel.parse("[13,23]", 3))
    assert fine.empty_terms == ("A:C", "B:C")


# ------------------------------------------------------------------ independent oracles
def exact_rank(rows: list[list[int]]) -> int:
    """Rank by Gaussian elimination in exact integer arithmetic (rows kept small by their gcd)."""
    matrix = [list(row) for row in rows]
    rank = 0
    for col in range(len(matrix[0]) if matrix else 0):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        top = matrix[rank]
        for r in range(rank + 1, len(matrix)):
            if matrix[r][col] != 0:
                row = [top[col] * a - matrix[r][col] * b for a, b in zip(matrix[r], top, strict=True)]
                divisor = math.gcd(*row) or 1
                matrix[r] = [v // divisor for v in row]
        rank += 1
    return rank


def closure(terms: list[tuple[int, ...]]) -> set[frozenset[int]]:
    """Every sub-term of order two or more of the given terms (lists as 0-based positions)."""
    orders = [(term, k) for term in terms for k in range(2, len(term) + 1)]
    return {frozenset(sub) for term, k in orders for sub in combinations(term, k)}


def independent_design(patterns: np.ndarray, counts: np.ndarray, terms: set[frozenset[int]]):
    """Design rows (Python ints) of the cells that hold no empty-overlap term, built from the
    0/1 patterns as products of list indicators, with the counts of those cells."""
    overlap = {term: int(counts[patterns[:, sorted(term)].all(axis=1)].sum()) for term in terms}
    empty = [term for term in terms if overlap[term] == 0]
    keep = ~np.zeros(len(counts), dtype=bool)
    for term in empty:
        keep &= ~patterns[:, sorted(term)].all(axis=1)
    columns = [frozenset()] + [frozenset({j}) for j in range(patterns.shape[1])]
    columns += sorted((t for t in terms if overlap[t] > 0), key=sorted)
    rows = [[int(all(p[j] for j in col)) for col in columns] for p in patterns[keep]]
    return rows, counts[keep], empty


def recession_direction_exists(x: np.ndarray, y: np.ndarray) -> bool:
    """The MLE is infinite exactly when some d has x d <= 0, x d = 0 on positive cells and x d != 0:
    minimise the sum of x d over the zero cells, with x d >= -1 there."""
    zero = y == 0
    if not zero.any():
        return False
    p = x.shape[1]
    res = linprog(
        x[zero].sum(axis=0), A_ub=np.vstack([x[zero], -x[zero]]),
        b_ub=np.concatenate([np.zeros(zero.sum()), np.ones(zero.sum())]),
        A_eq=x[~zero] if (~zero).any() else None, b_eq=np.zeros((~zero).sum()) if (~zero).any() else None,
        bounds=[(None, None)] * p, method="highs",
    )
    assert res.status == 0
    return res.fun < -1e-7


def random_model(rng: np.random.Generator, t: int) -> list[tuple[int, ...]]:
    """All pairs a quarter of the time (SparseMSE's mX = 0), else a random share of pairs and a
    few triples."""
    share = 1.0 if rng.random() < 0.25 else rng.uniform(0.3, 0.9)
    pairs = [c for c in combinations(range(t), 2) if rng.random() < share]
    triples = [c for c in combinations(range(t), 3) if rng.random() < 0.08]
    return pairs + triples


def random_sparse_counts(rng: np.random.Generator, t: int) -> np.ndarray:
    """Half the tables have zeros scattered at random; half have pairs of lists that share no case
    (every cell holding both is zero), the structure that makes models unidentifiable: either a
    random share of pairs, or every pair within two groups of lists (so no three lists overlap)."""
    cells = np.arange(1, 1 << t, dtype=np.int64)
    if rng.random() < 0.5:
        zero = rng.random(len(cells)) < rng.uniform(0.35, 0.9)
    else:
        zero = rng.random(len(cells)) < 0.1
        group = rng.random(t) < 0.5
        share = rng.uniform(0.3, 0.8)
        two_groups = rng.random() < 0.5
        for a, b in combinations(range(t), 2):
            if (group[a] == group[b]) if two_groups else (rng.random() < share):
                zero |= (cells >> a & 1 == 1) & (cells >> b & 1 == 1)
    counts = np.where(zero, 0, 1 + rng.poisson(rng.uniform(0.5, 15.0), len(cells))).astype(np.int64)
    counts[(1 << rng.integers(t)) - 1] += 1  # never an empty table
    return counts


@pytest.mark.parametrize("t", [4, 5])
def test_random_sparse_tables_agree_with_independent_oracles(seed: int, t: int) -> None:
    rng = np.random.default_rng([seed, t])
    cells = np.arange(1, 1 << t, dtype=np.int64)
    patterns = ((cells[:, None] >> np.arange(t)) & 1).astype(bool)
    seen = {"fast path": 0, "no MLE": 0, "not identifiable": 0, "fine": 0}
    for _ in range(150):
        counts = random_sparse_counts(rng, t)
        chosen = random_model(rng, t)
        model = HierarchicalModel.from_terms(t, chosen)
        verdict = check_counts(counts, cells, model)

        # identifiability: empty overlaps and rank, rebuilt without the library's design code
        terms = closure(chosen)
        rows, y_kept, empty = independent_design(patterns, counts, terms)
        assert {frozenset(j for j in range(t) if e >> j & 1) for e in verdict.empty_terms} == set(empty)
        deficiency = len(rows[0]) - exact_rank(rows)
        assert verdict.rank_deficiency == deficiency
        assert bool(verdict.code & NOT_IDENTIFIABLE) == (deficiency > 0)

        # existence: the fast path against the linear programme alone, on the library's design
        keep = kept_cells(cells, verdict.empty_terms)
        x = reduced_design(model, cells[keep], verdict.empty_terms)
        y = counts[keep].astype(np.float64)
        optimum = _linear_programme_optimum(x, y)
        by_programme = optimum > 1e-9 * max(1.0, float(y.sum()))
        assert mle_exists(x, y) == by_programme
        assert bool(verdict.code & NO_MLE) == (not by_programme)
        # ... and the programme against a direction of recession on the independent design
        assert by_programme != recession_direction_exists(np.array(rows, dtype=float), y_kept)
        assert np.array_equal(y, y_kept.astype(np.float64))

        fast = np.linalg.matrix_rank(x[y > 0]) == x.shape[1]
        seen["fast path"] += bool(fast)
        seen["no MLE"] += verdict.code in (NO_MLE, BOTH)
        seen["not identifiable"] += verdict.code in (NOT_IDENTIFIABLE, BOTH)
        seen["fine"] += verdict.code == FINE
    # the sample must exercise every branch, or the agreement above proves little
    assert min(seen.values()) >= 5, seen
