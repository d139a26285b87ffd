"""What ``darkfigure simulate`` does, as a plain function the command line wires in."""

from __future__ import annotations

from pathlib import Path

from darkfigure.errors import InputError
from darkfigure.simulate.coalition import check_simulation_target, simulate_coalition
from darkfigure.simulate.scenarios import PRESETS, load_scenario

DEFAULT_PRESET = "nk-women-china"


def simulate_command(
    preset: str | None,
    scenario_path: Path | None,
    out: Path,
    seed: int,
    n: int | None = None,
    force: bool = False,
) -> str:
    """Simulate a coalition from a preset (default ``nk-women-china``) or a scenario file, write it
    to ``out`` and return a one-paragraph summary for the command line to print.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "sim"
    >>> simulate_command("generic", None, out, seed=1, n=200).startswith("Simulated scenario 'generic'")
    True
    """
    if preset is not None and scenario_path is not None:
        raise InputError("give either a preset or a scenario file, not both")
    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    check_simulation_target(Path(out), force)  # a file in the way, or a folder not to replace, before any work
    scenario = load_scenario(scenario_path if scenario_path is not None else preset or DEFAULT_PRESET)
    if n is not None:
        scenario = scenario.with_n(n)
    coalition = simulate_coalition(scenario, seed)
    folder = coalition.write(out, overwrite=force)
    return coalition.describe(folder)
