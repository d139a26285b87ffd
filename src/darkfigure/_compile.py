"""Optional compilation with numba.

Kernels are written once, in the subset of Python and NumPy that numba compiles. With numba
installed they run compiled; without it (or with ``DARKFIGURE_NO_NUMBA=1``) the same code runs as
plain Python, slower but with the same results. ``import darkfigure`` never needs numba.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

try:  # pragma: no cover - depends on the environment
    if os.environ.get("DARKFIGURE_NO_NUMBA"):
        raise ImportError("numba disabled by DARKFIGURE_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False


def kernel(func: F) -> F:
    """Compile ``func`` with numba (nopython, cached) when numba is available."""
    if HAVE_NUMBA:
        return numba.njit(cache=True, nogil=True)(func)  # type: ignore[no-any-return]
    return func
