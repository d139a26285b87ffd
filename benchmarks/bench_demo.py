"""End-to-end time of ``darkfigure demo``: simulate the nk-women-china coalition (N = 12,000, five
lists, about 4,500 records), link it, estimate with stepwise, LCMCR and DGA at the main threshold,
stepwise and LCMCR at every linkage threshold, strata by exploitation form, and write the report
folder. The goal is under 2 minutes on 2 cores.

Runs the demo in a fresh Python process (as a user would: imports and compiled-kernel loading
included), ``--repeats`` times, and prints the median wall time, the stages' times of the last run,
the headline (and why) with LCMCR's R-hat, and the CPU count this process may use.

    .venv/bin/python benchmarks/bench_demo.py [--repeats 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = (
    "import sys; from pathlib import Path; from darkfigure.pipeline import demo_command; "
    "print(demo_command(Path(sys.argv[1]), int(sys.argv[2]), 'nk-women-china', False))"
)


def one_demo(seed: int) -> tuple[float, dict, str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(out), str(seed)], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"the demo failed:\n{done.stderr[-2000:]}")
        saved = json.loads((out / "estimates.json").read_text(encoding="utf-8"))
    return seconds, saved, done.stdout


def convergence_line(saved: dict) -> str:
    """The headline and why, and LCMCR's N, interval and R-hat at the main threshold."""
    line = f"headline: {saved['headline']['label']} ({saved['headline']['reason']})"
    for e in saved["estimates"]:
        if e["label"] == "LCMCR":
            iv, d = e["intervals"][0], e["diagnostics"]
            medians = ", ".join(f"{m:,.0f}" for m in d["chain_medians"])
            line += (f"\nLCMCR: N {e['estimate']:,.0f} ({iv['lower']:,.0f}-{iv['upper']:,.0f}), R-hat {d['rhat']:.2f}, "
                     f"ESS bulk {d['ess_bulk']:.0f}, chain medians {medians}")
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    times = []
    for k in range(args.repeats):
        seconds, saved, summary = one_demo(args.seed)
        times.append(seconds)
        stages = saved["timings_s"]
        print(f"run {k + 1}: {seconds:.1f} s  stages: " + ", ".join(f"{s} {v:.1f} s" for s, v in stages.items()))
    print(summary.strip().splitlines()[-1])
    print(convergence_line(saved))
    print(f"cores available: {cores}; load average (1 min) after the runs: {os.getloadavg()[0]:.2f}")
    print(f"demo end to end: {statistics.median(times):.1f} s   goal: under 120 s")


if __name__ == "__main__":
    main()
