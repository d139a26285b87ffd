"""Stepwise selection of pairwise interactions (Chan, Silverman & Vincent 2021; SparseMSE).

Start from main effects. At each step, for every pair of lists not yet in the model, compare the
number of cases on both lists with its Poisson distribution under the current fit (the two-sided
"lower of the two tails" p-value); a pair whose model would not be estimable gets p = 1. Add the pair
with the smallest p-value while it is below the threshold (0.02 by default).

The estimability check of each candidate is the costly part (a linear programme in SparseMSE). Here
it is mostly avoided: if the current design has full column rank on the cells with cases and the
candidate's column is not in its span there (or the candidate's overlap is empty, so it only removes
zero cells), the candidate's MLE exists and is identifiable. Only the other cases go to the full
check in :mod:`darkfigure.estimation.existence`. A candidate whose fit breaks down (singular design
or no convergence, from the previous fit's values and from R's start ``y + 0.1``) is not estimable
either: it gets p = 1 for that step and the next pair is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import pdtr, pdtrc

from darkfigure.errors import EstimationError, ModelNotEstimable
from darkfigure.estimation._glm import MAX_ITERATIONS, TOLERANCE
from darkfigure.estimation._stepkernel import fit_and_screen
from darkfigure.estimation.existence import check_counts
from darkfigure.estimation.models import HierarchicalModel

P_THRESHOLD = 0.02


@dataclass(frozen=True)
class StepRecord:
    """One step of the selection: the pair added, its p-value and N after adding it."""

    term: int
    p_value: float
    estimate: float


@dataclass(frozen=True)
class StepwisePath:
    """The selected model, the steps that built it and the fitted values of its last fit."""

    model: HierarchicalModel
    steps: tuple[StepRecord, ...]
    intercept: float
    intercept_variance: float


def pair_terms(n_lists: int) -> list[int]:
    """Pair masks in SparseMSE's order: (1,2), (1,3), ..., (1,t), (2,3), ...

    >>> pair_terms(3)
    [3, 5, 6]
    """
    return [(1 << i) | (1 << j) for i, j in combinations(range(n_lists), 2)]


def stepwise_path(
    counts: np.ndarray, cells: np.ndarray, n_lists: int, p_threshold: float = P_THRESHOLD
) -> StepwisePath:
    """Run the stepwise selection on raw cell counts.

    >>> from darkfigure import CaptureHistories
    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]],
    ...                                  [50, 40, 30, 60, 5, 4, 6])
    >>> stepwise_path(h.counts, h.cells, 3).model.name()
    '[13,23]'
    """
    pairs = pair_terms(n_lists)
    state = _State(counts.astype(np.float64), cells, n_lists, pairs)
    _require_estimable_start(state)
    n_star = state.on_both.T @ state.y
    steps: list[StepRecord] = []
    while p_threshold > 0 and not state.included.all():
        p_values = _pair_p_values(state, n_star)
        best = int(np.argmin(p_values))
        if p_values[best] >= p_threshold:
            break
        if not state.add(best):
            continue  # that pair's model cannot be fitted: not estimable at this step, try the next
        steps.append(StepRecord(pairs[best], float(p_values[best]), counts.sum() + np.exp(state.intercept)))
    return StepwisePath(state.model, tuple(steps), state.intercept, state.intercept_variance)


def _require_estimable_start(state: _State) -> None:
    if state.full_rank:
        return
    verdict = check_counts(state.y, state.cells, state.model)
    if not verdict.ok:
        raise ModelNotEstimable(
            f"stepwise selection cannot start: for the main-effects model {verdict.message.split('. ')[0]}. "
            "This happens when lists barely overlap (no case on two lists tells how much each misses)",
            code=verdict.code,
        )


class _Breakdown(Exception):
    """The Poisson fit of a model broke down (singular design) or did not converge, from either start."""


class _State:
    """The current model, its kept cells and its fit, updated as pairs are added."""

    def __init__(self, y: np.ndarray, cells: np.ndarray, n_lists: int, pairs: list[int]) -> None:
        self.y, self.cells, self.pairs = y, cells, pairs
        self.on_both = np.array([[(c & p) == p for p in pairs] for c in cells], dtype=np.float64)
        self.blocked = np.zeros(len(pairs), dtype=bool)
        self.fitted = np.zeros(len(cells))
        model = HierarchicalModel.independence(n_lists)
        try:
            self._fit(model, list(model.columns), np.ones(len(cells), dtype=bool), np.zeros(len(pairs), dtype=bool))
        except _Breakdown as exc:
            raise EstimationError(
                f"the fit of model {model} {exc}: the lists overlap too little for stepwise selection"
            ) from None

    def add(self, index: int) -> bool:
        """Add pair ``index`` and refit; False (state unchanged, pair blocked this step) if the fit breaks down.

        SparseMSE skips a model whose MLE does not exist or is not identifiable; a model whose fit is
        singular is not estimable either, so its pair gets p = 1 until another pair has been added.
        """
        term = self.pairs[index]
        both = (self.cells & term) == term
        empty = self.y[both].sum() == 0
        included = self.included.copy()
        included[index] = True
        kept = self.kept & ~both if empty else self.kept
        columns = self.columns if empty else [*self.columns, term]
        try:
            self._fit(self.model.with_term(term), columns, kept, included)
        except _Breakdown:
            self.blocked[index] = True
            self.estimable[index] = False
            return False
        self.blocked[:] = False
        return True

    def _fit(self, model: HierarchicalModel, columns: list[int], kept: np.ndarray, included: np.ndarray) -> None:
        """Fit ``model`` and commit it as the current state; raise _Breakdown (nothing changed) if it fails."""
        cells = self.cells[kept]
        cmask = np.asarray(columns, dtype=np.int64)
        x = ((cells[:, None] & cmask[None, :]) == cmask[None, :]).astype(np.float64)
        y = self.y[kept]
        candidates = np.ascontiguousarray(self.on_both[kept][:, ~included])
        result = _fit_from_either_start(x, y, self.fitted[kept], candidates)
        self.model, self.columns, self.kept, self.included = model, columns, kept, included
        self.intercept, self.intercept_variance, mu, self.converged, self.full_rank, outside = result
        self.fitted = np.zeros(len(self.cells))
        self.fitted[kept] = mu
        self.estimable = self._estimable(outside) & ~self.blocked

    def _estimable(self, outside: np.ndarray) -> np.ndarray:
        """Whether adding each pair not yet included gives an estimable model (SparseMSE code 0)."""
        todo = np.flatnonzero(~self.included)
        empty = (self.on_both[:, todo].T @ self.y) == 0
        verdict = (empty | outside) if self.full_rank else np.zeros(len(todo), dtype=bool)
        for k in np.flatnonzero(~verdict):
            candidate = self.model.with_term(self.pairs[todo[k]])
            verdict[k] = check_counts(self.y, self.cells, candidate).ok
        full = np.zeros(len(self.pairs), dtype=bool)
        full[todo] = verdict
        return full


def _fit_from_either_start(x: np.ndarray, y: np.ndarray, previous: np.ndarray, candidates: np.ndarray) -> tuple:
    """Fit from the previous model's fitted values, else from R's glm start ``y + 0.1``.

    The warm start saves iterations but Newton steps from it can diverge where R's start converges
    to the same MLE; only when both fail is the model's fit said to break down.
    """
    starts = [previous, y + 0.1] if previous.any() else [y + 0.1]
    why = "broke down (singular design)"
    for start in starts:
        try:
            result = fit_and_screen(x, y, np.log(start), y > 0, candidates, TOLERANCE, MAX_ITERATIONS)
        except (np.linalg.LinAlgError, ZeroDivisionError):
            continue
        if result[3]:
            return result
        why = "did not converge"
    raise _Breakdown(why)


def _pair_p_values(state: _State, n_star: np.ndarray) -> np.ndarray:
    expected = state.on_both.T @ state.fitted  # removed cells have fitted value 0
    lower = pdtr(n_star, expected)
    upper = np.where(n_star > 0, pdtrc(np.maximum(n_star - 1, 0), expected), 1.0)
    p_values = np.minimum(lower, upper)
    p_values[state.included | ~state.estimable] = 1.0
    return p_values
