"""CaptureHistories: the table every estimator takes.

A capture history (pattern) says which lists an entity is on. The table holds, for ``t`` lists, the
count of entities seen with each of the ``2**t - 1`` observable patterns. Cells are indexed by a bit
mask: list ``j`` (in column order) is bit ``j``, so cell ``0b101`` is "on lists 1 and 3, not 2". The
all-zero cell, the dark figure, is never observed.

Errors in a file name the file, the row as a spreadsheet shows it (the header is row 1) and the
column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from darkfigure.errors import InputError

MAX_COUNT = 2**53  # counts stay exact as floats in the fits
MAX_LISTS = 20  # 2**20 cells: the dense table stays under 10 MB


@dataclass(frozen=True, eq=False)
class CaptureHistories:
    """Counts of entities by capture pattern over named lists.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
    >>> h.n_observed, h.list_sizes()
    (56, {'A': 36, 'B': 26})
    """

    lists: tuple[str, ...]
    _table: np.ndarray = field(repr=False)  # int64, length 2**t, _table[0] == 0

    def __post_init__(self) -> None:
        if self._table.shape != (1 << len(self.lists),):
            raise InputError(f"a table over {len(self.lists)} lists needs {1 << len(self.lists)} cells")
        self._table.setflags(write=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_counts(
        cls,
        patterns: Sequence[Sequence[int]] | np.ndarray,
        counts: Sequence[float] | np.ndarray,
        lists: Sequence[str] | None = None,
        *,
        source: str | None = None,
    ) -> CaptureHistories:
        """Build from 0/1 patterns (one row each) and their counts; repeated patterns add up.

        >>> CaptureHistories.from_counts([[1, 0], [1, 0], [1, 1]], [2, 3, 1]).count([1, 0])
        5
        """
        pat = np.asarray(patterns)
        if pat.ndim != 2:
            raise InputError("patterns must be a table of 0/1 values, one row per pattern", source=source)
        return cls._build(pat, np.asarray(counts, dtype=float).reshape(-1), lists, source, "count", None)

    @classmethod
    def _build(
        cls,
        pat: np.ndarray,
        cnt: np.ndarray,
        lists: Sequence[str] | None,
        source: str | None,
        count_column: str,
        rows: np.ndarray | None,
    ) -> CaptureHistories:
        rows = np.arange(pat.shape[0]) + 2 if rows is None else rows
        names = _list_names(lists, pat.shape[1], source)
        if cnt.shape[0] != pat.shape[0]:
            raise InputError(
                f"got {pat.shape[0]} patterns but {cnt.shape[0]} counts; give one count per pattern",
                source=source,
            )
        _check_patterns(pat, names, source, rows)
        whole = _check_counts(cnt, source, count_column, rows)
        masks = _masks(pat.astype(np.int64))
        _check_no_zero_pattern(masks, whole, source, count_column, rows)
        table = np.bincount(masks, weights=whole, minlength=1 << len(names)).astype(np.int64)
        table[0] = 0
        hist = cls(names, table)
        hist._check_lists_have_cases(source)
        return hist

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, count_column: str = "count", *, source: str | None = None
    ) -> CaptureHistories:
        """Build from the aggregated format: one 0/1 column per list and a count column.

        Patterns left out have count 0; rows with count 0 (the all-zero pattern included) are allowed.

        >>> df = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [30, 20, 6]})
        >>> CaptureHistories.from_frame(df).n_observed
        56
        """
        return cls._from_aggregated(frame, count_column, source, np.arange(len(frame)) + 2)

    @classmethod
    def _from_aggregated(
        cls, frame: pd.DataFrame, count_column: str, source: str | None, rows: np.ndarray
    ) -> CaptureHistories:
        if count_column not in frame.columns:
            raise InputError(
                f"no count column {count_column!r}; the aggregated format needs one 0/1 column per list "
                f"and a column {count_column!r} (columns found: {', '.join(map(str, frame.columns))})",
                source=source,
            )
        list_cols = [str(c) for c in frame.columns if c != count_column]
        _list_names(list_cols, len(list_cols), source)
        pat = _frame_to_01(frame[list_cols], source, rows)
        cnt = _numeric_column(frame[count_column], count_column, source, rows)
        return cls._build(pat, cnt, list_cols, source, count_column, rows)

    @classmethod
    def from_entities(
        cls, frame: pd.DataFrame, lists: Sequence[str] | None = None, *, source: str | None = None
    ) -> CaptureHistories:
        """Build from one row per entity with a 0/1 column per list (other columns are ignored
        when ``lists`` names the list columns). Entities on none of the lists cannot be seen and
        are left out.

        >>> df = pd.DataFrame({"id": [1, 2, 3], "A": [1, 0, 1], "B": [0, 1, 1]})
        >>> CaptureHistories.from_entities(df, lists=["A", "B"]).list_sizes()
        {'A': 2, 'B': 2}
        """
        return cls._from_entities(frame, lists, source, np.arange(len(frame)) + 2)

    @classmethod
    def _from_entities(
        cls, frame: pd.DataFrame, lists: Sequence[str] | None, source: str | None, rows: np.ndarray
    ) -> CaptureHistories:
        cols = [str(c) for c in (lists if lists is not None else frame.columns)]
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(
                f"list column(s) {', '.join(missing)} not found (columns found: "
                f"{', '.join(map(str, frame.columns))})",
                source=source,
            )
        _list_names(cols, len(cols), source)
        pat = _frame_to_01(frame[cols], source, rows)
        seen = pat.sum(axis=1) > 0
        return cls._build(pat[seen], np.ones(int(seen.sum())), cols, source, "count", rows[seen])

    @classmethod
    def from_long(
        cls,
        frame: pd.DataFrame,
        entity: str = "entity_id",
        list_column: str = "list",
        *,
        source: str | None = None,
    ) -> CaptureHistories:
        """Build from a long format: one row per (entity, list) sighting; repeats are harmless.
        Lists are ordered by name.

        >>> df = pd.DataFrame({"entity_id": [1, 1, 2, 3], "list": ["A", "B", "B", "A"]})
        >>> int(CaptureHistories.from_long(df).overlap().loc["A", "B"])
        1
        """
        return cls._from_long(frame, entity, list_column, source, np.arange(len(frame)) + 2)

    @classmethod
    def _from_long(
        cls, frame: pd.DataFrame, entity: str, list_column: str, source: str | None, rows: np.ndarray
    ) -> CaptureHistories:
        for col in (entity, list_column):
            if col not in frame.columns:
                raise InputError(
                    f"no column {col!r}; the long format needs an entity column {entity!r} and a list "
                    f"column {list_column!r} (columns found: {', '.join(map(str, frame.columns))})",
                    source=source,
                )
            blank = frame[col].isna().to_numpy()
            if blank.any():
                row = int(rows[np.argmax(blank)])
                raise InputError("value is missing", source=source, row=row, column=col)
        list_names = frame[list_column].astype(str).str.strip()
        names = sorted(list_names.unique())
        wide = pd.crosstab(frame[entity].to_numpy(), list_names.to_numpy()).reindex(columns=names)
        pat = (wide.to_numpy() > 0).astype(np.int64)
        return cls._build(pat, np.ones(len(pat)), names, source, "count", None)

    @classmethod
    def read_csv(cls, path: str | Path, count_column: str = "count") -> CaptureHistories:
        """Read a table from CSV: aggregated (with a count column), long (``entity_id``, ``list``)
        or one row per entity (0/1 columns, and optionally an ``entity_id`` column). Blank rows are
        skipped; rows are numbered in messages as a spreadsheet shows them.

        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "t.csv")
        ...     _ = open(p, "w").write("A,B,count\\n1,0,30\\n0,1,20\\n1,1,6\\n")
        ...     CaptureHistories.read_csv(p).n_observed
        56
        """
        source = str(path)
        frame = read_frame(path)
        rows = frame.index.to_numpy() + 2
        if count_column in frame.columns:
            return cls._from_aggregated(frame, count_column, source, rows)
        if {"entity_id", "list"} <= set(frame.columns):
            return cls._from_long(frame, "entity_id", "list", source, rows)
        lists = [c for c in frame.columns if c != "entity_id"]
        return cls._from_entities(frame, lists, source, rows)

    # ---------------------------------------------------------------- basic views
    @property
    def n_lists(self) -> int:
        return len(self.lists)

    @property
    def n_observed(self) -> int:
        """Number of entities seen on at least one list."""
        return int(self._table.sum())

    @property
    def cells(self) -> np.ndarray:
        """Bit masks of the observable cells, 1 .. 2**t - 1."""
        return np.arange(1, 1 << self.n_lists, dtype=np.int64)

    @property
    def counts(self) -> np.ndarray:
        """Counts of the observable cells, in the order of :attr:`cells` (read-only)."""
        return self._table[1:]

    @property
    def patterns(self) -> np.ndarray:
        """0/1 matrix (cells x lists) of the observable cells."""
        return pattern_matrix(self.n_lists)

    def count(self, pattern: Iterable[int]) -> int:
        """Count of one pattern given as 0/1 per list, in list order.

        >>> CaptureHistories.from_counts([[1, 0], [1, 1]], [4, 2]).count([1, 1])
        2
        """
        values = np.asarray(list(pattern))
        if values.shape != (self.n_lists,) or not np.isin(values, (0, 1)).all():
            raise InputError(
                f"a pattern is one 0/1 value per list ({self.n_lists} values for {', '.join(self.lists)}); "
                f"got {values.tolist()}"
            )
        return int(self._table[_masks(values[None, :])[0]])

    def to_frame(self, include_zero: bool = True) -> pd.DataFrame:
        """The aggregated table: one 0/1 column per list and ``count``.

        >>> CaptureHistories.from_counts([[1, 0], [1, 1]], [4, 2]).to_frame(include_zero=False)
           A  B  count
        0  1  0      4
        1  1  1      2
        """
        frame = pd.DataFrame(self.patterns, columns=list(self.lists))
        frame["count"] = self.counts
        if not include_zero:
            frame = frame[frame["count"] > 0].reset_index(drop=True)
        return frame

    def list_sizes(self) -> dict[str, int]:
        """Number of entities on each list (the one-list margins)."""
        sizes = self.patterns.T @ self.counts
        return {name: int(s) for name, s in zip(self.lists, sizes, strict=True)}

    def margin(self, lists: Sequence[str | int]) -> int:
        """Number of entities on all the given lists (whatever else they are on).

        >>> CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [4, 3, 2]).margin(["A", "B"])
        2
        """
        bits = 0
        for x in lists:
            bits |= 1 << self._index(x)
        return int(self.counts[(self.cells & bits) == bits].sum())

    def overlap(self) -> pd.DataFrame:
        """Pairwise overlap table: entities on both lists; the diagonal holds list sizes."""
        pat = self.patterns
        both = (pat * self.counts[:, None]).T @ pat
        return pd.DataFrame(both.astype(np.int64), index=list(self.lists), columns=list(self.lists))

    def __repr__(self) -> str:
        return f"CaptureHistories(lists={list(self.lists)}, n_observed={self.n_observed})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CaptureHistories):
            return NotImplemented
        return self.lists == other.lists and np.array_equal(self._table, other._table)

    def __hash__(self) -> int:
        return hash((self.lists, self._table.tobytes()))

    # ---------------------------------------------------------------- operations
    def with_counts(self, counts: np.ndarray) -> CaptureHistories:
        """The same lists with other counts for the observable cells (bootstrap, jackknife)."""
        counts = np.asarray(counts)
        if counts.shape != (len(self._table) - 1,):
            raise InputError(f"need {len(self._table) - 1} cell counts; got shape {counts.shape}")
        table = np.zeros(1 << self.n_lists, dtype=np.int64)
        table[1:] = counts
        return CaptureHistories(self.lists, table)

    def omit_lists(self, lists: Sequence[str | int]) -> CaptureHistories:
        """Forget the given lists; entities seen only on them drop out of the table."""
        drop = {self._index(x) for x in lists}
        keep = [j for j in range(self.n_lists) if j not in drop]
        return self._project([[j] for j in keep], [self.lists[j] for j in keep])

    def merge_lists(self, lists: Sequence[str | int], name: str | None = None) -> CaptureHistories:
        """Treat several lists as one: an entity is on the merged list if it is on any of them.
        The merged list takes the place of the first of them.

        >>> h = CaptureHistories.from_counts([[1, 0, 0], [0, 1, 1], [1, 0, 1]], [5, 4, 3])
        >>> h.merge_lists(["B", "C"]).list_sizes()
        {'A': 8, 'B+C': 7}
        """
        idx = sorted({self._index(x) for x in lists})
        if len(idx) < 2:
            raise InputError(f"merging needs at least two different lists; got {list(lists)}")
        groups: list[list[int]] = []
        names: list[str] = []
        for j in range(self.n_lists):
            if j == idx[0]:
                groups.append(idx)
                names.append(name or "+".join(self.lists[i] for i in idx))
            elif j not in idx:
                groups.append([j])
                names.append(self.lists[j])
        return self._project(groups, names)

    def drop_uninformative(self) -> CaptureHistories:
        """Remove lists that carry no information for estimation, as SparseMSE's
        ``removenoninformativelists``: a list with no cases, a list holding every case, and a list
        with exactly the same cases as an earlier one. Entities seen only on a dropped list holding
        every case leave the table. May leave fewer than 2 lists: check :attr:`n_lists`.

        >>> h = CaptureHistories.from_counts([[1, 1, 0], [0, 0, 1], [1, 1, 1]], [5, 4, 3])
        >>> h.drop_uninformative().lists  # B has exactly A's cases
        ('A', 'C')
        """
        sizes = self.patterns.T @ self.counts
        total = self.n_observed
        pat = self.patterns[self.counts > 0]
        seen_cols: list[bytes] = []
        keep: list[int] = []
        for j in range(self.n_lists):
            col = pat[:, j].tobytes()
            if 0 < sizes[j] < total and col not in seen_cols:
                keep.append(j)
            seen_cols.append(col)
        if len(keep) == self.n_lists:
            return self
        return self._project([[j] for j in keep], [self.lists[j] for j in keep], check=False)

    def _project(self, groups: list[list[int]], names: list[str], check: bool = True) -> CaptureHistories:
        if check:
            _list_names(names, len(names), None)
        pat = self.patterns
        new = np.stack([pat[:, g].max(axis=1) for g in groups], axis=1) if groups else pat[:, :0]
        seen = new.sum(axis=1) > 0
        table = np.bincount(_masks(new[seen]), weights=self.counts[seen], minlength=1 << len(names))
        table = table.astype(np.int64)
        table[0] = 0
        return CaptureHistories(tuple(names), table)

    def _index(self, name_or_position: str | int) -> int:
        if isinstance(name_or_position, (int, np.integer)):
            if not 0 <= name_or_position < self.n_lists:
                raise InputError(f"list position {name_or_position} is out of range 0..{self.n_lists - 1}")
            return int(name_or_position)
        if name_or_position not in self.lists:
            raise InputError(f"no list named {name_or_position!r}; lists are {', '.join(self.lists)}")
        return self.lists.index(name_or_position)

    def _check_lists_have_cases(self, source: str | None) -> None:
        for name, size in self.list_sizes().items():
            if size == 0:
                raise InputError(
                    "this list has no cases; remove it or check the 0/1 values", source=source, column=name
                )


# -------------------------------------------------------------------- helpers
def read_frame(path: str | Path, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV table with the checks of :meth:`CaptureHistories.read_csv`; the index keeps each
    row's position, so ``index + 2`` is its row number as a spreadsheet shows it (header = row 1).
    ``text_columns`` (stratum columns, say) are read as written, not as numbers."""
    source = str(path)
    _check_header(Path(path), source)
    try:
        frame = pd.read_csv(path, skip_blank_lines=False, dtype={c: "string" for c in text_columns} or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV table ({_first_line(exc)})", source=source) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all")
    if frame.empty:
        raise InputError("the file has a header but no data rows", source=source)
    return frame


def pattern_matrix(n_lists: int) -> np.ndarray:
    """0/1 matrix of the observable cells 1 .. 2**t - 1 (bit j = list j).

    >>> pattern_matrix(2).tolist()
    [[1, 0], [0, 1], [1, 1]]
    """
    masks = np.arange(1, 1 << n_lists, dtype=np.int64)
    return ((masks[:, None] >> np.arange(n_lists)) & 1).astype(np.int64)


def _masks(pat: np.ndarray) -> np.ndarray:
    return (pat.astype(np.int64) << np.arange(pat.shape[1], dtype=np.int64)).sum(axis=1)


def _list_names(lists: Sequence[str] | None, t: int, source: str | None) -> tuple[str, ...]:
    names = tuple(str(x) for x in lists) if lists is not None else tuple(_default_names(t))
    if len(names) != t:
        raise InputError(f"got {t} pattern columns but {len(names)} list names", source=source)
    if t < 2:
        raise InputError(
            f"multiple systems estimation needs at least 2 lists; got {t} ({', '.join(names) or 'none'})",
            source=source,
        )
    if t > MAX_LISTS:
        raise InputError(
            f"at most {MAX_LISTS} lists are supported; got {t}: merge or omit lists", source=source
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"list names must differ; {', '.join(dupes)} appears twice", source=source)
    return names


def _default_names(t: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [letters[j] if t <= 26 else f"L{j + 1}" for j in range(t)]


def _check_header(path: Path, source: str) -> None:
    """Fail early, with the reason, on a missing or empty file and on repeated column names
    (which pandas would silently rename ``A``, ``A.1``)."""
    if not path.exists():
        raise InputError("file not found; check the path", source=source)
    if path.is_dir():
        raise InputError("this is a folder, not a CSV file", source=source)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file; save the table as CSV (UTF-8)", source=source) from None
    if not header or not any(h.strip() for h in header):
        raise InputError(
            "the file is empty; expected a header row naming the lists (like A,B,C,count) and one row "
            "per pattern",
            source=source,
        )
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        raise InputError(
            "the columns are separated by ';' or tabs; save the table as comma-separated CSV", source=source
        )
    names = [h.strip() for h in header]
    for j, name in enumerate(names):
        if not name:
            raise InputError(f"column {j + 1} has no name in the header row", source=source, row=1)
        if name in names[:j]:
            raise InputError(
                f"column name {name!r} appears twice in the header (columns {names.index(name) + 1} and "
                f"{j + 1}); list names must differ",
                source=source,
                row=1,
                column=name,
            )


def _shown(value: object) -> str:
    """A value as the user typed it: ``2``, ``0.5`` or ``'yes'`` (no numpy reprs)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _check_patterns(pat: np.ndarray, names: tuple[str, ...], source: str | None, rows: np.ndarray) -> None:
    bad = ~np.isin(pat, (0, 1))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"capture values must be 0 or 1; got {_shown(pat[r, c])}",
            source=source,
            row=int(rows[r]),
            column=names[c],
        )


def _check_counts(cnt: np.ndarray, source: str | None, column: str, rows: np.ndarray) -> np.ndarray:
    problems = [
        (~np.isfinite(cnt), lambda v: "count is missing or not a number"),
        (cnt < 0, lambda v: f"counts cannot be negative; got {_shown(v)}"),
        (cnt != np.round(cnt), lambda v: f"counts must be whole numbers; got {_shown(v)}"),
        (cnt > MAX_COUNT, lambda v: f"count {_shown(v)} is too large; counts up to {MAX_COUNT:,} are supported"),
    ]
    for bad, message in problems:
        if bad.any():
            r = int(np.argmax(bad))
            raise InputError(message(cnt[r]), source=source, row=int(rows[r]), column=column)
    return cnt.astype(np.int64)


def _check_no_zero_pattern(
    masks: np.ndarray, counts: np.ndarray, source: str | None, column: str, rows: np.ndarray
) -> None:
    bad = (masks == 0) & (counts > 0)
    if bad.any():
        r = int(np.argmax(bad))
        raise InputError(
            f"the all-zero pattern (on no list) has count {counts[r]}; those cases are the unknown dark "
            "figure and cannot be observed: remove the row or set its count to 0",
            source=source,
            row=int(rows[r]),
            column=column,
        )


def _frame_to_01(frame: pd.DataFrame, source: str | None, rows: np.ndarray) -> np.ndarray:
    out = np.empty(frame.shape, dtype=np.int64)
    for j, col in enumerate(frame.columns):
        values = _numeric_column(frame.iloc[:, j], str(col), source, rows)
        bad = (values != 0.0) & (values != 1.0)
        if bad.any():
            r = int(np.argmax(bad))
            raise InputError(
                f"capture values must be 0 or 1; got {_shown(frame.iloc[r, j])}",
                source=source,
                row=int(rows[r]),
                column=str(col),
            )
        out[:, j] = values
    return out


def _numeric_column(series: pd.Series, name: str, source: str | None, rows: np.ndarray) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values)
    if bad.any():
        r = int(np.argmax(bad))
        shown = series.iloc[r]
        what = "value is missing" if pd.isna(shown) else f"expected a number; got {_shown(shown)}"
        raise InputError(what, source=source, row=int(rows[r]), column=name)
    return values


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
