"""Small plots written directly as SVG: no plotting library, light HTML, readable offline.

Every function returns one ``<svg>`` element as a string, ready to be placed inline in HTML (no
namespace declaration is needed there; the markup is well-formed XML). Every text drawn from data
(list names, labels, method names) is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")  # Okabe-Ito
INK, GREY, LIGHT = "#222222", "#767676", "#e4e4e4"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12"'
TOP_PATTERNS = 20


class ForestRow(NamedTuple):
    """One row of a forest plot: a label, the point estimate, its intervals as
    ``(kind, level, lower, upper)`` (the first is drawn bold) and the observed count, if any."""

    label: str
    estimate: float
    intervals: tuple[tuple[str, float, float, float], ...] = ()
    observed: float | None = None
    note: str = ""


class _Scale(NamedTuple):
    lo: float
    hi: float
    left: float
    right: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.left + (value - self.lo) / span * (self.right - self.left)


# ------------------------------------------------------------------ primitives
def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# Advance widths in em of DejaVu Sans, the widest of the usual sans-serif fallbacks, so that text
# measured with them fits whichever font the reader's system picks.
_NARROW, _WIDE = set("iljtfrI.,:;'!|()[] "), set("mwMW%@")
_DIGIT_EM, _NARROW_EM, _WIDE_EM, _UPPER_EM, _OTHER_EM = 0.64, 0.35, 0.95, 0.72, 0.62


def text_width(text: str, size: float = 12, bold: bool = False) -> float:
    """About how many pixels ``text`` takes at font ``size``, erring wide (bold adds a tenth).

    >>> round(text_width("12,557"), 1), text_width("W") > text_width("i")
    (42.6, True)
    """
    em = sum(_char_em(c) for c in str(text))
    return em * size * (1.1 if bold else 1.0)


def _char_em(c: str) -> float:
    if c.isdigit():
        return _DIGIT_EM
    if c in _NARROW:
        return _NARROW_EM
    if c in _WIDE:
        return _WIDE_EM
    return _UPPER_EM if c.isupper() else _OTHER_EM


def number(value: float, digits: int = 0) -> str:
    """A number for people to read: thousands separated, ``no limit`` for infinity.

    >>> number(12318.47), number(0.25, 2), number(float("inf")), number(float("nan"))
    ('12,318', '0.25', 'no limit', '\u2013')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    if math.isinf(value):
        return "no limit"
    return f"{value:,.{digits}f}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values inside ``[lo, hi]``, about ``count`` of them.

    >>> nice_ticks(1953, 2171)
    [2000, 2050, 2100, 2150]
    """
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _tick_label(value: float, step: float) -> str:
    return number(value, 0 if step >= 1 else min(6, -math.floor(math.log10(step))))


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{" " + extra if extra else ""}>{_esc(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = INK, width: float = 1, extra: str = "") -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}"{" " + extra if extra else ""}/>')


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str = "") -> str:
    title = f"<title>{_esc(tip)}</title>" if tip else ""
    size = f'width="{max(w, 0):.1f}" height="{max(h, 0):.1f}"'
    return f'<rect x="{x:.1f}" y="{y:.1f}" {size} fill="{fill}">{title}</rect>'


def _svg(width: float, height: float, label: str, body: Sequence[str]) -> str:
    return (
        f'<svg class="plot" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{_esc(label)}" {FONT}><title>{_esc(label)}</title>{"".join(body)}</svg>'
    )


def _x_axis(scale: _Scale, y: float, title: str) -> list[str]:
    ticks = nice_ticks(scale.lo, scale.hi)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = [_line(scale.left, y, scale.right, y, GREY)]
    for t in ticks:
        out += [_line(scale(t), y, scale(t), y + 4, GREY), _text(scale(t), y + 16, _tick_label(t, step), "middle")]
    out.append(_text((scale.left + scale.right) / 2, y + 32, title, "middle", f'fill="{GREY}"'))
    return out


def _padded(values: Sequence[float], share: float = 0.05) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = (hi - lo) * share or max(abs(hi) * share, 1.0)
    return lo - pad, hi + pad


# ------------------------------------------------------------------ (a) list overlaps
def upset_plot(histories: CaptureHistories, top: int = TOP_PATTERNS) -> str:
    """UpSet-style plot: bars of the largest capture-pattern counts over a dot matrix of the lists,
    and the list sizes at the right.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
    >>> upset_plot(h).startswith("<svg")
    True
    """
    counts, pat = histories.counts, histories.patterns
    order = [i for i in np.argsort(-counts, kind="stable") if counts[i] > 0][:top]
    names = [_short(n, 24) for n in histories.lists]
    widest = max(len(number(float(counts[i]))) for i in order) if order else 1
    col, row, bar_h = max(26, 7 * widest + 6), 22, 160
    left = 16 + 7 * max(len(n) for n in names)
    top_y = 34
    matrix_y = top_y + bar_h + 10
    sizes_x = left + col * len(order) + 24
    width, height = sizes_x + 190, matrix_y + row * histories.n_lists + 12
    body = [_text(8, 16, _upset_title(len(order), int((counts > 0).sum())), extra='font-weight="600"')]
    body += _pattern_bars(counts, order, left, col, top_y, bar_h)
    body += _dot_matrix(pat, order, names, histories.lists, left, col, matrix_y, row)
    body += _list_size_bars(histories, sizes_x, matrix_y, row)
    return _svg(width, height, "Overlaps of the lists: entities by capture pattern", body)


def _upset_title(shown: int, total: int) -> str:
    if shown == total:
        return f"Entities by capture pattern (all {total} patterns seen)"
    return f"Entities by capture pattern (the {shown} largest of {total} patterns seen)"


def _pattern_bars(counts: np.ndarray, order: list[int], left: float, col: float, top_y: float,
                  bar_h: float) -> list[str]:
    biggest = float(counts[order[0]]) if order else 1.0
    out = []
    for k, i in enumerate(order):
        h = bar_h * counts[i] / biggest
        x = left + k * col
        out.append(_rect(x + 4, top_y + bar_h - h, col - 8, h, PALETTE[0], f"{number(counts[i])} entities"))
        out.append(_text(x + col / 2, top_y + bar_h - h - 4, number(float(counts[i])), "middle", 'font-size="11"'))
    return out


def _dot_matrix(pat: np.ndarray, order: list[int], names: list[str], full: Sequence[str], left: float,
                col: float, y0: float, row: float) -> list[str]:
    out = []
    for j, name in enumerate(names):
        y = y0 + j * row
        if j % 2 == 0:
            out.append(_rect(8, y, left - 8 + col * len(order), row, "#f4f4f4"))
        out.append(f'<text x="{left - 8:.1f}" y="{y + 15:.1f}" text-anchor="end"><title>{_esc(full[j])}</title>'
                   f"{_esc(name)}</text>")
    for k, i in enumerate(order):
        x = left + k * col + col / 2
        on = [j for j in range(pat.shape[1]) if pat[i, j]]
        if len(on) > 1:
            out.append(_line(x, y0 + on[0] * row + row / 2, x, y0 + on[-1] * row + row / 2, INK, 2))
        for j in range(pat.shape[1]):
            fill = INK if pat[i, j] else LIGHT
            out.append(f'<circle cx="{x:.1f}" cy="{y0 + j * row + row / 2:.1f}" r="5.5" fill="{fill}"/>')
    return out


def _list_size_bars(histories: CaptureHistories, x0: float, y0: float, row: float) -> list[str]:
    sizes = histories.list_sizes()
    biggest = max(sizes.values()) or 1
    out = [_text(x0, y0 - 6, "list size", extra=f'fill="{GREY}"')]
    for j, size in enumerate(sizes.values()):
        w = 110 * size / biggest
        out.append(_rect(x0, y0 + j * row + 4, w, row - 8, PALETTE[5], f"{number(size)} entities"))
        out.append(_text(x0 + w + 4, y0 + j * row + 15, number(size), extra='font-size="11"'))
    return out


# ------------------------------------------------------------------ (b) forest plot
def estimate_rows(estimates: Sequence[tuple[str, Estimate]]) -> list[ForestRow]:
    """Forest-plot rows of labelled estimates, every interval of each.

    >>> e = Estimate(method="fixed", lists=("A", "B"), n_observed=56, estimate=156.0, model="[1,2]")
    >>> estimate_rows([("Fixed", e)])[0].observed
    56.0
    """
    return [
        ForestRow(label, float(e.estimate), tuple((iv.kind, iv.level, iv.lower, iv.upper) for iv in e.intervals),
                  float(e.n_observed), e.model)
        for label, e in estimates
    ]


def forest_plot(rows: Sequence[ForestRow], axis_title: str = "Estimated total N") -> str:
    """Every estimate with its intervals on one axis (the first interval of a row drawn bold), and
    the observed count marked: one dashed line when all rows share it, a tick per row otherwise. The
    label and text columns are as wide as their longest text.

    >>> svg = forest_plot([ForestRow("Stepwise", 150.0, (("bca", 0.95, 120.0, 190.0),), 56.0)])
    >>> "Stepwise" in svg and "n = 56" in svg
    True
    """
    plot_w = 420
    label_w = _label_width(rows)
    texts = [t for r in rows for t in _row_texts(r)]
    text_w = max([text_width("estimate [interval]"), *(text_width(t, size) for t, size in texts)]) + 16
    scale = _forest_scale(rows, label_w, plot_w)
    heights = [28 + 14 * max(len(r.intervals) - 1, 0) for r in rows]
    y, body = 40, []
    shared = _shared_observed(rows)
    for r, h in zip(rows, heights, strict=True):
        body += _forest_row(r, scale, y, label_w + plot_w + 16, mark_observed=shared is None)
        y += h
    if shared is not None:
        x = scale(shared)
        body.insert(0, _line(x, 30, x, y, GREY, 1, 'stroke-dasharray="4 3"'))
        body.append(_text(x, 22, f"n = {number(shared)} documented", "middle", f'fill="{GREY}"'))
    body.append(_text(label_w + plot_w + 16, 22, "estimate [interval]", extra=f'fill="{GREY}"'))
    body += _x_axis(scale, y + 4, axis_title)
    return _svg(label_w + plot_w + 16 + text_w, y + 44, "Estimates side by side with their intervals", body)


def _label_width(rows: Sequence[ForestRow]) -> float:
    """The label column: the widest label (bold) or note, and room before the axis."""
    widths = [text_width(_short(r.label, 30), bold=True) for r in rows]
    widths += [text_width(_short(r.note, 36), 10) for r in rows if r.note]
    return max(120.0, max(widths, default=0.0) + 24)


def _row_texts(r: ForestRow) -> list[tuple[str, float]]:
    """The texts at the right of a row, with their font sizes."""
    if not math.isfinite(r.estimate):
        return [("not estimated", 12)]
    if not r.intervals:
        return [(f"{number(r.estimate)}  (no interval)", 12)]
    out = []
    for k, (kind, level, lo, hi) in enumerate(r.intervals):
        name = f"{kind} {level:.0%}".strip() if math.isfinite(level) else kind
        out.append((f"{number(r.estimate)}  [{number(lo)} \u2013 {number(hi)}]  {name}", 12) if k == 0
                   else (f"{number(lo)} \u2013 {number(hi)}  {name}", 11))
    return out


def _forest_scale(rows: Sequence[ForestRow], label_w: float, plot_w: float) -> _Scale:
    values = [r.estimate for r in rows] + [r.observed for r in rows if r.observed is not None]
    values += [v for r in rows for (_, _, lo, hi) in r.intervals for v in (lo, hi)]
    lo, hi = _padded(values)
    return _Scale(lo, hi, label_w, label_w + plot_w)


def _shared_observed(rows: Sequence[ForestRow]) -> float | None:
    seen = {r.observed for r in rows}
    return seen.pop() if len(seen) == 1 and None not in seen else None


def _forest_row(r: ForestRow, scale: _Scale, y: float, text_x: float, mark_observed: bool) -> list[str]:
    out = [_text(8, y + 4, _short(r.label, 30), extra='font-weight="600"')]
    if r.note:
        out.append(_text(8, y + 17, _short(r.note, 36), extra=f'fill="{GREY}" font-size="10"'))
    if mark_observed and r.observed is not None and math.isfinite(r.observed):
        x = scale(r.observed)
        out.append(_line(x, y - 7, x, y + 7, GREY, 2))
    texts = _row_texts(r)
    for k, (text, size) in enumerate(texts):
        extra = "" if k == 0 else f'fill="{GREY}" font-size="{size}"'
        out.append(_text(text_x, y + 4 + 14 * k, text, extra=extra if math.isfinite(r.estimate) else f'fill="{GREY}"'))
    if not math.isfinite(r.estimate):
        return out
    for k, (_, _, lo, hi) in enumerate(r.intervals):
        out += _interval_line(scale, y + 14 * k, lo, hi, 3 if k == 0 else 1.2, PALETTE[0] if k == 0 else GREY)
    x = scale(r.estimate)
    out.append(f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{INK}"/>')
    return out


def _interval_line(scale: _Scale, y: float, lo: float, hi: float, width: float, colour: str) -> list[str]:
    if not (math.isfinite(lo) or math.isfinite(hi)):
        return []
    x1 = scale(lo) if math.isfinite(lo) else scale.left
    x2 = scale(hi) if math.isfinite(hi) else scale.right
    out = [_line(x1, y, x2, y, colour, width)]
    if not math.isfinite(hi):  # an open upper end: an arrow at the edge of the axis
        out.append(f'<path d="M{x2:.1f},{y - 4:.1f} L{x2 + 7:.1f},{y:.1f} L{x2:.1f},{y + 4:.1f} Z" fill="{colour}"/>')
    return out


def strata_rows(strata: pd.DataFrame) -> list[ForestRow]:
    """Forest-plot rows of a strata table (columns estimate, lower, upper; optionally n_observed,
    interval, note; the other columns name the stratum).

    >>> df = pd.DataFrame({"year": [2020], "estimate": [150.0], "lower": [120.0], "upper": [190.0]})
    >>> strata_rows(df)[0].label
    '2020'
    """
    keys = stratum_key_columns(strata)
    rows = []
    for s in strata.to_dict(orient="records"):
        label = " / ".join(str(s[k]) for k in keys) or "stratum"
        ok = pd.notna(s["lower"]) and pd.notna(s["upper"])
        kind = str(s["interval"]) if "interval" in strata.columns and pd.notna(s["interval"]) else ""
        level = float(s["level"]) if "level" in strata.columns and pd.notna(s["level"]) else math.nan
        ivs = ((kind, level, float(s["lower"]), float(s["upper"])),) if ok else ()
        observed = float(s["n_observed"]) if "n_observed" in strata.columns and pd.notna(s["n_observed"]) else None
        est = float(s["estimate"]) if pd.notna(s["estimate"]) else math.nan
        rows.append(ForestRow(label, est, ivs, observed))
    return rows


def stratum_key_columns(strata: pd.DataFrame) -> list[str]:
    """The columns that name a stratum: all but the estimate's own.

    >>> stratum_key_columns(pd.DataFrame(columns=["year", "form", "estimate", "lower", "upper", "note"]))
    ['year', 'form']
    """
    own = {"estimate", "lower", "upper", "note", "n_observed", "interval", "level", "se", "n_lists"}
    return [c for c in strata.columns if c not in own]


# ------------------------------------------------------------------ (c) replicates
def replicates_histogram(label: str, estimate: Estimate) -> str | None:
    """Histogram of an estimate's posterior draws or bootstrap replicates, with the estimate and its
    headline interval; None when the estimate has fewer than two finite replicates.

    >>> e = Estimate(method="dga", lists=("A", "B"), n_observed=56, estimate=156.0, model="[1,2]",
    ...              replicates=np.arange(100.0, 200.0))
    >>> replicates_histogram("DGA", e).count("<rect") > 5
    True
    """
    values = np.asarray(estimate.replicates if estimate.replicates is not None else [], dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    lo, hi = np.quantile(values, [0.005, 0.995])
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    shown = values[(values >= lo) & (values <= hi)]
    counts, edges = np.histogram(shown, bins=int(min(40, max(10, math.sqrt(values.size)))), range=(lo, hi))
    beyond = values.size - shown.size
    note = f"{values.size:,} values" + (f"; {beyond:,} beyond the axis" if beyond else "")
    title = _short(f"{label}: {replicate_kind(estimate)}", 56)
    width = 380
    drop = 0 if text_width(title, bold=True) + text_width(note, 10) + 24 <= width else 14  # note on its own line
    height, top, base = 200 + drop, 26 + drop, 150 + drop
    scale = _Scale(float(lo), float(hi), 16, width - 16)
    body = [_text(8, 16, title, extra='font-weight="600"')]
    body.append(_text(width - 8, 16 + drop, note, "end", f'fill="{GREY}" font-size="10"'))
    body += _interval_band(estimate, scale, top, base)
    body += _histogram_bars(counts, edges, scale, top + 4, base)
    if math.isfinite(estimate.estimate) and lo <= estimate.estimate <= hi:
        body.append(_line(scale(estimate.estimate), top, scale(estimate.estimate), base, PALETTE[1], 2))
    body += _x_axis(scale, base, "N")
    return _svg(width, height, f"Distribution of N for {label}", body)


def replicate_kind(estimate: Estimate) -> str:
    """What the replicates of an estimate are: posterior draws or bootstrap replicates.

    >>> replicate_kind(Estimate(method="stepwise", lists=("A", "B"), n_observed=5, estimate=9.0, model="[]"))
    'bootstrap replicates'
    """
    bayesian = estimate.method in ("lcmcr", "dga") or any(iv.kind == "posterior" for iv in estimate.intervals)
    return "posterior draws" if bayesian else "bootstrap replicates"


def _interval_band(estimate: Estimate, scale: _Scale, top: float, base: float) -> list[str]:
    iv = estimate.interval
    if iv is None or not (math.isfinite(iv.lower) and math.isfinite(iv.upper)):
        return []
    x1, x2 = max(scale(iv.lower), scale.left), min(scale(iv.upper), scale.right)
    return [_rect(x1, top, x2 - x1, base - top, "#fbe3d4", f"{iv.level:.0%} {iv.kind} interval")]


def _histogram_bars(counts: np.ndarray, edges: np.ndarray, scale: _Scale, top: float, base: float) -> list[str]:
    tallest = counts.max() or 1
    out = []
    for c, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        h = (base - top) * c / tallest
        out.append(_rect(scale(a) + 0.5, base - h, scale(b) - scale(a) - 1, h, PALETTE[0]))
    return out


# ------------------------------------------------------------------ (d) linkage sensitivity
def linkage_plot(linkage: pd.DataFrame) -> str:
    """N with its interval against the linkage threshold (one colour per method), and the number of
    linked entities (the observed n) when the table has ``n_entities``.

    >>> df = pd.DataFrame({"threshold": [0.5, 0.9], "estimate": [900.0, 1000.0], "lower": [850.0, 940.0],
    ...                    "upper": [960.0, 1080.0], "n_entities": [700, 760]})
    >>> linkage_plot(df).count("<circle")  # two estimates and the legend's marker
    3
    """
    frame = linkage.reset_index(drop=True)
    xs, tick_labels = _threshold_positions(frame["threshold"])
    methods = list(dict.fromkeys(frame["method"].astype(str))) if "method" in frame.columns else [""]
    width, height, left, right, top, base = 660, 330, 70, 500, 30, 270
    values = [*frame["estimate"], *frame["lower"], *frame["upper"]]
    values += list(frame["n_entities"]) if "n_entities" in frame.columns else []
    lo, hi = _padded([float(v) for v in values if pd.notna(v)])
    y = _Scale(lo, hi, base, top)
    x = _Scale(min(xs) - 0.5 if tick_labels else min(xs), max(xs) + 0.5 if tick_labels else max(xs), left + 20,
               right - 20)
    if x.hi == x.lo:
        x = _Scale(x.lo - 1, x.hi + 1, x.left, x.right)
    body = _y_axis(y, left, right) + _threshold_axis(x, xs, tick_labels, base)
    legend: list[tuple[str, str, str]] = []
    if "n_entities" in frame.columns:
        body += _entities_line(frame, xs, x, y)
        legend.append(("linked entities (n)", GREY, "square"))
    for k, method in enumerate(methods):
        part = frame.index[frame["method"].astype(str) == method] if method else frame.index
        offset = (k - (len(methods) - 1) / 2) * 6
        colour = PALETTE[k % len(PALETTE)]
        body += _method_series(frame, part, xs, x, y, offset, colour)
        legend.append((method or "estimate of N", colour, "circle"))
    body += _legend(legend, right + 14, top + 6)
    return _svg(width, height, "Linkage sensitivity: N against the linkage threshold", body)


def _threshold_positions(values: pd.Series) -> tuple[list[float], list[str]]:
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return [float(v) for v in numeric], []
    labels = list(dict.fromkeys(values.astype(str)))
    return [float(labels.index(str(v))) for v in values], labels


def _y_axis(y: _Scale, left: float, right: float) -> list[str]:
    ticks = nice_ticks(y.lo, y.hi)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = []
    for t in ticks:
        out.append(_line(left, y(t), right, y(t), "#eeeeee"))
        out.append(_text(left - 6, y(t) + 4, _tick_label(t, step), "end"))
    out.append(_text(14, (y.left + y.right) / 2, "N", "middle", f'fill="{GREY}"'))
    return out


def _threshold_axis(x: _Scale, xs: list[float], labels: list[str], base: float) -> list[str]:
    out = [_line(x.left - 20, base, x.right + 20, base, GREY)]
    if labels:
        for i, lab in enumerate(labels):
            out.append(_text(x(i), base + 16, _short(lab, 14), "middle"))
        title = "linkage replicate"
    else:
        for t in sorted(set(xs)):
            out += [_line(x(t), base, x(t), base + 4, GREY), _text(x(t), base + 16, f"{t:g}", "middle")]
        title = "linkage threshold (match probability)"
    return [*out, _text((x.left + x.right) / 2, base + 34, title, "middle", f'fill="{GREY}"')]


def _entities_line(frame: pd.DataFrame, xs: list[float], x: _Scale, y: _Scale) -> list[str]:
    pts = sorted((xs[i], float(v)) for i, v in enumerate(frame["n_entities"]) if pd.notna(v))
    pts = list(dict.fromkeys(pts))
    path = " ".join(f"{'M' if k == 0 else 'L'}{x(a):.1f},{y(b):.1f}" for k, (a, b) in enumerate(pts))
    out = [f'<path d="{path}" fill="none" stroke="{GREY}" stroke-dasharray="4 3"/>'] if len(pts) > 1 else []
    for a, b in pts:
        out.append(_rect(x(a) - 3.5, y(b) - 3.5, 7, 7, GREY, f"{number(b)} linked entities"))
    return out


def _method_series(frame: pd.DataFrame, part: pd.Index, xs: list[float], x: _Scale, y: _Scale, offset: float,
                   colour: str) -> list[str]:
    pts = sorted((xs[i], i) for i in part)
    out = []
    line = [(x(a) + offset, y(float(frame.at[i, "estimate"]))) for a, i in pts if pd.notna(frame.at[i, "estimate"])]
    if len(line) > 1:
        d = " ".join(f"{'M' if k == 0 else 'L'}{px:.1f},{py:.1f}" for k, (px, py) in enumerate(line))
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.2" opacity="0.6"/>')
    for a, i in pts:
        est, lo, hi = (frame.at[i, c] for c in ("estimate", "lower", "upper"))
        px = x(a) + offset
        if pd.notna(lo) and pd.notna(hi):
            out.append(_line(px, y(float(lo)), px, y(float(hi)), colour, 2))
        if pd.notna(est):
            tip = f"N {number(float(est))} [{number(float(lo))} \u2013 {number(float(hi))}]"
            out.append(f'<circle cx="{px:.1f}" cy="{y(float(est)):.1f}" r="4.5" fill="{colour}">'
                       f"<title>{_esc(tip)}</title></circle>")
    return out


def _legend(items: list[tuple[str, str, str]], x: float, y: float) -> list[str]:
    out = []
    for k, (label, colour, shape) in enumerate(items):
        yy = y + 18 * k
        if shape == "circle":
            out.append(f'<circle cx="{x + 5:.1f}" cy="{yy:.1f}" r="4.5" fill="{colour}"/>')
        else:
            out.append(_rect(x + 1.5, yy - 3.5, 7, 7, colour))
        out.append(_text(x + 16, yy + 4, _short(label, 22)))
    return out
