"""How many worker processes a piece of work may start.

Strata run in parallel processes; inside each, a stratum's own parallel work (LCMCR's chains) must
not start more processes on the same cores. A strata worker sets ``DARKFIGURE_WORKERS=1`` so that
nested work runs in-process.
"""

from __future__ import annotations

import os

ENV = "DARKFIGURE_WORKERS"


def available_workers() -> int:
    """Processes this process may use: ``DARKFIGURE_WORKERS`` if set, else the number of cores.

    >>> available_workers() >= 1
    True
    """
    value = os.environ.get(ENV, "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return os.cpu_count() or 1


def single_worker() -> None:
    """Process-pool initializer: nested work in this process runs in-process."""
    os.environ[ENV] = "1"
