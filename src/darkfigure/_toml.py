"""Reading a user's TOML file (mapping, schema, release config): one error per way it can fail."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from darkfigure.errors import InputError


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The parsed file, or an InputError naming it: ``what`` says which file it is ("the mapping file").

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.toml"
    >>> _ = p.write_text("k = [1,")
    >>> read_toml(p, "the mapping file")
    Traceback (most recent call last):
    darkfigure.errors.InputError: ...x.toml: the mapping file is not valid TOML: ...
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {what} ({err}); check the path", source=str(path)) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{what} is not valid TOML: {err}", source=str(path)) from None
