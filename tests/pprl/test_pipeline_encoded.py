"""`darkfigure run` on encoded lists: ``[linkage] encoded = "DIR"`` instead of a mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkfigure.errors import InputError
from darkfigure.linkage import ColumnMapping, identity_frame
from darkfigure.pipeline import load_config, run
from darkfigure.pprl import default_schema, encode_list, write_encoded
from darkfigure.simulate import load_scenario, simulate_coalition

SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def encoded_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("encoded_run")
    coalition = simulate_coalition(load_scenario("generic").with_n(300), seed=2)
    coalition.write(folder / "data")
    mapping = ColumnMapping.from_dict(coalition.mapping()["lists"])
    frame = identity_frame(coalition.lists, mapping)
    (folder / "encoded").mkdir()
    for name in coalition.lists:
        part = frame[frame["list"] == name].reset_index(drop=True)
        write_encoded(encode_list(part, default_schema(), SECRET, name), folder / "encoded" / f"{name}.clk.jsonl")
    return folder


def test_run_on_encoded_lists(encoded_folder):
    config_file = encoded_folder / "run.toml"
    config_file.write_text('output = "report"\nseed = 1\n[linkage]\nencoded = "encoded"\n'
                           '[estimation]\nmethods = ["stepwise"]\nnboot = 20\n', encoding="utf-8")
    config = load_config(config_file)
    assert len(config.encoded) == 4 and config.describe()["mapping"] == "none: encoded lists"
    result = run(config)
    assert result.linkage.model["comparison"] == "Dice similarity of encoded Bloom filters"
    assert sorted(p.name for p in result.folder.iterdir()) == [
        "entities.csv", "estimates.json", "histories.csv", "links.csv", "report.html"]
    assert result.estimates[0][0] == "Stepwise"
    assert [f.name for f in result.inputs] == sorted(f.name for f in result.inputs)
    assert sum(f.n_records for f in result.inputs) == len(result.linkage.records)


def test_encoded_run_with_strata_needs_a_mapping(encoded_folder):
    config_file = encoded_folder / "strata.toml"
    config_file.write_text('output = "r2"\n[linkage]\nencoded = "encoded"\n'
                           '[estimation]\nmethods = ["stepwise"]\nstrata = ["place_of_exploitation"]\n',
                           encoding="utf-8")
    with pytest.raises(InputError, match="encoded lists carry no strata"):
        run(load_config(config_file))


def test_bad_encoded_key(encoded_folder):
    config_file = encoded_folder / "bad.toml"
    config_file.write_text('[linkage]\nencoded = 3\n', encoding="utf-8")
    with pytest.raises(InputError, match="linkage.encoded"):
        load_config(config_file)


def test_one_to_one_setting(encoded_folder):
    config_file = encoded_folder / "one.toml"
    config_file.write_text('[linkage]\nencoded = "encoded"\none_to_one = true\n', encoding="utf-8")
    config = load_config(config_file)
    assert config.one_to_one and "one-to-one linkage" in config.describe()
    config_file.write_text('[linkage]\nencoded = "encoded"\none_to_one = "yes"\n', encoding="utf-8")
    with pytest.raises(InputError, match="linkage.one_to_one.*expected true or false"):
        load_config(config_file)
    config_file.write_text('mapping = "data/mapping.toml"\n[linkage]\none_to_one = true\n', encoding="utf-8")
    with pytest.raises(InputError, match="linkage.one_to_one.*encoded lists"):
        load_config(config_file)
