"""The truth-known coalition: determinism, truth consistency, configured rates, files, scenario errors."""

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import darkfigure.simulate.coalition as coalition_module
from darkfigure.errors import InputError
from darkfigure.simulate.cli_commands import simulate_command
from darkfigure.simulate.coalition import simulate_coalition
from darkfigure.simulate.scenarios import STANDARD_FIELDS, load_scenario, parse_scenario

PRESET_DIR = Path(coalition_module.__file__).parent / "presets"


@pytest.fixture(scope="module")
def nk():
    return simulate_coalition("nk-women-china", seed=11)


@pytest.fixture(scope="module")
def generic():
    return simulate_coalition("generic", seed=12)


def _preset_data(name: str) -> dict:
    return tomllib.loads((PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------- determinism


def test_same_seed_writes_identical_files(tmp_path):
    scenario = load_scenario("nk-women-china").with_n(3000)
    first = simulate_coalition(scenario, seed=5).write(tmp_path / "a")
    second = simulate_coalition(scenario, seed=5).write(tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert set(names) == {f"{n}.csv" for n in scenario.lists} | {
        "truth.csv", "truth_summary.json", "scenario.toml", "mapping.toml"}
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    other = simulate_coalition(scenario, seed=6).write(tmp_path / "c")
    assert (other / "police.csv").read_bytes() != (first / "police.csv").read_bytes()


# ------------------------------------------------------------------------------------- the truth


@pytest.mark.parametrize("name", ["nk", "generic"])
def test_every_record_maps_to_one_entity(name, request):
    c = request.getfixturevalue(name)
    truth = c.truth.set_index(["list", "record_id"])
    assert truth.index.is_unique
    for organisation in c.scenario.organisations:
        ids = c.lists[organisation.name][organisation.recording.columns["record_id"]]
        assert ids.is_unique and (ids != "").all()
        assert set(ids) == set(c.truth.loc[c.truth["list"] == organisation.name, "record_id"])
    people = c.population.set_index("entity_id")
    assert c.truth["entity_id"].isin(people.index).all()
    for stratum in c.scenario.strata:  # the truth carries the entity's own strata
        expected = people.loc[c.truth["entity_id"], stratum].astype(str).to_numpy()
        assert (c.truth[stratum].astype(str).to_numpy() == expected).all()


@pytest.mark.parametrize("name", ["nk", "generic"])
def test_true_n_adds_up_over_every_stratum(name, request):
    c = request.getfixturevalue(name)
    summary = c.summary()
    assert summary["n"] == c.scenario.n == len(c.population)
    assert summary["n_observed"] + summary["dark_figure"] == summary["n"]
    assert summary["n_observed"] == c.truth["entity_id"].nunique()
    for values in summary["strata"].values():
        assert sum(v["n"] for v in values.values()) == summary["n"]
        assert sum(v["n_observed"] for v in values.values()) == summary["n_observed"]
    histories = c.true_histories()
    assert histories.n_observed == summary["n_observed"]
    for organisation in c.scenario.organisations:
        entities = summary["lists"][organisation.name]["entities"]
        assert histories.list_sizes()[organisation.name] == entities
        assert summary["lists"][organisation.name]["records"] == len(c.lists[organisation.name])


def test_cybersex_victims_are_nearly_invisible(nk):
    strata = nk.summary()["strata"]["exploitation_form"]
    rate = {form: v["n_observed"] / v["n"] for form, v in strata.items()}
    # every list's multiplier 0.1 (the hotline's own 4.0 lifts it a little): far below the others
    assert rate["RemoteInteractiveServices"] < 0.35 * rate["ForcedMarriage"]
    assert rate["RemoteInteractiveServices"] < 0.25 * rate["Prostitution"]


def test_referral_raises_the_overlap(nk):
    on = nk.population["history"].str
    church, shelter = on[0] == "1", on[3] == "1"
    assert shelter[church].mean() > 2 * shelter[~church].mean()


def test_captures_follow_the_capture_probability_without_heterogeneity(seed):
    data = _preset_data("generic")
    data["heterogeneity"] = {"kind": "none"}
    data["referrals"] = []
    data["n"] = 20000
    c = simulate_coalition(parse_scenario(data), seed)
    outreach = (c.population["history"].str[0] == "1").mean()
    assert outreach == pytest.approx(0.15, abs=4 * np.sqrt(0.15 * 0.85 / 20000))  # no multipliers on outreach


# ------------------------------------------------------------------------------------- the records


def test_duplicates_within_a_list_at_the_configured_rate(nk):
    summary = nk.summary()["lists"]
    for organisation in nk.scenario.organisations:
        counts = summary[organisation.name]
        rate, n = organisation.recording.duplicates, counts["entities"]
        tolerance = 4 * np.sqrt(rate * (1 - rate) / n) + 0.005
        assert counts["duplicate_records"] / n == pytest.approx(rate, abs=tolerance), organisation.name


def test_missing_values_only_at_the_configured_rate(nk):
    for organisation in nk.scenario.organisations:
        table = nk.lists[organisation.name]
        for field, column in organisation.recording.columns.items():
            empty = (table[column] == "").mean()
            rate = organisation.recording.missing.get(field, 0.0) if field != "record_id" else 0.0
            if rate == 0:
                assert empty == 0, (organisation.name, field)
            else:
                assert empty == pytest.approx(rate, abs=4 * np.sqrt(rate * (1 - rate) / len(table)) + 0.005)


def _recorded_vs_true_birth(c, name):
    organisation = c.scenario.organisations[c.scenario.lists.index(name)]
    table = c.lists[name]
    truth = c.truth[c.truth["list"] == name].set_index("record_id")
    people = c.population.set_index("entity_id")
    true = people.loc[truth.loc[table[organisation.recording.columns["record_id"]], "entity_id"], "birth_date"]
    recorded = pd.to_datetime(table[organisation.recording.columns["birth_date"]],
                              format=organisation.recording.date_format, errors="coerce")
    keep = recorded.notna().to_numpy()
    return organisation.recording, pd.DatetimeIndex(true.to_numpy()[keep]), pd.DatetimeIndex(recorded[keep])


def test_birth_date_errors_at_the_configured_rates(nk):
    rec, true, recorded = _recorded_vs_true_birth(nk, "police")
    n = len(true)
    year_off = np.abs(np.asarray(recorded.year) - np.asarray(true.year))
    assert set(year_off) <= {0, 1}
    assert year_off.mean() == pytest.approx(rec.birth_year_error, abs=4 * np.sqrt(0.08 * 0.92 / n))
    january_first = np.mean((recorded.month == 1) & (recorded.day == 1))
    assert january_first == pytest.approx(rec.unknown_day, abs=4 * np.sqrt(0.1 * 0.9 / n) + 0.003)
    swapped = (recorded.month == true.day) & (recorded.day == true.month) & (true.day != true.month)
    assert 0 < swapped.sum() <= 2 * rec.day_month_swap * n


def test_typos_at_the_configured_rate(seed):
    data = _preset_data("generic")
    recording = data["lists"]["inspectorate"]["recording"]
    recording.update(typo=0.1, romanisation="revised", name_style="joined", missing=0.0)
    c = simulate_coalition(parse_scenario(data), seed)
    from darkfigure.simulate import identities as ids

    truth = c.truth[c.truth["list"] == "inspectorate"]
    people = c.population.set_index("entity_id").loc[truth["entity_id"]]
    first, second = people["syllable_1"].to_numpy(), people["syllable_2"].to_numpy()
    expected = np.array([ids.romanise(ids.FIRST_SYLLABLES.hangul["south"][a] + ids.SECOND_SYLLABLES.hangul["south"][b])
                         for a, b in zip(first, second, strict=True)], dtype=object)
    recorded = c.lists["inspectorate"].set_index("inspection_id").loc[truth["record_id"], "worker_name"].to_numpy()
    differs = np.mean([r.lower() != e for r, e in zip(recorded, expected, strict=True)])
    assert differs == pytest.approx(0.1 * 0.98, abs=4 * np.sqrt(0.1 * 0.9 / len(expected)))


def _records_of_entities_on_several_lists(c, field):
    frames = []
    for organisation in c.scenario.organisations:
        column = organisation.recording.columns.get(field)
        if column:
            table = c.lists[organisation.name]
            ids = table[organisation.recording.columns["record_id"]]
            truth = c.truth[c.truth["list"] == organisation.name].set_index("record_id")
            frames.append(pd.DataFrame({"entity_id": truth.loc[ids, "entity_id"].to_numpy(),
                                        "list": organisation.name, "value": table[column].to_numpy()}))
    records = pd.concat(frames)
    return records[(records["value"] != "") & (records.groupby("entity_id")["list"].transform("nunique") > 1)]


def test_names_vary_across_romanisation_systems(nk):
    for field, share in (("family_name", 0.3), ("given_name", 0.6)):  # Kim is often spelt Kim everywhere
        records = _records_of_entities_on_several_lists(nk, field)
        spellings = records.groupby("entity_id")["value"].agg(lambda v: len(set(v.str.lower())))
        assert (spellings > 1).mean() > share, field
    family = _records_of_entities_on_several_lists(nk, "family_name")["value"].str.lower()
    assert {"lee", "yi", "ri", "i"} <= set(family) and {"park", "pak", "bak"} <= set(family)
    given = _records_of_entities_on_several_lists(nk, "given_name")["value"]
    assert given.str.contains("-").any() and given.str.contains(" ").any() and given.str.match(r"^[A-Z][a-z]+$").any()


def test_hangul_follows_each_organisations_orthography(nk):
    church = nk.lists["church"]["이름"]
    resettlement = nk.lists["resettlement"]["name_kr"]
    assert church.str.startswith("리").any() and not church.str.startswith("이").any()
    assert resettlement.str.startswith("이").any() and not resettlement.str.startswith("리").any()


def test_mapping_codes_give_back_the_true_strata(nk):
    mapping = nk.mapping()["lists"]
    for organisation in nk.scenario.organisations:
        spec = mapping[organisation.name]
        table = nk.lists[organisation.name]
        assert set(spec["fields"]) <= set(STANDARD_FIELDS) and set(spec["fields"].values()) == set(table.columns)
        truth = nk.truth[nk.truth["list"] == organisation.name].set_index("record_id")
        truth = truth.loc[table[spec["fields"]["record_id"]]]
        for field, codes in spec["codes"].items():
            recorded = table[spec["fields"][field]]
            seen = recorded != ""
            decoded = recorded[seen].map(codes)
            assert decoded.notna().all(), (organisation.name, field)
            assert (decoded.to_numpy() == truth[field].astype(str).to_numpy()[seen.to_numpy()]).all()


def test_event_dates_fall_in_the_entitys_year(generic):
    mapping = generic.mapping()["lists"]["police"]
    table = generic.lists["police"]
    recorded = table[mapping["fields"]["event_date"]] != ""
    dates = pd.to_datetime(table.loc[recorded, mapping["fields"]["event_date"]], format=mapping["date_format"])
    truth = generic.truth[generic.truth["list"] == "police"].set_index("record_id")
    assert (dates.dt.year.to_numpy() == truth.loc[table.loc[recorded, "ref"], "year"].to_numpy()).all()


# ------------------------------------------------------------------------------------- the folder


def test_written_folder_reads_back(tmp_path):
    c = simulate_coalition(load_scenario("generic").with_n(800), seed=3)
    folder = c.write(tmp_path / "out")
    again = load_scenario(folder / "scenario.toml")
    assert again.to_toml() == c.scenario.to_toml()
    mapping = tomllib.loads((folder / "mapping.toml").read_text(encoding="utf-8"))
    assert mapping == c.mapping()
    police = pd.read_csv(folder / "police.csv", dtype=str, keep_default_na=False)
    assert police.columns.tolist() == c.lists["police"].columns.tolist()
    assert (police.to_numpy() == c.lists["police"].to_numpy()).all()
    truth = pd.read_csv(folder / "truth.csv")
    assert len(truth) == len(c.truth)


def test_refuses_a_non_empty_folder_unless_forced(tmp_path):
    c = simulate_coalition(load_scenario("generic").with_n(300), seed=1)
    folder = c.write(tmp_path / "out")
    with pytest.raises(InputError, match="not empty.*--force"):
        c.write(folder)
    simulate_coalition(load_scenario("generic").with_n(300), seed=2).write(folder, overwrite=True)
    assert '"seed": 2' in (folder / "truth_summary.json").read_text()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my own work")
    with pytest.raises(InputError, match="notes.txt"):
        c.write(tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my own work"
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="must be a folder"):
        c.write(tmp_path / "file")


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    c = simulate_coalition(load_scenario("generic").with_n(300), seed=1)
    previous = c.write(tmp_path / "out")
    before = {p.name: p.read_bytes() for p in previous.iterdir()}

    def broken(self, folder):
        (folder / "outreach.csv").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(coalition_module.Coalition, "_write_files", broken)
    with pytest.raises(OSError, match="disk full"):
        c.write(tmp_path / "new")
    with pytest.raises(OSError, match="disk full"):
        c.write(tmp_path / "out", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert {p.name: p.read_bytes() for p in previous.iterdir()} == before


# ------------------------------------------------------------------------------------- the command


def test_simulate_command(tmp_path):
    text = simulate_command(None, None, tmp_path / "nk", seed=3, n=2000, force=False)
    assert text.startswith("Simulated scenario 'nk-women-china' (seed 3): N = 2,000 women and girls")
    assert str(tmp_path / "nk") in text and (tmp_path / "nk" / "truth.csv").exists()
    path = PRESET_DIR / "generic.toml"
    assert "N = 5,000 people" in simulate_command(None, path, tmp_path / "g", seed=3, n=None, force=False)
    with pytest.raises(InputError, match="not both"):
        simulate_command("generic", path, tmp_path / "x", seed=1, n=None, force=False)
    with pytest.raises(InputError, match="unknown preset 'nk'"):
        simulate_command("nk", None, tmp_path / "x", seed=1, n=None, force=False)
    with pytest.raises(InputError, match="at least 1"):
        simulate_command("generic", None, tmp_path / "x", seed=1, n=0, force=False)
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------------------------- scenario errors


def _broken(change):
    data = _preset_data("nk-women-china")
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["lists"]["police"].update(capture=1.5),
         r"key 'lists.police.capture' must be a number from 0 to 1; got 1.5"),
        (lambda d: d["lists"]["police"].update(captur=0.1), r"key 'lists.police.captur' .* did you mean 'capture'"),
        (lambda d: d["strata"].pop("year"), r"key 'strata.year' is missing"),
        (lambda d: d["strata"]["exploitation_form"].update(Cybersex=0.1),
         r"'strata.exploitation_form.Cybersex' is not an HTCDS value"),
        (lambda d: d["strata"]["sex"].update(Female=0.1), r"'strata.sex.Female' is not an HTCDS value"),
        (lambda d: d["referrals"].append({"from": "resettlement", "to": "church", "factor": 2.0}),
         r"referrals form a cycle"),
        (lambda d: d["referrals"].append({"from": "ngo", "to": "church", "factor": 2.0}),
         r"key 'referrals\[4\].from' must be one of church, hotline"),
        (lambda d: d["lists"]["police"]["recording"]["columns"].pop("record_id"), r"record_id' is missing"),
        (lambda d: d["lists"]["police"]["recording"]["columns"].update(birth_place="x"),
         r"'lists.police.recording.columns.birth_place' is not a standard field"),
        (lambda d: d["strata"].pop("place_of_origin"), r"columns.place_of_origin' is recorded but the scenario has no"),
        (lambda d: d["lists"]["hotline"]["multipliers"]["year"].update({"2030": 1.0}),
         r"year.2030' is not a value of stratum year"),
        (lambda d: d["lists"]["police"]["recording"].update(romanisation={"wade": 1.0}), r"wade' is not one of"),
        (lambda d: d["lists"]["police"]["recording"].update(date_format="%d %B %Y"), r"date_format' must be one of"),
        (lambda d: d["lists"]["police"].update(kind="Police"), r"kind' must be one of NGO, LawEnforcement"),
        (lambda d: d["heterogeneity"].update(kind="classes"), r"heterogeneity.shares' is missing"),
        (lambda d: d.update(n=-5), r"key 'n' must be a whole number of at least 1; got -5"),
        (lambda d: d.update(lists={"police": d["lists"]["police"]}), r"needs at least two lists"),
    ],
)
def test_scenario_errors_name_the_file_and_the_key(tmp_path, change, message):
    path = tmp_path / "bad.toml"
    from darkfigure.simulate.scenarios import dump_toml

    path.write_text(dump_toml(_broken(change)), encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))


def test_unreadable_scenario_files(tmp_path):
    with pytest.raises(InputError, match="cannot read the scenario file"):
        load_scenario(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("n = = 3\n")
    with pytest.raises(InputError, match=r"bad.toml: not valid TOML"):
        load_scenario(tmp_path / "bad.toml")
    with pytest.raises(InputError, match="unknown preset 'nowhere'; choose one of generic, nk-women-china"):
        load_scenario("nowhere")
