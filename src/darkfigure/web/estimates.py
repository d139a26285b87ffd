"""The latest estimates for the dashboard: read from the folders that ``darkfigure run`` writes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SHOWN_RUNS = 5


@dataclass(frozen=True)
class RunEstimate:
    """One estimate of one pipeline run, as the dashboard shows it.

    >>> RunEstimate("Demo", "2026-01-01", "Stepwise", 143, 377.6, 305.9, 561.5, 0.95).estimate
    377.6
    """

    title: str
    created: str
    label: str
    observed: int | None
    estimate: float | None
    lower: float | None
    upper: float | None
    level: float | None


def latest_estimates(folder: Path | None, runs: int = SHOWN_RUNS) -> list[RunEstimate]:
    """The estimates of the newest ``runs`` runs under ``folder`` (each a folder with estimates.json).

    Unreadable files are skipped: the dashboard must show even when one run's output is damaged.

    >>> latest_estimates(None)
    []
    """
    if folder is None or not Path(folder).is_dir():
        return []
    found = sorted(Path(folder).glob("*/estimates.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    rows: list[RunEstimate] = []
    for path in found[:runs]:
        rows.extend(_read(path))
    return rows


def _read(path: Path) -> list[RunEstimate]:
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
        return [_row(run, e) for e in run.get("estimates", [])]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def _row(run: dict, estimate: dict) -> RunEstimate:
    interval = estimate.get("interval") or {}
    return RunEstimate(
        title=str(run.get("title") or ""), created=str(run.get("created") or "")[:16].replace("T", " "),
        label=str(estimate.get("label") or estimate.get("method") or ""), observed=estimate.get("n_observed"),
        estimate=estimate.get("estimate"), lower=interval.get("lower"), upper=interval.get("upper"),
        level=interval.get("level"),
    )
