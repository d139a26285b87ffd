"""The HTML report: self-contained, escaped, its numbers those of the estimates, written all or nothing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from darkfigure.errors import InputError
from darkfigure.estimation import Estimate, FixedModel, Interval, Stepwise
from darkfigure.histories import CaptureHistories
from darkfigure.report import InputFile, ReportData, environment_versions, file_sha256, plots, render, render_report
from darkfigure.simulate.tables import independent_probabilities, sample_table

EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def histories() -> CaptureHistories:
    probabilities = independent_probabilities([0.3, 0.25, 0.2])
    return sample_table(probabilities, 1000, np.random.default_rng(20130601), lists=["NGO A", "Police", EVIL])


@pytest.fixture(scope="module")
def data(histories: CaptureHistories) -> ReportData:
    estimates = [("Stepwise", Stepwise(nboot=50, seed=1).fit(histories)),
                 ("Fixed [12]", FixedModel("[12]").fit(histories))]
    strata = pd.DataFrame({"year": [2020, EVIL], "n_observed": [300, 320], "estimate": [400.0, np.nan],
                           "lower": [350.0, np.nan], "upper": [470.0, np.nan], "note": ["", EVIL]})
    linkage = pd.DataFrame({"threshold": [0.5, 0.9], "n_entities": [560, 600], "method": [EVIL, EVIL],
                            "estimate": [900.0, 1000.0], "lower": [850.0, 940.0], "upper": [960.0, 1080.0]})
    return ReportData(
        title=f"Report {EVIL}", histories=histories, estimates=estimates,
        inputs=[InputFile(EVIL, f"lists/{EVIL}.csv", "0" * 64, 321)],
        strata=strata, linkage=linkage, linkage_quality={"F1": 0.99, EVIL: 1.0},
        settings={EVIL: EVIL, "nboot": 50}, seeds={"bootstrap": 1}, warnings=[f"warned {EVIL}"],
    )


@pytest.fixture(scope="module")
def page(data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = render_report(data, tmp_path_factory.mktemp("report") / "report.html")
    assert path.exists()
    return path.read_text(encoding="utf-8")


def test_the_page_is_one_html_document(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_nothing_is_loaded_from_outside(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    for target in re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page):
        assert target.startswith("#"), target  # only links within the page


def test_the_estimates_numbers_are_shown(page: str, data: ReportData) -> None:
    for _, e in data.estimates:
        assert f"{e.estimate:,.0f}" in page
        for iv in e.intervals:
            assert f"{iv.lower:,.0f} \u2013 {iv.upper:,.0f}" in page
    assert f"{data.histories.n_observed:,}" in page


def test_every_plot_is_well_formed_svg(page: str) -> None:
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 5  # overlaps, forest, one bootstrap histogram, linkage, strata
    for svg in svgs:
        assert ET.fromstring(svg).tag == "svg"


def test_user_strings_are_escaped(page: str) -> None:
    assert EVIL not in page
    assert EVIL_ESCAPED in page
    assert "<b>" not in page


def test_an_interrupted_write_leaves_no_file(data: ReportData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail_midway(handle, text, size=1 << 16):  # noqa: ANN001
        handle.write(text[: len(text) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(render, "_write_chunks", fail_midway)
    target = tmp_path / "report.html"
    with pytest.raises(OSError, match="disk full"):
        render_report(data, target)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_keeps_the_earlier_report(
    data: ReportData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("earlier report", encoding="utf-8")
    monkeypatch.setattr(render, "_write_chunks", lambda handle, text: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        render_report(data, target)
    assert target.read_text(encoding="utf-8") == "earlier report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_missing_folder_is_named(data: ReportData, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folder for the report does not exist"):
        render_report(data, tmp_path / "no" / "report.html")


def test_report_data_checks_what_it_is_given(histories: CaptureHistories) -> None:
    with pytest.raises(InputError, match=r"estimates\[0\] must be a \(label, Estimate\) pair"):
        ReportData("t", histories, [FixedModel("[1,2,3]").fit(histories)])
    e = FixedModel("[1,2,3]").fit(histories)
    with pytest.raises(InputError, match="strata needs the column"):
        ReportData("t", histories, [("F", e)], strata=pd.DataFrame({"year": [1], "estimate": [2.0]}))
    with pytest.raises(InputError, match="linkage needs the column.*threshold"):
        ReportData("t", histories, [("F", e)], linkage=pd.DataFrame({"estimate": [2.0], "lower": [1], "upper": [3]}))


def test_headline_in_plain_words() -> None:
    e = Estimate(method="fixed", lists=("A", "B"), n_observed=56, estimate=156.2, model="[1,2]",
                 intervals=(Interval(0.95, 120.4, 230.0, "profile"),))
    text = re.sub(r"<[^>]+>", "", str(render.headline([("Fixed", e)], 56, 2)))
    assert text.startswith("Between 120 and 230 people, most likely about 156 (95% profile likelihood interval")
    assert "56 people were documented on at least one of the 2 lists" in text
    assert "an estimated 100 people (64 to 174) on none of the lists" in text  # 156.2-56, 120.4-56, 230-56


def test_upset_bars_are_the_pattern_counts_largest_first() -> None:
    # hand-made table: A only 30, B only 20, A and B 6
    h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
    svg = ET.fromstring(plots.upset_plot(h))
    texts = [t.text for t in svg.iter("text")]
    assert texts[1:4] == ["30", "20", "6"]  # bar labels after the title
    assert texts[-3:] == ["list size", "36", "26"]  # A: 30 + 6, B: 20 + 6


def test_upset_plot_shows_at_most_twenty_patterns() -> None:
    h = sample_table(independent_probabilities([0.5] * 6), 5000, np.random.default_rng(3))
    svg = plots.upset_plot(h)
    assert "the 20 largest of 63 patterns" in svg
    assert len(re.findall(r"<circle", svg)) == 20 * 6


def test_forest_plot_marks_observed_count_and_open_intervals() -> None:
    rows = [plots.ForestRow("A", 150.0, (("profile", 0.95, 120.0, float("inf")),), 56.0)]
    svg = plots.forest_plot(rows)
    ET.fromstring(svg)
    assert "n = 56 documented" in svg and "no limit" in svg


def test_linkage_plot_with_named_replicates() -> None:
    frame = pd.DataFrame({"threshold": ["r1", "r2"], "estimate": [900.0, 1000.0], "lower": [850.0, 940.0],
                          "upper": [960.0, 1080.0]})
    svg = plots.linkage_plot(frame)
    assert ET.fromstring(svg).tag == "svg" and "linkage replicate" in svg


def test_histogram_only_where_there_are_replicates(histories: CaptureHistories) -> None:
    assert plots.replicates_histogram("Fixed", FixedModel("[1,2,3]").fit(histories)) is None


def test_nice_ticks_by_hand() -> None:
    assert plots.nice_ticks(1953, 2171) == [2000, 2050, 2100, 2150]  # step 50: (2171 - 1953) / 5 = 43.6
    assert plots.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_file_sha256_of_a_known_text(tmp_path: Path) -> None:
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    # SHA-256("abc"), the test vector of FIPS 180-2, appendix B.1
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(InputError, match="cannot read the file"):
        file_sha256(tmp_path / "missing.csv")


def test_environment_versions_name_the_stack() -> None:
    versions = environment_versions()
    assert {"python", "darkfigure", "numpy", "scipy", "pandas"} <= set(versions)
    assert versions["numpy"] == np.__version__


def test_an_impossible_estimate_is_flagged(histories: CaptureHistories) -> None:
    below = Estimate(method="closed", lists=histories.lists, n_observed=histories.n_observed, estimate=-451.0,
                     model="Mbh")
    page = render.report_html(ReportData("t", histories, [("Closed", below)]))
    assert f"below the {histories.n_observed:,} people documented" in page


# ------------------------------------------------------------------ walkthrough findings
def test_the_headline_carries_its_estimates_warnings_and_why_it_leads(histories: CaptureHistories) -> None:
    unconverged = Estimate(method="lcmcr", lists=histories.lists, n_observed=histories.n_observed, estimate=32512.5,
                           model="K=10", intervals=(Interval(0.95, 12556.9, 68806.8, "posterior"),),
                           warnings=("the 4 chains disagree (R-hat of N 1.44)", "effective sample size of N is only 8"))
    page = render.report_html(ReportData("t", histories, [("LCMCR", unconverged)], headline_note="Chosen <first>."))
    box = re.search(r'<div class="headline">(.*?)</section>', page, flags=re.S).group(1)
    text = re.sub(r"<[^>]+>", " ", box)
    assert text.index("32,512") < text.index("Caution") < text.index("documented on at least one")
    assert "the 4 chains disagree (R-hat of N 1.44)" in text and "effective sample size of N is only 8" in text
    assert "Chosen &lt;first&gt;." in box  # the note is escaped text
    clean = Estimate(method="fixed", lists=("A", "B"), n_observed=56, estimate=156.2, model="[1,2]")
    assert "Caution" not in str(render.headline([("Fixed", clean)], 56, 2))


def svg_texts(svg: str) -> list[tuple[float, float, str, str, float]]:
    """(x, y, anchor, text, font size) of each text element."""
    root = ET.fromstring(svg)
    return [(float(t.get("x")), float(t.get("y")), t.get("text-anchor", "start"), "".join(t.itertext()),
             float(t.get("font-size", 12))) for t in root.iter("text")]


def test_forest_plot_leaves_room_for_the_longest_interval_text() -> None:
    rows = [plots.ForestRow("LCMCR, thresholds combined", 36951.0,
                            (("multiple-imputation", 0.95, 4610.0, 496219.0),), 3446.0, "3 replicates combined"),
            plots.ForestRow("total", 24376.0, (("bootstrap-percentile", 0.95, 16128.0, 50977.0),), 3446.0)]
    svg = plots.forest_plot(rows)
    width = float(ET.fromstring(svg).get("width"))
    for x, _, anchor, text, size in svg_texts(svg):
        if anchor == "start":
            # 0.55 em a character is about the narrowest sans-serif average (Helvetica digits 0.556 em)
            assert x + 0.55 * size * len(text) <= width, text
    assert "36,951  [4,610 \u2013 496,219]  multiple-imputation 95%" in svg


def test_histogram_title_and_count_do_not_meet() -> None:
    e = Estimate(method="stepwise", lists=("A", "B"), n_observed=56, estimate=156.0, model="[1,2]",
                 replicates=np.linspace(100.0, 200.0, 1000))
    title, note = svg_texts(plots.replicates_histogram("Stepwise, thresholds combined", e))[:2]
    assert note[3].startswith("1,000 values")
    title_right = title[0] + 0.55 * 12 * len(title[3])  # at least this wide
    note_left = note[0] - 0.55 * note[4] * len(note[3])
    assert title_right < note_left or note[1] - title[1] >= 12  # side by side, or on the next line


def test_numbers_of_four_digits_or_more_are_separated(page: str) -> None:
    body = re.sub(r"<(style|title)>.*?</\1>", "", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    text = re.sub(r"\b[0-9a-f]{64}\b|\d{4}-\d\d-\d\dT[\d:+]+|\d+\.\d+\.\d+", "", text)  # hashes, dates, versions
    unseparated = set(re.findall(r"(?<![\d,.])\d{4,}", text))
    assert unseparated <= {"2020", "2021"}  # the year stratum of the fixture, a citation's year
