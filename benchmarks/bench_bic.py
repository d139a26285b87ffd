"""Figure: time to choose a log-linear model by BIC over all hierarchical models of the UK 2013 tables.

Anchors (REFERENCE.md, "Speed of the reference implementations"): MultipleSystemsEstimation, BIC over
the 6,084 five-list models of order <= 3, 16-25 s; Rcapture closedpMS.t, all 1,024 pairwise models of
five lists, 8.5-11.4 s. (MSE's catalogue holds 6,212 such models; 128 have no MLE on these data and
drop out, which is where its 6,084 comes from. Ours checks and fits all 6,212.)

Prints the median of several runs after a warm-up, with one thread and with two, and separately the
numba compilation (timed in a fresh process with an empty cache) and the first call of this process.

    .venv/bin/python benchmarks/bench_bic.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from darkfigure.estimation.bic import select_model
from darkfigure.histories import CaptureHistories

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mse"
UK5 = REFERENCE / "uk2013_5lists.csv"
UK6 = REFERENCE / "uk2013_6lists.csv"
MSE_ANCHOR = (16.0, 25.0)  # MultipleSystemsEstimation, 6,084 models, UK 5 lists, order <= 3
RCAPTURE_ANCHOR = (8.5, 11.4)  # Rcapture closedpMS.t, 1,024 pairwise models, UK 5 lists
RUNS = 9

FIRST_CALL = """
import sys, time
t0 = time.perf_counter()
from darkfigure.estimation.bic import select_model
from darkfigure.histories import CaptureHistories
h = CaptureHistories.read_csv(sys.argv[1])
t1 = time.perf_counter()
select_model(h, "bic", max_order=3)
t2 = time.perf_counter()
select_model(h, "bic", max_order=3)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def timed(histories: CaptureHistories, runs: int = RUNS, **options: object) -> float:
    select_model(histories, **options)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        select_model(histories, **options)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_call_in_fresh_process(cache: str | None) -> tuple[float, float, float]:
    env = dict(os.environ)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    out = subprocess.run(
        [sys.executable, "-c", FIRST_CALL, str(UK5)], capture_output=True, text=True, env=env, check=True
    ).stdout
    load, first, second = (float(x) for x in out.split())
    return load, first, second


def anchor_text(seconds: float, anchor: tuple[float, float]) -> str:
    return f"({anchor[0] / seconds:,.0f}-{anchor[1] / seconds:,.0f}x faster)"


def main() -> None:
    uk5 = CaptureHistories.read_csv(UK5)
    uk6 = CaptureHistories.read_csv(UK6)
    start = time.perf_counter()
    select_model(uk5, "bic", max_order=3)
    first = time.perf_counter() - start

    for workers in (1, 2):
        order3 = timed(uk5, criterion="bic", max_order=3, workers=workers)
        pairs = timed(uk5, criterion="bic", max_order=2, workers=workers)
        print(
            f"BIC over 6,212 hierarchical models (UK 5 lists, order <= 3; 6,084 estimable), {workers} thread(s): "
            f"{order3:.3f} s   anchor: MultipleSystemsEstimation 16-25 s {anchor_text(order3, MSE_ANCHOR)}"
        )
        print(
            f"all 1,024 pairwise models (UK 5 lists), {workers} thread(s): {pairs:.4f} s   "
            f"anchor: Rcapture closedpMS.t 8.5-11.4 s {anchor_text(pairs, RCAPTURE_ANCHOR)}"
        )
    six_pairs = timed(uk6, runs=3, criterion="bic", max_order=2)
    six_downhill = timed(uk6, runs=3, criterion="bic", max_order=3)
    print(f"UK 6 lists, all 32,768 pairwise models: {six_pairs:.3f} s   (no reference timing; MSE warns it is slow)")
    print(f"UK 6 lists, order <= 3, downhill from 3 starts: {six_downhill:.3f} s   (no reference timing)")

    with tempfile.TemporaryDirectory() as cache:
        load, compiling, warm = first_call_in_fresh_process(cache)
    print(
        f"numba compilation (fresh process, empty cache): first order-3 call {compiling:.2f} s, "
        f"next {warm:.3f} s, so about {compiling - warm:.1f} s compiling"
    )
    load, cached, warm = first_call_in_fresh_process(None)
    print(f"fresh process with the on-disk cache: first order-3 call {cached:.3f} s (import {load:.2f} s)")
    print(f"first call of this process: {first:.3f} s (median of {RUNS} after one warm-up above)")


if __name__ == "__main__":
    main()
