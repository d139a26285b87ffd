"""Encoded versus plaintext linkage on the same data: pairwise precision / recall / F1.

For each dataset the lists are linked in plaintext (darkfigure.linkage.link, Splink) and, after
encoding each list with the default schema (darkfigure.pprl.encode_list, a fixed test secret), on
their encodings (darkfigure.pprl.match.link_encoded); both are scored against the truth at match
probability 0.8. Also shown: the best F1 any Dice cut-off could reach, chosen with the truth (what
the encoding allows), and the Dice the calibration puts at probability 0.8. The issue's goal:
encoded F1 within 0.02 of plaintext. FEBRL4 (two lists, each person at most once in each) is linked
one to one (``link_encoded(..., one_to_one=True)``, ``[linkage] one_to_one = true``).

With ``--schema person-v3`` the lists are encoded with the segmented schema and linked Fellegi-Sunter
style on the per-segment Dice (the best-cut-off column is then the whole filter's Dice, for reference).
Plaintext results are cached in the temporary folder (``--no-cache`` re-runs Splink).

``--secrets K`` also links with K - 1 other secrets and prints the mean, lowest and highest F1
difference (the secret alone moves F1 by up to about 2 points). ``--family-bits K`` encodes the
family name with K positions instead of the schema's (the privacy / accuracy trade-off of
benchmarks/bench_pprl_attack.py); ``--presets`` picks the simulations.

Run: .venv/bin/python benchmarks/bench_pprl_accuracy.py [--n 2000] [--seeds 1] [--skip-febrl]
     [--schema person-v2|person-v3] [--family-bits K] [--presets generic nk-women-china]
     [--secrets K]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from darkfigure.linkage import ColumnMapping, entities_from_pairs, evaluate, identity_frame, link, read_lists
from darkfigure.pprl import encode_list
from darkfigure.pprl.dice import dice_pairs
from darkfigure.pprl.match import link_encoded
from darkfigure.pprl.schema import read_schema_named
from darkfigure.simulate import load_scenario, simulate_coalition

FEBRL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "linkage" / "febrl"
FEBRL_FIELDS = {"record_id": "rec_id", "given_name": "given_name", "family_name": "surname",
                "birth_date": "date_of_birth",
                "extra": ["soc_sec_id", "street_number", "postcode", "suburb", "address_1"]}
SECRET = b"darkfigure benchmark secret, not for real lists!"
CACHE = Path(tempfile.gettempdir()) / "darkfigure-bench-pprl-plaintext.json"
SETTINGS: dict[str, object] = {"schema": "person-v2", "cache": True, "family_bits": None, "secrets": 1}


def plaintext(name: str, lists: dict[str, pd.DataFrame], mapping: ColumnMapping, truth: np.ndarray, seed: int,
              deduplicate: bool) -> tuple[float, float, float]:
    """Plaintext (Splink) precision, recall, F1 at 0.8, cached by dataset name."""
    cache = json.loads(CACHE.read_text()) if SETTINGS["cache"] and CACHE.exists() else {}
    if name not in cache:
        q = evaluate(link(lists, mapping, seed=seed, deduplicate=deduplicate).entity_ids(0.8), truth)
        cache[name] = [q.pair_precision, q.pair_recall, q.pair_f1]
        CACHE.write_text(json.dumps(cache))
    return tuple(cache[name])


def compare(name: str, lists: dict[str, pd.DataFrame], mapping: ColumnMapping, truth: np.ndarray, seed: int,
            deduplicate: bool = True, one_to_one: bool = False) -> dict[str, object]:
    plain_p, plain_r, plain_f1 = plaintext(name, lists, mapping, truth, seed, deduplicate)
    frame = identity_frame(lists, mapping)
    schema = read_schema_named(str(SETTINGS["schema"]))
    if SETTINGS["family_bits"]:
        schema = schema.with_field("family_name", bits=int(SETTINGS["family_bits"]))
    runs = []  # the benchmark's secret first: the figures below are its
    for secret in secrets(int(SETTINGS["secrets"])):
        encoded = [encode_list(frame[frame["list"] == n].reset_index(drop=True), schema, secret, n,
                               record_ids=frame.loc[frame["list"] == n, "record_id"].to_numpy()) for n in lists]
        runs.append((encoded, link_encoded(encoded, seed=seed, deduplicate=deduplicate, one_to_one=one_to_one)))
    encoded, result = runs[0]
    qe = evaluate(result.entity_ids(0.8), truth)
    f1s = [qe.pair_f1] + [evaluate(r.entity_ids(0.8), truth).pair_f1 for _, r in runs[1:]]
    filters = np.concatenate([e.filters for e in encoded])
    i, j, d = dice_pairs(filters, threshold=0.4, workers=2)
    best = max(evaluate(entities_from_pairs(len(filters), i[d >= c], j[d >= c]), truth).pair_f1
               for c in np.arange(0.40, 0.995, 0.005))
    calibration = result.model["calibration"] or {}
    label = name + (" (one-to-one)" if one_to_one else "")
    return {"data": label, "plain P": plain_p, "plain R": plain_r, "plain F1": plain_f1,
            "encoded P": qe.pair_precision, "encoded R": qe.pair_recall, "encoded F1": qe.pair_f1,
            "F1 difference": qe.pair_f1 - plain_f1, "within 2 points": qe.pair_f1 >= plain_f1 - 0.02,
            "best Dice cut-off F1": best, "Dice at p=0.8": calibration.get("dice_at", {}).get("0.8"),
            **({"F1 difference, mean over secrets": float(np.mean(f1s)) - plain_f1,
                "lowest": min(f1s) - plain_f1, "highest": max(f1s) - plain_f1} if len(f1s) > 1 else {})}


def secrets(k: int) -> list[bytes]:
    """The benchmark's secret, then ``k - 1`` others (fixed, so runs repeat)."""
    return [SECRET] + [f"darkfigure benchmark secret {i}, not for real lists!".encode() for i in range(1, k)]


def simulated(preset: str, n: int, seed: int) -> dict[str, object]:
    c = simulate_coalition(load_scenario(preset).with_n(n), seed=seed)
    mapping = ColumnMapping.from_dict(c.mapping()["lists"])
    return compare(f"{preset} N={n} seed {seed}", c.lists, mapping, c.truth["entity_id"].to_numpy(), seed)


def febrl(*files: str, deduplicate: bool = True, one_to_one: bool = False) -> dict[str, object]:
    mapping = ColumnMapping.from_dict({f"{i}": {**FEBRL_FIELDS, "file": str(FEBRL / f)} for i, f in enumerate(files)})
    lists = read_lists(mapping)
    ids = pd.concat([frame["rec_id"] for frame in lists.values()]).astype(str).str.strip()
    truth = ids.str.extract(r"rec-(\d+)-", expand=False).to_numpy()
    return compare("FEBRL " + "+".join(files), lists, mapping, truth, 1, deduplicate, one_to_one)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--schema", default="person-v2", help="a schema shipped with darkfigure")
    parser.add_argument("--no-cache", action="store_true", help="re-run the plaintext linkage")
    parser.add_argument("--family-bits", type=int, help="family-name positions instead of the schema's")
    parser.add_argument("--presets", nargs="+", default=["generic", "nk-women-china"])
    parser.add_argument("--secrets", type=int, default=1, help="also the mean F1 difference over this many secrets")
    args = parser.parse_args()
    SETTINGS.update(schema=args.schema, cache=not args.no_cache, family_bits=args.family_bits,
                    secrets=max(1, args.secrets))
    rows = [simulated(p, args.n, s) for p in args.presets for s in args.seeds]
    if not args.skip_febrl and FEBRL.exists():
        # FEBRL4's two lists hold each person at most once: linked one to one ([linkage] one_to_one = true)
        rows += [febrl("dataset1.csv"), febrl("dataset4a.csv", "dataset4b.csv", deduplicate=False, one_to_one=True)]
    table = pd.DataFrame(rows)
    print(f"schema {args.schema}" + (f", family name {args.family_bits} positions" if args.family_bits else ""))  # noqa: T201
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))  # noqa: T201
    print("anchor: the issue's goal, encoded F1 within 0.02 of plaintext F1 on the same data")  # noqa: T201


if __name__ == "__main__":
    main()
