"""Small-cell suppression for published tables, checked against an attacker who solves the margins.

A table of counts (2-D as a DataFrame, or any number of dimensions as a Series with a MultiIndex) is
published with every margin: row and column totals and the grand total (in N dimensions, every
sum over any set of dimensions). :func:`suppress` hides

* primary cells: counts from 1 to ``k - 1`` (interior cells and margins alike), and
* complementary cells: further cells chosen so that no hidden cell can be worked out from what is
  published. The check is the attacker's own: :func:`feasible_intervals` finds, by linear
  programming, the smallest and largest value every hidden cell can take given the published cells,
  the margins and non-negativity. A hidden cell counts as protected when that interval is at least
  ``protection`` wide (default ``k``), not merely when it is not unique.

:func:`recover_by_differencing` is the attack itself: every hidden cell whose value the published
margins pin down exactly. Optional ``rounding`` publishes every shown count rounded to a base.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from darkfigure.errors import InputError

TOTAL = "Total"
_EPS = 1e-7  # LP tolerance on widths and bounds

Cell = tuple[Hashable, ...]


@dataclass(frozen=True, eq=False)
class SuppressedTable:
    """A table ready to publish: margins added, suppressed cells ``<NA>``, and why each is hidden.

    ``primary`` holds the cells below ``k``; ``complementary`` those hidden to protect them; each key
    is a tuple of labels (``TOTAL`` for a margin). ``reasons`` says for every hidden cell why.

    >>> t = suppress(pd.DataFrame({"x": [3, 10], "y": [12, 14]}, index=["a", "b"]), k=5)
    >>> sorted(t.primary), sorted(t.complementary)
    ([('a', 'x')], [('a', 'y'), ('b', 'x'), ('b', 'y')])
    """

    table: pd.DataFrame | pd.Series
    primary: frozenset[Cell]
    complementary: frozenset[Cell]
    reasons: dict[Cell, str] = field(default_factory=dict)
    k: int = 5
    protection: float = 5.0
    rounding: int | None = None
    total_label: str = TOTAL

    @property
    def suppressed(self) -> frozenset[Cell]:
        """Every hidden cell, primary and complementary."""
        return self.primary | self.complementary

    def intervals(self) -> dict[Cell, tuple[float, float]]:
        """What an attacker can work out for each hidden cell (see :func:`feasible_intervals`)."""
        return feasible_intervals(self)


def suppress(
    table: pd.DataFrame | pd.Series,
    k: int = 5,
    complementary: bool = True,
    rounding: int | None = None,
    *,
    protection: float | None = None,
    total_label: str = TOTAL,
) -> SuppressedTable:
    """Add the margins to a table of counts and hide the cells that could identify someone.

    ``table``: a DataFrame (rows x columns) or a Series (its MultiIndex levels are the dimensions) of
    whole counts, without margins. Cells (margins included) from 1 to ``k - 1`` are hidden; with
    ``complementary`` further cells are hidden until every hidden cell's feasible interval is at least
    ``protection`` (default ``k``) wide. ``rounding`` rounds every published count to that base.

    >>> t = suppress(pd.DataFrame({"marriage": [40, 31], "cybersex": [3, 9]}, index=["Jilin", "Hebei"]))
    >>> t.table
           marriage  cybersex  Total
    Jilin      <NA>      <NA>     43
    Hebei      <NA>      <NA>     40
    Total        71        12     83
    >>> t.intervals()[("Jilin", "cybersex")]
    (0.0, 12.0)
    """
    grid = _Grid.from_table(table, total_label)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be a whole number of at least 1; got {k!r}")
    if rounding is not None and (isinstance(rounding, bool) or not isinstance(rounding, int) or rounding < 1):
        raise InputError(f"rounding must be a whole number of at least 1 (a base such as 5) or None; got {rounding!r}")
    need = float(k if protection is None else protection)
    values = grid.values
    primary = {i for i in range(values.size) if 0 < values[i] < k}
    reasons = {i: f"primary: {int(values[i])} is below k = {k}" for i in primary}
    hidden = set(primary)
    if complementary and hidden:
        hidden = _complement(grid, hidden, need, reasons)
    return SuppressedTable(
        table=grid.publish(hidden, rounding), primary=frozenset(grid.cell(i) for i in primary),
        complementary=frozenset(grid.cell(i) for i in hidden - primary),
        reasons={grid.cell(i): r for i, r in reasons.items()}, k=int(k), protection=need, rounding=rounding,
        total_label=total_label,
    )


def feasible_intervals(
    published: SuppressedTable | pd.DataFrame | pd.Series,
    *,
    rounding: int | None = None,
    total_label: str = TOTAL,
) -> dict[Cell, tuple[float, float]]:
    """The attacker: the smallest and largest value of each hidden (``<NA>``) cell given the published
    cells, every margin and non-negativity, by linear programming (``scipy.optimize.linprog``).
    With ``rounding`` published counts are only known to within half the base.

    >>> published = pd.DataFrame({"x": [pd.NA, 10, 13], "y": [12, 14, 26], "Total": [15, 24, 39]},
    ...                          index=["a", "b", "Total"], dtype="Int64")
    >>> feasible_intervals(published)
    {('a', 'x'): (3.0, 3.0)}
    """
    grid, hidden, rounding = _read_published(published, rounding, total_label)
    return {grid.cell(i): ends for i, ends in grid.intervals(sorted(hidden), hidden, rounding).items()}


def recover_by_differencing(
    published: SuppressedTable | pd.DataFrame | pd.Series,
    *,
    rounding: int | None = None,
    total_label: str = TOTAL,
) -> dict[Cell, float]:
    """Hidden cells whose value the published margins and cells determine exactly (by any
    combination of differences), with that value: what a published table must never allow.

    >>> published = pd.DataFrame({"x": [pd.NA, 10, 13], "y": [12, 14, 26], "Total": [15, 24, 39]},
    ...                          index=["a", "b", "Total"], dtype="Int64")
    >>> recover_by_differencing(published)
    {('a', 'x'): 3.0}
    >>> recover_by_differencing(suppress(published.iloc[:2, :2].fillna(3)))
    {}
    """
    intervals = feasible_intervals(published, rounding=rounding, total_label=total_label)
    return {cell: lo for cell, (lo, hi) in intervals.items() if hi - lo < _EPS}


# ------------------------------------------------------------------------------------ the table grid
class _Grid:
    """A table with margins as a flat vector: axis ``a`` has ``n_a`` categories and a last position,
    its total. Each margin equals the sum of the cells it adds up (one equation per margin)."""

    def __init__(self, values: np.ndarray, labels: list[list[Hashable]], names: list[Any], kind: str) -> None:
        self.shape = values.shape  # with totals
        self.values = values.ravel().astype(float)
        self.labels, self.names, self.kind = labels, names, kind
        self.equations = self._equations()
        self.lines = [frozenset([m, *members]) for m, members in self.equations]
        self.lines_of: dict[int, list[frozenset[int]]] = {i: [] for i in range(self.values.size)}
        for line in self.lines:
            for i in line:
                self.lines_of[i].append(line)
        self.matrix = self._matrix()

    @classmethod
    def from_table(cls, table: pd.DataFrame | pd.Series, total_label: str) -> _Grid:
        counts, labels, names, kind = _as_array(table)
        for axis in labels:
            if total_label in axis:
                raise InputError(f"the table already has a {total_label!r} row or column; give it without margins "
                                 "(suppress adds them) or name the total differently with total_label")
        return cls(_with_totals(counts), [[*axis, total_label] for axis in labels], names, kind)

    def _equations(self) -> list[tuple[int, list[int]]]:
        index = np.arange(self.values.size).reshape(self.shape)
        equations = []
        for axis, size in enumerate(self.shape):
            moved = np.moveaxis(index, axis, -1).reshape(-1, size)
            equations += [(int(row[-1]), [int(i) for i in row[:-1]]) for row in moved]
        return equations

    def _matrix(self) -> np.ndarray:
        a = np.zeros((len(self.equations), self.values.size))
        for r, (margin, members) in enumerate(self.equations):
            a[r, margin], a[r, members] = 1.0, -1.0
        return a

    def cell(self, i: int) -> Cell:
        position = np.unravel_index(i, self.shape)
        return tuple(_plain(self.labels[a][p]) for a, p in enumerate(position))

    def intervals(self, cells: Iterable[int], hidden: set[int], rounding: int | None = None
                  ) -> dict[int, tuple[float, float]]:
        """Min and max of each of ``cells`` (hidden ones) over every table that agrees with what is shown.

        Exact counts: the unknowns are the hidden cells only, each equation's shown part moved to the
        right. Rounded counts: every cell is unknown, a shown one within half the base of its value."""
        if rounding is None:
            order = sorted(hidden)
            a = self.matrix[:, order]
            shown = np.ones(self.values.size, dtype=bool)
            shown[order] = False
            b = -self.matrix[:, shown] @ self.values[shown]
            used = np.any(a != 0, axis=1)
            a, b = a[used], b[used]
            bounds: list[tuple[float, float | None]] = [(0.0, None)] * len(order)
        else:
            order, a, b = list(range(self.values.size)), self.matrix, np.zeros(len(self.matrix))
            half = rounding / 2
            bounds = [(0.0, None) if i in hidden else (max(0.0, v - half), v + half) for i, v in enumerate(self.values)]
        column = {cell: k for k, cell in enumerate(order)}
        return {i: _solve_range(column[i], a, b, bounds) for i in cells}

    def publish(self, hidden: set[int], rounding: int | None) -> pd.DataFrame | pd.Series:
        shown = self.values.copy()
        if rounding is not None:
            shown = np.floor(shown / rounding + 0.5) * rounding
        data = pd.array([pd.NA if i in hidden else int(v) for i, v in enumerate(shown)], dtype="Int64")
        if self.kind == "frame":
            rows, columns = self.labels
            frame = pd.DataFrame(np.asarray(data).reshape(self.shape), index=rows, columns=columns).astype("Int64")
            frame.index.name, frame.columns.name = self.names
            return frame
        index = pd.MultiIndex.from_product(self.labels, names=self.names) if len(self.shape) > 1 else \
            pd.Index(self.labels[0], name=self.names[0])
        return pd.Series(data, index=index)


def _solve_range(k: int, a: np.ndarray, b: np.ndarray, bounds: list[tuple[float, float | None]]) -> tuple[float, float]:
    c = np.zeros(a.shape[1])
    c[k] = 1.0
    ends = []
    for sign in (1.0, -1.0):
        if len(a) == 0:  # no equation holds this cell: anything from 0 up
            ends.append(0.0 if sign > 0 else np.inf)
            continue
        res = linprog(sign * c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        ends.append(sign * res.fun if res.status == 0 else (np.inf if sign < 0 else 0.0))
    return _tidy(ends[0]), _tidy(ends[1])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _tidy(value: float) -> float:
    if not np.isfinite(value):
        return float(value)
    rounded = round(value)
    return float(rounded) if abs(value - rounded) < 1e-6 else float(value)


def _as_array(table: pd.DataFrame | pd.Series) -> tuple[np.ndarray, list[list[Hashable]], list[Any], str]:
    if isinstance(table, pd.DataFrame):
        counts = table.to_numpy()
        labels = [list(table.index), list(table.columns)]
        names, kind = [table.index.name, table.columns.name], "frame"
    elif isinstance(table, pd.Series):
        if table.index.has_duplicates:
            raise InputError("the table has a category twice; give each cell once (sum them first)")
        if isinstance(table.index, pd.MultiIndex):
            labels = [list(dict.fromkeys(table.index.get_level_values(a))) for a in range(table.index.nlevels)]
            full = pd.MultiIndex.from_product(labels, names=table.index.names)
            counts = table.reindex(full, fill_value=0).to_numpy().reshape([len(x) for x in labels])
        else:
            labels, counts = [list(table.index)], table.to_numpy()
        names, kind = list(table.index.names), "series"
    else:
        raise InputError(f"give the table as a pandas DataFrame or Series of counts; got {type(table).__name__}")
    return _whole_counts(counts), labels, names, kind


def _whole_counts(counts: np.ndarray) -> np.ndarray:
    try:
        values = np.asarray(counts, dtype=float)
    except (TypeError, ValueError):
        raise InputError("every cell must be a count (a whole number); some are not numbers") from None
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values != np.round(values)):
        raise InputError("every cell must be a whole number of at least 0, with no missing values")
    return values


def _with_totals(counts: np.ndarray) -> np.ndarray:
    out = counts
    for axis in range(counts.ndim):
        out = np.concatenate([out, out.sum(axis=axis, keepdims=True)], axis=axis)
    return out


# ------------------------------------------------------------------------- complementary suppression
def _complement(grid: _Grid, hidden: set[int], need: float, reasons: dict[int, str]) -> set[int]:
    """Add cells until no line has a single hidden cell and every hidden cell's interval is wide enough.
    Hiding more only widens intervals, so a cell once protected is not checked again."""
    hidden, protected = set(hidden), set()
    while True:
        lonely = _lonely_cell(grid, hidden)
        if lonely is not None:
            cell, line = lonely
            partner = _best_partner(grid, hidden, line, need)
            if partner is not None:
                _add(grid, hidden, partner, cell, reasons, "it would be recovered by subtracting")
                continue
        weak = _weakest(grid, hidden, protected, need)
        if weak is None:
            return hidden
        partner = _widening_partner(grid, hidden, weak, need)
        if partner is None:
            reasons[weak] += f"; could not be protected to a width of {need:g} (every cell around it is hidden)"
            return hidden
        _add(grid, hidden, partner, weak, reasons, "its interval was too narrow")


def _add(grid: _Grid, hidden: set[int], partner: int, cell: int, reasons: dict[int, str], why: str) -> None:
    hidden.add(partner)
    reasons[partner] = f"complementary: protects {grid.cell(cell)} ({why})"


def _lonely_cell(grid: _Grid, hidden: set[int]) -> tuple[int, frozenset[int]] | None:
    """A hidden cell alone among the hidden in one of its lines (so recoverable by one subtraction)."""
    for line in grid.lines:
        inside = line & hidden
        if len(inside) == 1 and len(line) > 1:
            return next(iter(inside)), line
    return None


def _best_partner(grid: _Grid, hidden: set[int], line: Iterable[int], need: float) -> int | None:
    """The cell to hide beside a lonely one: an interior cell rather than a margin, large enough to
    give the protection, one whose other lines already hold hidden cells (closing a rectangle), then
    the smallest (least information lost)."""
    candidates = [i for i in line if i not in hidden]
    if not candidates:
        return None
    return min(candidates, key=lambda i: _partner_rank(grid, hidden, i, need))


def _partner_rank(grid: _Grid, hidden: set[int], i: int, need: float) -> tuple[Any, ...]:
    is_margin = any(i == margin for margin, _ in grid.equations)
    opens_line = sum(1 for line in grid.lines_of[i] if not line & hidden)
    value = grid.values[i]
    return (is_margin, value == 0, value < need, opens_line, value, i)


def _weakest(grid: _Grid, hidden: set[int], protected: set[int], need: float) -> int | None:
    """The hidden cell with the narrowest interval below ``need`` (None when all are wide enough)."""
    narrow = []
    for i, (lo, hi) in grid.intervals(sorted(hidden - protected), hidden).items():
        if hi - lo < need - _EPS:
            narrow.append((hi - lo, i))
        else:
            protected.add(i)
    return min(narrow)[1] if narrow else None


def _widening_partner(grid: _Grid, hidden: set[int], cell: int, need: float, tries: int = 8) -> int | None:
    """Of the visible cells in the weak cell's lines, the one that widens its interval most."""
    neighbours = {i for line in grid.lines_of[cell] for i in line} - hidden
    ranked = sorted(neighbours, key=lambda i: _partner_rank(grid, hidden, i, need))[:tries]
    best, best_width = None, -1.0
    for i in ranked:
        (lo, hi), = grid.intervals([cell], hidden | {i}).values()
        if hi - lo > best_width + _EPS:
            best, best_width = i, hi - lo
        if best_width >= need - _EPS:
            break
    if best is None and neighbours:
        best = ranked[0]
    return best


# ------------------------------------------------------------------------------ reading a published table
def _read_published(
    published: SuppressedTable | pd.DataFrame | pd.Series, rounding: int | None, total_label: str
) -> tuple[_Grid, set[int], int | None]:
    if isinstance(published, SuppressedTable):
        rounding = published.rounding if rounding is None else rounding
        total_label, published = published.total_label, published.table
    if isinstance(published, pd.DataFrame):
        labels = [list(published.index), list(published.columns)]
        names, kind = [published.index.name, published.columns.name], "frame"
        raw = published.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    elif isinstance(published, pd.Series) and isinstance(published.index, pd.MultiIndex):
        labels = [list(dict.fromkeys(published.index.get_level_values(a))) for a in range(published.index.nlevels)]
        names, kind = list(published.index.names), "series"
        full = pd.MultiIndex.from_product(labels)
        raw = published.astype("Float64").reindex(full).to_numpy(dtype=float, na_value=np.nan)
        raw = raw.reshape([len(x) for x in labels])
    elif isinstance(published, pd.Series):
        labels, names, kind = [list(published.index)], [published.index.name], "series"
        raw = published.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    else:
        raise InputError(f"give the published table as a DataFrame or Series; got {type(published).__name__}")
    _check_margins_last(labels, total_label)
    grid = _Grid(np.nan_to_num(raw, nan=0.0), labels, names, kind)
    return grid, {int(i) for i in np.flatnonzero(np.isnan(raw.ravel()))}, rounding


def _check_margins_last(labels: list[list[Hashable]], total_label: str) -> None:
    for axis in labels:
        if not axis or axis[-1] != total_label or axis.count(total_label) != 1:
            raise InputError(f"a published table needs its {total_label!r} margin as the last category of every "
                             f"dimension; got {axis!r}")

