"""Encoded lists that must not be linked: different secrets, truncated files, repeated record ids,
and a run whose encoded lists are not the lists its mapping names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from darkfigure.cli import app
from darkfigure.errors import InputError
from darkfigure.linkage import ColumnMapping, identity_frame
from darkfigure.pipeline import load_config
from darkfigure.pipeline.stages import read_inputs
from darkfigure.pprl import default_schema, encode_list, read_encoded, write_encoded
from darkfigure.pprl.encode import secret_check
from darkfigure.pprl.match import link_encoded
from darkfigure.simulate import load_scenario, simulate_coalition

SECRET = b"0123456789abcdef0123456789abcdef"
OTHER = b"fedcba9876543210fedcba9876543210"
PEOPLE = pd.DataFrame({"family_name": ["Kim", "Ri", "Pak", "Choe"],
                       "given_name": ["Minji", "Yonghui", "Sujin", "Okhui"],
                       "birth_date": ["1990-05-04", "1985-01-30", "1971-03-02", "1966-11-12"]})
runner = CliRunner()


@pytest.fixture(scope="module")
def coalition_folder(tmp_path_factory) -> Path:
    """A simulated coalition (N = 1500), its mapping, and its lists encoded into ``encoded/``, the
    last list also into ``other_secret/`` under another secret (the rest under the shared one)."""
    folder = tmp_path_factory.mktemp("encoded_checks")
    coalition = simulate_coalition(load_scenario("generic").with_n(1500), seed=3)
    coalition.write(folder / "data")
    frame = identity_frame(coalition.lists, ColumnMapping.from_dict(coalition.mapping()["lists"]))
    names = list(coalition.lists)
    for sub in ("encoded", "other_secret"):
        (folder / sub).mkdir()
    for name in names:
        part = frame[frame["list"] == name].reset_index(drop=True)
        shared = encode_list(part, default_schema(), SECRET, name)
        write_encoded(shared, folder / "encoded" / f"{name}.clk.jsonl")
        other = encode_list(part, default_schema(), OTHER, name) if name == names[-1] else shared
        write_encoded(other, folder / "other_secret" / f"{name}.clk.jsonl")
    return folder


def _run(folder: Path, config: str) -> tuple[int, list[str]]:
    (folder / "run.toml").write_text(config, encoding="utf-8")
    result = runner.invoke(app, ["run", str(folder / "run.toml")])
    return result.exit_code, result.stderr.strip().splitlines()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# ------------------------------------------------------------------ 1. different secrets
def test_the_header_holds_a_key_check_value_and_reading_keeps_it(tmp_path):
    e = encode_list(PEOPLE, default_schema(), SECRET, "A")
    path = write_encoded(e, tmp_path / "A.clk.jsonl")
    header = json.loads(_lines(path)[0])
    assert re.fullmatch(r"[0-9a-f]{16}", header["secret_check"])
    assert header["secret_check"] == e.secret_check == read_encoded(path).secret_check == secret_check(SECRET)
    assert secret_check(OTHER) != secret_check(SECRET)
    assert SECRET.hex()[:16] not in path.read_text(encoding="utf-8")


def test_lists_encoded_with_different_secrets_are_refused():
    a = encode_list(PEOPLE, default_schema(), SECRET, "A")
    b = encode_list(PEOPLE.iloc[:2], default_schema(), OTHER, "B")
    with pytest.raises(InputError, match=r"lists 'A' and 'B' were encoded with different secrets.*every "
                                         r"organisation must encode with the same secret file"):
        link_encoded([a, b], seed=1)


def test_files_without_a_key_check_value_are_read_and_linked_as_before(tmp_path):
    path = write_encoded(encode_list(PEOPLE, default_schema(), SECRET, "A"), tmp_path / "A.clk.jsonl")
    lines = _lines(path)
    header = json.loads(lines[0])
    del header["secret_check"]
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    old = read_encoded(path)
    assert old.secret_check is None
    b = encode_list(PEOPLE.iloc[:2], default_schema(), OTHER, "B")  # nothing to compare with: not refused
    assert len(link_encoded([old, b], seed=1).records) == 6


def test_run_refuses_lists_encoded_with_different_secrets(coalition_folder):
    code, err = _run(coalition_folder, 'output = "report_secret"\n[linkage]\nencoded = "other_secret"\n'
                                       '[estimation]\nmethods = ["stepwise"]\nnboot = 20\n')
    assert code == 2 and len(err) == 1, err
    assert "darkfigure: error:" in err[0] and "different secrets" in err[0] and "same secret file" in err[0]
    assert not (coalition_folder / "report_secret").exists()


# ------------------------------------------------------------------ 2. truncated files
def test_a_file_with_fewer_record_lines_than_its_header_says_is_refused(tmp_path):
    path = write_encoded(encode_list(PEOPLE, default_schema(), SECRET, "A"), tmp_path / "A.clk.jsonl")
    path.write_text("\n".join(_lines(path)[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"n_records = 4 but the file has 3 record lines.*truncated") as err:
        read_encoded(path)
    assert str(path) in str(err.value)


# ------------------------------------------------------------------ 3. repeated record ids
def test_a_record_id_repeated_within_a_file_is_refused(tmp_path):
    path = write_encoded(encode_list(PEOPLE, default_schema(), SECRET, "A"), tmp_path / "A.clk.jsonl")
    lines = _lines(path)
    record = json.loads(lines[3])
    record["record_id"] = "1"
    path.write_text("\n".join([*lines[:3], json.dumps(record), *lines[4:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 4, column record_id: list 'A': record id repeated \('1', first "
                                         r"on row 2\); record ids must be unique") as err:
        read_encoded(path)
    assert str(err.value).startswith(str(path))


def test_encoding_refuses_a_repeated_record_id():
    with pytest.raises(InputError, match=r"list 'A', record 3: record id repeated \('x'\)"):
        encode_list(PEOPLE, default_schema(), SECRET, "A", record_ids=["x", "y", "x", "z"])


# ------------------------------------------------------------------ 4. encoded lists vs the mapping
def _partial_folder(folder: Path, drop: str) -> Path:
    partial = folder / f"without_{drop}"
    partial.mkdir(exist_ok=True)
    for path in (folder / "encoded").glob("*.clk.jsonl"):
        if not path.name.startswith(f"{drop}."):
            (partial / path.name).write_bytes(path.read_bytes())
    return partial


def test_encoded_lists_must_be_the_lists_the_mapping_names(coalition_folder):
    names = sorted(p.name.split(".")[0] for p in (coalition_folder / "encoded").glob("*.clk.jsonl"))
    partial = _partial_folder(coalition_folder, names[0])
    config_file = coalition_folder / "mapped.toml"
    config_file.write_text(f'mapping = "data/mapping.toml"\n[linkage]\nencoded = "{partial.name}"\n', encoding="utf-8")
    with pytest.raises(InputError, match=rf"the encoded lists in .*{partial.name} differ from the lists the mapping "
                                         rf"names: no encoded file for \['{names[0]}'\]"):
        read_inputs(load_config(config_file))
    (partial / "extra.clk.jsonl").write_bytes((coalition_folder / "encoded" / f"{names[0]}.clk.jsonl").read_bytes()
                                              .replace(f'"list": "{names[0]}"'.encode(), b'"list": "extra"'))
    with pytest.raises(InputError, match=r"\['extra'\] not in the mapping"):
        read_inputs(load_config(config_file))
    config_file.write_text('mapping = "data/mapping.toml"\n[linkage]\nencoded = "encoded"\n', encoding="utf-8")
    assert sorted(read_inputs(load_config(config_file)).encoded) == names  # the same lists: accepted
    config_file.write_text(f'mapping = "absent.toml"\n[linkage]\nencoded = "{partial.name}"\n', encoding="utf-8")
    assert len(read_inputs(load_config(config_file)).encoded) == len(names)  # no mapping file: not checked


def test_run_refuses_encoded_lists_missing_from_the_mapping_folder(coalition_folder):
    names = sorted(p.name.split(".")[0] for p in (coalition_folder / "encoded").glob("*.clk.jsonl"))
    partial = _partial_folder(coalition_folder, names[-1])
    code, err = _run(coalition_folder, f'mapping = "data/mapping.toml"\noutput = "report_missing"\n[linkage]\n'
                                       f'encoded = "{partial.name}"\n[estimation]\nmethods = ["stepwise"]\n')
    assert code == 2 and len(err) == 1, err
    assert f"no encoded file for ['{names[-1]}']" in err[0] and partial.name in err[0] and "mapping.toml" in err[0]
    assert not (coalition_folder / "report_missing").exists()
