"""ReportData: everything a report shows, as the pipeline hands it over.

The report only reads; it never estimates. The pipeline fills a :class:`ReportData` with the linked
table, the estimates of every method, the optional strata and linkage sensitivity tables, and what
a reader needs to reproduce the run (input file hashes, settings, seeds, versions).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from darkfigure.errors import InputError
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories

VERSIONED_PACKAGES = ("darkfigure", "numpy", "scipy", "pandas", "numba", "splink", "duckdb", "jinja2")
STRATA_COLUMNS = ("estimate", "lower", "upper")
LINKAGE_COLUMNS = ("threshold", "estimate", "lower", "upper")


class InputFile(NamedTuple):
    """One input file: the name of its list, its path, its SHA-256 and its number of records.

    >>> InputFile("NGO A", "lists/ngo_a.csv", "ab12", 120).n_records
    120
    """

    name: str
    path: str
    sha256: str
    n_records: int

    @classmethod
    def from_path(cls, name: str, path: str | Path, n_records: int) -> InputFile:
        """Describe a file on disk, hashing its bytes.

        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"abc")
        >>> InputFile.from_path("A", f.name, 1).sha256[:12]
        'ba7816bf8f01'
        >>> os.remove(f.name)
        """
        return cls(str(name), str(path), file_sha256(path), int(n_records))


@dataclass(frozen=True)
class ReportData:
    """The contract between the pipeline and the report.

    ``estimates`` holds ``(label, Estimate)`` pairs, shown side by side; the first is the headline, and
    ``headline_note`` (optional) says why it was chosen when that is not obvious.
    ``strata`` has one row per stratum with columns ``estimate``, ``lower``, ``upper`` (and optionally
    ``note``, ``n_observed``; any other column names the stratum). ``linkage`` has one row per linkage
    threshold (or replicate) and method: ``threshold``, ``estimate``, ``lower``, ``upper`` and optionally
    ``n_entities`` and ``method``. ``linkage_quality`` holds figures such as precision, recall and F1.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6], lists=["A", "B"])
    >>> from darkfigure.estimation import FixedModel
    >>> data = ReportData("Demo", h, [("Independence", FixedModel("[1,2]").fit(h))])
    >>> data.estimates[0][0], round(data.estimates[0][1].estimate)
    ('Independence', 156)
    """

    title: str
    histories: CaptureHistories
    estimates: Sequence[tuple[str, Estimate]]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    inputs: Sequence[InputFile] = ()
    strata: pd.DataFrame | None = field(default=None, compare=False)
    linkage: pd.DataFrame | None = field(default=None, compare=False)
    linkage_quality: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    seeds: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=lambda: environment_versions())
    warnings: Sequence[str] = ()
    headline_note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.histories, CaptureHistories):
            raise InputError(f"ReportData.histories must be CaptureHistories; got {type(self.histories).__name__}")
        object.__setattr__(self, "estimates", _checked_estimates(self.estimates))
        object.__setattr__(self, "inputs", tuple(InputFile(*item) for item in self.inputs))
        object.__setattr__(self, "warnings", tuple(str(w) for w in self.warnings))
        _check_frame(self.strata, "strata", STRATA_COLUMNS)
        _check_frame(self.linkage, "linkage", LINKAGE_COLUMNS)


def _checked_estimates(estimates: Sequence[tuple[str, Estimate]]) -> tuple[tuple[str, Estimate], ...]:
    out = []
    for i, item in enumerate(estimates):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Estimate)):
            raise InputError(
                f"ReportData.estimates[{i}] must be a (label, Estimate) pair; got {type(item).__name__}: "
                "pass e.g. [('Stepwise', Stepwise().fit(h))]"
            )
        out.append((str(item[0]), item[1]))
    return tuple(out)


def _check_frame(frame: pd.DataFrame | None, name: str, required: tuple[str, ...]) -> None:
    if frame is None:
        return
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"ReportData.{name} must be a pandas DataFrame or None; got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"ReportData.{name} needs the column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns)) or 'none'}"
        )


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks (lists can be large).

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"")
    >>> file_sha256(f.name)[:16]
    'e3b0c44298fc1c14'
    >>> os.remove(f.name)
    """
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"cannot read the file to hash it ({exc.strerror})", source=str(path)) from None
    return digest.hexdigest()


def environment_versions(packages: Sequence[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Versions of Python, the platform and the packages a result depends on.

    >>> v = environment_versions(["numpy", "no-such-package"])
    >>> sorted(v), v["no-such-package"]
    (['no-such-package', 'numpy', 'platform', 'python'], 'not installed')
    """
    versions = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
