"""Seconds spent in each stage of a piece of work, for benchmarks and the report."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("darkfigure")


class StageClock:
    """Accumulates wall-clock seconds per named stage.

    >>> clock = StageClock(); clock.lap("read"); sorted(clock.laps)
    ['read']
    """

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = self.laps.get(stage, 0.0) + now - self._last
        self._last = now
        logger.debug("%s done in %.1f s", stage, self.laps[stage])
