"""The tables a release publishes, after small-cell suppression: the capture-history table (how
many people each combination of lists documented) and, per category, the prevalence table (the
documented and estimated number and share of each value), with the reason each hidden cell is hidden
worded so that it does not give the hidden count away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from darkfigure.histories import CaptureHistories
from darkfigure.publish.suppression import TOTAL

if TYPE_CHECKING:
    from darkfigure.estimation.strata import StrataEstimate
    from darkfigure.publish.config import ReleaseConfig
    from darkfigure.publish.suppression import SuppressedTable

# each stratum's values (one per category) with the capture histories of its people
StratumTables = list[tuple[tuple[Any, ...], CaptureHistories]]
# the strata's own warning counts the unestimated people, which could give away a suppressed row
UNESTIMATED_NOTE = ("no estimated total: {names} could not be estimated, and a sum without its dark figure would be "
                    "far too low; the headline N, estimated from everyone at once, stands")
SUM_NOTE = "the sum of the estimates per category, not the headline N (estimated from everyone at once)"
ESTIMATE_COLUMNS = {"lower": "estimate_lower", "upper": "estimate_upper", "share": "estimated_share",
                    "share_lower": "estimated_share_lower", "share_upper": "estimated_share_upper"}


def published_tables(overall: CaptureHistories, parts: StratumTables, strata: StrataEstimate | None,
                     config: ReleaseConfig) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """Every table a release publishes, by name, and why each hidden cell is hidden: the capture
    histories of ``overall``, then a prevalence table for each category ``parts`` were split by
    (``strata``: their estimate; None when there are no categories).

    >>> from darkfigure.publish.config import ReleaseConfig
    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["police", "ngo"])
    >>> tables, hidden = published_tables(h, [((), h)], None, ReleaseConfig())
    >>> list(tables), hidden
    (['capture_histories'], [])
    """
    histories, suppressed = capture_history_table(overall, config.k)
    tables = {"capture_histories": histories}
    if strata is None:
        return tables, suppressed
    for category in strata.columns:
        table, hidden = category_prevalence_table(parts, strata, category, config)
        tables[prevalence_table_name(category)] = table
        suppressed += hidden
    return tables, suppressed


def prevalence_table_name(category: str) -> str:
    """The published name of a category's prevalence table (also its CSV file's name).

    >>> prevalence_table_name("exploitation form")
    'prevalence_exploitation_form'
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in category.strip())
    return f"prevalence_{safe or 'category'}"


# ------------------------------------------------------------------ capture histories
def capture_history_table(overall: CaptureHistories, k: int) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Capture patterns with anyone in them (count), suppressed, with their total.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 3], lists=["police", "ngo"])
    >>> table, hidden = capture_history_table(h, k=5)
    >>> table["count"].tolist()
    [30, <NA>, <NA>, 53]
    >>> [(s["label"], s["kind"]) for s in hidden][-1]
    ('people on police and ngo only', 'primary')
    """
    from darkfigure.publish.suppression import suppress

    seen = overall.counts > 0
    patterns = overall.patterns[seen]
    names = ["".join(str(int(v)) for v in row) for row in patterns]
    if not names:
        frame = pd.DataFrame({"pattern": [TOTAL], **{name: [""] for name in overall.lists}, "count": [0]})
        return frame, []
    result = suppress(pd.Series(overall.counts[seen], index=pd.Index(names, name="pattern")), k=k)
    frame = pd.DataFrame({"pattern": [*names, TOTAL]})
    for j, name in enumerate(overall.lists):
        frame[name] = [str(int(v)) for v in patterns[:, j]] + [""]
    frame["count"] = result.table.reset_index(drop=True).astype("Int64")
    return frame, suppression_entries(result, "capture_histories", "count", lists=overall.lists)


def pattern_words(pattern: str, lists: tuple[str, ...]) -> str:
    """A capture pattern (one 0/1 per list) in words.

    >>> pattern_words("0011", ("police", "ngo", "health", "inspectorate"))
    'people on health and inspectorate only'
    >>> pattern_words(TOTAL, ("police", "ngo"))
    'all people documented'
    """
    if pattern == TOTAL:
        return "all people documented"
    on = [name for name, bit in zip(lists, pattern, strict=False) if bit == "1"]
    return f"people on {', '.join(on[:-1]) + ' and ' + on[-1] if len(on) > 1 else on[0]} only"


# ------------------------------------------------------------------ prevalence by category
def category_prevalence_table(parts: StratumTables, strata: StrataEstimate, category: str,
                              config: ReleaseConfig) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Documented and estimated number and share of each value of ``category``, suppressed rows
    blank; ``strata`` is the estimate of ``parts`` (``darkfigure.estimation.strata.estimate_strata``).

    >>> from darkfigure.estimation.strata import estimate_strata
    >>> from darkfigure.publish.config import ReleaseConfig
    >>> h = CaptureHistories.from_counts([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
    ...                                  [30, 20, 25, 6, 5, 4, 2], lists=["police", "ngo", "health"])
    >>> parts = [(("labour",), h), (("sexual",), h.with_counts(h.counts // 2)),
    ...          (("domestic",), h.with_counts([1, 1, 0, 1, 0, 0, 1]))]
    >>> strata = estimate_strata(parts, ["form"], "fixed", {"model": "[12]", "nboot": 0}, workers=1)
    >>> table, hidden = category_prevalence_table(parts, strata, "form", ReleaseConfig())
    >>> table["form"].tolist(), table["documented"].tolist(), table["note"].tolist()[:3]
    (['domestic', 'labour', 'sexual', 'Total'], [<NA>, 92, <NA>, 141], ['suppressed', '', 'suppressed'])
    >>> [(e["row"], e["kind"]) for e in hidden]
    [('domestic', 'primary'), ('sexual', 'complementary')]
    """
    from darkfigure.publish.suppression import suppress

    table = _documented_and_estimated(parts, strata, category, config.level)
    documented = table["documented"].to_numpy()[:-1]
    result = suppress(pd.Series(documented, index=pd.Index(table[category][:-1], name=category)), k=config.k)
    table = _hide_rows(table, category, [str(cell[0]) for cell in result.suppressed])
    return table, suppression_entries(result, prevalence_table_name(category), "documented",
                                      "; the row's shares and estimates are hidden with it")


def _documented_and_estimated(parts: StratumTables, strata: StrataEstimate, category: str,
                              level: float) -> pd.DataFrame:
    """The prevalence table before suppression: one row per value of ``category``, then the total."""
    from darkfigure.publish.prevalence import documented_shares, estimated_shares

    counts = _documented_counts(parts, strata.columns.index(category))
    documented = documented_shares(pd.DataFrame({category: list(counts), "count": list(counts.values())}),
                                   category, level)
    estimated = estimated_shares(strata, level, category).drop(columns="observed").rename(columns=ESTIMATE_COLUMNS)
    table = documented.merge(estimated, on=category, how="left")
    table = pd.concat([table, _total_row(table, strata, category)], ignore_index=True)
    table[category] = table[category].astype(str)
    return table


def _documented_counts(parts: StratumTables, position: int) -> dict[Any, int]:
    """People documented per value of the category at ``position`` of the strata's keys."""
    counts: dict[Any, int] = {}
    for key, h in parts:
        counts[key[position]] = counts.get(key[position], 0) + h.n_observed
    return counts


def _total_row(table: pd.DataFrame, strata: StrataEstimate, category: str) -> pd.DataFrame:
    """The total: documented people, and the sum of the strata's estimates only when every stratum has one."""
    skipped = [", ".join(map(str, s.key)) for s in strata.strata if s.estimate is None]
    total = strata.total
    iv = total.interval if not skipped else None
    estimate = total.estimate if not skipped else None
    note = (UNESTIMATED_NOTE.format(names="; ".join(skipped)) if skipped else
            SUM_NOTE if total.warnings == () else f"{SUM_NOTE}; {total.warnings[0]}")
    return pd.DataFrame([{category: TOTAL, "documented": int(table["documented"].sum()), "share": 1.0,
                          "lower": None, "upper": None, "estimate": estimate,
                          "estimate_lower": iv.lower if iv else None, "estimate_upper": iv.upper if iv else None,
                          "estimated_share": 1.0 if not skipped else None, "note": note}])


def _hide_rows(table: pd.DataFrame, category: str, hidden: list[str]) -> pd.DataFrame:
    """Blank every figure of the hidden rows and note them as suppressed."""
    figures = [c for c in table.columns if c not in (category, "note")]
    table["documented"] = table["documented"].astype("Int64")
    table.loc[table[category].isin(hidden), figures] = pd.NA
    table.loc[table[category].isin(hidden), "note"] = "suppressed"
    return table


# ------------------------------------------------------------------ why cells are hidden
def suppression_entries(result: SuppressedTable, table: str, column: str, extra: str = "",
                        lists: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Why each cell of a published table is hidden, in words that do not give its value away (the
    suppression's own reasons quote the count, so they are not published).

    >>> from darkfigure.publish.suppression import suppress
    >>> result = suppress(pd.Series([3, 10, 12], index=pd.Index(["a", "b", "c"], name="form")), k=5)
    >>> [(e["row"], e["kind"]) for e in suppression_entries(result, "prevalence_form", "documented")]
    [('a', 'primary'), ('b', 'complementary')]
    """
    return [_suppression_entry(result, cell, table, column, extra, lists)
            for cell in sorted(result.suppressed, key=str)]


def _suppression_entry(result: SuppressedTable, cell: Any, table: str, column: str, extra: str,
                       lists: tuple[str, ...]) -> dict[str, Any]:
    row = str(cell[0])
    primary = cell in result.primary
    reason = (f"fewer than k = {result.k} people, below k = {result.k} (primary suppression)" if primary else
              f"hidden so that the cells below k = {result.k} cannot be worked out from the total "
              "(complementary suppression)")
    label = pattern_words(row, lists) if lists else row
    return {"table": table, "row": row, "label": label, "column": column,
            "kind": "primary" if primary else "complementary", "reason": reason + extra}
