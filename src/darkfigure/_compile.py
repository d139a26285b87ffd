"""Optional compilation with numba.

Kernels are written once, in the subset of Python and NumPy that numba compiles. With numba
installed they run compiled; without it (or with ``DARKFIGURE_NO_NUMBA`` set to anything but
``""``, ``0``, ``false`` or ``no``) the same code runs as plain Python, slower but with the same
results. ``import darkfigure`` never needs numba.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def numba_disabled() -> bool:
    """Whether the user switched compilation off with ``DARKFIGURE_NO_NUMBA``.

    >>> isinstance(numba_disabled(), bool)
    True
    """
    return os.environ.get("DARKFIGURE_NO_NUMBA", "").strip().lower() not in ("", "0", "false", "no")


try:  # pragma: no cover - depends on the environment
    if numba_disabled():
        raise ImportError("numba disabled by DARKFIGURE_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - a missing or broken numba (e.g. built for another NumPy)
    numba = None
    HAVE_NUMBA = False


def kernel(func: F) -> F:
    """Compile ``func`` with numba (nopython, cached where its file allows) when numba is available.

    >>> @kernel
    ... def double(x):
    ...     return 2 * x
    >>> double(21)
    42
    """
    if not HAVE_NUMBA:
        return func
    try:
        return numba.njit(cache=True, nogil=True)(func)  # type: ignore[no-any-return]
    except RuntimeError:  # nowhere to cache: a function typed at a prompt or in a notebook
        return numba.njit(nogil=True)(func)  # type: ignore[no-any-return]
