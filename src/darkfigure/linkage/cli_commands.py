"""The ``darkfigure link`` command as a plain function; the CLI (typer) wraps it.

Output is all or nothing: each file is written beside its final name and renamed into place only
when everything has been computed and written, so a failure leaves no half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pandas as pd

from darkfigure.linkage.cluster import LinkageResult
from darkfigure.linkage.fields import read_lists, read_mapping
from darkfigure.linkage.plaintext import DEFAULT_THRESHOLDS, link


def link_command(mapping_path: Path, out: Path, threshold: float = 0.8, seed: int = 0) -> str:
    """Link the lists a mapping file names; write ``links.csv`` and ``pairs.csv`` to ``out``.

    ``links.csv`` has ``list``, ``record_id``, ``entity_id`` (at ``threshold``) and one
    ``entity_id_<threshold>`` column per clustering (0.5, 0.8, 0.95 and ``threshold``);
    ``pairs.csv`` the scored record pairs. Returns a one-paragraph summary.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("name,born\\nKim Min-ji,1990\\nRi Yong-hui,1985\\n")
    >>> _ = (d / "b.csv").write_text("name,born\\nGim Minji,1990\\n")
    >>> _ = (d / "m.toml").write_text(
    ...     '[lists.A]\\nfile = "a.csv"\\nfull_name = "name"\\nbirth_year = "born"\\n'
    ...     '[lists.B]\\nfile = "b.csv"\\nfull_name = "name"\\nbirth_year = "born"\\n')
    >>> print(link_command(d / "m.toml", d / "out", seed=1))  # doctest: +ELLIPSIS
    Linked 3 records from 2 lists (A, B) into 2 entities at match probability 0.8 ...
    >>> sorted(p.name for p in (d / "out").iterdir())
    ['links.csv', 'pairs.csv']
    """
    mapping = read_mapping(mapping_path)
    lists = read_lists(mapping)
    result = link(lists, mapping, thresholds=DEFAULT_THRESHOLDS, threshold=threshold, seed=seed)
    write_outputs(result, Path(out))
    return f"{result.summary()} Wrote links.csv and pairs.csv to {out}."


def write_outputs(result: LinkageResult, out: Path) -> None:
    """Write ``links.csv`` and ``pairs.csv`` into ``out`` all or nothing (temporary files, then rename)."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    frames = {"links.csv": result.to_frame(), "pairs.csv": result.pairs}
    temporary: dict[str, Path] = {}
    try:
        for name, frame in frames.items():
            temporary[name] = _write_temporary(frame, out, name)
        for name, path in temporary.items():
            os.replace(path, out / name)
    except BaseException:
        for path in temporary.values():
            path.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if still empty
        raise


def _write_temporary(frame: pd.DataFrame, out: Path, name: str) -> Path:
    handle, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            frame.to_csv(stream, index=False)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path)
