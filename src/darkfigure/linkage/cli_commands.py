"""The ``darkfigure link`` command as a plain function; the CLI (typer) wraps it.

Output is all or nothing: the files are written into a temporary folder beside the output folder,
which takes its place only when everything has been computed and written, so a failure leaves the
output folder as it was. A folder that is not empty is replaced only with ``force``, and only when it
holds nothing but an earlier ``links.csv`` and ``pairs.csv``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from darkfigure._atomic import PRIVATE_FOLDER_MODE, check_output_folder, open_private, swap_in_folder
from darkfigure.linkage.cluster import LinkageResult
from darkfigure.linkage.fields import read_lists, read_mapping
from darkfigure.linkage.plaintext import DEFAULT_THRESHOLDS, link

OUTPUT_FILES = ("links.csv", "pairs.csv")


def link_command(mapping_path: Path, out: Path, threshold: float = 0.8, seed: int = 0, force: bool = False) -> str:
    """Link the lists a mapping file names; write ``links.csv`` and ``pairs.csv`` to ``out``.

    ``links.csv`` has ``list``, ``record_id``, ``entity_id`` (at ``threshold``) and one
    ``entity_id_<threshold>`` column per clustering (0.5, 0.8, 0.95 and ``threshold``);
    ``pairs.csv`` the scored record pairs. ``out`` must be new or empty; ``force`` replaces an
    earlier link's output there. Returns a one-paragraph summary.

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
    out = Path(out)
    mapping = read_mapping(mapping_path)
    check_target(out, force)  # before the lists are read and linked, which takes a while
    lists = read_lists(mapping)
    result = link(lists, mapping, thresholds=DEFAULT_THRESHOLDS, threshold=threshold, seed=seed)
    write_outputs(result, out, force)
    return f"{result.summary()} Wrote links.csv and pairs.csv to {out}."


def check_target(out: Path, force: bool) -> None:
    """Refuse a file (or a path through one), and a non-empty folder unless ``force`` and it holds only
    an earlier link's output.

    >>> check_target(Path(tempfile.mkdtemp()) / "new", force=False)  # a new folder is fine
    """
    check_output_folder(out, force, _not_linked, "darkfigure link output")


def _not_linked(entries: list[str]) -> str | None:
    foreign = [e for e in entries if e not in OUTPUT_FILES]
    if foreign:
        return f"it has {foreign[0]!r}"
    return None if "links.csv" in entries else "it has no links.csv"


def write_outputs(result: LinkageResult, out: Path, force: bool = False) -> None:
    """Write ``links.csv`` and ``pairs.csv`` (owner-only: they are record-level) into a temporary
    folder beside ``out``, which then takes ``out``'s place; nothing changes in ``out`` on failure.

    >>> import pandas as pd
    >>> records = pd.DataFrame({"list": ["A"], "record_id": ["1"]})
    >>> out = Path(tempfile.mkdtemp()) / "links"
    >>> write_outputs(LinkageResult.from_clusterings(records, pd.DataFrame(), {0.8: [1]}, 0.8), out)
    >>> sorted(p.name for p in out.iterdir())
    ['links.csv', 'pairs.csv']
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for name, frame in (("links.csv", result.to_frame()), ("pairs.csv", result.pairs)):
            with open_private(staging / name) as stream:
                frame.to_csv(stream, index=False)
        staging.chmod(PRIVATE_FOLDER_MODE)
        check_target(out, force)  # something may have appeared there while linking
        swap_in_folder(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
