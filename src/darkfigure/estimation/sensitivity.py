"""How much the estimate depends on each list: omit each in turn, merge chosen ones.

A list that drives the estimate (through a strong dependence with another, say) shows up as a large
move when it is left out; merging lists that work closely together (police and a crime agency)
removes a dependence the model may not capture.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from darkfigure.errors import DarkfigureError, InputError
from darkfigure.estimation._params import check_level
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories
from darkfigure.settings import default


def sensitivity_table(
    histories: CaptureHistories,
    method: str = default("method"),
    model: str | None = None,
    merges: Sequence[Sequence[str]] = (),
    level: float = default("level"),
) -> pd.DataFrame:
    """One row per variant of the data: all lists, each list omitted, each requested merge.

    Bootstrap is off in every row (``nboot=0``) so the table is quick; intervals are the method's
    analytic ones. A method, model, level or merge that cannot be used is refused up front
    (:class:`InputError`); a variant the method cannot estimate gets its reason in ``note``.

    >>> h = CaptureHistories.from_counts(
    ...     [[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]], [50, 40, 30, 30, 5, 4, 6])
    >>> list(sensitivity_table(h)["variant"])
    ['all lists', 'without A', 'without B', 'without C']
    """
    merged = _check_request(histories, method, model, merges, level)
    variants: list[tuple[str, CaptureHistories | None, str]] = [("all lists", histories, "")]
    for name in histories.lists:
        variants.append(_variant(f"without {name}", lambda n=name: histories.omit_lists([n])))
    for group, h in zip(merges, merged, strict=True):
        variants.append((f"merged {'+'.join(group)}", h, ""))
    rows = [_row(label, h, note, histories, method, model, level) for label, h, note in variants]
    frame = pd.DataFrame(rows)
    for column in ("lists", "n_observed"):  # whole numbers even where a variant has none
        frame[column] = pd.Series([row[column] for row in rows], dtype=object)
    return frame


def _check_request(
    histories: CaptureHistories, method: str, model: str | None, merges: Sequence[Sequence[str]], level: float
) -> list[CaptureHistories]:
    """Refuse the caller's mistakes (a method, model, level or merge that cannot be used) before any
    estimate, so they are said once rather than in every row; the merged tables otherwise."""
    from darkfigure.estimation.api import make_estimator

    check_level("sensitivity_table", level)
    make_estimator(method, model=model)  # an unknown method, a model the method does not use
    if model is not None:
        HierarchicalModel.parse(model, histories.lists)
    return [_merged(histories, group) for group in merges]


def _merged(histories: CaptureHistories, group: Sequence[str]) -> CaptureHistories:
    try:
        return histories.merge_lists(group, "".join(group))
    except InputError as exc:
        raise InputError(f"--merge {','.join(group)}: {exc}") from None


def _variant(label: str, make) -> tuple[str, CaptureHistories | None, str]:  # type: ignore[no-untyped-def]
    try:
        return label, make(), ""
    except InputError as exc:
        return label, None, str(exc)


def _row(
    label: str,
    h: CaptureHistories | None,
    note: str,
    full: CaptureHistories,
    method: str,
    model: str | None,
    level: float,
) -> dict[str, object]:
    from darkfigure.estimation.api import BOOTSTRAP_METHODS, estimate

    row: dict[str, object] = {"variant": label, "lists": None, "n_observed": None, "estimate": None,
                              "lower": None, "upper": None, "interval": None, "model": None, "note": note}
    if h is None:
        return row
    row.update(lists=len(h.lists), n_observed=h.n_observed)
    try:
        quick = {"nboot": 0} if method in BOOTSTRAP_METHODS else {}
        est = estimate(h, method, model=_model_for(model, full, h), level=level, **quick)
    except DarkfigureError as exc:
        row["note"] = str(exc)
        return row
    iv = est.interval
    row.update(estimate=est.estimate, model=est.model, lower=iv and iv.lower, upper=iv and iv.upper,
               interval=iv and iv.kind)
    return row


def _model_for(model: str | None, full: CaptureHistories, h: CaptureHistories) -> str | None:
    """The user's model restricted to the lists that remain (terms naming a gone list are dropped)."""
    if model is None or h.lists == full.lists:
        return model
    parsed = HierarchicalModel.parse(model, full.lists)
    kept_terms = []
    for term in parsed.terms:
        names = [full.lists[j] for j in range(full.n_lists) if term >> j & 1]
        if all(n in h.lists for n in names):
            kept_terms.append([h.lists.index(n) for n in names])
    return HierarchicalModel.from_terms(h.n_lists, kept_terms).name(h.lists)
