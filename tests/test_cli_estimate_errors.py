"""estimate, combine and sensitivity: a user's mistake is one line and exit code 2, never a traceback
or a table of repeated errors; blank stratum values form one stratum; a corrupt cache is a miss."""

import json
import pickle
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkfigure.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coalition_5lists.csv"
runner = CliRunner()

DRAWS = "replicate,n_obs,N\na,10,20\na,10,30\na,10,40\nb,12,25\nb,12,35\nb,12,45\n"


def _refused(result, *words):
    """Exit code 2, one line naming the mistake, no traceback, nothing on standard output."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output, result.output
    assert len(lines) == 1 and lines[0].startswith("darkfigure: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _table(tmp_path, content, name="t.csv"):
    path = tmp_path / name
    path.write_text(content)
    return path


# ---------------------------------------------------------------- combine
@pytest.mark.parametrize("level", ["1", "1.5", "0", "-0.5"])
def test_combine_refuses_a_level_outside_0_1_as_estimate_does(tmp_path, level):
    draws = _table(tmp_path, DRAWS)
    wording = "parameter of {} must be a float in the range (0, 1), like 0.95. Got"
    _refused(runner.invoke(app, ["combine", str(draws), "--level", level]), wording.format("combine_replicates"))
    _refused(runner.invoke(app, ["estimate", str(EXAMPLE), "--level", level]), wording.format("Stepwise"))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (DRAWS.replace("a,10,30", "a,10,inf"), ["row 3, column N", "expected a finite number", "'inf'"]),
        (DRAWS.replace("a,10,30", "a,10"), ["row 3, column N", "value is missing"]),
        (DRAWS.replace("a,10,30", ",10,30"), ["row 3, column replicate", "value is missing"]),
        (DRAWS.replace("a,10,40", "a,10,7"), ["row 4, column N", "below its replicate's observed count", "(7)"]),
        (DRAWS.replace("b,12,35", "b,13,35"), ["row 6, column n_obs", "same in every row of a replicate"]),
        (DRAWS + "c,4,9\n", ["row 8, column replicate", "at least 2 draws", "'c'"]),
    ],
)
def test_combine_names_the_file_row_and_column(tmp_path, content, words):
    draws = _table(tmp_path, content, "draws.csv")
    line = _refused(runner.invoke(app, ["combine", str(draws)]), *words)
    assert str(draws) in line and "np.float64" not in line and "nan" not in line


def test_combine_still_combines(tmp_path):
    result = runner.invoke(app, ["combine", str(_table(tmp_path, DRAWS)), "--level", "0.9", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["estimate"] == 33.0 and out["interval"]["level"] == 0.9


# ---------------------------------------------------------------- sensitivity
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "bogus"], ["unknown method 'bogus'", "choose one of stepwise"]),
        (["--model", "[12]"], ["--model does not apply to --method stepwise", "used by fixed"]),
        (["--method", "fixed", "--model", "[19]"], ["outside 1..5"]),
        (["--merge", "shelter,nope"], ["--merge shelter,nope", "no list named 'nope'", "lists are shelter"]),
        (["--merge", "shelter"], ["--merge shelter", "at least two different lists"]),
    ],
)
def test_sensitivity_refuses_bad_options_up_front(args, words):
    _refused(runner.invoke(app, ["sensitivity", str(EXAMPLE), *args]), *words)


def test_sensitivity_counts_stay_whole_numbers_with_a_merge():
    args = ["sensitivity", str(EXAMPLE), "--merge", "shelter,hotline", "--method", "closed"]
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    merged = next(line for line in text.stdout.splitlines() if "merged shelter+hotline" in line)
    assert merged.split()[2:4] == ["4", "4970"] and "5.0" not in text.stdout
    rows = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert [(r["lists"], r["n_observed"]) for r in rows][::5] == [(5, 4970), (4, 4695)]
    assert (rows[6]["variant"], rows[6]["lists"], rows[6]["n_observed"]) == ("merged shelter+hotline", 4, 4970)
    assert all(isinstance(r["lists"], int) and isinstance(r["n_observed"], int) for r in rows)


def test_sensitivity_keeps_a_note_for_a_variant_the_data_cannot_give(tmp_path):
    table = _table(tmp_path, "A,B,count\n1,0,5\n0,1,4\n1,1,3\n")
    result = runner.invoke(app, ["sensitivity", str(table), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["lists"] == 2 and rows[0]["note"] == ""
    assert rows[1]["lists"] is None and "at least 2 lists" in rows[1]["note"]
    text = runner.invoke(app, ["sensitivity", str(table)]).stdout.splitlines()
    assert text[1].split()[2:4] == ["2", "12"]  # not 2.0 and 12.0 beside the empty rows


# ---------------------------------------------------------------- estimate: options the method does not use
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--chains", "3"], "--chains does not apply to --method stepwise; it is used by lcmcr"),
        (["--method", "lcmcr", "--p-threshold", "0.05"], "--p-threshold does not apply to --method lcmcr"),
        (["--method", "closed", "--burnin", "10"], "--burnin does not apply to --method closed"),
        (["--method", "dga", "--thinning", "2"], "--thinning does not apply to --method dga"),
        (["--method", "bic", "--classes", "5"], "--classes does not apply to --method bic"),
        (["--method", "homeoffice", "--samples", "5"], "--samples does not apply to --method homeoffice"),
        (["--method", "closed", "--nboot", "10"], "--nboot does not apply to --method closed"),
    ],
)
def test_estimate_refuses_options_the_method_does_not_use(args, words):
    _refused(runner.invoke(app, ["estimate", str(EXAMPLE), *args]), words)


def test_estimate_refuses_a_cache_it_would_ignore(tmp_path):
    cache = tmp_path / "cache"
    _refused(runner.invoke(app, ["estimate", str(EXAMPLE), "--cache", str(cache), "--seed", "1"]),
             "--cache applies only with --strata")
    table = _table(tmp_path, STRATA)
    _refused(runner.invoke(app, ["estimate", str(table), "--strata", "year", "--cache", str(cache)]),
             "--cache needs --seed")
    assert not cache.exists()  # nothing half-made


# ---------------------------------------------------------------- strata: blank values, whole numbers, cache
CELLS = ["1,0,0", "0,1,0", "0,0,1", "1,1,0", "1,0,1", "0,1,1", "1,1,1"]
COUNTS = {"2019": [30, 20, 25, 10, 8, 6, 4], "2020": [28, 22, 19, 11, 7, 5, 3]}  # 103 and 95 people
STRATA = "year,A,B,C,count\n" + "".join(
    f"{year},{cell},{n}\n" for year, counts in COUNTS.items() for cell, n in zip(CELLS, counts, strict=True)
)
BLANKS = ",1,0,0,5\n ,0,1,0,3\n"  # 8 people without a year


def _strata_json(table, *extra):
    result = runner.invoke(app, ["estimate", str(table), "--strata", "year", "--nboot", "20", "--seed", "1",
                                 "--json", *extra])
    assert result.exit_code == 0, result.output
    return {row["year"]: row for row in json.loads(result.stdout)["strata"]}


def test_blank_stratum_values_form_one_not_recorded_stratum(tmp_path):
    table = _table(tmp_path, STRATA + BLANKS)
    rows = _strata_json(table)
    assert list(rows) == ["2019", "2020", "(not recorded)", "total"]
    assert [rows[y]["n_observed"] for y in rows] == [103, 95, 8, 206]
    text = runner.invoke(app, ["estimate", str(table), "--strata", "year", "--nboot", "20", "--seed", "1"]).stdout
    assert "2,019.0" not in text and "NaN  " not in text.split("\n")[1]
    assert [line.split()[0] for line in text.splitlines()[1:4]] == ["2019", "2020", "(not"]


def test_stratum_results_do_not_depend_on_blank_cells_elsewhere(tmp_path):
    clean = _strata_json(_table(tmp_path, STRATA, "clean.csv"))
    blanks = _strata_json(_table(tmp_path, STRATA + BLANKS, "blanks.csv"))
    for year in COUNTS:
        assert blanks[year] == clean[year]


@pytest.mark.parametrize("damage", [lambda data: b"not a pickle", lambda data: data[: len(data) // 2]])
def test_a_corrupt_cache_entry_is_recomputed(tmp_path, damage):
    table = _table(tmp_path, STRATA)
    cache = tmp_path / "cache"
    fresh = _strata_json(table)
    assert _strata_json(table, "--cache", str(cache)) == fresh
    entries = sorted(cache.glob("*.pickle"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_bytes(damage(entry.read_bytes()))
    assert _strata_json(table, "--cache", str(cache)) == fresh
    for entry in entries:  # rewritten whole
        assert pickle.loads(entry.read_bytes()).n_observed in (103, 95)
    assert sorted(p.name for p in cache.iterdir()) == [e.name for e in entries]  # no temporary files left


def test_a_file_given_as_cache_folder_is_refused(tmp_path):
    table = _table(tmp_path, STRATA)
    afile = _table(tmp_path, "keep me", "afile")
    _refused(runner.invoke(app, ["estimate", str(table), "--strata", "year", "--seed", "1", "--cache", str(afile)]),
             "--cache", "give a folder")
    assert afile.read_text() == "keep me"
