"""`darkfigure release` end to end on a small simulated coalition: the publication folder, no names or
record ids in it, suppressed cells, the headline, the privacy ledger (refusal, exit code 2, nothing
written), the command line and its errors."""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import tomllib
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from darkfigure.cli import app
from darkfigure.errors import InputError, PrivacyBudgetExceeded
from darkfigure.histories import CaptureHistories
from darkfigure.pipeline import load_config, run
from darkfigure.publish import PrivacyLedger, ReleaseConfig, RunFolder, load_release_config, release_run
from darkfigure.publish.cli import release_summary
from darkfigure.publish.privacy import noisy_histories
from darkfigure.publish.release import _noisy_headline, dataset_name, headline_method
from darkfigure.publish.suppression import recover_by_differencing
from darkfigure.simulate import load_scenario, simulate_coalition

N, SEED = 600, 2  # generic preset, 4 lists, about 320 records (as tests/test_pipeline.py)
RUN = ('title = "Release test"\nmapping = "data/mapping.toml"\noutput = "report"\nseed = 3\n'
       '[linkage]\nsensitivity_methods = []\n'
       '[estimation]\nmethods = ["stepwise"]\nnboot = 20\nstrata = ["exploitation_form"]\n')
FAST = {"nboot": 10, "noise_draws": 3}
FILES = ["capture_histories.csv", "prevalence_exploitation_form.csv", "publication.html", "publication.pdf",
         "release.json"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("release")
    simulate_coalition(load_scenario("generic").with_n(N), seed=SEED).write(folder / "data")
    (folder / "run.toml").write_text(RUN, encoding="utf-8")
    run(load_config(folder / "run.toml"))
    return folder


@pytest.fixture(scope="module")
def noisy(run_dir: Path):
    """A release with differential privacy (the default), budget 1.5: room for one release of epsilon 1."""
    config = ReleaseConfig(budget=1.5, ledger=run_dir / "ledger.json", **FAST)
    return release_run(run_dir / "report", run_dir / "noisy", config)


@pytest.fixture(scope="module")
def exact(run_dir: Path):
    """A release without noise, through the command line."""
    result = CliRunner().invoke(app, ["release", str(run_dir / "report"), "--out", str(run_dir / "exact"), "--no-dp",
                                      "--k", "5", "--nboot", "10"])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((run_dir / "exact" / "release.json").read_text(encoding="utf-8"))


def published_text(folder: Path) -> str:
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in FILES if not name.endswith(".pdf"))


# ------------------------------------------------------------------ the publication folder
def test_release_writes_the_publication_folder(noisy, exact, run_dir: Path) -> None:
    for name in ("noisy", "exact"):
        assert sorted(p.name for p in (run_dir / name).iterdir()) == FILES
    html = (run_dir / "noisy" / "publication.html").read_text(encoding="utf-8")
    for heading in ("Summary", "Prevalence by exploitation_form", "Capture histories", "Methods",
                    "What was suppressed and why", "Privacy parameters", "Reproducibility"):
        assert f">{heading}</h2>" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html  # offline, no CDN
    assert "\u03b5 = 1" in html


def test_nothing_record_level_is_published(noisy, exact, run_dir: Path) -> None:
    mapping = tomllib.loads((run_dir / "data" / "mapping.toml").read_text(encoding="utf-8"))["lists"]
    secrets: set[str] = set()
    for spec in mapping.values():
        frame = pd.read_csv(run_dir / "data" / spec["file"], dtype=str, keep_default_na=False)
        for field in ("record_id", "family_name", "given_name"):
            secrets |= {v for v in frame[spec["fields"][field]] if v.strip()}
    assert len(secrets) > 200  # record ids and every name value of the simulated lists
    for name in ("noisy", "exact"):
        text = published_text(run_dir / name)
        tokens = set(re.split(r"[^\w'-]+", text))
        found = [s for s in secrets if s in tokens or (len(s) > 3 and s in text)]
        assert found == [], found[:5]
        assert "entity_id" not in text and "record_id" not in text


def test_release_json_records_what_was_released(noisy, run_dir: Path) -> None:
    saved = json.loads((run_dir / "noisy" / "release.json").read_text(encoding="utf-8"))
    assert saved["privacy"]["epsilon"] == 1.0 and saved["privacy"]["mechanism"] == "laplace"
    assert saved["privacy"]["noise_scale"] == 1.0  # Laplace scale = sensitivity 1 / epsilon 1
    assert saved["ledger_entry"]["epsilon"] == 1.0 and saved["ledger_entry"]["number"] == 1
    entities = (run_dir / "report" / "entities.csv").read_bytes()
    import hashlib

    assert saved["inputs"]["run_folder_files"]["entities.csv"] == hashlib.sha256(entities).hexdigest()
    assert set(saved["tables"]) == {"capture_histories", "prevalence_exploitation_form"}
    csv = pd.read_csv(run_dir / "noisy" / "capture_histories.csv", dtype={"pattern": str})
    assert csv["count"].fillna(-1).tolist() == [-1 if r["count"] is None else r["count"]
                                                for r in saved["tables"]["capture_histories"]]
    assert "seed" not in saved["settings"]  # the noise is never seeded or reproducible


# ------------------------------------------------------------------ suppression
def test_small_cells_are_suppressed_and_cannot_be_recovered(exact, run_dir: Path) -> None:
    truth = CaptureHistories.read_csv(run_dir / "report" / "histories.csv")  # the run's exact table
    small = {"".join(map(str, row)) for row, c in zip(truth.patterns, truth.counts, strict=True) if 0 < c < 5}
    assert small  # this coalition has cells below k = 5
    published = pd.read_csv(run_dir / "exact" / "capture_histories.csv", dtype={"pattern": str})
    hidden = set(published.loc[published["count"].isna(), "pattern"])
    assert small <= hidden
    shown = published.dropna(subset=["count"]).set_index("pattern")["count"]
    assert all(c >= 5 for c in shown)
    table = published.set_index("pattern")["count"].astype("Int64")
    assert recover_by_differencing(table) == {}  # P1's attacker finds no hidden cell
    html = (run_dir / "exact" / "publication.html").read_text(encoding="utf-8")
    assert html.count('<td class="suppressed">suppressed</td>') >= len(hidden)
    _, saved = exact
    assert {s["row"] for s in saved["suppressed"] if s["table"] == "capture_histories"} == hidden
    for s in saved["suppressed"]:  # the reason says why without giving the hidden count away
        assert "below k = 5" in s["reason"] and set(re.findall(r"\d+", s["reason"])) == {"5"}
    assert "people on " in saved["suppressed"][0]["label"] and " only" in saved["suppressed"][0]["label"]


def test_exact_release_keeps_the_runs_headline(exact, run_dir: Path) -> None:
    output, saved = exact
    estimates = json.loads((run_dir / "report" / "estimates.json").read_text(encoding="utf-8"))
    first = estimates["estimates"][0]
    assert saved["headline"]["estimate"] == pytest.approx(first["estimate"], rel=1e-12)
    assert saved["headline"]["lower"] == pytest.approx(first["interval"]["lower"], rel=1e-12)
    html = (run_dir / "exact" / "publication.html").read_text(encoding="utf-8")
    assert f"<strong>{first['estimate']:,.0f}</strong>" in html
    assert f"<strong>{first['interval']['lower']:,.0f}</strong>" in html
    assert "Differential privacy off" in output
    prevalence = pd.read_csv(run_dir / "exact" / "prevalence_exploitation_form.csv")
    total = prevalence[prevalence["exploitation_form"] == "Total"].iloc[0]
    assert total["documented"] == first["n_observed"]
    shown = prevalence.dropna(subset=["documented"])
    shown = shown[shown["exploitation_form"] != "Total"]
    entities = pd.read_csv(run_dir / "report" / "entities.csv", dtype=str)
    counts = entities["exploitation_form"].value_counts()
    for _, row in shown.iterrows():  # documented counts counted here from entities.csv
        assert row["documented"] == counts[row["exploitation_form"]]
        assert row["share"] == pytest.approx(counts[row["exploitation_form"]] / len(entities), rel=1e-9)


def test_noisy_release_re_estimates_and_widens_the_interval(noisy, run_dir: Path) -> None:
    h = noisy.headline
    assert h["lower"] <= h["sampling_lower"] and h["upper"] >= h["sampling_upper"]
    assert h["noise_sd"] > 0 and h["lower"] < h["estimate"] < h["upper"]
    histories = noisy.tables["capture_histories"]
    prevalence = noisy.tables["prevalence_exploitation_form"]
    total = histories.loc[histories["pattern"] == "Total", "count"].iloc[0]
    assert prevalence.loc[prevalence["exploitation_form"] == "Total", "documented"].iloc[0] == total
    html = (run_dir / "noisy" / "publication.html").read_text(encoding="utf-8")
    assert "the noise added for privacy" in html and f"\u00b1{h['noise_sd']:,.0f}" in html


# ------------------------------------------------------------------ the ledger
def test_a_release_past_the_budget_is_refused_and_writes_nothing(noisy, run_dir: Path) -> None:
    ledger = run_dir / "ledger.json"
    before = ledger.read_text(encoding="utf-8")
    config = ReleaseConfig(budget=1.5, ledger=ledger, **FAST)
    with pytest.raises(PrivacyBudgetExceeded, match="only 0.5"):
        release_run(run_dir / "report", run_dir / "second", config)
    assert not (run_dir / "second").exists()
    result = CliRunner().invoke(app, ["release", str(run_dir / "report"), "--out", str(run_dir / "second"),
                                      "--budget", "1.5", "--ledger", str(ledger), "--nboot", "20"])
    assert result.exit_code == 2
    assert "darkfigure: error:" in result.output and "epsilon" in result.output
    assert not (run_dir / "second").exists()
    assert ledger.read_text(encoding="utf-8") == before
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".second")] == []  # no staging left


# ------------------------------------------------------------------ errors a user can make
def test_bad_release_config_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "release.toml"
    path.write_text('k = 5\n[privacy]\nepsilom = 1.0\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"release.toml.*'privacy.epsilom'"):
        load_release_config(path)
    path.write_text('[privacy]\nepsilon = -1\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"release.toml.*'epsilon'.*above 0"):
        load_release_config(path)
    path.write_text('k = [5\n', encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        load_release_config(path)


def test_command_line_errors_exit_2_with_one_line(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_k = runner.invoke(app, ["release", str(run_dir / "report"), "--out", str(tmp_path / "o"), "--k", "0"])
    assert bad_k.exit_code == 2 and "'k'" in bad_k.output
    not_a_run = runner.invoke(app, ["release", str(tmp_path), "--out", str(tmp_path / "o")])
    assert not_a_run.exit_code == 2 and "not a run folder" in not_a_run.output
    unknown = runner.invoke(app, ["release", str(run_dir / "report"), "--out", str(tmp_path / "o"), "--no-dp",
                                  "--categories", "province"])
    assert unknown.exit_code == 2 and "province" in unknown.output and "exploitation_form" in unknown.output
    assert not (tmp_path / "o").exists()


def test_run_folder_reads_only_aggregates_it_needs(run_dir: Path) -> None:
    folder = RunFolder.read(run_dir / "report")
    assert folder.lists == ("outreach", "police", "health", "inspectorate")
    assert folder.stratum_columns == ("exploitation_form",)
    assert folder.histories() == CaptureHistories.read_csv(run_dir / "report" / "histories.csv")


# ------------------------------------------------------------------ walkthrough regressions
def test_the_headline_method_is_the_runs_in_both_modes(noisy, exact, run_dir: Path) -> None:
    """Walkthrough issue 5: the DP release used stepwise while --no-dp used the run's headline (LCMCR)."""
    first = json.loads((run_dir / "report" / "estimates.json").read_text(encoding="utf-8"))["estimates"][0]
    _, saved = exact
    assert noisy.headline["method"] == saved["headline"]["method"] == first["method"]
    assert noisy.headline["run_label"] == saved["headline"]["run_label"] == first["label"]
    html = unescape((run_dir / "noisy" / "publication.html").read_text(encoding="utf-8"))
    assert f"N is the run report's {first['label']} estimate (method {first['method']}, same settings)" in html
    assert "The run's own figure is not published" in html  # exact N would undo the privacy
    output, _ = exact
    assert f"This is the run report's {first['label']} estimate." in output
    moved = noisy.headline["estimate"] - first["estimate"]  # on the terminal only: how far the noise moved N
    summary = release_summary(noisy, run_dir / "noisy", [first])
    assert f"(exact counts, not published) is {first['estimate']:,.0f}; the noise moved it by {moved:+,.0f}" in summary
    assert "from the data alone" in html


def test_headline_method_follows_the_runs_first_estimate_and_its_settings() -> None:
    run = RunFolder(Path("r"), {"seed": 7, "settings": {"lcmcr settings": "chains 4, classes 10, burnin 10000",
                                                        "stepwise settings": "nboot 1000, p_threshold 0.02"},
                                "estimates": [{"label": "LCMCR", "method": "lcmcr"},
                                              {"label": "Stepwise", "method": "stepwise"}]}, pd.DataFrame(), (), {})
    lcmcr = headline_method(run, ReleaseConfig())
    assert (lcmcr["method"], lcmcr["run_row"]["label"]) == ("lcmcr", "LCMCR")
    assert lcmcr["settings"] == {"level": 0.95, "seed": 7, "chains": 4, "classes": 10, "burnin": 10000}
    stepwise = headline_method(run, ReleaseConfig(method="stepwise", nboot=50))
    assert stepwise["settings"] == {"level": 0.95, "seed": 7, "p_threshold": 0.02, "nboot": 50}
    assert stepwise["run_row"]["label"] == "Stepwise"


def test_a_method_that_fails_on_the_noisy_table_falls_back_to_stepwise_and_says_so() -> None:
    h = CaptureHistories.from_counts([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
                                     [300, 280, 250, 80, 70, 60, 20], lists=["A", "B", "C"])
    noise = {"noisy": [noisy_histories(h, 1.0)]}
    bad = {"method": "fixed", "settings": {"level": 0.95, "seed": 1, "model": "[12,34]", "nboot": 0}}  # no list 4
    head = _noisy_headline(noise["noisy"][0].histories, ReleaseConfig(nboot=0, noise_draws=3), bad, noise)
    assert head["method"] == "stepwise" and head["estimate"] > h.n_observed
    assert head["note"].startswith("fixed could not be estimated on the noisy table")
    assert "stepwise instead" in head["note"]


def test_a_spent_budget_is_said_to_be_spent(run_dir: Path, tmp_path: Path) -> None:
    """Walkthrough issue 9: at 0 left the refusal still advised a lower --epsilon."""
    ledger_path = tmp_path / "ledger.json"
    dataset = dataset_name(RunFolder.read(run_dir / "report"))
    PrivacyLedger(ledger_path, 1.0).spend(dataset, 1.0, 0.0, purpose="first release")
    with pytest.raises(PrivacyBudgetExceeded) as refused:
        release_run(run_dir / "report", tmp_path / "out", ReleaseConfig(budget=1.0, ledger=ledger_path, **FAST))
    assert "budget of dataset" in str(refused.value) and "is spent" in str(refused.value)
    assert "lower --epsilon" not in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_exact_releases_carry_the_internal_banner_everywhere(exact, run_dir: Path) -> None:
    banner = "exact counts: for internal circulation only, not for publication"
    _, saved = exact
    assert saved["notice"] == banner and saved["privacy"]["notice"] == banner
    html = (run_dir / "exact" / "publication.html").read_text(encoding="utf-8")
    assert html.count(f'<div class="banner" role="alert">{banner}</div>') == 1  # top of the page
    assert html.count(f'<div class="banner">{banner}</div>') == 1  # and at its end
    assert f'@top-center {{ content: "{banner.upper()}"' in html  # every printed page
    pages = _pdf_pages(run_dir / "exact" / "publication.pdf")
    assert len(pages) >= 2 and all(banner.upper() in page for page in pages)
    noisy_html = (run_dir / "noisy" / "publication.html").read_text(encoding="utf-8")
    assert banner not in noisy_html


def _pdf_pages(pdf: Path) -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def test_versions_leave_out_the_platform(exact) -> None:
    """Walkthrough issue 11: the kernel and platform string was published."""
    _, saved = exact
    assert "platform" not in saved["versions"] and saved["versions"]["python"] == platform.python_version()
    assert saved["versions"]["numpy"] == np.__version__


def test_each_protection_paragraph_appears_once_and_labels_are_words(noisy, run_dir: Path) -> None:
    """Walkthrough issue 10: the DP and suppression paragraphs were printed twice; 'noise within 95'."""
    html = (run_dir / "noisy" / "publication.html").read_text(encoding="utf-8")
    assert html.count("(primary suppression), judged on") == 1
    assert html.count("-differentially private with") == 1
    assert "noise within 95<" not in html and "95% of the noise is within \u00b1" in html
