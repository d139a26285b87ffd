"""Strata estimated per minute using both cores (issue: Bayesian estimators, strata and replicates).

Twelve strata of a simulated coalition (4 lists, a few hundred cases each), estimated with LCMCR at
the package manual's settings (K = 10, 4 chains, burn-in 10,000, 1,000 draws thinned by 100) and
with stepwise + BCa (nboot 1000). Anchor: LCMCR (C++) at HRDAG's production settings needs 139 s for
one stratum on this kind of machine, i.e. under 0.5 strata per minute per core.
Run: python benchmarks/bench_strata.py
"""

import os
import time

import numpy as np

from darkfigure.estimation.strata import estimate_strata
from darkfigure.simulate.tables import mixture_probabilities, sample_table

N_STRATA = 12


def strata_tables():
    rng = np.random.default_rng(2026)
    probabilities = mixture_probabilities([[0.3, 0.25, 0.2, 0.15], [0.05, 0.04, 0.06, 0.03]], [0.4, 0.6])
    sizes = rng.integers(800, 2000, size=N_STRATA)
    return [((f"s{k}",), sample_table(probabilities, int(n), rng)) for k, n in enumerate(sizes)], int(sizes.sum())


def main() -> None:
    parts, true_total = strata_tables()
    for method, settings in (("lcmcr", {"seed": 1}), ("stepwise", {"seed": 1, "nboot": 1000})):
        estimate_strata(parts[:1], ["stratum"], method, settings, workers=1)  # load compiled kernels
        start = time.perf_counter()
        result = estimate_strata(parts, ["stratum"], method, settings)
        elapsed = time.perf_counter() - start
        per_minute = 60 * len(parts) / elapsed
        print(
            f"{method}: {len(parts)} strata in {elapsed:.1f} s on {os.cpu_count()} cores = {per_minute:.1f} strata "
            f"per minute (total N {result.total.estimate:,.0f}, true {true_total:,})   "
            "anchor: LCMCR (C++) production settings 139 s a stratum"
        )


if __name__ == "__main__":
    main()
