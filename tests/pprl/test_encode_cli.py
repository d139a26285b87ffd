"""`darkfigure encode`: secrets, one encoded file per list, all or nothing, exit code 2 on bad input."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from darkfigure.cli import app
from darkfigure.pprl import read_encoded

runner = CliRunner()


@pytest.fixture
def lists(tmp_path):
    (tmp_path / "a.csv").write_text("id,name,born\nA1,Kim Min-ji,1990\nA2,Ri Yong-hui,1985\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("no,surname,given,dob\n7,Gim,Minji,1990-03-04\n", encoding="utf-8")
    (tmp_path / "m.toml").write_text(
        '[lists.A]\nfile = "a.csv"\nrecord_id = "id"\nfull_name = "name"\nbirth_year = "born"\n'
        '[lists.B]\nfile = "b.csv"\nrecord_id = "no"\nfamily_name = "surname"\ngiven_name = "given"\n'
        'birth_date = "dob"\n',
        encoding="utf-8",
    )
    assert runner.invoke(app, ["encode", "--new-secret", str(tmp_path / "secret")]).exit_code == 0
    return tmp_path


def _encode(folder, *extra):
    args = ["encode", str(folder / "m.toml"), "--secret", str(folder / "secret"), "--out", str(folder / "out")]
    return runner.invoke(app, [*args, *extra])


def test_new_secret_is_32_random_bytes_readable_by_the_owner_only(tmp_path):
    path = tmp_path / "s"
    result = runner.invoke(app, ["encode", "--new-secret", str(path)])
    assert result.exit_code == 0 and "never with the linkage hub" in result.output
    assert len(path.read_bytes()) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = runner.invoke(app, ["encode", "--new-secret", str(path)])
    assert again.exit_code == 2 and "not overwritten" in again.output


def test_encode_writes_one_file_per_list(lists):
    result = _encode(lists)
    assert result.exit_code == 0, result.output
    assert "Encoded 2 lists (A: 2 records, B: 1 record)" in result.output
    assert sorted(p.name for p in (lists / "out").iterdir()) == ["A.clk.jsonl", "B.clk.jsonl"]
    a, b = (read_encoded(lists / "out" / f"{n}.clk.jsonl") for n in "AB")
    assert a.record_ids.tolist() == ["A1", "A2"] and b.record_ids.tolist() == ["7"]
    assert a.schema_id == b.schema_id and a.filter_bits == 2048


def test_encoding_again_needs_force_and_gives_the_same_files(lists):
    assert _encode(lists).exit_code == 0
    first = (lists / "out" / "A.clk.jsonl").read_bytes()
    refused = _encode(lists)
    assert refused.exit_code == 2 and "--force" in refused.output
    assert _encode(lists, "--force").exit_code == 0
    assert (lists / "out" / "A.clk.jsonl").read_bytes() == first


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: (d / "secret").unlink(), "secret: cannot read the secret file"),
        (lambda d: (d / "secret").write_bytes(b"x" * 16), "at least 32 bytes, got 16"),
        (lambda d: (d / "b.csv").unlink(), "b.csv: cannot read list 'B'"),
        (
            lambda d: (d / "m.toml").write_text('[lists.A]\nfile = "a.csv"\nfull_nam = "name"\n'),
            "m.toml: list 'A': unknown field 'full_nam'",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2_and_writes_nothing(lists, change, message):
    change(lists)
    result = _encode(lists)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (lists / "out").exists()


def test_a_schema_with_an_unknown_field_is_refused(lists):
    (lists / "s.toml").write_text('name = "x"\n[[fields]]\nname = "surname"\n')
    result = _encode(lists, "--schema", str(lists / "s.toml"))
    assert result.exit_code == 2 and "s.toml: [[fields]] name: unknown field 'surname'" in result.output


def test_a_custom_schema_changes_the_schema_id(lists):
    (lists / "s.toml").write_text('name = "names-only"\nfilter_bits = 512\n[[fields]]\nname = "family_name"\n')
    assert _encode(lists, "--schema", str(lists / "s.toml")).exit_code == 0
    encoded = read_encoded(lists / "out" / "A.clk.jsonl")
    assert encoded.schema_id.startswith("names-only:") and encoded.filters.shape == (2, 8)


def test_missing_options_are_explained(lists):
    result = runner.invoke(app, ["encode", str(lists / "m.toml")])
    assert result.exit_code == 2 and "--secret and --out are required" in result.output
