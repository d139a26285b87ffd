"""The README cannot drift: its Python example runs, its commands name real options."""

import re
from pathlib import Path

from typer.testing import CliRunner

from darkfigure.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_python_example_runs(monkeypatch):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    code = code.replace("Stepwise(nboot=1000", "Stepwise(nboot=20")  # same call, quicker
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["result"].estimate > namespace["histories"].n_observed


def test_readme_quick_start_commands_are_real():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert len(blocks) == 2  # one command to install and run, one to install and test
    assert "darkfigure estimate examples/" in blocks[0]
    assert "pytest" in blocks[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "-e '.[test]'" in ci and ".venv/bin/pytest" in ci


def test_readme_names_every_cli_option():
    commands = ("estimate", "sensitivity", "combine", "simulate", "link", "run", "demo", "encode", "release", "serve")
    runner = CliRunner()
    help_text = "".join(runner.invoke(app, [c, "--help"], env={"COLUMNS": "200"}).output for c in commands)
    section = README.split("## The command line")[1].split("\n## ")[0]
    for command in re.findall(r"^darkfigure ([a-z]+)", section, re.M):
        assert command in commands, command
    for option in re.findall(r"(--[a-z][a-z-]+)", section):
        assert option in help_text, option
