"""Stepwise selection + BCa bootstrap (nboot 1000), against SparseMSE's run times (REFERENCE.md).

Goal (issue: foundation): UK 6 lists in under 3.5 s, at least 100 times faster than SparseMSE's 356 s.
Run: python benchmarks/bench_stepwise_bca.py
"""

import statistics
import time
from pathlib import Path

from darkfigure import CaptureHistories
from darkfigure.estimation import Stepwise

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mse"
ANCHORS = {"uk2013_6lists.csv": 356.0, "uk2013_5lists.csv": 189.0}


def main() -> None:
    for name, anchor in ANCHORS.items():
        histories = CaptureHistories.read_csv(REFERENCE / name)
        start = time.perf_counter()
        Stepwise(nboot=1000, seed=0).fit(histories)  # first run includes loading compiled kernels
        first = time.perf_counter() - start
        times = []
        for seed in (1, 2, 3):
            start = time.perf_counter()
            Stepwise(nboot=1000, seed=seed).fit(histories)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(
            f"stepwise + BCa (nboot 1000), {name}: {median:.2f} s (first run {first:.2f} s)   "
            f"anchor: SparseMSE {anchor:.0f} s   ({anchor / median:.0f}x faster)"
        )


if __name__ == "__main__":
    main()
