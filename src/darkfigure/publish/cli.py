"""Command-line commands of this capability (registered by darkfigure.cli): ``darkfigure release``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer, user_errors: Callable[[], Any]) -> None:
    """Add this capability's commands to ``app``; ``user_errors()`` turns DarkfigureError into exit 2."""

    @app.command()
    def release(
        run_folder: Annotated[Path, typer.Argument(help="Report folder written by `darkfigure run`.")],
        out: Annotated[Path, typer.Option(help="Folder for the publication (HTML, PDF, release.json, tables).")],
        config: Annotated[Path | None, typer.Option(help="Release config (TOML); options given here override it.")]
        = None,
        k: Annotated[int | None, typer.Option(help="Suppress counts below k (default 5).")] = None,
        dp: Annotated[bool | None, typer.Option("--dp/--no-dp", help="Add differential-privacy noise to the "
                                                "counts (default on).")] = None,
        epsilon: Annotated[float | None, typer.Option(help="Privacy loss this release spends (default 1).")] = None,
        delta: Annotated[float | None, typer.Option(help="Delta of the gaussian mechanism (default 0).")] = None,
        mechanism: Annotated[str | None, typer.Option(help="Noise: laplace (default) or gaussian.")] = None,
        budget: Annotated[float | None, typer.Option(help="Epsilon budget of a dataset new to the ledger (default 3).")]
        = None,
        ledger: Annotated[Path | None, typer.Option(help="Privacy ledger file (default: privacy_ledger.json "
                                                    "beside the run folder).")] = None,
        dataset: Annotated[str | None, typer.Option(help="Name of the dataset in the ledger (default: from the "
                                                    "input lists' hashes).")] = None,
        categories: Annotated[str | None, typer.Option(help="Prevalence table(s) by these stratum columns, "
                                                       "comma-separated (default: the run's strata).")] = None,
        method: Annotated[str | None, typer.Option(help="Method for N and the strata (default: the run's "
                                                   "headline method for N, its strata method for the strata).")] = None,
        nboot: Annotated[int | None, typer.Option(help="Bootstrap replicates per stratum (default 200).")] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of the estimation (default: the run's); the "
                                                 "noise is never seeded.")] = None,
        force: Annotated[bool, typer.Option(help="Replace an earlier release in OUT.")] = False,
    ) -> None:
        """Publish safe aggregates of a run: N, prevalence, capture histories; suppressed and noisy."""
        from darkfigure.publish.config import ReleaseConfig, load_release_config
        from darkfigure.publish.release import release_run

        with user_errors():
            base = load_release_config(config) if config is not None else ReleaseConfig()
            names = None if categories is None else tuple(c.strip() for c in categories.split(",") if c.strip())
            settings = base.with_options(k=k, dp=dp, epsilon=epsilon, delta=delta, mechanism=mechanism,
                                         budget=budget, ledger=ledger, dataset=dataset, categories=names,
                                         method=method, nboot=nboot, seed=seed)
            result = release_run(run_folder, out, settings, force=force)
        typer.echo(release_summary(result, out, _run_rows(run_folder)))


def _run_rows(run_folder: Path) -> list[dict[str, Any]]:
    import json

    try:
        return list(json.loads((run_folder / "estimates.json").read_text(encoding="utf-8"))["estimates"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def release_summary(result: Any, out: Path, run_rows: list[dict[str, Any]] | None = None) -> str:
    """A few lines for the command line: N, which of the run's estimates it stands for (and, with
    noise, the run's exact figure beside it: this terminal is not the publication), what was
    suppressed, what was spent, where it went."""
    h = result.headline
    lines = []
    if h.get("note"):
        lines.append(f"Note: {h['note']}.")
    if h.get("estimate") is not None:
        span = f" ({h['level']:.0%} interval {h['lower']:,.0f} to {h['upper']:,.0f})" if h.get("lower") else ""
        lines.append(f"N about {h['estimate']:,.0f}{span}; {h.get('source', '')}")
        lines += _run_comparison(h, run_rows or [], bool(result.privacy.get("dp")))
    lines.append(f"Suppressed {len(result.suppressed)} cell(s) below k = {result.config.k} or protecting them.")
    p = result.privacy
    if p.get("dp"):
        lines.append(f"Spent epsilon {p['epsilon']:g} of dataset {result.dataset}; {p.get('remaining', 0):g} of "
                     f"{p['budget']:g} left.")
    else:
        lines.append("Differential privacy off: exact counts, protected by suppression only.")
    lines.append(f"Wrote publication.html, publication.pdf, release.json and {len(result.tables)} table(s) to {out}.")
    return "\n".join(lines)


def _run_comparison(h: dict[str, Any], rows: list[dict[str, Any]], dp: bool) -> list[str]:
    row = next((r for r in rows if r.get("label") == h.get("run_label")), None)
    if row is None or row.get("estimate") is None:
        return []
    if not dp:
        return [f"This is the run report's {row['label']} estimate."]
    moved = h["estimate"] - row["estimate"]
    return [f"The run report's {row['label']} estimate (exact counts, not published) is {row['estimate']:,.0f}; "
            f"the noise moved it by {moved:+,.0f} (noise sd about {h.get('noise_sd') or 0:,.0f})."]
