"""Does a log-linear model's maximum likelihood estimate exist, and is it identifiable?

Follows SparseMSE's ``checkident`` (Chan, Silverman & Vincent 2021). An interaction whose lists
share no case (an *empty overlap*) has the extended MLE: its parameter goes to minus infinity, so the
cells holding all of its lists are fixed at zero and left out of the fit. On the cells that remain:

* not identifiable (code 2) when the design matrix is rank deficient;
* the MLE does not exist (code 1) when the sufficient statistics lie on the boundary of the marginal
  cone (Fienberg & Rinaldo 2012): checked by the linear programme of SparseMSE, maximise ``s``
  subject to ``X'z = X'y`` and ``z >= s``; the MLE exists exactly when the optimum is positive.

The programme is solved only when needed: if the design restricted to the cells with positive counts
already has full column rank, no direction of recession exists and the MLE exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from darkfigure.estimation.models import HierarchicalModel, bits_of
from darkfigure.histories import CaptureHistories

FINE, NO_MLE, NOT_IDENTIFIABLE, BOTH = 0, 1, 2, 3

MESSAGES = {
    FINE: "the maximum likelihood estimate exists and is identifiable",
    NO_MLE: (
        "the maximum likelihood estimate does not exist: the observed counts lie on the boundary of what "
        "the model can fit, so at least one parameter would be infinite and the estimate meaningless. "
        "Drop an interaction, merge lists, or choose the model by stepwise selection"
    ),
    NOT_IDENTIFIABLE: (
        "the model is not identifiable: with the empty overlaps between lists fixed at zero, there are "
        "more parameters than cells can determine. Drop an interaction or merge lists"
    ),
    BOTH: (
        "the maximum likelihood estimate does not exist and the model is not identifiable: too many "
        "parameters for the cells with cases. Drop interactions or merge lists"
    ),
}


@dataclass(frozen=True)
class Estimability:
    """The outcome of the existence and identifiability checks of one model on one table."""

    code: int
    empty_terms: tuple[int, ...]
    rank_deficiency: int

    @property
    def ok(self) -> bool:
        return self.code == FINE

    @property
    def message(self) -> str:
        return MESSAGES[self.code]


def empty_terms(counts: np.ndarray, cells: np.ndarray, model: HierarchicalModel) -> tuple[int, ...]:
    """Interaction terms of ``model`` whose lists share no case."""
    return tuple(t for t in sorted(model.terms) if counts[(cells & t) == t].sum() == 0)


def kept_cells(cells: np.ndarray, empty: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the cells that hold no empty-overlap term (the cells that are fitted)."""
    keep = np.ones(cells.shape[0], dtype=bool)
    for t in empty:
        keep &= (cells & t) != t
    return keep


def reduced_design(model: HierarchicalModel, cells: np.ndarray, empty: tuple[int, ...]) -> np.ndarray:
    """Design matrix of ``model`` on ``cells`` without the columns of the empty terms."""
    x = model.design(cells)
    keep_cols = [i for i, c in enumerate(model.columns) if c not in empty]
    return x[:, keep_cols]


def check_estimable(histories: CaptureHistories, model: HierarchicalModel) -> Estimability:
    """Check ``model`` on ``histories`` as SparseMSE's ``checkident`` does.

    >>> h = CaptureHistories.from_counts([[1,0,0],[0,1,0],[0,0,1],[1,1,0]], [40,30,20,6])
    >>> check_estimable(h, HierarchicalModel.parse("[12,3]", 3)).code
    1
    """
    return check_counts(histories.counts, histories.cells, model)


def check_counts(counts: np.ndarray, cells: np.ndarray, model: HierarchicalModel) -> Estimability:
    """:func:`check_estimable` on raw cell counts."""
    empty = empty_terms(counts, cells, model)
    keep = kept_cells(cells, empty)
    x = reduced_design(model, cells[keep], empty)
    y = counts[keep].astype(np.float64)
    deficiency = x.shape[1] - int(np.linalg.matrix_rank(x))
    code = (0 if mle_exists(x, y) else NO_MLE) + (NOT_IDENTIFIABLE if deficiency > 0 else 0)
    return Estimability(code, empty, deficiency)


def mle_exists(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the Poisson log-linear MLE for design ``x`` and counts ``y`` is finite."""
    positive = y > 0
    if np.linalg.matrix_rank(x[positive]) == x.shape[1]:
        return True
    return _linear_programme_optimum(x, y) > 1e-9 * max(1.0, float(y.sum()))


def _linear_programme_optimum(x: np.ndarray, y: np.ndarray) -> float:
    m, p = x.shape
    c = np.zeros(m + 1)
    c[-1] = -1.0  # maximise s
    a_eq = np.hstack([x.T, np.zeros((p, 1))])
    a_ub = np.hstack([-np.eye(m), np.ones((m, 1))])  # s - z_i <= 0
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(m), A_eq=a_eq, b_eq=x.T @ y, bounds=(0, None), method="highs")
    if res.status != 0:
        return 0.0
    return float(-res.fun)


def describe_terms(terms: tuple[int, ...], lists: tuple[str, ...]) -> list[str]:
    """Names such as ``LA:NG`` for term masks."""
    return [":".join(lists[j] for j in bits_of(t)) for t in terms]
