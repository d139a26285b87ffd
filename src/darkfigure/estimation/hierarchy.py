"""The space of hierarchical log-linear models up to a maximum interaction order.

A hierarchical model on ``t`` lists is a set of interaction terms closed downward (every sub-term
of order two or more of a term is in too); main effects are always in. With the terms of order
``2 .. max_order`` numbered by order and then list positions, a model is a bit set over those term
numbers. The enumerator walks these bit sets in lexicographic order of the include/exclude choices:
a term may be included only when its sub-terms one order down are in, and as terms are numbered by
order those are always decided first, so every branch ends in a model and none is visited twice.

MultipleSystemsEstimation reads the same models from a stored catalogue (``hiermodels``); its
``get_hierarchical_models(5, maxorder = 3)`` has 6,212 of them, as :func:`count_models` finds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np

from darkfigure._compile import kernel
from darkfigure.errors import InputError
from darkfigure.estimation.models import HierarchicalModel, bits_of

MAX_TERMS = 62  # term sets are int64 bit sets; bit 63 is kept clear of the sign


def interaction_terms(n_lists: int, max_order: int) -> tuple[int, ...]:
    """Bit masks of all interactions of order 2 .. ``max_order``, by order, then list positions.

    >>> interaction_terms(3, 3)
    (3, 5, 6, 7)
    """
    _check_order(n_lists, max_order)
    return tuple(
        sum(1 << j for j in combo)
        for k in range(2, max_order + 1)
        for combo in combinations(range(n_lists), k)
    )


def sub_terms_one_down(term: int) -> list[int]:
    """Sub-terms of ``term`` one order lower that are interactions (two or more lists).

    >>> sub_terms_one_down(0b111), sub_terms_one_down(0b11)
    ([6, 5, 3], [])
    """
    if bin(term).count("1") <= 2:
        return []
    return [term & ~(1 << j) for j in bits_of(term)]


def count_models(n_lists: int, max_order: int, limit: int | None = None) -> int | None:
    """Number of hierarchical models with interactions of order at most ``max_order``.

    Returns ``None`` when there are more than ``limit`` (the count stops there, so a limit keeps
    the answer quick for model spaces far too large to enumerate).

    >>> [count_models(5, 2), count_models(5, 3), count_models(6, 3, limit=10_000)]
    [1024, 6212, None]
    """
    terms = interaction_terms(n_lists, max_order)
    if len(terms) > MAX_TERMS:
        if limit is not None and limit < 2 ** comb(n_lists, 2):
            return None  # at least every set of pairs is a model: far above the limit
        raise InputError(
            f"{len(terms)} interaction terms on {n_lists} lists up to order {max_order}: too many models to "
            "count or enumerate; lower the maximum order or search downhill"
        )
    cap = -1 if limit is None else int(limit)
    count = int(_enumerate_term_sets(_requirements(terms), cap, np.zeros(0, dtype=np.int64)))
    return None if count < 0 else count


@dataclass(frozen=True)
class ModelSpace:
    """All hierarchical models on ``n_lists`` lists with interaction order at most ``max_order``.

    ``term_sets[i]`` has bit ``k`` set when model ``i`` holds ``terms[k]``. Models are in
    lexicographic order of their term choices, independence first.

    >>> space = model_space(3, 2)
    >>> len(space), space.model(0).name(), space.names()[-1]
    (8, '[1,2,3]', '[12,13,23]')
    """

    n_lists: int
    max_order: int
    terms: tuple[int, ...]
    term_sets: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.term_sets.shape[0])

    def model(self, index: int) -> HierarchicalModel:
        return model_from_term_set(self.n_lists, self.terms, int(self.term_sets[index]))

    def models(self) -> list[HierarchicalModel]:
        return [self.model(i) for i in range(len(self))]

    def membership(self) -> np.ndarray:
        """0/1 matrix (models x terms): which terms each model holds."""
        return membership_matrix(self.term_sets, len(self.terms))

    def names(self) -> list[str]:
        """Model names as :meth:`HierarchicalModel.name` writes them, for all models at once."""
        return list(_names(self.n_lists, self.max_order))


@lru_cache(maxsize=16)
def model_space(n_lists: int, max_order: int) -> ModelSpace:
    """Enumerate every hierarchical model up to ``max_order`` (kept, like MSE's stored catalogue).

    >>> [len(model_space(3, 3)), len(model_space(4, 2)), len(model_space(5, 3))]
    [9, 64, 6212]
    """
    terms = interaction_terms(n_lists, max_order)
    if len(terms) > MAX_TERMS:
        count_models(n_lists, max_order)  # raises with the reason
    required = _requirements(terms)
    total = int(_enumerate_term_sets(required, -1, np.zeros(0, dtype=np.int64)))
    sets = np.zeros(total, dtype=np.int64)
    _enumerate_term_sets(required, -1, sets)
    sets.setflags(write=False)
    return ModelSpace(n_lists, max_order, terms, sets)


def model_from_term_set(n_lists: int, terms: tuple[int, ...], term_set: int) -> HierarchicalModel:
    """The model holding ``terms[k]`` for each bit ``k`` of ``term_set``.

    >>> model_from_term_set(3, (3, 5, 6), 0b011).name()
    '[12,13]'
    """
    return HierarchicalModel(n_lists, frozenset(t for k, t in enumerate(terms) if term_set >> k & 1))


def membership_matrix(term_sets: np.ndarray, n_terms: int) -> np.ndarray:
    """0/1 ``uint8`` matrix (models x terms) of bit sets ``term_sets``.

    >>> membership_matrix(np.array([0, 5]), 3).tolist()
    [[0, 0, 0], [1, 0, 1]]
    """
    shifts = np.arange(n_terms, dtype=np.int64)
    return ((term_sets[:, None] >> shifts[None, :]) & 1).astype(np.uint8)


def neighbours(model: HierarchicalModel, max_order: int) -> list[HierarchicalModel]:
    """Models one step away: add one term whose sub-terms are all in, or drop one maximal term.

    Terms added are of order at most ``max_order``; main effects always stay.

    >>> [m.name() for m in neighbours(HierarchicalModel.parse("[12,13]", 3), 3)]
    ['[13,2]', '[12,3]', '[12,13,23]']
    """
    _check_order(model.n_lists, max_order)
    inner = [HierarchicalModel(model.n_lists, model.terms - {g}) for g in _maximal_terms(model)]
    outer = [
        HierarchicalModel(model.n_lists, model.terms | {t})
        for t in interaction_terms(model.n_lists, max_order)
        if t not in model.terms and all(s in model.terms for s in sub_terms_one_down(t))
    ]
    return inner + outer


def _maximal_terms(model: HierarchicalModel) -> list[int]:
    return [g for g in model.generators if bin(g).count("1") >= 2]


def _requirements(terms: tuple[int, ...]) -> np.ndarray:
    """For each term, the bit set (over term numbers) of its sub-terms one order down."""
    index = {t: k for k, t in enumerate(terms)}
    required = np.zeros(len(terms), dtype=np.int64)
    for k, t in enumerate(terms):
        for s in sub_terms_one_down(t):
            required[k] |= np.int64(1) << np.int64(index[s])
    return required


@kernel
def _enumerate_term_sets(required, limit, out):  # pragma: no cover - compiled
    """Walk all downward-closed term sets; store the first ``len(out)``; return the count (-1 past limit)."""
    n = required.shape[0]
    one = np.int64(1)
    chosen = np.int64(0)
    count = 0
    while True:
        if count < out.shape[0]:
            out[count] = chosen
        count += 1
        if 0 <= limit < count:
            return -1
        j = n - 1
        while j >= 0:
            bit = one << np.int64(j)
            below = chosen & (bit - one)
            if (chosen & bit) == 0 and (below & required[j]) == required[j]:
                chosen = below | bit
                break
            j -= 1
        if j < 0:
            return count


@lru_cache(maxsize=16)
def _names(n_lists: int, max_order: int) -> tuple[str, ...]:
    space = model_space(n_lists, max_order)
    terms = space.terms
    labels = [_label(t, n_lists) for t in terms]
    supersets = np.zeros(len(terms), dtype=np.int64)
    for k, t in enumerate(terms):
        for i, u in enumerate(terms):
            if u != t and u & t == t:
                supersets[k] |= np.int64(1) << np.int64(i)
    member = space.membership().astype(bool)
    maximal = member & ((space.term_sets[:, None] & supersets[None, :]) == 0)
    singles = [_label(1 << j, n_lists) for j in range(n_lists)]
    independence = "[" + ",".join(singles) + "]"
    return tuple(_name_of(row, terms, labels, singles, n_lists) or independence for row in maximal)


def _name_of(row: np.ndarray, terms: tuple[int, ...], labels: list[str], singles: list[str], t: int) -> str:
    picked = np.flatnonzero(row)
    if picked.size == 0:
        return ""
    covered = 0
    for k in picked:
        covered |= terms[k]
    parts = [(bits_of(terms[k]), labels[k]) for k in picked]
    parts += [([j], singles[j]) for j in range(t) if not covered >> j & 1]
    return "[" + ",".join(label for _, label in sorted(parts)) + "]"


def _label(term: int, n_lists: int) -> str:
    """A term as :meth:`HierarchicalModel.name` writes it without list names."""
    if n_lists <= 9:
        return "".join(str(j + 1) for j in bits_of(term))
    return ":".join(f"L{j + 1}" for j in bits_of(term))


def _check_order(n_lists: int, max_order: int) -> None:
    if n_lists < 2:
        raise InputError(f"hierarchical models need at least 2 lists; got {n_lists}")
    if not 1 <= max_order <= n_lists:
        raise InputError(
            f"the maximum interaction order must be between 1 and the number of lists ({n_lists}); "
            f"got {max_order}"
        )
