"""Figure: time to fit Rcapture's 12 closed-population models (closedp.t) to the UK 2013 six-list table.

Anchor: Rcapture closedp.t, 0.135 s on the reference machine (REFERENCE.md, "Speed of the reference
implementations"). Prints the median of several runs after one warm-up, and the first run, which
includes loading (or compiling) the numba kernels.

    .venv/bin/python benchmarks/bench_closed_models.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from darkfigure.estimation.closed import closed_models
from darkfigure.histories import CaptureHistories

DATA = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mse" / "uk2013_6lists.csv"
ANCHOR_SECONDS = 0.135  # Rcapture closedp.t, UK 6 lists
RUNS = 30


def timed(histories: CaptureHistories) -> float:
    start = time.perf_counter()
    closed_models(histories)
    return time.perf_counter() - start


def main() -> None:
    histories = CaptureHistories.read_csv(DATA)
    first = timed(histories)
    median = statistics.median(timed(histories) for _ in range(RUNS))
    print(
        f"closed models (12), UK 6 lists: {median:.4f} s   anchor: Rcapture closedp.t {ANCHOR_SECONDS} s"
        f"   ({ANCHOR_SECONDS / median:.0f}x faster)"
    )
    print(f"first run, with numba kernels loaded or compiled: {first:.3f} s (median of {RUNS} after it)")


if __name__ == "__main__":
    main()
