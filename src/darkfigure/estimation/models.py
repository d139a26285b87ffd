"""Hierarchical log-linear models over lists, their notation and design matrices.

A model is the set of its interaction terms; each term is a bit mask of two or more lists (bit j =
list j, in column order). Main effects and the intercept are always in. Models are hierarchical: a
term's sub-terms of order two or more are in the model too. Written ``[12,13]`` (list positions from
1, for up to 9 lists) or ``[LA:NG,NG:GP]`` (list names); ``[]`` or ``[1,2,3]`` is independence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

import numpy as np

from darkfigure.errors import InputError


def bits_of(mask: int) -> list[int]:
    """Positions of the set bits of ``mask``, lowest first.

    >>> bits_of(0b1011)
    [0, 1, 3]
    """
    return [j for j in range(mask.bit_length()) if mask >> j & 1]


def _subterms(mask: int) -> Iterable[int]:
    members = bits_of(mask)
    for k in range(2, len(members) + 1):
        for combo in combinations(members, k):
            yield sum(1 << j for j in combo)


@dataclass(frozen=True)
class HierarchicalModel:
    """A hierarchical log-linear model on ``n_lists`` lists.

    >>> m = HierarchicalModel.parse("[12,13]", ["A", "B", "C"])
    >>> m.name(), m.name(["A", "B", "C"]), m.n_parameters
    ('[12,13]', '[A:B,A:C]', 6)
    >>> HierarchicalModel.parse("[123]", 3).terms == frozenset({3, 5, 6, 7})
    True
    """

    n_lists: int
    terms: frozenset[int]

    def __post_init__(self) -> None:
        outside = [t for t in self.terms if not 0 <= t < 1 << self.n_lists]
        if outside:
            raise InputError(f"term mask {outside[0]} does not fit {self.n_lists} lists")
        closed = frozenset(s for t in self.terms for s in _subterms(t))
        if closed != self.terms:
            object.__setattr__(self, "terms", closed)

    @classmethod
    def independence(cls, n_lists: int) -> HierarchicalModel:
        return cls(n_lists, frozenset())

    @classmethod
    def from_terms(cls, n_lists: int, terms: Iterable[Iterable[int]]) -> HierarchicalModel:
        """Build from terms given as sequences of 0-based list positions."""
        masks = []
        for term in terms:
            positions = sorted(set(term))
            if any(not 0 <= j < n_lists for j in positions):
                raise InputError(f"term {list(term)} names a list outside 0..{n_lists - 1}")
            if len(positions) >= 2:
                masks.append(sum(1 << j for j in positions))
        return cls(n_lists, frozenset(masks))

    @classmethod
    def saturated_pairs(cls, n_lists: int) -> HierarchicalModel:
        return cls.from_terms(n_lists, combinations(range(n_lists), 2))

    @classmethod
    def parse(cls, text: str, lists: Sequence[str] | int) -> HierarchicalModel:
        """Read ``[12,13]``, ``[LA:NG,NG:GP]`` or ``LA:NG + NG:GP`` for the given lists (names, or
        their number: then terms are positions like ``[12]``, ``[1:12]`` or ``[L1:L12]``).

        >>> HierarchicalModel.parse("LA:NG + NG:GP", ["LA", "NG", "GP"]).name()
        '[12,23]'
        """
        if not isinstance(text, str):
            raise InputError(f"a model is written like [12,13] or [A:B,A:C]; got {text!r}")
        numbered = isinstance(lists, int)
        names = [str(j + 1) for j in range(lists)] if isinstance(lists, int) else [str(x) for x in lists]
        body = text.strip()
        if body.startswith("[") and body.endswith("]"):
            body = body[1:-1]
        parts = [p.strip() for p in re.split(r"[,+]", body) if p.strip()]
        terms = [_parse_term(p, names, numbered, text) for p in parts]
        return cls.from_terms(len(names), terms)

    @cached_property
    def generators(self) -> tuple[int, ...]:
        """The maximal terms, which name the model (main effects of lists in no term included)."""
        maximal = [t for t in self.terms if not any(t != u and t & u == t for u in self.terms)]
        covered = 0
        for t in maximal:
            covered |= t
        singles = [1 << j for j in range(self.n_lists) if not covered >> j & 1]
        return tuple(sorted(maximal + (singles if maximal else []), key=bits_of))

    @cached_property
    def columns(self) -> tuple[int, ...]:
        """Column masks of the design: intercept (0), main effects, then terms by order."""
        mains = tuple(1 << j for j in range(self.n_lists))
        return (0, *mains, *sorted(self.terms, key=_term_order))

    @property
    def n_parameters(self) -> int:
        return 1 + self.n_lists + len(self.terms)

    @property
    def max_order(self) -> int:
        return max((bin(t).count("1") for t in self.terms), default=1)

    def name(self, lists: Sequence[str] | None = None) -> str:
        """``[12,13]`` with positions (up to 9 lists) or ``[A:B,A:C]`` with names."""
        if not self.terms:
            return "[" + ",".join(self._term_name(1 << j, lists) for j in range(self.n_lists)) + "]"
        return "[" + ",".join(self._term_name(t, lists) for t in self.generators) + "]"

    def term_names(self, lists: Sequence[str]) -> list[str]:
        """Names of the design columns, like R's ``(Intercept)``, ``LA``, ``LA:NG``."""
        return ["(Intercept)" if c == 0 else ":".join(lists[j] for j in bits_of(c)) for c in self.columns]

    def _term_name(self, term: int, lists: Sequence[str] | None) -> str:
        if lists is None and self.n_lists <= 9:
            return "".join(str(j + 1) for j in bits_of(term))
        names = lists if lists is not None else [f"L{j + 1}" for j in range(self.n_lists)]
        return ":".join(names[j] for j in bits_of(term))

    def with_term(self, term: int) -> HierarchicalModel:
        return HierarchicalModel(self.n_lists, self.terms | {term})

    def design(self, cells: np.ndarray | None = None) -> np.ndarray:
        """0/1 design matrix (cells x parameters); by default over all observable cells."""
        if cells is None:
            cells = np.arange(1, 1 << self.n_lists, dtype=np.int64)
        cols = np.asarray(self.columns, dtype=np.int64)
        return ((cells[:, None] & cols[None, :]) == cols[None, :]).astype(np.float64)

    def __str__(self) -> str:
        return self.name()


def _term_order(term: int) -> tuple[int, list[int]]:
    return (bin(term).count("1"), bits_of(term))


def _parse_term(part: str, names: list[str], numbered: bool, text: str) -> list[int]:
    one_name = part in names and not (numbered and len(part) > 1)
    if ":" in part or one_name or (numbered and re.fullmatch(r"L\d+", part)):
        positions = [_list_position(p.strip(), names, numbered, text) for p in part.split(":")]
    elif part.isdigit():
        if len(names) > 9:
            raise InputError(
                f"model {text!r}: with more than 9 lists write terms with ':' between lists, like "
                f"{names[0]}:{names[1]}, not {part!r}"
            )
        positions = [int(ch) - 1 for ch in part]
        if any(not 0 <= j < len(names) for j in positions):
            raise InputError(f"model {text!r}: term {part!r} names a list position outside 1..{len(names)}")
    elif not numbered and re.fullmatch(r"\w+", part):
        raise InputError(f"model {text!r}: no list named {part!r}; lists are {', '.join(names)}")
    else:
        raise InputError(
            f"model {text!r}: cannot read term {part!r}: it is neither list names nor list positions; write "
            f"terms like [12,13] or [{':'.join(names[:2])}] with the lists {', '.join(names)}"
        )
    if len(set(positions)) != len(positions):
        raise InputError(f"model {text!r}: term {part!r} names the same list twice")
    return positions


def _list_position(piece: str, names: list[str], numbered: bool, text: str) -> int:
    if piece in names:
        return names.index(piece)
    alias = piece[1:] if numbered and piece[:1] == "L" else piece
    if numbered and alias.isdigit():
        if not 1 <= int(alias) <= len(names):
            raise InputError(f"model {text!r}: list position {alias} is outside 1..{len(names)}")
        return int(alias) - 1
    raise InputError(f"model {text!r}: no list named {piece!r}; lists are {', '.join(names)}")
