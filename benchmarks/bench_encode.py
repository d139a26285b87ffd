"""Encoding speed: records encoded per second (default schema person-v2: record-level filters over
every identity field, diffused 512 -> 2,048 bits with t = 3).

Prints the figure beside its anchor, clkhash (the Anonlink project's CLK encoder): about 17,000
records per second. Two inputs:
- simulated nk-women-china lists (made-up Korean names, Hangul, dates with errors), N people;
- FEBRL4 (5,000 + 5,000 synthetic Australian records), given name, surname, date of birth and the
  extra fields social security id, street number, address, postcode and suburb.
Encoding alone (from the identity frame) and with the name folding of identity_frame are timed
separately; best of three runs.

Run: .venv/bin/python benchmarks/bench_encode.py [--n 200000] [--skip-febrl]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from darkfigure.linkage import ColumnMapping, identity_frame, read_lists, read_mapping
from darkfigure.pprl import default_schema, encode_list
from darkfigure.simulate import load_scenario, simulate_coalition

FEBRL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "linkage" / "febrl"
ANCHOR = "anchor: clkhash about 17,000 records/s"
SECRET = bytes(range(32))


def best_rate(work, n_records: int, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return n_records / min(times)


def encode_all(frame: pd.DataFrame) -> None:
    schema = default_schema()
    for name, part in frame.groupby("list", sort=False):
        encode_list(part, schema, SECRET, str(name))


def simulated(n: int) -> None:
    folder = Path(tempfile.mkdtemp()) / "sim"
    simulate_coalition(load_scenario("nk-women-china").with_n(n), seed=1).write(folder)
    mapping = read_mapping(folder / "mapping.toml")
    lists = read_lists(mapping)
    frame = identity_frame(lists, mapping)
    rate = best_rate(lambda: encode_all(frame), len(frame))
    print(f"figure: nk-women-china N={n:,}, {len(frame):,} records: encoding {rate:,.0f} records/s; {ANCHOR}")
    rate = best_rate(lambda: encode_all(identity_frame(lists, mapping)), len(frame))
    print(f"figure: the same with identity_frame's name folding: {rate:,.0f} records/s; {ANCHOR}")


def febrl() -> None:
    lists = {}
    for name in ("dataset4a", "dataset4b"):
        table = pd.read_csv(FEBRL / f"{name}.csv", dtype=str, skipinitialspace=True, keep_default_na=False)
        lists[name] = table.apply(lambda col: col.str.strip())
    spec = {"record_id": "rec_id", "given_name": "given_name", "family_name": "surname", "birth_date": "date_of_birth",
            "extra": ["soc_sec_id", "street_number", "address_1", "postcode", "suburb"]}  # fmt: skip
    mapping = ColumnMapping.from_dict({name: spec for name in lists})
    frame = identity_frame(lists, mapping)
    rate = best_rate(lambda: encode_all(frame), len(frame))
    print(f"figure: FEBRL4, {len(frame):,} records: encoding {rate:,.0f} records/s; {ANCHOR}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="people in the simulated population")
    parser.add_argument("--skip-febrl", action="store_true")
    args = parser.parse_args()
    simulated(args.n)
    if not args.skip_febrl and FEBRL.exists():
        febrl()


if __name__ == "__main__":
    main()
