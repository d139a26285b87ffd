"""All-or-nothing output: a folder is built beside its target and swapped in only when complete."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import IO

from darkfigure.errors import InputError


def swap_in_folder(staging: Path, folder: Path) -> None:
    """Put the finished ``staging`` folder in place of ``folder`` (empty, absent or an earlier run);
    if the swap fails the earlier folder is restored."""
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    if not folder.exists():
        os.replace(staging, folder)
        return
    retired = staging.with_name(staging.name + ".old")
    os.replace(folder, retired)
    try:
        os.replace(staging, folder)
    except OSError:
        os.replace(retired, folder)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def check_output_folder(
    folder: Path, replace: bool, earlier_output: Callable[[list[str]], str | None], what: str
) -> None:
    """Refuse a file, and a non-empty folder unless ``replace`` and it holds only an earlier ``what``;
    ``earlier_output(entries)`` says why a folder is not one (None when it is)."""
    check_parent_folders(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError("the output must be a folder, but a file of that name exists; choose another name",
                         source=str(folder))
    entries = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if not entries:
        return
    if not replace:
        raise InputError(f"the output folder is not empty; choose a new folder, or replace an earlier {what} "
                         "with --force", source=str(folder))
    reason = earlier_output(entries)
    if reason:
        raise InputError(f"will not replace a folder that does not hold an earlier {what} ({reason}); "
                         "choose a new folder", source=str(folder))


def check_parent_folders(path: Path, *, must_exist: bool = False) -> None:
    """Refuse an output ``path`` that cannot be made: one of its parents is a file (it cannot hold
    anything), or, with ``must_exist``, its folder does not exist. Names the parent the user gave.

    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> _ = (base / "afile").write_text("")
    >>> check_parent_folders(base / "afile" / "sub")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    darkfigure.errors.InputError: .../afile: is a file, not a folder, so .../afile/sub cannot be made in it; ...
    >>> check_parent_folders(base / "new" / "sub")  # missing folders are made on the way
    """
    for parent in path.parents:
        if parent.is_dir():
            break
        if parent.exists():
            raise InputError(f"is a file, not a folder, so {path} cannot be made in it; choose another path",
                             source=str(parent))
    if must_exist and not path.parent.is_dir():
        raise InputError(f"the folder does not exist, so {path} cannot be written; create it first or "
                         "choose another path", source=str(path.parent))


PRIVATE_FILE_MODE = 0o600  # record-level files: readable by their owner only
PRIVATE_FOLDER_MODE = 0o700


def open_private(path: Path) -> IO[str]:
    """A new text file that only its owner may read or write (mode 0600 whatever the umask), for
    record-level output; refuses a file that already exists.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "links.csv"
    >>> with open_private(path) as handle:
    ...     _ = handle.write("list,record_id\\n")
    >>> oct(path.stat().st_mode & 0o777)
    '0o600'
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)  # the umask can only remove bits, but be explicit
    return os.fdopen(descriptor, "w", encoding="utf-8", newline="")
