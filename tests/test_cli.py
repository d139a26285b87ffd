"""The command line: JSON output, exit codes, one-line errors without tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkfigure.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coalition_5lists.csv"
runner = CliRunner()


def test_estimate_json_has_the_documented_keys():
    result = runner.invoke(app, ["estimate", str(EXAMPLE), "--nboot", "50", "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"n_observed", "estimate", "model", "interval"} <= out.keys()
    assert set(out["interval"]) == {"level", "lower", "upper", "kind"}
    assert out["interval"]["kind"] == "bca" and out["interval"]["level"] == 0.95
    assert out["n_observed"] == 4970  # the example CSV's counts add up to this


def test_same_seed_same_numbers():
    args = ["estimate", str(EXAMPLE), "--nboot", "40", "--seed", "9", "--json"]
    first, second = (json.loads(runner.invoke(app, args).stdout) for _ in range(2))
    assert first["interval"] == second["interval"]


def test_fixed_model_with_names(reference_dir):
    table = reference_dir / "hiv_4lists.csv"
    result = runner.invoke(app, ["estimate", str(table), "--method", "fixed", "--model", "[c1:c2]", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["estimate"] == pytest.approx(12318.5, abs=0.05)  # Rcapture, REFERENCE.md


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("A,B,count\n1,0,3\n0,1,x\n", "row 3, column count"),
        ("A,B,count\n1,0,3\n0,2,4\n", "row 3, column B"),
        ("A,B,count\n1,0,3\n0,0,4\n", "row 3, column count"),
        ("A,B,count\n1,0,3\n0,1,-4\n", "row 3, column count"),
    ],
)
def test_bad_table_is_one_line_with_exit_code_2(tmp_path, content, expected):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "darkfigure.cli", "estimate", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and expected in lines[0], proc.stderr


def test_non_existent_model_is_refused_with_reason(reference_dir):
    table = reference_dir / "artificial_3lists.csv"
    result = runner.invoke(app, ["estimate", str(table), "--method", "fixed", "--model", "[12,3]"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.parametrize("args", [["--nboot", "-3"], ["--level", "1.5"], ["--method", "magic"]])
def test_bad_options_exit_2(args):
    result = runner.invoke(app, ["estimate", str(EXAMPLE), *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_missing_file_exit_2():
    result = runner.invoke(app, ["estimate", "no-such-file.csv"])
    assert result.exit_code == 2 and "no-such-file.csv" in result.output


def test_an_unusable_output_path_is_one_line_with_exit_code_2(tmp_path):
    """A file where a folder must be: the operating system's error, said as a user's mistake."""
    (tmp_path / "afile").write_text("keep me")
    proc = subprocess.run([sys.executable, "-m", "darkfigure.cli", "simulate", "--out", "afile/sub", "--n", "500"],
                          capture_output=True, text=True, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and "afile" in lines[0], proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"] and (tmp_path / "afile").read_text() == "keep me"


def test_sensitivity_merging_pf_nca_gives_the_uk5_estimate(reference_dir):
    table = reference_dir / "uk2013_6lists.csv"
    result = runner.invoke(app, ["sensitivity", str(table), "--merge", "PF,NCA", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["variant"]: r for r in json.loads(result.stdout)}
    assert rows["all lists"]["estimate"] == pytest.approx(11417.99, abs=0.005)  # SparseMSE UK 6 lists
    assert rows["merged PF+NCA"]["estimate"] == pytest.approx(11312.99, abs=0.005)  # SparseMSE UK 5 lists
    assert len(rows) == 1 + 6 + 1


def test_closed_method_picks_rcapture_best_bic(reference_dir):
    result = runner.invoke(app, ["estimate", str(reference_dir / "lesbian_4lists.csv"), "--method", "closed", "--json"])
    out = json.loads(result.stdout)
    # Rcapture closedp.t on the lesbian data: Mth Darroch 6,963.7 has the best BIC, 236.623
    assert out["model"] == "Mth Darroch"
    assert out["estimate"] == pytest.approx(6963.7, abs=0.05)
    assert out["diagnostics"]["bic"] == pytest.approx(236.623, abs=5e-4)
    assert out["interval"]["kind"] == "profile"


def test_homeoffice_method(reference_dir):
    table = reference_dir / "uk2013_6lists.csv"
    result = runner.invoke(app, ["estimate", str(table), "--method", "homeoffice", "--json"])
    out = json.loads(result.stdout)
    # Silverman 2014/2020: 11,408.92, 95% 9,982.26 to 13,181.69
    assert out["estimate"] == pytest.approx(11408.92, abs=0.005)
    assert out["interval"]["lower"] == pytest.approx(9982.26, abs=0.005)
    assert out["interval"]["upper"] == pytest.approx(13181.69, abs=0.005)


def test_lcmcr_json_has_posterior_interval_rhat_and_ess(reference_dir):
    args = ["estimate", str(reference_dir / "hiv_4lists.csv"), "--method", "lcmcr", "--chains", "2",
            "--burnin", "500", "--samples", "200", "--thinning", "5", "--seed", "3", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["interval"]["kind"] == "posterior"
    assert out["rhat"] > 0.9 and out["ess"] > 0
    assert out["interval"]["lower"] <= out["estimate"] <= out["interval"]["upper"]


def test_dga_json(reference_dir):
    table = reference_dir / "madigan_york_3lists.csv"
    result = runner.invoke(app, ["estimate", str(table), "--method", "dga", "--json"])
    out = json.loads(result.stdout)
    assert out["method"] == "dga" and out["interval"]["kind"] == "posterior"


def _strict(text):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_is_strict_when_a_profile_never_crosses(tmp_path):
    table = tmp_path / "sparse.csv"
    table.write_text("A,B,count\n1,0,22\n0,1,127\n1,1,3\n")
    result = runner.invoke(app, ["estimate", str(table), "--method", "bic", "--nboot", "0", "--json"])
    profile = next(iv for iv in _strict(result.stdout)["intervals"] if iv["kind"] == "profile")
    assert profile["upper"] is None  # Rcapture prints ">3N": no finite upper end


def test_too_few_bootstrap_replicates_give_a_warning_not_a_crash(reference_dir):
    result = runner.invoke(app, ["estimate", str(reference_dir / "uk2013_5lists.csv"), "--nboot", "1", "--json"])
    out = _strict(result.stdout)
    assert result.exit_code == 0 and out["interval"]["kind"] == "normal-log"
    assert any("no BCa interval" in w for w in out["warnings"])


@pytest.mark.parametrize(
    ("content", "args", "words"),
    [
        ("A,B,count\n0,1,41\n1,1,70\n", [], "broke down"),
        ("A,B,count\n1,0,3\n0,1,99999999999999999999\n1,1,2\n", [], "row 3, column count"),
        ("A,B,count\n1,0,3\n0,1,4\n1,1,2\n", ["--model", "[12]"], "--model does not apply"),
        ("A,B,count\n1,0,3\n0,1,4\n1,1,2\n", ["--method", "closed", "--nboot", "10"], "--nboot does not apply"),
        ("A,B,count\n1,0,3\n0,1,4\n1,1,2\n", ["--method", "fixed", "--model", ""], "needs a model"),
    ],
)
def test_more_bad_input_exits_2(tmp_path, content, args, words):
    table = tmp_path / "t.csv"
    table.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "darkfigure.cli", "estimate", str(table), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and words in proc.stderr, proc.stderr


def test_list_names_are_not_turned_into_emoji(reference_dir):
    proc = subprocess.run([sys.executable, "-m", "darkfigure.cli", "estimate", str(reference_dir / "uk2013_5lists.csv"),
                           "--method", "fixed", "--model", "[12345]"], capture_output=True, text=True)
    assert proc.returncode == 2 and "LA:NG:PFNCA:GO:GP" in proc.stderr
