"""Coverage of the pipeline's intervals on simulated coalitions whose true N is known.

For each seed: simulate a coalition (preset nk-women-china by default, N = 12,000), write its lists,
and run the whole pipeline (read, link with Splink, estimate, write the report folder). Count how
often each interval holds the true N:

- "linked":   every method on the capture histories of the main linkage threshold (0.8);
- "combined": each method estimated at thresholds 0.5, 0.8 and 0.95 and combined (verdata's rule);
- "perfect":  the same methods on the true capture histories (perfect linkage), which separates
              linkage error from model error.

Reduced settings keep it affordable on 2 shared cores (stepwise nboot 200; LCMCR 2 chains, 2,000
burn-in sweeps, 500 draws thinned by 10); ``--full`` uses the demo's (stepwise nboot 1000; LCMCR 4
chains, 10,000 burn-in sweeps, 1,000 draws thinned by 100). Prints one line per seed and the coverage table; the
anchor is the nominal 95%.

    .venv/bin/python benchmarks/coverage_pipeline.py [--seeds 30] [--first 1] [--preset nk-women-china]
        [--n N] [--full] [--save rows.csv]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from darkfigure.errors import DarkfigureError
from darkfigure.estimation import estimate
from darkfigure.pipeline import RunConfig, run
from darkfigure.simulate import load_scenario, simulate_coalition

METHODS = ("stepwise", "lcmcr", "dga")
LABELS = {"stepwise": "Stepwise", "lcmcr": "LCMCR", "dga": "DGA"}
LCMCR_SETTINGS = {"burnin": 2000, "samples": 500, "thinning": 10}


FULL = False  # --full: the demo's settings (stepwise nboot 1000; LCMCR 4 chains, the R package's sweeps)


def config_for(folder: Path, seed: int) -> RunConfig:
    reduced = {"nboot": 200, "chains": 2, "method_settings": {"lcmcr": LCMCR_SETTINGS}}
    return RunConfig(
        title=f"coverage seed {seed}", mapping=folder / "data" / "mapping.toml", output=folder / "report", seed=seed,
        methods=METHODS, sensitivity_methods=METHODS, **({} if FULL else reduced),
    )


def one_seed(preset: str, seed: int, n: int | None) -> list[dict]:
    scenario = load_scenario(preset)
    coalition = simulate_coalition(scenario.with_n(n) if n else scenario, seed)
    with tempfile.TemporaryDirectory() as tmp:
        config = config_for(Path(tmp), seed)
        coalition.write(Path(tmp) / "data")
        rows = linked_rows(config, coalition, seed)
    truth = coalition.true_histories()
    for method in METHODS:
        try:
            e = estimate(truth, method, **config.settings_for(method))
        except DarkfigureError as err:
            rows.append({"seed": seed, "variant": "perfect", "method": method, "failed": str(err)[:120]})
            continue
        rows.append(_row(seed, "perfect", method, e, coalition.n, truth.n_observed))
    return rows


def linked_rows(config: RunConfig, coalition, seed: int) -> list[dict]:
    try:
        result = run(config)
    except DarkfigureError as err:
        return [{"seed": seed, "variant": "linked", "method": "all", "failed": str(err)[:120]}]
    rows = []
    for method in METHODS:
        for variant, label in (("linked", LABELS[method]), ("combined", f"{LABELS[method]}, thresholds combined")):
            try:
                e = result.estimate_of(label)
            except KeyError:
                rows.append({"seed": seed, "variant": variant, "method": method, "failed": "no estimate"})
                continue
            rows.append(_row(seed, variant, method, e, coalition.n, result.main_histories.n_observed))
    return rows


def _row(seed: int, variant: str, method: str, e, true_n: int, n_observed: int) -> dict:
    iv = e.interval
    return {"seed": seed, "variant": variant, "method": method, "true_n": true_n, "n_observed": n_observed,
            "estimate": e.estimate, "lower": iv.lower, "upper": iv.upper, "covered": bool(iv.covers(true_n)),
            "failed": ""}


def table(rows: pd.DataFrame) -> pd.DataFrame:
    done = rows[rows["failed"] == ""]
    out = []
    for (variant, method), g in done.groupby(["variant", "method"], sort=False):
        ratio = g["estimate"] / g["true_n"]
        out.append({"variant": variant, "method": method, "seeds": len(g),
                    "covered": int(g["covered"].sum()), "coverage": g["covered"].mean(),
                    "median N/true": float(np.median(ratio)),
                    "median width/true": float(np.median((g["upper"] - g["lower"]) / g["true_n"])),
                    "below": int((g["upper"] < g["true_n"]).sum()), "above": int((g["lower"] > g["true_n"]).sum())})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--preset", default="nk-women-china")
    parser.add_argument("--n", type=int, default=None, help="true N (default: the preset's)")
    parser.add_argument("--save", type=Path, default=None, help="write every row to this CSV")
    parser.add_argument("--full", action="store_true", help="the demo's estimation settings, not reduced ones")
    args = parser.parse_args()
    global FULL
    FULL = args.full
    rows: list[dict] = []
    start = time.perf_counter()
    for seed in range(args.first, args.first + args.seeds):
        clock = time.perf_counter()
        got = one_seed(args.preset, seed, args.n)
        rows += got
        shown = "  ".join(f"{r['variant'][:4]}/{r['method']} {r['estimate']:,.0f}{'*' if r['covered'] else ''}"
                          for r in got if not r.get("failed"))
        failed = "  ".join(f"{r['variant']}/{r['method']} failed: {r['failed']}" for r in got if r.get("failed"))
        seconds = time.perf_counter() - clock
        true_n = next((r["true_n"] for r in got if "true_n" in r), "?")
        print(f"seed {seed}: true N {true_n}  {shown} {failed}  ({seconds:.0f} s)", flush=True)
    frame = pd.DataFrame(rows)
    if args.save:
        frame.to_csv(args.save, index=False)
    print()
    print(f"preset {args.preset}, seeds {args.first}..{args.first + args.seeds - 1}, "
          f"{'full' if FULL else 'reduced'} settings, "
          f"{time.perf_counter() - start:.0f} s; * = the 95% interval holds the true N")
    print(table(frame).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    failures = frame[frame["failed"] != ""]
    print(f"failed runs or estimates: {len(failures)}")
    print("figure: coverage of 95% intervals per method and linkage   anchor: nominal 0.95")
    print(json.dumps({"seeds": args.seeds, "preset": args.preset}))


if __name__ == "__main__":
    main()
