"""Dice comparisons per second per core at 1,024 bits, beside the anchors, and the time to link
4 encoded lists of 50,000 records.

Anchors (the issue, measured on this kind of machine): anonlink's C++ kernel 140-150 million/s per
core; NumPy about 19 million/s (measured here too, on the same filters); the popcount limit about
1 billion/s; goal at least 300 million/s. The machine is shared: each figure is the best of a few runs.

Run: .venv/bin/python benchmarks/bench_dice.py [--records 50000] [--lists 4] [--skip-link]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from darkfigure.pprl import dice
from darkfigure.pprl.match import link_encoded


def random_filters(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**63, size=(n, 16), dtype=np.int64).astype(np.uint64) | rng.integers(
        0, 2**63, size=(n, 16), dtype=np.int64).astype(np.uint64)  # ~75% fill, all pairs within the popcount bound


def best_rate(run, pairs: int, repeats: int = 3) -> float:
    run()  # compile / warm
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return pairs / best


def numpy_rate(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = dice.popcounts(a), dice.popcounts(b)
    return best_rate(lambda: dice._pairs_numpy(a, b, pa, pb, 0.99, False), len(a) * len(b), 2)


def linked_lists(n: int, n_lists: int, seed: int):
    """Encoded lists of n records each: a population of near-duplicate filters (Dice about 0.9)."""
    import pandas as pd

    from darkfigure.pprl.encode import EncodedList

    rng = np.random.default_rng(seed)
    population = rng.random((int(n * 1.5), 1024)) < 0.5
    out = []
    for k in range(n_lists):
        rows = rng.choice(len(population), n, replace=False)
        bits = population[rows] ^ (rng.random((n, 1024)) < 0.04)
        filters = np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)
        out.append(EncodedList(f"L{k}", rows.astype(str), filters, pd.DataFrame(index=range(n)), "bench", 1024))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--lists", type=int, default=4)
    parser.add_argument("--skip-link", action="store_true")
    args = parser.parse_args()
    a, b = random_filters(4_000, 1), random_filters(20_000, 2)
    one = best_rate(lambda: dice.dice_pairs(a, b, threshold=0.99, workers=1), len(a) * len(b))
    two = best_rate(lambda: dice.dice_pairs(a, b, threshold=0.99, workers=2), len(a) * len(b))
    small = numpy_rate(a[:500], b[:2000])
    print(f"Dice kernel, 1,024 bits, one core:  {one / 1e6:8.0f} M comparisons/s   "  # noqa: T201
          "anchor: anonlink C++ 140-150 M/s, goal >= 300 M/s, popcount limit ~1,000 M/s")
    print(f"Dice kernel, 2 threads, per core:   {two / 2e6:8.0f} M comparisons/s   "  # noqa: T201
          f"(both: {two / 1e6:.0f} M/s)")
    print(f"NumPy (np.bitwise_count), one core: {small / 1e6:8.0f} M comparisons/s   "  # noqa: T201
          "anchor: NumPy about 19 M/s")
    if not args.skip_link:
        lists = linked_lists(args.records, args.lists, 3)
        start = time.perf_counter()
        result = link_encoded(lists, seed=1)
        elapsed = time.perf_counter() - start
        print(f"link_encoded {args.lists} lists x {args.records:,} records: {elapsed:.1f} s "  # noqa: T201
              f"({result.n_entities():,} entities; stages {dict((k, round(v, 1)) for k, v in result.timings.items())}; "
              f"{result.blocking_rules}); anchor: plaintext Splink goal under 2 minutes")


if __name__ == "__main__":
    main()
