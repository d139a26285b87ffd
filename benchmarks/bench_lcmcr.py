"""Speed of the LCMCR Gibbs sampler against the R package's C++ (REFERENCE.md, speed table).

Prints the time of one sweep of one chain on the 4-list HIV table with K = 10, and the time of one
chain at HRDAG's production settings (K = 15, about 5,000,000 sweeps) on the same table. Each
figure is the median of several runs, in CPU time of this process (a chain runs on one core) with
the wall time beside it: on a shared machine the wall time also counts other programs' turns.
``--quick`` times 500,500 production sweeps and extrapolates (said so in the output).

    .venv/bin/python benchmarks/bench_lcmcr.py [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from darkfigure.estimation._lcmcr_kernel import run_chain
from darkfigure.histories import CaptureHistories

DATA = Path(__file__).resolve().parents[2] / "shared/reference/mse/hiv_4lists.csv"
WARMUP = 500


def observed(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = CaptureHistories.read_csv(path)
    seen = table.counts > 0
    return np.ascontiguousarray(table.patterns[seen], dtype=np.int64), table.counts[seen].astype(np.int64)


def chain_seconds(patterns, freq, k: int, burnin: int, samples: int, thinning: int, seed: int) -> np.ndarray:
    """(CPU, wall) seconds of one chain."""
    cpu, wall = time.process_time(), time.perf_counter()
    run_chain(patterns, freq, k, 0.25, 0.25, WARMUP, burnin, samples, thinning, np.random.default_rng(seed))
    return np.array([time.process_time() - cpu, time.perf_counter() - wall])


def sweep_microseconds(patterns, freq, repeats: int = 9) -> np.ndarray:
    sweeps = WARMUP + 100 * 1000
    times = [chain_seconds(patterns, freq, 10, 0, 1000, 100, seed) for seed in range(repeats)]
    return np.median(times, axis=0) / sweeps * 1e6


def production_seconds(patterns, freq, quick: bool) -> tuple[np.ndarray, str]:
    if quick:
        seconds = [chain_seconds(patterns, freq, 15, 100_000, 1000, 400, seed) for seed in range(3)]
        sweeps = WARMUP + 100_000 + 400_000
        return np.median(seconds, axis=0) * 5_000_500 / sweeps, "extrapolated from 500,500 sweeps, median of 3"
    seconds = [chain_seconds(patterns, freq, 15, 1_000_000, 10_000, 400, seed) for seed in range(3)]
    return np.median(seconds, axis=0), "measured: 5,000,500 sweeps, median of 3 runs"


def main() -> None:
    patterns, freq = observed(DATA)
    chain_seconds(patterns, freq, 10, 10, 10, 1, 0)  # compile or load the kernel first
    chain_seconds(patterns, freq, 15, 10, 10, 1, 0)
    cpu, wall = sweep_microseconds(patterns, freq)
    print(
        f"LCMCR Gibbs sweep, 4 lists (hiv_4lists), K = 10: {cpu:.1f} us per sweep per chain (CPU; wall {wall:.1f} us)"
        "   anchor: LCMCR (C++) about 16 us (goal <= 8 us)"
    )
    (cpu, wall), how = production_seconds(patterns, freq, "--quick" in sys.argv)
    print(
        f"HRDAG production settings (K = 15, 5,000,000 sweeps) one stratum: {cpu:.1f} s (CPU; wall {wall:.1f} s; "
        f"{how}; one chain, chains run in parallel processes)   anchor: LCMCR 139 s"
    )


if __name__ == "__main__":
    main()
