"""`darkfigure run` refuses mistakes in the run config, the mapping and the lists before linkage:
one line naming the file and the key (or list, row and column), exit code 2, no output folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkfigure.cli import app
from darkfigure.linkage import read_mapping
from darkfigure.pipeline import stages
from darkfigure.simulate import load_scenario, simulate_coalition

CHEAP = '[estimation]\nmethods = ["stepwise"]\nnboot = 10\n[linkage]\nsensitivity_methods = []\n'
runner = CliRunner()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sim") / "sim"
    simulate_coalition(load_scenario("nk-women-china").with_n(1500), seed=1).write(folder)
    return folder


@pytest.fixture
def folder(simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the simulated lists in ``sim``; linkage fails the test if it is started."""
    shutil.copytree(simulated, tmp_path / "sim")

    def no_linkage(*args: object, **kwargs: object) -> None:
        raise AssertionError("linkage started: the mistake should have been refused before it")

    monkeypatch.setattr(stages, "link_records", no_linkage)
    return tmp_path


def refused(folder: Path, body: str = CHEAP) -> str:
    """Run ``darkfigure run`` on a run.toml with ``body``; the one-line error it gives."""
    (folder / "run.toml").write_text(f'mapping = "sim/mapping.toml"\noutput = "out"\n{body}', encoding="utf-8")
    result = runner.invoke(app, ["run", str(folder / "run.toml")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("darkfigure: error: "), result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["run.toml", "sim"]  # no output folder, nothing partial
    return lines[0]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ------------------------------------------------------------------ the fixed model (1, 2)
@pytest.mark.parametrize(
    ("body", "asking"),
    [
        ('[estimation]\nmethods = ["fixed", "stepwise"]\n', "estimation.methods asks"),
        ('[estimation]\nmethods = ["stepwise"]\n[linkage]\nsensitivity_methods = ["fixed"]\n',
         "linkage.sensitivity_methods asks"),
        ('[estimation]\nmethods = ["stepwise"]\nstrata = ["exploitation_form"]\nstrata_method = "fixed"\n'
         "[linkage]\nsensitivity_methods = []\n", "estimation.strata_method asks"),
    ],
)
def test_fixed_without_a_model_is_refused_naming_the_key(folder, body, asking) -> None:
    line = refused(folder, body)
    assert f"{folder / 'run.toml'}: key 'estimation.fixed.model' is missing: {asking} for the method fixed" in line
    assert '[estimation.fixed] with model = "[12,13]"' in line
    assert "--model" not in line and "--method" not in line  # no command-line flags in a config error


@pytest.mark.parametrize(("model", "words"), [("[19]", "term '19' names a list position outside 1..5"),
                                               ("[police:prison]", "no list named 'prison'")])
def test_a_fixed_model_naming_lists_that_do_not_exist_is_refused(folder, model, words) -> None:
    line = refused(folder, f'[estimation]\nmethods = ["fixed"]\n[estimation.fixed]\nmodel = "{model}"\n'
                           "[linkage]\nsensitivity_methods = []\n")
    assert f"{folder / 'run.toml'}: key 'estimation.fixed.model': model '{model}': {words}" in line
    assert "1 church, 2 hotline, 3 police, 4 shelter, 5 resettlement" in line


# ------------------------------------------------------------------ the mapping (3, 4, 5)
def test_a_mapping_with_one_list_is_refused(folder) -> None:
    mapping = folder / "sim" / "mapping.toml"
    text = mapping.read_text(encoding="utf-8")
    mapping.write_text(text[: text.index("[lists.hotline]")], encoding="utf-8")
    line = refused(folder)
    assert f"{mapping}: the mapping names one list ('church'); estimating N needs at least two lists" in line


@pytest.mark.parametrize(
    ("fields", "words"),
    [('"nofield"', "no list maps a field 'nofield' that linkage could leave out"),
     ('["event_dat"]', "(did you mean 'event_date'?)"),
     ('["given_name"]', "'given_name' is an identity field, which linkage always compares")],
)
def test_unknown_ignore_fields_are_refused_with_the_known_names(folder, fields, words) -> None:
    line = refused(folder, f"{CHEAP}ignore_fields = {fields}\n")
    assert f"{folder / 'run.toml'}: key 'linkage.ignore_fields': " in line and words in line
    assert "it can leave out event_date, exploitation_form, place_of_exploitation" in line


def test_a_misspelt_field_in_the_fields_table_is_refused(folder) -> None:
    mapping = folder / "sim" / "mapping.toml"
    edit(mapping, 'family_name = "SURNAME"', 'famly_name = "SURNAME"')
    line = refused(folder)
    assert (f"{mapping}: list 'police': unknown field 'famly_name' in [lists.police.fields]; "
            "did you mean 'family_name'?") in line
    assert 'extra = { famly_name = "SURNAME" } under [lists.police]' in line


def test_extra_fields_are_still_read_in_both_layouts(tmp_path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[lists.police]\nfile = "p.csv"\nextra = { famly_name = "ALIAS" }\n'  # declared: kept, however spelt
        '[lists.police.fields]\nfamily_name = "SURNAME"\nphone = "PHONE"\nplace_of_exploitation = "PROVINCE"\n'
        '[lists.police.codes.place_of_exploitation]\n"吉林省" = "Jilin"\n'
        '[lists.shelter]\nfile = "s.csv"\ngiven_name = "first"\nextra = ["phone"]\n', encoding="utf-8")
    lists = read_mapping(mapping).lists
    assert lists["police"].extras == {"famly_name": "ALIAS", "phone": "PHONE", "place_of_exploitation": "PROVINCE"}
    assert lists["shelter"].extras == {"phone": "phone"}


# ------------------------------------------------------------------ the lists (6, 7)
def test_a_row_with_more_fields_than_the_header_is_named(folder) -> None:
    police = folder / "sim" / "police.csv"
    rows = police.read_text(encoding="utf-8").splitlines()
    rows[4] += ",surplus"  # the fifth line: row 5 as a spreadsheet counts, the header being row 1
    police.write_text("\n".join(rows) + "\n", encoding="utf-8")
    line = refused(folder)
    assert f"{police}, row 5: list 'police': the row has 9 fields, more than the 8 columns of the header" in line
    assert "C error" not in line and "tokenizing" not in line


def test_a_value_outside_the_codes_table_is_refused(folder) -> None:
    shelter = folder / "sim" / "shelter.csv"
    rows = shelter.read_text(encoding="utf-8").splitlines()
    row = next(k for k, r in enumerate(rows) if r.endswith(",ForcedMarriage"))
    rows[row] = rows[row].removesuffix("ForcedMarriage") + "SexualExplotation"
    shelter.write_text("\n".join(rows) + "\n", encoding="utf-8")
    line = refused(folder)
    assert (f"{shelter}, row {row + 1}, column vic_TypeOfExploitation: list 'shelter': exploitation_form value "
            "'SexualExplotation' is not in the codes table [lists.shelter.codes.exploitation_form]") in line
    assert "known values: 'ForcedLabour', 'ForcedMarriage', 'Prostitution'" in line


def test_a_codes_table_for_a_field_the_list_does_not_map_is_refused(folder) -> None:
    mapping = folder / "sim" / "mapping.toml"
    edit(mapping, "[lists.police.codes.sex]", "[lists.police.codes.exploitation_form]")
    line = refused(folder)
    assert f"{mapping}: list 'police': a codes table for the field 'exploitation_form', which the list does " in line


# ------------------------------------------------------------------ and a right config still runs
def test_a_fixed_model_by_list_names_and_declared_extras_run(simulated, tmp_path) -> None:
    shutil.copytree(simulated, tmp_path / "sim")
    edit(tmp_path / "sim" / "mapping.toml", "[lists.police.fields]", 'extra = { province = "PROVINCE" }\n'
         "[lists.police.fields]")
    (tmp_path / "run.toml").write_text(
        'mapping = "sim/mapping.toml"\noutput = "out"\n[estimation]\nmethods = ["fixed"]\nnboot = 0\n'
        '[estimation.fixed]\nmodel = "[police:shelter]"\n[linkage]\nthresholds = [0.8]\nsensitivity_methods = []\n'
        'ignore_fields = ["province", "event_date", "place_of_exploitation", "exploitation_form"]\n',
        encoding="utf-8")
    result = runner.invoke(app, ["run", str(tmp_path / "run.toml")])
    assert result.exit_code == 0, result.output
    assert "Fixed model: N about" in result.output and (tmp_path / "out" / "estimates.json").is_file()
