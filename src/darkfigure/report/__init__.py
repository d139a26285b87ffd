"""The report: one self-contained HTML file with the data summary, the overlaps of the lists, every
method's estimate side by side, distributions of N, linkage sensitivity, model comparison and a
reproducibility appendix.

>>> import tempfile
>>> from pathlib import Path
>>> from darkfigure import CaptureHistories, FixedModel
>>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
>>> data = ReportData("Demo", h, [("Independence", FixedModel("[1,2]").fit(h))])
>>> render_report(data, Path(tempfile.mkdtemp()) / "report.html").name
'report.html'
"""

from darkfigure.report.data import InputFile, ReportData, environment_versions, file_sha256
from darkfigure.report.render import render_report, report_html

__all__ = [
    "InputFile",
    "ReportData",
    "environment_versions",
    "file_sha256",
    "render_report",
    "report_html",
]
