"""One run from a configuration file: lists -> linkage -> capture histories -> estimates -> report.

The command line and the web application both call these functions.

>>> import tempfile
>>> from pathlib import Path
>>> from darkfigure.simulate import load_scenario, simulate_coalition
>>> folder = Path(tempfile.mkdtemp())
>>> _ = simulate_coalition(load_scenario("generic").with_n(300), seed=2).write(folder / "data")
>>> _ = (folder / "run.toml").write_text('mapping = "data/mapping.toml"\\noutput = "report"\\n'
...                                      '[estimation]\\nmethods = ["stepwise"]\\nnboot = 50\\n')
>>> result = run(load_config(folder / "run.toml"))
>>> result.estimates[0][0], (folder / "report" / "report.html").exists()
('Stepwise', True)
"""

from darkfigure.pipeline.config import RunConfig, load_config, parse_config
from darkfigure.pipeline.demo import demo, demo_command, run_command
from darkfigure.pipeline.runner import RunResult, analyse, run

__all__ = [
    "RunConfig",
    "RunResult",
    "analyse",
    "demo",
    "demo_command",
    "load_config",
    "parse_config",
    "run",
    "run_command",
]
