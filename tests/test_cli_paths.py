"""Output paths on the command line: a file where a folder must be, a missing folder, a folder that is
not empty. Each is one line ``darkfigure: error: ...`` with exit code 2, refused before the work, and
leaves nothing behind; ``link`` writes its folder all or nothing, like ``simulate``, ``run`` and ``encode``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from darkfigure.cli import app
from darkfigure.errors import InputError
from darkfigure.linkage.cli_commands import link_command

runner = CliRunner()


@pytest.fixture(scope="module")
def coalition(tmp_path_factory) -> Path:
    """A small simulated coalition (lists, mapping.toml) and a shared secret, made once."""
    folder = tmp_path_factory.mktemp("coalition")
    result = runner.invoke(app, ["simulate", "--out", str(folder / "sim"), "--seed", "3", "--n", "1500"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["encode", "--new-secret", str(folder / "secret")]).exit_code == 0
    return folder


@pytest.fixture
def afile(tmp_path) -> Path:
    path = tmp_path / "afile"
    path.write_text("not a folder\n")
    return path


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` (hidden ones too) with a file's bytes, to compare before and after."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def _one_line_error(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("darkfigure: error: ") and "\n" not in message, message
    assert "Traceback" not in result.output
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def no_linking(monkeypatch):
    """Make linking itself fail loudly: a refusal must come before it."""

    def must_not_link(*args, **kwargs):
        raise AssertionError("linked although the output path was refused")

    monkeypatch.setattr("darkfigure.linkage.cli_commands.link", must_not_link)


def _link(coalition: Path, out: Path, *extra: str):
    return runner.invoke(app, ["link", str(coalition / "sim" / "mapping.toml"), "--out", str(out), *extra])


def test_link_refuses_a_folder_that_is_not_empty_and_leaves_it_untouched(coalition, tmp_path, no_linking):
    out = tmp_path / "links"
    out.mkdir()
    (out / "links.csv").write_text("old links\n")
    (out / "notes.txt").write_text("mine\n")
    before = _tree(tmp_path)
    result = _link(coalition, out)
    _one_line_error(result, f"{out}: the output folder is not empty", "--force")
    assert _tree(tmp_path) == before


def test_link_force_will_not_replace_a_folder_of_other_files(coalition, tmp_path, no_linking):
    out = tmp_path / "links"
    out.mkdir()
    (out / "links.csv").write_text("old links\n")
    (out / "notes.txt").write_text("mine\n")
    before = _tree(tmp_path)
    with pytest.raises(InputError, match="will not replace a folder that does not hold an earlier .*'notes.txt'"):
        link_command(coalition / "sim" / "mapping.toml", out, force=True)
    assert _tree(tmp_path) == before


def _earlier_link_output(tmp_path: Path) -> Path:
    out = tmp_path / "links"
    out.mkdir()
    (out / "links.csv").write_text("old links\n")
    (out / "pairs.csv").write_text("old pairs\n")
    return out


def _assert_replaced_as_a_whole(out: Path) -> None:
    assert sorted(p.name for p in out.parent.iterdir()) == ["links"]  # no staging folder left beside it
    assert sorted(p.name for p in out.iterdir()) == ["links.csv", "pairs.csv"]
    links = pd.read_csv(out / "links.csv")
    assert {"list", "record_id", "entity_id"} <= set(links.columns) and len(links) > 100
    assert "match_probability" in pd.read_csv(out / "pairs.csv").columns
    assert (out.stat().st_mode & 0o777) == 0o700  # record-level files: the owner's only


def test_link_with_force_replaces_an_earlier_output_as_a_whole(coalition, tmp_path):
    out = _earlier_link_output(tmp_path)
    summary = link_command(coalition / "sim" / "mapping.toml", out, force=True)
    assert summary.startswith("Linked ") and str(out) in summary
    _assert_replaced_as_a_whole(out)


def test_link_force_option_replaces_an_earlier_output(coalition, tmp_path):
    out = _earlier_link_output(tmp_path)
    result = _link(coalition, out, "--force")
    assert result.exit_code == 0, result.output
    _assert_replaced_as_a_whole(out)


@pytest.mark.parametrize("inside", [False, True], ids=["the file itself", "a folder in the file"])
def test_link_to_a_file_is_refused_before_linking(coalition, tmp_path, afile, no_linking, inside):
    before = _tree(tmp_path)
    result = _link(coalition, afile / "sub" if inside else afile)
    words = [f"{afile}: is a file, not a folder"] if inside else [f"{afile}: the output must be a folder"]
    _one_line_error(result, *words)
    assert _tree(tmp_path) == before


def test_simulate_into_a_file_is_refused_before_simulating(tmp_path, afile, monkeypatch):
    monkeypatch.setattr(
        "darkfigure.simulate.cli_commands.simulate_coalition",
        lambda *a, **k: pytest.fail("simulated although the output path was refused"),
    )
    before = _tree(tmp_path)
    result = runner.invoke(app, ["simulate", "--out", str(afile / "sub"), "--n", "1500"])
    _one_line_error(result, f"{afile}: is a file, not a folder", "choose another path")
    assert _tree(tmp_path) == before


def test_encode_into_a_file_is_refused_before_encoding(coalition, tmp_path, afile, monkeypatch):
    monkeypatch.setattr(
        "darkfigure.pprl.encode.encode_list", lambda *a, **k: pytest.fail("encoded although the output was refused")
    )
    before = _tree(tmp_path)
    args = [str(coalition / "sim" / "mapping.toml"), "--secret", str(coalition / "secret")]
    result = runner.invoke(app, ["encode", *args, "--out", str(afile / "sub")])
    _one_line_error(result, f"{afile}: is a file, not a folder")
    assert _tree(tmp_path) == before


def test_cases_init_in_a_missing_folder_names_that_folder(tmp_path):
    nodir = tmp_path / "nodir"
    result = runner.invoke(app, ["cases", "init", "--db", str(nodir / "x.db"), "--key", str(nodir / "x.key")])
    message = _one_line_error(result, f"{nodir}: the folder does not exist", "create it first")
    assert ".tmp" not in message
    assert list(tmp_path.iterdir()) == []


def test_cases_init_with_a_new_key_on_an_existing_database_leaves_no_key(tmp_path):
    db, key = tmp_path / "cases.db", tmp_path / "cases.key"
    assert runner.invoke(app, ["cases", "init", "--db", str(db), "--key", str(key)]).exit_code == 0
    before = _tree(tmp_path)
    result = runner.invoke(app, ["cases", "init", "--db", str(db), "--key", str(tmp_path / "new.key")])
    _one_line_error(result, "key file does not belong to this database")
    assert _tree(tmp_path) == before  # no new.key, nor a staging file of it


@pytest.mark.parametrize("where", ["afile/x.csv", "nodir/x.csv"])
def test_cases_export_into_a_file_or_missing_folder_is_refused(tmp_path, afile, where):
    db, key = tmp_path / "cases.db", tmp_path / "cases.key"
    assert runner.invoke(app, ["cases", "init", "--db", str(db), "--key", str(key)]).exit_code == 0
    before = _tree(tmp_path)
    out = tmp_path / where
    args = ["cases", "export", str(out), "--org", "Shelter", "--format", "ctdc", "--db", str(db), "--key", str(key)]
    result = runner.invoke(app, args)
    reason = "is a file, not a folder" if where.startswith("afile") else "the folder does not exist"
    _one_line_error(result, f"{out.parent}: {reason}", str(out))
    assert _tree(tmp_path) == before
