"""``darkfigure demo`` and ``darkfigure run`` as plain functions; the command line (typer) wraps them.

The demo simulates a coalition of lists whose truth is known, writes it under ``OUT/data``, writes
the run configuration it uses to ``OUT/run.toml`` (rerun it with ``darkfigure run OUT/run.toml``),
and runs the pipeline into ``OUT``; all of it appears at once, or nothing does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from darkfigure.errors import InputError
from darkfigure.linkage import evaluate
from darkfigure.pipeline.config import load_config
from darkfigure.pipeline.output import staged
from darkfigure.pipeline.runner import RunResult, analyse, run, write_run

DEMO_PRESET = "nk-women-china"
DEMO_METHODS = ("lcmcr", "stepwise", "dga")
DEMO_STRATA = ("exploitation_form",)


def demo_config_text(title: str, seed: int) -> str:
    """The demo's run configuration as TOML (what ``OUT/run.toml`` holds).

    >>> print(demo_config_text("Demo", 1).splitlines()[1])
    mapping = "data/mapping.toml"
    """
    methods = ", ".join(f'"{m}"' for m in DEMO_METHODS)
    strata = ", ".join(f'"{s}"' for s in DEMO_STRATA)
    return (
        f'title = "{title}"\nmapping = "data/mapping.toml"\noutput = "rerun"\nseed = {seed}\n\n'
        '[linkage]\nthresholds = [0.5, 0.8, 0.95]\nthreshold = 0.8\nsensitivity_methods = ["lcmcr", "stepwise"]\n\n'
        f"[estimation]\nmethods = [{methods}]\nnboot = 1000\nchains = 4\nstrata = [{strata}]\n"
        'strata_method = "stepwise"\n'
    )


def demo(out: str | Path, seed: int = 1, preset: str = DEMO_PRESET, force: bool = False) -> RunResult:
    """Simulate a coalition from ``preset``, then run the pipeline on it into ``out``.

    The report also shows the linkage quality against the simulated truth, and the true N (kept
    away from the estimation) among its settings. It takes about a minute:

    >>> result = demo("demo-out", seed=1)  # doctest: +SKIP
    >>> sorted(p.name for p in result.folder.iterdir())  # doctest: +SKIP
    ['data', 'entities.csv', 'estimates.json', 'histories.csv', 'links.csv', 'report.html', 'run.toml']
    """
    from darkfigure.simulate import load_scenario, simulate_coalition

    coalition = simulate_coalition(load_scenario(preset), seed)
    out = Path(out)
    with staged(out, force) as staging:
        coalition.write(staging / "data")
        title = f"Demo: simulated {coalition.scenario.population} (preset {preset}, seed {seed})"
        (staging / "run.toml").write_text(demo_config_text(title, seed), encoding="utf-8")
        config = replace(load_config(staging / "run.toml"), output=out)
        result = analyse(config, extra_settings=_truth_settings(coalition.summary()))
        result = replace(result, linkage_quality=_quality(result, coalition.truth))
        write_run(result, staging)
    return replace(result, folder=out)


def _truth_settings(summary: dict[str, Any]) -> dict[str, str]:
    return {"simulated truth (not used by the estimation)":
            f"N = {summary['n']:,}, of whom {summary['n_observed']:,} are on some list; dark figure "
            f"{summary['dark_figure']:,} (see data/truth_summary.json)"}


def _quality(result: RunResult, truth: pd.DataFrame) -> dict[str, float]:
    records = result.linkage.records[["list", "record_id"]].astype(str)
    known = truth[["list", "record_id", "entity_id"]].astype(str)
    true_ids = records.merge(known, on=["list", "record_id"], how="left")["entity_id"]
    quality = evaluate(result.linkage.entity_ids(), true_ids)
    shown = ("pair_precision", "pair_recall", "pair_f1", "cluster_precision", "cluster_recall", "cluster_f1")
    return {f"{name.replace('_', ' ')} (threshold {result.config.threshold:g})": round(getattr(quality, name), 4)
            for name in shown}


def truth_line(result: RunResult, true_n: int) -> str:
    """Whether each interval holds the true N (the demo knows it).

    >>> from darkfigure.estimation import Estimate, Interval
    >>> e = Estimate("stepwise", ("A",), 10, 20.0, "[]", (Interval(0.95, 15.0, 30.0, "bca"),))
    >>> truth_line(type("R", (), {"estimates": (("Stepwise", e),)})(), 25)
    'The simulated truth is N = 25; it lies inside the interval of Stepwise: yes.'
    """
    inside = "; ".join(f"{label}: {'yes' if e.interval and e.interval.covers(true_n) else 'no'}"
                       for label, e in result.estimates)
    return f"The simulated truth is N = {true_n:,}; it lies inside the interval of {inside}."


def run_command(config_path: Path, out: Path | None, force: bool) -> str:
    """``darkfigure run CONFIG [--out DIR] [--force]``: run the pipeline; returns the summary to print.

    >>> print(run_command(Path("run.toml"), Path("report"), force=False))  # doctest: +SKIP
    Linked 4,472 records from 5 lists (church, hotline, police, shelter, resettlement) into 3,343 entities ...
    """
    config = load_config(config_path).with_output(out)
    return run(config, force=force).summary()


def demo_command(out: Path, seed: int, preset: str, force: bool) -> str:
    """``darkfigure demo --out DIR [--seed N] [--preset NAME] [--force]``: returns the summary to print,
    ending with whether each interval holds the simulated true N.

    >>> print(demo_command(Path("demo-out"), 1, "nk-women-china", force=False))  # doctest: +SKIP
    """
    from darkfigure.simulate import PRESETS

    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    result = demo(out, seed, preset, force)
    truth = json.loads((Path(out) / "data" / "truth_summary.json").read_text(encoding="utf-8"))
    return f"{result.summary()}\n{truth_line(result, int(truth['n']))}"
