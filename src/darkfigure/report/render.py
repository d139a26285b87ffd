"""Render a :class:`ReportData` as one self-contained HTML file.

The page needs nothing from outside: styles are inline, plots are inline SVG, there are no scripts,
fonts or links to other sites, so it opens offline and prints as it shows. Every string from the
user's data is escaped (Jinja2 autoescape; the plots escape their own text). The file is written to
a temporary name in the target folder and moved into place, so a failure never leaves half a report.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from darkfigure.errors import InputError
from darkfigure.estimation.results import Estimate
from darkfigure.report import plots
from darkfigure.report.data import ReportData

TEMPLATE = "report.html.j2"
MODEL_TABLE_ROWS = 10
LONG_CELL = 40  # characters; longer text cells may break anywhere

METHOD_NOTES = {
    "stepwise": "Log-linear model built by adding, one at a time, the interactions between pairs of lists that "
    "the data clearly support (Chan, Silverman & Vincent 2021). The interval is a bootstrap that repeats the "
    "whole selection, so it carries the uncertainty of choosing the model.",
    "bic": "The log-linear model with the lowest BIC among all hierarchical models considered. BIC prefers "
    "simple models; the interval is conditional on the chosen model unless the search was bootstrapped.",
    "aic": "The log-linear model with the lowest AIC among all hierarchical models considered. AIC admits more "
    "interactions than BIC; the interval is conditional on the chosen model unless the search was bootstrapped.",
    "fixed": "One log-linear model chosen by the analyst. Its interval assumes that model is right; it does not "
    "include the uncertainty of choosing it.",
    "closed": "The classic closed-population models (M0, Mt, Mh, Mth, Mb, Mbh as in the R package Rcapture); the "
    "one with the best criterion is reported. Mh and Mth allow some people to be easier to find than others.",
    "homeoffice": "The method behind the UK Home Office's 2014 estimate (Silverman): pairwise interactions are "
    "added while they improve AIC and are significant; the interval is the profile likelihood interval.",
    "lcmcr": "Bayesian latent-class model (Manrique-Vallier 2016): people fall into unseen groups, each with its "
    "own chances of being on each list. It allows for people who are hard to find, and for lists that "
    "overlap because they reach the same groups.",
    "dga": "Bayesian model averaging over decomposable graphical models (Madigan & York 1997, R package dga): "
    "every pattern of dependence between the lists is weighed by how well it fits.",
    "replicates": "Several equally plausible versions of the data (such as linkage thresholds) estimated one by "
    "one and combined; the interval includes the disagreement between them.",
    "strata": "Estimates made separately in each stratum and added up.",
}
GENERAL_NOTE = (
    "Every method here assumes that the population did not change while the lists were made (a closed "
    "population), that records of the same person were linked correctly across and within lists, and that "
    "everyone could in principle have been on a list. They differ in how they allow for lists that depend on "
    "each other (referrals, shared sources) and for people who are harder to find than others. People no list "
    "could reach at all are outside every estimate."
)
INTERVAL_NOTES = {
    "bca": "bias-corrected and accelerated bootstrap interval",
    "normal-log": "normal approximation on the log of the dark figure",
    "profile": "profile likelihood interval",
    "posterior": "central posterior (credible) interval",
    "bootstrap-percentile": "percentile interval of the summed replicates",
    "multiple-imputation": "interval combining the replicates (Rubin's rules on the log dark figure)",
}


def render_report(data: ReportData, path: str | Path) -> Path:
    """Write the report of ``data`` to ``path`` (one self-contained HTML file) and return the path.

    Nothing is written unless the whole page is ready; an earlier file at ``path`` stays until the
    new one replaces it.

    >>> import tempfile
    >>> from darkfigure import CaptureHistories, FixedModel
    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
    >>> data = ReportData("Demo", h, [("Independence", FixedModel("[1,2]").fit(h))])
    >>> out = render_report(data, Path(tempfile.mkdtemp()) / "report.html")
    >>> "156" in out.read_text(encoding="utf-8")
    True
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"the folder for the report does not exist; create it first: {target.parent}")
    return _write_atomically(target, report_html(data))


def report_html(data: ReportData) -> str:
    """The report as one HTML string.

    >>> from darkfigure import CaptureHistories, FixedModel
    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
    >>> report_html(ReportData("Demo", h, [("Fixed", FixedModel("[1,2]").fit(h))])).startswith("<!DOCTYPE html>")
    True
    """
    return _environment().get_template(TEMPLATE).render(**report_context(data))


def _environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(Path(__file__).parent / "templates")
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = plots.number
    return env


# ------------------------------------------------------------------ writing
def _write_atomically(target: Path, text: str) -> Path:
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.partial"  # open() keeps the umask's mode
    try:
        with temp.open("x", encoding="utf-8", newline="\n") as handle:
            _write_chunks(handle, text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def _write_chunks(handle: IO[str], text: str, size: int = 1 << 16) -> None:
    for start in range(0, len(text), size):
        handle.write(text[start : start + size])


# ------------------------------------------------------------------ the page's content
def report_context(data: ReportData) -> dict[str, Any]:
    """Everything the template shows, computed once (plots as inline SVG markup).

    >>> from darkfigure import CaptureHistories, FixedModel
    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
    >>> report_context(ReportData("Demo", h, [("Fixed", FixedModel("[1,2]").fit(h))]))["n_observed"]
    56
    """
    h, estimates = data.histories, data.estimates
    return {
        "title": data.title,
        "created": data.created,
        "n_observed": h.n_observed,
        "n_lists": h.n_lists,
        "headline": headline(estimates, h.n_observed, h.n_lists, data.headline_note),
        "others": [_other_line(label, e) for label, e in estimates[1:]],
        "lists_table": _lists_table(data),
        "overlap_table": frame_table(h.overlap().reset_index(names="")),
        "upset": Markup(plots.upset_plot(h)),
        "n_patterns": int((h.counts > 0).sum()),
        "forest": Markup(plots.forest_plot(plots.estimate_rows(estimates))) if estimates else None,
        "estimates_table": _estimates_table(estimates),
        "histograms": _histograms(estimates),
        "linkage": _linkage(data),
        "model_tables": _model_tables(estimates),
        "list_numbers": [(k + 1, name) for k, name in enumerate(h.lists)],
        "strata": _strata(data.strata),
        "warnings": _warnings(data),
        "method_notes": _method_notes(estimates),
        "general_note": GENERAL_NOTE,
        "appendix": _appendix(data),
    }


def headline(estimates: Sequence[tuple[str, Estimate]], n_observed: int, n_lists: int, note: str = "") -> Markup:
    """The summary in plain words, from the first estimate; its warnings (chains that disagree, too
    few effective draws) follow the number at once, and ``note`` says why this method leads.

    >>> from darkfigure.estimation import Estimate, Interval
    >>> e = Estimate(method="fixed", lists=("A", "B"), n_observed=56, estimate=156.2, model="[1,2]",
    ...              intervals=(Interval(0.95, 120.0, 230.0, "profile"),))
    >>> str(headline([("Fixed", e)], 56, 2))[:60]
    'Between <strong>120</strong> and <strong>230</strong> people'
    """
    seen = Markup("<strong>{}</strong> people were documented on at least one of the {} lists.").format(
        plots.number(n_observed), n_lists)
    if not estimates or not math.isfinite(estimates[0][1].estimate):
        return Markup("No estimate of the total could be made. ") + seen
    label, e = estimates[0]
    why = Markup('<div class="why">{}</div>').format(note) if note else Markup("")
    iv = e.interval
    if iv is None:
        return Markup("Most likely about <strong>{}</strong> people in total (method: {}; no interval was "
                      "computed). ").format(plots.number(e.estimate), label) + _caution(e) + seen + why
    lead = Markup("Between <strong>{}</strong> and <strong>{}</strong> people, most likely about "
                  "<strong>{}</strong> ({:.0%} {}, method: {}). ").format(
        plots.number(iv.lower), plots.number(iv.upper), plots.number(e.estimate), iv.level,
        INTERVAL_NOTES.get(iv.kind, f"{iv.kind} interval"), label)
    dark = Markup(" That leaves an estimated <strong>{}</strong> people ({} to {}) on none of the lists: the "
                  "dark figure.").format(plots.number(e.estimate - n_observed), plots.number(iv.lower - n_observed),
                                         plots.number(iv.upper - n_observed))
    return lead + _caution(e) + seen + dark + why


def _caution(e: Estimate) -> Markup:
    """The estimate's own warnings, to stand beside its number in the summary."""
    notes = list(e.warnings)
    if e.estimate < e.n_observed:
        notes.insert(0, "the estimate is below the number of people documented, which is impossible")
    if not notes:
        return Markup("")
    items = Markup("").join(Markup("<li>{}</li>").format(w) for w in notes)
    return Markup('<div class="caution" role="note"><b>Caution, this estimate may be wrong:</b><ul>{}</ul>'
                  "</div>").format(items)


def _other_line(label: str, e: Estimate) -> str:
    iv = e.interval
    span = f" ({plots.number(iv.lower)} to {plots.number(iv.upper)})" if iv else ""
    count = len(e.warnings)
    caution = f" – {count} warning{'s' if count > 1 else ''}, see Warnings" if count else ""
    return f"{label}: about {plots.number(e.estimate)}{span}{caution}"


def _lists_table(data: ReportData) -> dict[str, Any]:
    h = data.histories
    sizes = h.list_sizes()
    only = {name: h.count([int(j == k) for j in range(h.n_lists)]) for k, name in enumerate(h.lists)}
    records = {f.name: f.n_records for f in data.inputs}
    rows = [[name, sizes[name], sizes[name] / h.n_observed, only[name], records.get(name, "")] for name in h.lists]
    headers = ["list", "entities", "share of all documented", "on this list only", "records in file"]
    if not records:
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    return _table(headers, [[*r[:2], f"{r[2]:.0%}", *r[3:]] for r in rows], numeric={2})


def _estimates_table(estimates: Sequence[tuple[str, Estimate]]) -> dict[str, Any]:
    headers = ["label", "method", "model", "N", "dark figure", "interval", "kind", "level", "se"]
    rows = []
    for label, e in estimates:
        ivs = e.intervals or (None,)
        for k, iv in enumerate(ivs):
            first = [label, e.method, e.model, plots.number(e.estimate), plots.number(e.dark_figure)] if k == 0 \
                else ["", "", "", "", ""]
            span = f"{plots.number(iv.lower)} \u2013 {plots.number(iv.upper)}" if iv else "none"
            se = plots.number(e.se, 1) if (k == 0 and e.se is not None) else ""
            rows.append([*first, span, iv.kind if iv else "", f"{iv.level:.0%}" if iv else "", se])
    return _table(headers, rows, numeric={3, 4, 5, 8})


def _histograms(estimates: Sequence[tuple[str, Estimate]]) -> list[Markup]:
    out = []
    for label, e in estimates:
        svg = plots.replicates_histogram(label, e)
        if svg is not None:
            out.append(Markup(svg))
    return out


def _linkage(data: ReportData) -> dict[str, Any] | None:
    if data.linkage is None and not data.linkage_quality:
        return None
    frame = data.linkage
    return {
        "plot": Markup(plots.linkage_plot(frame)) if frame is not None and len(frame) else None,
        "table": frame_table(frame) if frame is not None else None,
        "quality": _mapping_table(data.linkage_quality or {}, "measure") if data.linkage_quality else None,
    }


def _model_tables(estimates: Sequence[tuple[str, Estimate]]) -> list[dict[str, Any]]:
    out = []
    for label, e in estimates:
        if e.table is None or not len(e.table):
            continue
        out.append({"label": label, "method": e.method, "rows": len(e.table),
                    "table": frame_table(e.table.head(MODEL_TABLE_ROWS))})
    return out


def _strata(strata: pd.DataFrame | None) -> dict[str, Any] | None:
    if strata is None or not len(strata):
        return None
    rows = plots.strata_rows(strata)
    return {"plot": Markup(plots.forest_plot(rows)),
            "table": frame_table(strata, labels=plots.stratum_key_columns(strata))}


def _warnings(data: ReportData) -> list[tuple[str, str]]:
    out = [("run", w) for w in data.warnings]
    for label, e in data.estimates:
        if e.estimate < e.n_observed:  # NaN compares False: "not estimated" shows in the plot instead
            out.append((label, f"the estimate {plots.number(e.estimate)} is below the {e.n_observed:,} people "
                               "documented, which is impossible; do not use it"))
        out += [(label, w) for w in e.warnings]
    return out


def _method_notes(estimates: Sequence[tuple[str, Estimate]]) -> dict[str, Any]:
    methods: dict[str, list[str]] = {}
    for label, e in estimates:
        methods.setdefault(e.method, []).append(label)
    kinds = dict.fromkeys(iv.kind for _, e in estimates for iv in e.intervals)
    return {
        "methods": [(m, ", ".join(labels), METHOD_NOTES.get(m, "See the darkfigure documentation for this method."))
                    for m, labels in methods.items()],
        "intervals": [(k, INTERVAL_NOTES.get(k, k)) for k in kinds],
    }


def _appendix(data: ReportData) -> dict[str, Any]:
    inputs = _table(["list", "file", "records", "SHA-256"],
                    [[f.name, f.path, f.n_records, f.sha256] for f in data.inputs], numeric={2})
    return {
        "inputs": inputs if data.inputs else None,
        "versions": _mapping_table(data.versions, "package"),
        "seeds": _mapping_table(data.seeds, "seed") if data.seeds else None,
        "settings": _mapping_table(data.settings, "setting") if data.settings else None,
    }


# ------------------------------------------------------------------ tables
def frame_table(frame: pd.DataFrame, labels: Sequence[str] = ()) -> dict[str, Any]:
    """A DataFrame as headers and rows of ``(text, css class)`` cells for the template; the
    ``labels`` columns (such as a stratum's year) are shown as they are, not as numbers.

    >>> frame_table(pd.DataFrame({"year": [2020], "N": [12318.47]}), labels=["year"])["rows"]
    [[('2020', ''), ('12,318.5', 'num')]]
    """
    headers = [str(c) for c in frame.columns]
    as_label = [c in set(labels) for c in frame.columns]
    rows = ([str(v) if lab else v for v, lab in zip(row, as_label, strict=True)]
            for row in frame.itertuples(index=False, name=None))
    return _table(headers, rows)


def _mapping_table(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    return _table([key, "value"], [[str(k), _plain(v)] for k, v in mapping.items()])


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int] | None = None) -> dict[str, Any]:
    cells = []
    for row in rows:
        cells.append([(cell(v), "num" if _is_number(v) or (numeric is not None and j in numeric) else
                       "long" if len(cell(v)) > LONG_CELL else "") for j, v in enumerate(row)])
    numeric_columns = [all(c[j][1] == "num" for c in cells if c[j][0]) and bool(cells) for j in range(len(headers))]
    return {"headers": list(zip(headers, ["num" if n else "" for n in numeric_columns], strict=True)), "rows": cells}


def cell(value: Any) -> str:
    """A table cell as text: thousands separated, four significant digits below 10.

    >>> cell(12318.47), cell(0.0213), cell(np.int64(4000)), cell(None), cell(True)
    ('12,318.5', '0.0213', '4,000', '', 'yes')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isinf(value):
            return "no limit" if value > 0 else "\u2212\u221e"
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.4g}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _plain(value: Any) -> str:
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return cell(value)
