"""Figure: time of Bayesian model averaging over all decomposable graphs (Madigan & York 1997).

Anchor: the R package dga (C++ core), 5 lists with a 300-point grid, 0.01 s on the reference machine
(REFERENCE.md, "Speed of the reference implementations"). Also times the UK 2013 table on 5 lists
with the grid of REFERENCE.md (N up to 40,000) and on 6 lists (18,154 graphs, which dga does not ship)
with the automatic grid, and the generation of the graphs themselves. Medians after a warm-up; the
first run includes generating the graphs and loading (or compiling) the numba kernel.

    .venv/bin/python benchmarks/bench_dga.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from darkfigure.estimation.dga import DGA
from darkfigure.estimation.graphs import decomposable_graphs
from darkfigure.histories import CaptureHistories

DATA = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mse"
ANCHOR_SECONDS = 0.01  # dga bma.cr, 5 lists, 300-point grid


def timed(estimator: DGA, histories: CaptureHistories, runs: int) -> tuple[float, float]:
    """First run, and the median of ``runs`` after it."""
    start = time.perf_counter()
    estimator.fit(histories)
    first = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        estimator.fit(histories)
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def graph_generation() -> None:
    for t in (5, 6):
        decomposable_graphs.cache_clear()
        start = time.perf_counter()
        count = len(decomposable_graphs(t))
        print(f"generating the {count:,} decomposable graphs on {t} lists: {time.perf_counter() - start:.3f} s")


def main() -> None:
    graph_generation()
    my5 = CaptureHistories.read_csv(DATA / "madigan_york_5lists.csv")
    first, median = timed(DGA(delta=0.5, max_missing=300), my5, 30)
    print(
        f"DGA, 5 lists, 300-point grid (Madigan & York): {median:.4f} s   anchor: dga (C++) {ANCHOR_SECONDS} s"
        f"   ({ANCHOR_SECONDS / median:.1f}x)   first run {first:.3f} s"
    )
    uk5 = CaptureHistories.read_csv(DATA / "uk2013_5lists.csv")
    first, median = timed(DGA(delta=2**-5, max_missing=40_000 - uk5.n_observed), uk5, 5)
    print(f"DGA, 5 lists, UK 2013, delta 2^-5, grid to N = 40,000: {median:.3f} s   first run {first:.3f} s")
    uk6 = CaptureHistories.read_csv(DATA / "uk2013_6lists.csv")
    estimate = DGA().fit(uk6)
    first, median = timed(DGA(), uk6, 3)
    print(
        f"DGA, 6 lists, UK 2013, delta 2^-6, automatic grid (N0 up to {estimate.diagnostics['max_missing']:,}, "
        f"{estimate.diagnostics['graphs_summed']:,} of 18,154 graphs summed): {median:.3f} s   "
        "anchor: none (dga ships graphs for 3 to 5 lists)"
    )


if __name__ == "__main__":
    main()
