"""All-or-nothing output: a folder is built beside its target and swapped in only when complete."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


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
