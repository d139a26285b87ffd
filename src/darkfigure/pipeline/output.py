"""The report folder, written all or nothing.

Everything goes into a temporary folder beside the output folder, which is renamed into place only
when every file is written; a failure at any stage leaves the output folder as it was. A folder that
is not empty is replaced only when forced, and only when it holds an earlier run's files and nothing
else.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from darkfigure._atomic import PRIVATE_FOLDER_MODE, check_output_folder, swap_in_folder
from darkfigure.errors import InputError

OUTPUT_FILES = ("report.html", "estimates.json", "links.csv", "histories.csv", "entities.csv")
DEMO_ENTRIES = ("data", "run.toml")


def check_target(folder: Path, force: bool) -> None:
    """Refuse a file, and a non-empty folder unless ``force`` and it holds only an earlier run.

    >>> check_target(Path(tempfile.mkdtemp()) / "new", force=False)  # a new folder is fine
    """
    check_output_folder(folder, force, _not_a_run, "darkfigure run")


def _not_a_run(entries: list[str]) -> str | None:
    foreign = [e for e in entries if e not in (*OUTPUT_FILES, *DEMO_ENTRIES)]
    if foreign:
        return f"it has {foreign[0]!r}"
    return None if "estimates.json" in entries else "it has no estimates.json"


@contextlib.contextmanager
def staged(folder: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside ``folder`` to write into; it takes ``folder``'s place (mode 0700:
    only its owner may enter it) when the block ends without error, and is removed either way.

    >>> target = Path(tempfile.mkdtemp()) / "out"
    >>> with staged(target, force=False) as staging:
    ...     _ = (staging / "estimates.json").write_text("{}")
    >>> [p.name for p in target.iterdir()]
    ['estimates.json']
    """
    folder = Path(folder)
    check_target(folder, force)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    except OSError as err:
        raise InputError(f"cannot create the output folder ({err.strerror})", source=str(folder)) from None
    try:
        yield staging
        staging.chmod(PRIVATE_FOLDER_MODE)  # it holds record-level files: the owner's only
        check_target(folder, force)  # something may have appeared there meanwhile
        swap_in_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

