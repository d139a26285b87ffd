"""Small-cell suppression: an attacker who solves the published margins cannot pin down any hidden cell.

The attacker in this file is written independently of the module: its unknowns are the interior cells
only, and every published margin (over any set of dimensions) is one equation on the interior cells it
adds up. It takes the min and max of each hidden cell (or hidden margin) by linear programming.
"""

from itertools import combinations, product

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from darkfigure.errors import InputError
from darkfigure.publish.suppression import (
    TOTAL,
    feasible_intervals,
    recover_by_differencing,
    suppress,
)


def published_array(published):
    """The published table as an array with totals last on each axis (NaN where hidden)."""
    if isinstance(published, pd.DataFrame):
        return published.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    levels = [list(dict.fromkeys(published.index.get_level_values(a))) for a in range(published.index.nlevels)]
    full = published.astype("Float64").reindex(pd.MultiIndex.from_product(levels))
    return full.to_numpy(dtype=float, na_value=np.nan).reshape([len(x) for x in levels])


def covers(position, inner_shape, inner):
    """Which interior cells the entry at ``position`` adds up (a total position covers every category)."""
    return [all(p in (n, q) for p, n, q in zip(position, inner_shape, cell, strict=True)) for cell in inner]


def attacker_intervals(published):
    """Min and max of every hidden entry given every published entry, interior unknowns >= 0."""
    table = published_array(published)
    inner_shape = tuple(n - 1 for n in table.shape)
    inner = list(product(*(range(n) for n in inner_shape)))
    rows, rhs = [], []
    for position in product(*(range(n) for n in table.shape)):
        if np.isnan(table[position]):
            continue
        rows.append(covers(position, inner_shape, inner))
        rhs.append(table[position])
    a_eq, b_eq = np.array(rows, dtype=float), np.array(rhs)
    out = {}
    for position in product(*(range(n) for n in table.shape)):
        if not np.isnan(table[position]):
            continue
        c = np.array(covers(position, inner_shape, inner), dtype=float)
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert lo.status == 0 and hi.status in (0, 3)
        out[position] = (lo.fun, -hi.fun if hi.status == 0 else np.inf)
    return out


def naive_differencing(published):
    """The simplest attack: repeatedly fill a line (row, column, ...) with one hidden entry."""
    table = published_array(published).copy()
    recovered = True
    while recovered:
        recovered = False
        for axis in range(table.ndim):
            moved = np.moveaxis(table, axis, -1).reshape(-1, table.shape[axis])
            for line in moved:
                hidden = np.flatnonzero(np.isnan(line))
                if len(hidden) == 1:
                    i = hidden[0]
                    line[i] = line[-1] - np.nansum(line[:-1]) if i < len(line) - 1 else np.nansum(line[:-1])
                    recovered = True
            table = np.moveaxis(moved.reshape(np.moveaxis(table, axis, -1).shape), -1, axis)
    return int(np.isnan(table).sum())


PROVINCES = pd.DataFrame(
    {"ForcedMarriage": [120, 64, 41, 2, 30], "Prostitution": [38, 22, 9, 6, 12],
     "Cybersex": [3, 1, 0, 4, 15], "ForcedLabour": [11, 7, 2, 0, 5]},
    index=pd.Index(["Jilin", "Liaoning", "Heilongjiang", "Shandong", "Beijing"], name="province"),
)


def test_margins_are_added_and_small_cells_hidden():
    result = suppress(PROVINCES, k=5)
    table = result.table
    assert table.loc[TOTAL, TOTAL] == PROVINCES.to_numpy().sum() == 392
    assert table.loc["Jilin", TOTAL] == 172 and table.loc[TOTAL, "Cybersex"] == 23
    assert result.primary == {("Jilin", "Cybersex"), ("Liaoning", "Cybersex"), ("Shandong", "Cybersex"),
                              ("Shandong", "ForcedMarriage"), ("Heilongjiang", "ForcedLabour")}
    assert all(pd.isna(table.loc[r, c]) for r, c in result.suppressed)
    shown = [(r, c) for r in PROVINCES.index for c in PROVINCES.columns if (r, c) not in result.suppressed]
    assert all(table.loc[r, c] == PROVINCES.loc[r, c] for r, c in shown)
    assert ("Heilongjiang", "Cybersex") not in result.suppressed  # a zero is not sensitive
    assert all(reason.startswith("primary") for cell, reason in result.reasons.items() if cell in result.primary)


@pytest.mark.parametrize("k", [3, 5, 10])
def test_attacker_cannot_narrow_any_hidden_cell_of_a_two_way_table(k):
    result = suppress(PROVINCES, k=k)
    intervals = attacker_intervals(result.table)
    assert len(intervals) == len(result.suppressed)
    for (lo, hi) in intervals.values():
        assert hi - lo >= k - 1e-6
    assert naive_differencing(result.table) == len(result.suppressed)
    assert recover_by_differencing(result) == {}


def test_without_complementary_suppression_a_cell_is_recovered():
    result = suppress(PROVINCES, k=5, complementary=False)
    recovered = recover_by_differencing(result)
    # Shandong, ForcedMarriage (2) is alone in its column once the other small cells are in rows of
    # their own: the attack finds the true values
    assert recovered
    assert all(PROVINCES.loc[r, c] == v for (r, c), v in recovered.items())
    assert naive_differencing(result.table) < len(result.suppressed)


def test_rectangle_interval_worked_by_hand():
    table = pd.DataFrame({"x": [3, 10], "y": [12, 14]}, index=["a", "b"])
    result = suppress(table, k=5)
    # rows a+c = 15, b+d = 24, columns 13 and 26: a = t, b = 13 - t, c = 15 - t, d = 11 + t, so 0 <= t <= 13
    assert result.intervals()[("a", "x")] == (0.0, 13.0)
    assert attacker_intervals(result.table)[(0, 0)] == pytest.approx((0.0, 13.0))
    narrow = suppress(table, k=5, protection=14)  # a width of 13 is not enough: hide a total too
    assert all(hi - lo >= 14 for lo, hi in attacker_intervals(narrow.table).values())


def test_random_two_way_tables_are_protected():
    rng = np.random.default_rng(7)
    for _ in range(12):
        shape = tuple(rng.integers(2, 6, size=2))
        counts = rng.poisson(rng.uniform(1, 25, size=shape))
        result = suppress(pd.DataFrame(counts), k=5)
        for lo, hi in attacker_intervals(result.table).values():
            assert hi - lo >= 5 - 1e-6


def three_way_table(seed=3):
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product([["Jilin", "Liaoning", "Hebei"], [2021, 2022, 2023], ["FM", "PR", "CY"]],
                                       names=["province", "year", "form"])
    return pd.Series(rng.poisson(rng.uniform(0.5, 30, len(index))), index=index)


def test_attacker_cannot_narrow_any_hidden_cell_of_a_three_way_table():
    counts = three_way_table()
    result = suppress(counts, k=5)
    assert result.primary  # the table has small cells to protect
    assert result.table.loc[(TOTAL, TOTAL, TOTAL)] == counts.sum()
    assert result.table.loc[("Jilin", TOTAL, "CY")] == counts.loc["Jilin", :, "CY"].sum()
    intervals = attacker_intervals(result.table)
    assert len(intervals) == len(result.suppressed)
    assert min(hi - lo for lo, hi in intervals.values()) >= 5 - 1e-6
    assert naive_differencing(result.table) == len(result.suppressed)
    truth = pd.Series(counts)
    for cell, (lo, hi) in result.intervals().items():  # the module's attacker agrees and brackets the truth
        if TOTAL not in cell:
            assert lo <= truth.loc[cell] <= hi


def test_one_way_table_needs_a_second_hidden_cell():
    counts = pd.Series([40, 3, 17, 25], index=pd.Index(["a", "b", "c", "d"], name="form"))
    result = suppress(counts, k=5)
    assert result.primary == {("b",)} and result.complementary == {("c",)}  # the smallest cell >= 5
    assert result.intervals()[("b",)] == (0.0, 20.0)


def test_small_margins_are_primary():
    table = pd.DataFrame({"x": [1, 30], "y": [2, 40]}, index=["a", "b"])
    result = suppress(table, k=5)
    assert ("a", TOTAL) in result.primary
    assert all(hi - lo >= 5 for lo, hi in attacker_intervals(result.table).values())


def test_rounding_publishes_multiples_and_the_attacker_allows_for_it():
    result = suppress(PROVINCES, k=5, rounding=5)
    shown = result.table.to_numpy(dtype=float, na_value=np.nan)
    assert np.all(np.isnan(shown) | (shown % 5 == 0))
    assert result.table.loc[TOTAL, TOTAL] == 390  # 392 rounded
    rounded = feasible_intervals(result)
    exact = feasible_intervals(result.table.astype("Float64").mask(result.table.isna()), rounding=5)
    assert rounded == exact
    assert recover_by_differencing(result) == {}


def test_published_frame_is_read_back():
    published = pd.DataFrame({"x": [pd.NA, 10, 13], "y": [12, 14, 26], TOTAL: [15, 24, 39]},
                             index=["a", "b", TOTAL], dtype="Int64")
    assert recover_by_differencing(published) == {("a", "x"): 3.0}
    with pytest.raises(InputError, match="last category"):
        feasible_intervals(published.iloc[:2])


@pytest.mark.parametrize("bad", [
    pd.DataFrame({"x": [1, -2]}), pd.DataFrame({"x": [1.5, 2]}), pd.DataFrame({"x": [1, None]}),
    pd.DataFrame({"x": [1, 2]}, index=["a", TOTAL]),
])
def test_bad_tables_are_refused(bad):
    with pytest.raises(InputError):
        suppress(bad)


def test_k_is_checked():
    with pytest.raises(InputError, match="k must be"):
        suppress(PROVINCES, k=0)
    with pytest.raises(InputError, match="rounding"):
        suppress(PROVINCES, rounding=0)


def test_margins_of_the_module_match_numpy():
    counts = three_way_table(5)
    published = suppress(counts, k=1).table  # k = 1 hides nothing
    array = published_array(published)
    inner = counts.to_numpy().reshape(3, 3, 3)
    for axes in (a for r in range(1, 4) for a in combinations(range(3), r)):
        index = tuple(slice(-1, None) if a in axes else slice(0, 3) for a in range(3))
        assert np.array_equal(array[index].squeeze(), inner.sum(axis=axes).squeeze())
