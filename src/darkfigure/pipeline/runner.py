"""One run: lists -> linkage -> capture histories -> estimates -> a report folder.

:func:`analyse` does the work and returns a :class:`RunResult`; :func:`run` also writes the report
folder (``report.html``, ``estimates.json``, ``links.csv``, ``histories.csv``, ``entities.csv``)
all or nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from darkfigure._atomic import open_private
from darkfigure._timing import StageClock
from darkfigure.errors import InputError
from darkfigure.estimation import Estimate, StrataEstimate
from darkfigure.estimation.results import json_ready
from darkfigure.histories import CaptureHistories
from darkfigure.linkage import LinkageResult
from darkfigure.pipeline import stages
from darkfigure.pipeline.config import RunConfig, check_against_mapping
from darkfigure.pipeline.output import staged
from darkfigure.report import InputFile, ReportData, environment_versions, render_report

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything a run produced. ``estimates`` are ``(label, Estimate)`` pairs, side by side: every
    method at the main linkage threshold, then each sensitivity method combined over thresholds.
    ``sensitivity`` has one row per threshold and method (threshold, n_entities, method, estimate,
    lower, upper); ``folder`` is where the report folder was written (None before writing). The first
    estimate is the headline, ``headline_reason`` says why (see :func:`stages.choose_headline`)."""

    config: RunConfig
    inputs: tuple[InputFile, ...]
    linkage: LinkageResult
    histories: Mapping[float, CaptureHistories]
    estimates: tuple[tuple[str, Estimate], ...]
    sensitivity: pd.DataFrame
    entities: pd.DataFrame
    strata: StrataEstimate | None = None
    warnings: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    extra_settings: Mapping[str, Any] = field(default_factory=dict)
    linkage_quality: Mapping[str, Any] | None = None
    folder: Path | None = None
    headline_reason: str = ""

    @property
    def main_histories(self) -> CaptureHistories:
        """Capture histories at the main linkage threshold."""
        return self.histories[self.config.threshold]

    def estimate_of(self, label: str) -> Estimate:
        """The estimate with this label (e.g. ``"Stepwise"`` or ``"LCMCR, thresholds combined"``)."""
        for name, e in self.estimates:
            if name == label:
                return e
        raise KeyError(f"no estimate labelled {label!r}; have {[name for name, _ in self.estimates]}")

    def summary(self) -> str:
        """A few lines for the command line: linkage, each estimate, the linkage spread, the folder."""
        lines = [self.linkage.summary()]
        if self.estimates:
            lines.append(f"Headline: {self.estimates[0][0]} ({self.headline_reason})")
        for label, e in self.estimates:
            iv = e.interval
            span = f" ({iv.level:.0%} {iv.kind} interval {iv.lower:,.0f} to {iv.upper:,.0f})" if iv else ""
            caution = " [chains disagree: see the warnings]" if stages.chains_disagree(e) else ""
            lines.append(f"{label}: N about {e.estimate:,.0f}{span}{caution}")
        by_t = self.sensitivity[self.sensitivity["threshold"] != "combined"]
        for method, rows in by_t.groupby("method", sort=False):
            lines.append(f"{method} across linkage thresholds {', '.join(f'{t:g}' for t in rows['threshold'])}: "
                         f"N from {rows['estimate'].min():,.0f} to {rows['estimate'].max():,.0f}")
        if self.strata is not None:
            lines.append(f"Strata ({', '.join(self.strata.columns)}): {len(self.strata.strata)} estimated with "
                         f"{self.config.stratum_method}, total about {self.strata.total.estimate:,.0f}")
        lines += [f"Warning: {w}" for w in self.warnings]
        if self.folder is not None:
            lines.append(f"Wrote report.html, estimates.json, links.csv, histories.csv and entities.csv to "
                         f"{self.folder}.")
        return "\n".join(lines)


def analyse(config: RunConfig, **details: Any) -> RunResult:
    """Read, link, estimate: a :class:`RunResult`, nothing written. ``details`` go into the result
    (``extra_settings``, ``linkage_quality``)."""
    clock = StageClock()
    inputs = stages.read_inputs(config)
    check_against_mapping(config, inputs.mapping, tuple(inputs.lists))  # before linkage, the long work
    clock.lap("read")
    linkage = stages.link_records(config, inputs)
    by_threshold = stages.histories_by_threshold(linkage)
    clock.lap("link")
    main, warnings = stages.estimate_methods(by_threshold[config.threshold], config, config.methods)
    clock.lap("estimate")
    sensitivity, combined, notes = stages.linkage_sensitivity(by_threshold, config, main)
    clock.lap("linkage sensitivity")
    entities, strata_notes = stages.entity_table(linkage, inputs, config.strata)
    strata = stages.estimate_by_strata(entities, config) if config.strata else None
    clock.lap("strata")
    headline, reason = stages.choose_headline(main) if main else (None, "")
    estimates = [(stages.LABELS[m], e) for m, e in sorted(main.items(), key=lambda item: item[0] != headline)]
    estimates += [(f"{stages.LABELS[m]}, thresholds combined", e) for m, e in combined.items()]
    if not estimates:
        warnings.append("no method could estimate N from these lists; see the warnings above")
    return RunResult(config, inputs.files, linkage, by_threshold, tuple(estimates), sensitivity, entities, strata,
                     (*linkage.warnings, *warnings, *notes, *strata_notes), clock.laps, headline_reason=reason,
                     **details)


def run(config: RunConfig, force: bool = False) -> RunResult:
    """Analyse and write the report folder ``config.output`` all or nothing; refuses a non-empty
    folder unless ``force`` (and then only one holding an earlier run).

    >>> import tempfile
    >>> from darkfigure.simulate import load_scenario, simulate_coalition
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = simulate_coalition(load_scenario("generic").with_n(300), seed=2).write(folder / "data")
    >>> config = RunConfig("Demo", folder / "data" / "mapping.toml", folder / "report", seed=1,
    ...                    methods=("stepwise",), nboot=50)
    >>> result = run(config)
    >>> sorted(p.name for p in result.folder.iterdir())
    ['entities.csv', 'estimates.json', 'histories.csv', 'links.csv', 'report.html']
    """
    if config.output is None:
        raise InputError("no output folder: set output = \"...\" in the config or give --out", source=config.source)
    with staged(config.output, force) as staging:
        result = analyse(config)
        write_run(result, staging)
    return replace(result, folder=Path(config.output))


def write_run(result: RunResult, folder: Path) -> None:
    """Write the report folder's files into ``folder`` (an empty, temporary folder); the record-level
    files (``links.csv``, ``entities.csv``) only their owner may read (mode 0600)."""
    for name, frame in (("links.csv", result.linkage.to_frame()), ("entities.csv", result.entities)):
        with open_private(folder / name) as handle:  # record-level: the owner's eyes only
            frame.to_csv(handle, index=False, lineterminator="\n")
    result.main_histories.to_frame(include_zero=False).to_csv(folder / "histories.csv", index=False,
                                                              lineterminator="\n")
    data = report_data(result)
    (folder / "estimates.json").write_text(json.dumps(json_ready(estimates_json(result, data)), indent=2,
                                                      ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    render_report(data, folder / "report.html")


def report_data(result: RunResult) -> ReportData:
    """What the report shows, from a run."""
    config = result.config
    strata = result.strata.to_frame() if result.strata is not None else None
    return ReportData(
        title=config.title,
        histories=result.main_histories,
        estimates=result.estimates,
        inputs=result.inputs,
        strata=strata,
        linkage=result.sensitivity,
        linkage_quality=result.linkage_quality,
        settings={**config.describe(), **result.extra_settings},
        seeds={"run": config.seed, "linkage (u sampling)": config.seed, "estimation (bootstrap, MCMC)": config.seed,
               "strata": "each stratum's own, from the run seed and the stratum's key" if config.strata else "none"},
        versions=environment_versions(),
        warnings=result.warnings,
        headline_note=_headline_note(result),
    )


def _headline_note(result: RunResult) -> str:
    """Why the headline is not the first method (empty when it is, for the plain reason)."""
    plain = result.headline_reason in ("", "the first method in estimation.methods")
    return "" if plain else result.headline_reason[0].upper() + result.headline_reason[1:] + "."


def estimates_json(result: RunResult, data: ReportData) -> dict[str, Any]:
    """The run as one JSON-ready dictionary (``estimates.json``)."""
    config, linkage = result.config, result.linkage
    return {
        "title": config.title,
        "created": data.created,
        "config": config.source,
        "seed": config.seed,
        "inputs": [f._asdict() for f in result.inputs],
        "linkage": {"threshold": config.threshold, "records": len(linkage.records),
                    "entities": {f"{t:g}": linkage.n_entities(t) for t in linkage.thresholds},
                    "blocking_rules": list(linkage.blocking_rules), "quality": result.linkage_quality},
        "headline": ({"label": result.estimates[0][0], "method": result.estimates[0][1].method,
                      "reason": result.headline_reason} if result.estimates else None),
        "estimates": [{"label": label, **e.to_dict()} for label, e in result.estimates],
        "linkage_sensitivity": result.sensitivity.to_dict(orient="records"),
        "strata": result.strata.to_dict() if result.strata is not None else None,
        "settings": dict(data.settings),
        "seeds": dict(data.seeds),
        "versions": dict(data.versions),
        "timings_s": dict(result.timings),
        "warnings": list(result.warnings),
    }

