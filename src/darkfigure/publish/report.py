"""The publication report: one self-contained HTML page and the same page as a PDF (WeasyPrint).

It shows only what a :class:`~darkfigure.publish.release.Release` holds: the headline N with its
interval, the prevalence tables and the capture-history table after suppression and noise, the
methods in plain words, what was suppressed and why, the privacy parameters and what the release
was made from. Styles and plots are inline (the pipeline report's SVG plots), so it opens offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from darkfigure.report import plots
from darkfigure.report.render import INTERVAL_NOTES, METHOD_NOTES, cell

TEMPLATE = "publication.html.j2"
SUPPRESSED = "suppressed"
EXACT_BANNER = "exact counts: for internal circulation only, not for publication"  # as publish.release
PLOT_MARGIN = 48  # px added at the right of a plot, so that its widest text is never cut off
# the privacy parameters' names in words (release.json keeps the keys)
PRIVACY_LABELS = {"mechanism": "noise mechanism", "epsilon": "\u03b5 (privacy loss of this release)",
                  "delta": "\u03b4", "noise_scale": "noise scale per count",
                  "noise_sd_per_cell": "noise standard deviation per count",
                  "noise_within_95": "95% of the noise is within \u00b1", "noised_table": "table the noise is added to",
                  "budget": "\u03b5 budget of the dataset", "delta_budget": "\u03b4 budget of the dataset",
                  "spent_before": "\u03b5 spent before this release", "remaining": "\u03b5 left after this release",
                  "notice": "notice"}
TOTAL = "Total"  # the label of a table's total row (darkfigure.publish.suppression.TOTAL)


def publication_html(release: Any) -> str:
    """The publication of a release as one HTML string.

    >>> publication_html(release)[:15]  # doctest: +SKIP
    '<!DOCTYPE html>'
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template(TEMPLATE).render(**publication_context(release))


def write_pdf(html: str, path: str | Path) -> Path:
    """Print an HTML page to a PDF file with WeasyPrint (A4, the page's print styles); nothing is
    fetched from outside (the page is self-contained and no base URL is given).

    >>> import tempfile
    >>> out = write_pdf("<h1>Hello</h1>", Path(tempfile.mkdtemp()) / "hello.pdf")
    >>> out.read_bytes()[:5]
    b'%PDF-'
    """
    import weasyprint
    from weasyprint.urls import URLFetcher

    target = Path(path)
    weasyprint.HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf(target)
    return target


def publication_context(release: Any) -> dict[str, Any]:
    """Everything the template shows, computed once (plots as inline SVG markup)."""
    suppressed = {(s["table"], str(s["row"]), s["column"]) for s in release.suppressed}
    dp = bool(release.privacy.get("dp"))
    level = float(release.config.level)
    return {
        "title": release.title, "created": release.created, "dataset": release.dataset, "dp": dp,
        "k": release.config.k, "level_pct": f"{level:.0%}",
        "privacy_line": _privacy_line(release.privacy),
        "headline": headline_text(release.headline, dp),
        "source_line": source_line(release.headline, dp),
        "noise_line": _noise_line(release.headline),
        "banner": None if dp else EXACT_BANNER,
        "forest": _forest(release.headline),
        "forest_caption": _forest_caption(dp),
        "others": [], "notes": [n for n in release.notes if n != EXACT_BANNER],
        "prevalence": [_prevalence(name, release.tables[name], category, suppressed, release.headline)
                       for name, category in _prevalence_tables(release)],
        "histories": _histories(release.tables["capture_histories"], suppressed),
        "methods": _methods(release),
        "suppressed": [_reason_line(s) for s in release.suppressed],
        "suppression_rule": _suppression_rule(release.config.k, dp),
        "privacy_text": _privacy_text(release.privacy),
        "privacy": _pairs(_privacy_rows(release), "parameter"),
        "inputs": _inputs(release.inputs),
        "settings": _pairs(_settings(release), "setting"),
        "versions": _pairs(list(release.versions.items()), "package"),
    }


# ------------------------------------------------------------------ the headline
def headline_text(h: Mapping[str, Any], dp: bool) -> Markup:
    """The headline N in plain words.

    >>> str(headline_text({"estimate": 888.1, "lower": 669.2, "upper": 1223.7, "level": 0.95, "kind": "bca",
    ...                    "label": "Stepwise", "n_observed": 275}, dp=False))[:62]
    'Between <strong>669</strong> and <strong>1,224</strong> people'
    """
    n = h.get("n_observed")
    seen = Markup("<strong>{}</strong> people were documented on at least one list{}.").format(
        plots.number(n) if n is not None else "\u2013", " (a count with noise)" if dp else "")
    est = h.get("estimate")
    if est is None or not math.isfinite(float(est)):
        return Markup("No estimate of the total could be made. ") + seen
    if h.get("lower") is None or h.get("upper") is None:
        return Markup("Most likely about <strong>{}</strong> people in total (no interval). ").format(
            plots.number(est)) + seen
    kind = INTERVAL_NOTES.get(str(h.get("kind")), f"{h.get('kind')} interval")
    if h.get("kind") == "with noise":
        kind = "interval, including the noise added for privacy"
    lead = Markup("Between <strong>{}</strong> and <strong>{}</strong> people, most likely about <strong>{}"
                  "</strong> ({:.0%} {}; method: {}). ").format(
        plots.number(h["lower"]), plots.number(h["upper"]), plots.number(est), float(h.get("level") or 0.95), kind,
        h.get("label") or h.get("method"))
    if n is None:
        return lead
    dark = Markup(" That leaves an estimated <strong>{}</strong> people ({} to {}) on none of the lists: the dark "
                  "figure.").format(plots.number(est - n), plots.number(max(h["lower"] - n, 0)),
                                    plots.number(h["upper"] - n))
    return lead + seen + dark


def source_line(h: Mapping[str, Any], dp: bool) -> str:
    """Which estimate of the run's report the published N corresponds to, and why it differs from it.

    >>> source_line({"run_label": "Stepwise", "run_method": "stepwise", "estimate": 900.0}, dp=True)[:72]
    "N is the run report's Stepwise estimate (method stepwise, same settings)"
    """
    parts = [str(h["note"]).rstrip(".") + "."] if h.get("note") else []
    if h.get("estimate") is None or not h.get("run_method"):
        return " ".join(parts)
    label = h.get("run_label") or h["run_method"]
    if not dp:
        return " ".join([*parts, f"N is the run report's {label} estimate, exactly as the run's report shows it."])
    used = h.get("method") or h["run_method"]
    same = (f"N is the run report's {label} estimate (method {used}, same settings), made again on the table with "
            "noise" if used == h["run_method"] else f"N is estimated with {used} on the table with noise")
    return " ".join([*parts, same + ", so it differs from the run report's figure by the noise (and from one "
                     "release to the next). The run's own figure is not published: it comes from the exact counts "
                     "and would undo the privacy protection."])


def _noise_line(h: Mapping[str, Any]) -> str:
    if h.get("noise_sd") is None:
        return ""
    sampling = ""
    if h.get("sampling_lower") is not None:
        sampling = (f" Without the noise's share, the {float(h.get('level') or 0.95):.0%} interval from the data "
                    f"alone would be {plots.number(h['sampling_lower'])} to {plots.number(h['sampling_upper'])}.")
    draws = h.get("noise_draws", "several")
    return (f"The noise added for privacy moves N by about \u00b1{plots.number(h['noise_sd'])} (standard deviation "
            f"of N over {draws} fresh noise draws); the interval above includes it.{sampling}")


def _padded_svg(svg: str) -> Markup:
    """The plot's SVG with PLOT_MARGIN more room at the right (width and viewBox), so no text is clipped."""
    head, sep, rest = svg.partition('viewBox="0 0 ')
    if not sep:
        return Markup(svg)
    box, _, rest = rest.partition('"')
    width, height = (float(v) for v in box.split())
    rest = rest.replace(f'width="{width:.0f}"', f'width="{width + PLOT_MARGIN:.0f}"', 1)
    return Markup(f'{head}viewBox="0 0 {width + PLOT_MARGIN:.0f} {height:.0f}"{rest}')


def _forest(h: Mapping[str, Any]) -> Markup | None:
    rows = []
    for r in h.get("rows", []) or []:
        ivs = tuple((str(iv.get("kind", "")), float(iv.get("level") or math.nan), float(iv["lower"]),
                     float(iv["upper"])) for iv in r.get("intervals", []) if iv.get("lower") is not None)
        est = r.get("estimate")
        rows.append(plots.ForestRow(str(r.get("label")), float(est) if est is not None else math.nan, ivs,
                                    float(r["n_observed"]) if r.get("n_observed") is not None else None,
                                    str(r.get("model") or "")))
    return _padded_svg(plots.forest_plot(rows)) if rows else None


def _forest_caption(dp: bool) -> str:
    if dp:
        return ("N estimated on the noisy table: the bold line is the interval with the privacy noise's share, the "
                "thin grey line the interval from the data alone. The dashed line marks the people documented.")
    return ("Each square is a method's estimate of the total N; the bold line is its headline interval, thin grey "
            "lines are other intervals it computed. The dashed line marks the people documented.")


# ------------------------------------------------------------------ tables
def _prevalence_tables(release: Any) -> list[tuple[str, str]]:
    names = [n for n in release.tables if n.startswith("prevalence_")]
    return [(n, c) for n, c in zip(names, release.categories, strict=False)]


def _prevalence(name: str, frame: pd.DataFrame, category: str, suppressed: set[tuple[str, str, str]],
                headline: Mapping[str, Any]) -> dict:
    headers = [(category, ""), ("documented", "num"), ("documented share", "num"), ("estimated number", "num"),
               ("estimated share", "num"), ("note", "")]
    rows, forest = [], []
    for r in frame.to_dict(orient="records"):
        key = str(r[category])
        hidden = (name, key, "documented") in suppressed
        if hidden:
            rows.append([(key, "")] + [(SUPPRESSED, "suppressed")] * 4 + [(str(r.get("note") or ""), "long")])
            continue
        rows.append([(key, ""), (cell(_whole(r["documented"])), "num"),
                     (_span(r["share"], r["lower"], r["upper"], percent=True), "num"),
                     (_span(r.get("estimate"), r.get("estimate_lower"), r.get("estimate_upper")), "num"),
                     (_span(r.get("estimated_share"), r.get("estimated_share_lower"), r.get("estimated_share_upper"),
                            percent=True), "num"), (str(r.get("note") or ""), "long")])
        if key != TOTAL and _finite(r.get("estimate")):
            ivs = (("", math.nan, float(r["estimate_lower"]), float(r["estimate_upper"])),) \
                if _finite(r.get("estimate_lower")) and _finite(r.get("estimate_upper")) else ()
            forest.append(plots.ForestRow(key, float(r["estimate"]), ivs, float(r["documented"])))
    return {"category": category, "anchor": name.replace("_", "-"), "table": {"headers": headers, "rows": rows},
            "plot": _padded_svg(plots.forest_plot(forest, "Estimated number")) if forest else None,
            "total_line": _total_line(frame, category, headline)}


def _total_line(frame: pd.DataFrame, category: str, headline: Mapping[str, Any]) -> str:
    """How the table's estimated total relates to the headline N (they are different estimates)."""
    total = frame[frame[category] == TOTAL]
    est = total["estimate"].iloc[0] if len(total) else None
    n = headline.get("estimate")
    n_text = f"the headline N ({plots.number(n)})" if _finite(n) else "the headline N"
    if not _finite(est):
        return (f"No estimated total or estimated shares are given here: at least one {category} could not be "
                "estimated (see the notes), and a total without its dark figure would be far too low. "
                f"{n_text[:1].upper()}{n_text[1:]} is estimated from everyone at once and is not affected.")
    return (f"The estimated total here ({plots.number(est)}) is the sum of separate estimates, one per {category}; "
            f"{n_text} is estimated from everyone at once{_method_words(headline)}. Both estimate the same number in "
            "different ways and need not agree; their difference is part of the uncertainty.")


def _method_words(h: Mapping[str, Any]) -> str:
    return f" with {h['method']}" if h.get("method") else ""


def _histories(frame: pd.DataFrame, suppressed: set[tuple[str, str, str]]) -> dict[str, Any]:
    lists = [c for c in frame.columns if c not in ("pattern", "count")]
    headers = [(c, "") for c in lists] + [("people", "num")]
    rows = []
    for r in frame.to_dict(orient="records"):
        marks = [("\u2713" if str(r[c]) == "1" else "", "mark") for c in lists]
        if r["pattern"] == TOTAL:
            marks = [("total", "")] + [("", "")] * (len(lists) - 1)
        hidden = ("capture_histories", str(r["pattern"]), "count") in suppressed
        rows.append(marks + [(SUPPRESSED, "suppressed") if hidden else (cell(_whole(r["count"])), "num")])
    return {"headers": headers, "rows": rows}


def _span(value: Any, lower: Any, upper: Any, percent: bool = False) -> str:
    if not _finite(value):
        return ""
    shown = (lambda v: f"{100 * float(v):.1f}%") if percent else (lambda v: plots.number(float(v)))
    if not (_finite(lower) and _finite(upper)):
        return shown(value)
    return f"{shown(value)} ({shown(lower)}\u2013{shown(upper)})"


def _finite(value: Any) -> bool:
    try:
        return value is not None and value is not pd.NA and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _whole(value: Any) -> Any:
    return int(value) if _finite(value) else None


def _pairs(items: Sequence[tuple[str, Any]], key: str) -> dict[str, Any]:
    rows = [[(str(k), ""), (_plain(v), "long" if len(_plain(v)) > 40 else "")] for k, v in items]
    return {"headers": [(key, ""), ("value", "")], "rows": rows}


def _plain(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return cell(value)


def _label(key: str) -> str:
    return key.replace("_", " ")


def _inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    rows = [[("run folder", ""), (name, ""), (digest, "")] for name, digest in inputs["run_folder_files"].items()]
    rows += [[("input list", ""), (str(f["name"]), ""), (str(f["sha256"]), "")] for f in inputs["lists"]]
    return {"headers": [("kind", ""), ("file", ""), ("SHA-256", "")], "rows": rows}


def _settings(release: Any) -> list[tuple[str, Any]]:
    c = release.config
    method = release.method
    return [("smallest published count (k)", c.k), ("categories", ", ".join(release.categories) or "none"),
            ("method for N", release.headline.get("method") or method["method"]),
            ("method for the categories", method["method"] if release.categories else "none"),
            ("estimation settings", {k: v for k, v in method["settings"].items() if k != "seed" or not c.dp}),
            ("interval level", c.level), ("run created", release.inputs.get("run_created"))]


# ------------------------------------------------------------------ words
def _methods(release: Any) -> list[tuple[str, str]]:
    strata_method = release.method["method"]
    method = str(release.headline.get("method") or strata_method)
    dp = bool(release.privacy.get("dp"))
    out = [("Multiple systems estimation",
            "Several organisations each kept a list of the people they met. Records of the same person were linked "
            "across the lists, and the overlaps between the lists tell how many people no list reached: the more "
            "the lists overlap, the fewer are missing. The total N is the documented people plus this dark figure."),
           (f"The estimate of N ({method})", METHOD_NOTES.get(method, "See the darkfigure documentation."))]
    if release.categories and strata_method != method:
        out.append((f"The estimates per category ({strata_method})",
                    METHOD_NOTES.get(strata_method, "See the darkfigure documentation.")))
    if release.categories:
        out.append(("Prevalence by category",
                    "Each category is estimated on its own, from the capture histories of the people in it, and "
                    "the estimates are added up; each share's interval comes from the bootstrap replicates or "
                    "posterior draws, so the uncertainty of N is carried into it. The documented share has a "
                    "Wilson score interval. A category that cannot be estimated (fewer than three lists saw anyone "
                    "in it, or its model cannot be fitted) gets no estimated number, and then no category gets an "
                    "estimated share: the total they would be shares of would lack its dark figure."))
    out.append(("Protection", "Small counts are suppressed (see what was suppressed and why)" + (
        "; every count carries random noise for differential privacy (see the privacy parameters)." if dp else
        ". There is no differential privacy: the counts are exact.")))
    out.append(("Assumptions", "The estimates assume that the population did not change while the lists were made, "
                "that records were linked correctly, and that everyone could in principle have been on a list. "
                "People no list could reach at all are outside every estimate."))
    return out


def _suppression_rule(k: int, dp: bool) -> str:
    basis = "the noisy counts (so the choice of what to hide spends no privacy)" if dp else "the counts"
    return (f"A count below {k} is suppressed (primary suppression), judged on {basis}. When a table also shows "
            "its total, one hidden cell could be found by subtracting the others from the total, so further cells "
            "are hidden as well (complementary suppression) until no hidden cell can be worked out that way. A row "
            "whose documented count is hidden shows none of its figures.")


def _reason_line(s: Mapping[str, Any]) -> str:
    return f"{_label(str(s['table'])).capitalize()}, {s.get('label', s['row'])} ({s['column']}): {s['reason']}"


def _privacy_rows(release: Any) -> list[tuple[str, Any]]:
    p = release.privacy
    rows = [("differential privacy", "on" if p.get("dp") else "off")]
    rows += [(PRIVACY_LABELS.get(k, _label(k)), _scale(v) if isinstance(v, float) else v)
             for k, v in p.items() if k != "dp"]
    return [*rows, ("smallest published count (k)", release.config.k)]


def _privacy_line(p: Mapping[str, Any]) -> str:
    if not p.get("dp"):
        return "no differential privacy: " + EXACT_BANNER
    delta = f", \u03b4 = {p['delta']:g}" if p.get("delta") else ""
    return f"differential privacy \u03b5 = {p['epsilon']:g}{delta}"


def _privacy_text(p: Mapping[str, Any]) -> str:
    if not p.get("dp"):
        return ("Differential privacy was switched off for this release: the counts are exact, protected only by "
                "small-cell suppression. Exact counts published in several places (or an estimate of N from them) "
                "can still reveal a hidden cell to a determined reader.")
    kind, delta = ("\u03b5", "") if not p.get("delta") else ("(\u03b5, \u03b4)", f" and \u03b4 = {p['delta']:g}")
    chance = " (except with probability \u03b4)" if p.get("delta") else ""
    return (f"Every count comes from one table (people by {p.get('noised_table', 'capture pattern')}) released once "
            f"with {p.get('mechanism')} noise of scale {_scale(p.get('noise_scale'))} per cell, which is "
            f"{kind}-differentially private with \u03b5 = {p['epsilon']:g}{delta}: adding or removing any one person "
            f"changes the chance of any published result by a factor of at most e^\u03b5{chance}. Everything else "
            "here (totals, shares, N and their intervals) is computed from the noisy table and spends nothing more. "
            "Noisy counts below 0 are shown as 0, which pushes small counts up a little. "
            f"This release spent \u03b5 = {p['epsilon']:g} of the dataset's budget of {_scale(p.get('budget'))}; "
            f"{_scale(p.get('remaining'))} remains.")


def _scale(value: Any) -> str:
    return f"{float(value):.3g}" if _finite(value) else "\u2013"
