"""The ``darkfigure`` command: a thin edge over the library.

Errors a user can cause are printed as one line on standard error with exit code 2; no traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from darkfigure.errors import DarkfigureError, InputError
from darkfigure.estimation.api import APPLIES_TO, METHODS, make_estimator
from darkfigure.estimation.results import json_ready
from darkfigure.estimation.sensitivity import sensitivity_table
from darkfigure.histories import CaptureHistories
from darkfigure.settings import SETTINGS

app = typer.Typer(
    help="darkfigure: estimate hidden populations from overlapping lists (multiple systems estimation).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, emoji=False)  # list names like NG must not turn into emoji


def _help(name: str) -> str:
    return SETTINGS[name].help


TableArg = Annotated[
    Path,
    typer.Argument(help="CSV: 0/1 columns per list + count; or entity_id,list; or one 0/1 row per entity."),
]


@app.command()
def estimate(
    ctx: typer.Context,
    table: TableArg,
    method: Annotated[str, typer.Option(help=_help("method"))] = SETTINGS["method"].default,
    model: Annotated[str | None, typer.Option(help=_help("model"))] = None,
    max_order: Annotated[int | None, typer.Option(help=_help("max_order"))] = None,
    p_threshold: Annotated[float, typer.Option(help=_help("p_threshold"))] = SETTINGS["p_threshold"].default,
    nboot: Annotated[int | None, typer.Option(help=_help("nboot"))] = None,
    seed: Annotated[int | None, typer.Option(help=_help("seed"))] = None,
    level: Annotated[float, typer.Option(help=_help("level"))] = SETTINGS["level"].default,
    chains: Annotated[int, typer.Option(help=_help("chains"))] = SETTINGS["chains"].default,
    classes: Annotated[int, typer.Option(help=_help("classes"))] = SETTINGS["classes"].default,
    burnin: Annotated[int, typer.Option(help=_help("burnin"))] = SETTINGS["burnin"].default,
    samples: Annotated[int, typer.Option(help=_help("samples"))] = SETTINGS["samples"].default,
    thinning: Annotated[int, typer.Option(help=_help("thinning"))] = SETTINGS["thinning"].default,
    strata: Annotated[str | None, typer.Option(help=_help("strata"))] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Folder caching each stratum's result (seeded runs only).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the text summary.")] = False,
) -> None:
    """Estimate the total N (observed + dark figure) from a capture-history table."""
    settings: dict[str, Any] = dict(
        model=model, max_order=max_order, p_threshold=p_threshold, nboot=nboot, level=level, seed=seed,
        chains=chains, classes=classes, burnin=burnin, samples=samples, thinning=thinning,
    )
    with _user_errors(), _progress_bar(enabled=not as_json and strata is None) as progress:
        if method not in METHODS:
            raise DarkfigureError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        _refuse_unused_options(method, _given_options(ctx), strata)
        if strata:
            result: Any = _estimate_strata(table, method, settings, strata, cache)
        else:
            histories = CaptureHistories.read_csv(table)
            result = make_estimator(method, progress=progress, **settings).fit(histories)
    typer.echo(_json(result.to_dict()) if as_json else result.summary())


# Options only some methods use (beyond api.APPLIES_TO, which make_estimator enforces for the
# options whose default is None): given to another method they are refused, not silently ignored.
_METHOD_OPTIONS = {
    **APPLIES_TO,
    "p_threshold": ("stepwise",),
    **{name: ("lcmcr",) for name in ("chains", "classes", "burnin", "samples", "thinning")},
}


def _given_options(ctx: typer.Context) -> set[str]:
    """The options typed on the command line (not left at their defaults)."""
    # by name: typer bundles its own click, whose ParameterSource is not click's
    return {name for name in ctx.params if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"}


def _refuse_unused_options(method: str, given: set[str], strata: str | None) -> None:
    for name in sorted(given & _METHOD_OPTIONS.keys()):
        if method not in _METHOD_OPTIONS[name]:
            option = "--" + name.replace("_", "-")
            raise InputError(
                f"{option} does not apply to --method {method}; it is used by {', '.join(_METHOD_OPTIONS[name])}"
            )
    if "cache" in given and not strata:
        raise InputError("--cache applies only with --strata (it keeps each stratum's result); add --strata or "
                         "leave out --cache")
    if "cache" in given and "seed" not in given:
        raise InputError("--cache needs --seed: only seeded runs are reproducible, so only they are cached")


def _estimate_strata(table: Path, method: str, settings: dict[str, Any], strata: str, cache: Path | None) -> Any:
    from darkfigure.estimation.strata import estimate_strata, split_strata
    from darkfigure.histories import read_frame

    columns = [c.strip() for c in strata.split(",") if c.strip()]
    make_estimator(method, **settings)  # refuse bad settings before any work
    if cache is not None and cache.exists() and not cache.is_dir():
        raise InputError(f"--cache {cache}: this is a file; give a folder for the strata's cached results")
    parts = split_strata(read_frame(table, text_columns=columns), columns, source=str(table))
    return estimate_strata(parts, columns, method, settings, cache_dir=cache)


@app.command()
def combine(
    draws: Annotated[Path, typer.Argument(help="CSV of posterior draws: replicate, n_obs, N (one row per draw).")],
    level: Annotated[float, typer.Option(help=_help("level"))] = SETTINGS["level"].default,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Combine estimates of replicates (multiple imputation or linkage) as HRDAG's verdata does."""
    from darkfigure.estimation._params import check_level
    from darkfigure.estimation.replicates import combine_replicates
    from darkfigure.histories import read_frame

    with _user_errors():
        check_level("combine_replicates", level)  # an option, not the file: said without the file's name
        frame = read_frame(draws)
        try:
            result = combine_replicates(frame, level=level)
        except InputError as exc:
            raise exc.located(str(draws)) from None
    typer.echo(_json(result.to_dict()) if as_json else result.summary())


def _json(value: Any) -> str:
    """Strict JSON: NaN and infinities become null (json.dumps would write NaN/Infinity)."""
    return json.dumps(json_ready(value), allow_nan=False, default=str)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the lists, truth and mapping into.")],
    preset: Annotated[str | None, typer.Option(help="Scenario preset: nk-women-china (default) or generic.")] = None,
    scenario: Annotated[Path | None, typer.Option(help="Scenario TOML file instead of a preset.")] = None,
    seed: Annotated[int, typer.Option(help=_help("seed"))] = 1,
    n: Annotated[int | None, typer.Option(help="True population size N (overrides the scenario's).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an earlier simulation in OUT.")] = False,
) -> None:
    """Simulate a coalition of organisations' lists from a population of known size."""
    from darkfigure.simulate.cli_commands import simulate_command

    with _user_errors():
        summary = simulate_command(preset, scenario, out, seed, n, force)
    typer.echo(summary)


@app.command()
def link(
    mapping: Annotated[Path, typer.Argument(help="TOML naming each list's file and its identity columns.")],
    out: Annotated[Path, typer.Option(help="Folder for links.csv (entity id per record) and pairs.csv.")],
    threshold: Annotated[float, typer.Option(help="Match probability at which records become one entity.")] = 0.8,
    seed: Annotated[int, typer.Option(help=_help("seed"))] = 0,
    force: Annotated[bool, typer.Option(help="Replace an earlier link's output in OUT.")] = False,
) -> None:
    """Deduplicate and link organisations' lists (Splink on DuckDB); entity ids at several thresholds."""
    from darkfigure.linkage.cli_commands import link_command

    with _user_errors():
        summary = link_command(mapping, out, threshold, seed, force)
    typer.echo(summary)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Run config (TOML): mapping, linkage, estimation, output.")],
    out: Annotated[Path | None, typer.Option(help="Report folder (overrides the config's output).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an earlier run's report folder.")] = False,
) -> None:
    """Lists -> linkage -> capture histories -> estimates -> a report folder, in one run."""
    from darkfigure.pipeline import run_command

    with _user_errors():
        summary = run_command(config, out, force)
    typer.echo(summary)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the simulated data, the config and the report.")],
    seed: Annotated[int, typer.Option(help=_help("seed"))] = 1,
    preset: Annotated[str, typer.Option(help="Scenario preset: nk-women-china or generic.")] = "nk-women-china",
    force: Annotated[bool, typer.Option(help="Replace an earlier demo in OUT.")] = False,
) -> None:
    """Simulate a coalition with known truth, then run the whole pipeline on it."""
    from darkfigure.pipeline import demo_command

    with _user_errors():
        summary = demo_command(out, seed, preset, force)
    typer.echo(summary)


@app.command()
def sensitivity(
    table: TableArg,
    merge: Annotated[
        list[str] | None,
        typer.Option(help="Lists to merge, comma-separated, e.g. --merge PF,NCA (repeatable)."),
    ] = None,
    method: Annotated[str, typer.Option(help=_help("method"))] = SETTINGS["method"].default,
    model: Annotated[str | None, typer.Option(help=_help("model"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records instead of a table.")] = False,
) -> None:
    """The estimate with all lists, with each list omitted, and with chosen lists merged."""
    with _user_errors():
        histories = CaptureHistories.read_csv(table)
        merges = [[x.strip() for x in m.split(",") if x.strip()] for m in merge or []]
        frame = sensitivity_table(histories, method=method, model=model, merges=merges)
    if as_json:
        typer.echo(_json(frame.to_dict(orient="records")))
    else:
        typer.echo(frame.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))


# A path the user gave that cannot be used as asked (a file where a folder must be, a missing
# folder, no permission): the user's mistake, said in one line like any other.
_PATH_ERRORS = (FileExistsError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except DarkfigureError as exc:
        _fail(str(exc))
    except _PATH_ERRORS as exc:
        _fail(f"{exc.filename}: {exc.strerror.lower() if exc.strerror else exc}; check the path"
              if exc.filename else f"{exc}; check the path")


def _fail(message: str) -> None:
    err.print(f"darkfigure: error: {' '.join(message.split())}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2) from None


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not (enabled and err.is_terminal):
        yield None
        return
    with Progress(
        TextColumn("bootstrap"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=err, transient=True,
    ) as bar:
        task: dict[str, Any] = {}

        def report(done: int, total: int) -> None:
            if "id" not in task:
                task["id"] = bar.add_task("bootstrap", total=total)
            bar.update(task["id"], completed=done)

        yield report


# Commands that live with their capability: each module's ``register(app, user_errors)`` adds them.
# The modules import only typer at load time, so ``darkfigure --help`` stays fast.
_COMMAND_MODULES = ("darkfigure.pprl.cli", "darkfigure.publish.cli", "darkfigure.casestore.cli", "darkfigure.web.cli")


def _register_commands() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app, _user_errors)


_register_commands()


def main() -> None:
    """Entry point of the console script."""
    app(prog_name="darkfigure")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
