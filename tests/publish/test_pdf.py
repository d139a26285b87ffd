"""The publication renders: HTML to PDF with WeasyPrint, the PDF to PNG pages with pdftoppm. A
release built by hand (no run needed): Korean text, a suppressed row, noise, and a hostile title."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from darkfigure.publish import Release, ReleaseConfig, publication_html, write_pdf

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")

TITLE = "북한 여성 인신매매 <script>alert(1)</script> 2015-2023"


@pytest.fixture(scope="module")
def release() -> Release:
    prevalence = pd.DataFrame({
        "exploitation_form": ["강제결혼 (forced marriage)", "cybersex", "begging", "Total"],
        "documented": pd.array([120, 40, pd.NA, 163], dtype="Int64"),
        "share": [0.736, 0.245, None, 1.0], "lower": [0.66, 0.18, None, None], "upper": [0.80, 0.32, None, None],
        "estimate": [300.0, 210.0, None, 530.0], "estimate_lower": [250.0, 150.0, None, 430.0],
        "estimate_upper": [380.0, 320.0, None, 690.0], "estimated_share": [0.57, 0.40, None, 1.0],
        "estimated_share_lower": [0.48, 0.30, None, None], "estimated_share_upper": [0.66, 0.50, None, None],
        "note": ["", "", "suppressed", ""]})
    histories = pd.DataFrame({"pattern": ["10", "01", "11", "Total"], "A": ["1", "0", "1", ""],
                              "B": ["0", "1", "1", ""], "count": pd.array([90, 70, 3, 163], dtype="Int64")})
    histories.loc[2, "count"] = pd.NA
    headline = {"label": "stepwise, on the noisy table", "method": "stepwise", "n_observed": 163, "estimate": 530.0,
                "lower": 430.0, "upper": 690.0, "level": 0.95, "kind": "with noise", "noise_sd": 21.0,
                "noise_draws": 20, "sampling_lower": 450.0, "sampling_upper": 660.0,
                "rows": [{"label": "stepwise", "estimate": 530.0, "n_observed": 163, "model": "[12]", "intervals": [
                    {"kind": "with noise", "level": 0.95, "lower": 430.0, "upper": 690.0}]}]}
    suppressed = ({"table": "prevalence_exploitation_form", "row": "begging", "column": "documented",
                   "kind": "primary", "reason": "primary: 3 is below k = 5"},
                  {"table": "capture_histories", "row": "11", "column": "count", "kind": "primary",
                   "reason": "primary: 3 is below k = 5"})
    privacy = {"dp": True, "mechanism": "laplace", "epsilon": 1.0, "delta": 0.0, "noise_scale": 1.0, "budget": 3.0,
               "spent_before": 1.0, "remaining": 1.0}
    return Release(TITLE, "2026-01-01T00:00:00+00:00", "nk-women", ReleaseConfig(),
                   headline, {"capture_histories": histories, "prevalence_exploitation_form": prevalence},
                   suppressed, privacy, {"method": "stepwise", "settings": {"nboot": 200, "level": 0.95}},
                   ("exploitation_form",), {"run_folder_files": {"entities.csv": "ab" * 32}, "lists": []},
                   {"darkfigure": "0.1.0"})


@pytest.fixture(scope="module")
def pdf(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pdf(publication_html(release), tmp_path_factory.mktemp("pdf") / "publication.pdf")


@pytest.fixture(scope="module")
def pages(pdf: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(pdf.parent / "page")], check=True, timeout=60)
    return sorted(pdf.parent.glob("page*.png"))


def test_the_pdf_renders_to_png_pages(pages: list[Path]) -> None:
    assert len(pages) >= 2  # headline, tables, methods, privacy and hashes do not fit on one A4 page
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pages)
    assert all(p.stat().st_size > 10_000 for p in pages)  # a blank A4 page at 50 dpi is about 1 kB


def test_the_pdf_holds_the_text_of_the_page(pdf: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "북한 여성" in text and "강제결혼" in text  # Korean text is drawn with a real font (Noto CJK)
    for shown in ("530", "430", "690", "suppressed", "What was suppressed and why", "Privacy parameters"):
        assert shown in text, shown


def test_the_html_escapes_and_marks_suppressed_cells(release: Release) -> None:
    html = publication_html(release)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count('<td class="suppressed">suppressed</td>') == 4 + 1  # begging's 4 figures, pattern 11
    assert "primary: 3 is below k = 5" in html
    assert "\u00b121" in html  # the noise's standard deviation on N


def test_the_pdf_fetches_nothing_from_outside(tmp_path: Path) -> None:
    pdf = write_pdf('<img src="https://example.org/x.png"><p>offline</p>', tmp_path / "x.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")  # the image is refused, the page still renders


def test_the_forest_plot_has_room_for_its_widest_label(release: Release) -> None:
    """Walkthrough issue 10: "with noise 95%" was cut off at the plot's right edge (HTML and PDF):
    the plot's text column was sized for a narrower font than the one drawn."""
    import re

    html = publication_html(release)
    svg = html[html.index('<svg class="plot"'):html.index("</svg>")]
    width = float(re.search(r'viewBox="0 0 (\d+) \d+" width="(\d+)"', svg).group(2))
    column = re.search(r'<text x="([\d.]+)" y="22.0" text-anchor="start"[^>]*>estimate \[interval\]', svg)
    text_x = float(column.group(1))
    widest = max(re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="start">([^<]*)</text>', svg), key=len)
    assert widest == "530  [430 \u2013 690]  with noise 95%"
    # DejaVu Sans (the PDF's font) draws digits 0.636 em wide, most letters narrower: 0.64 em x 12 px a character
    assert width - text_x >= 0.64 * 12 * len(widest)
