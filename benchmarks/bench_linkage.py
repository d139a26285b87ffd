"""Record linkage speed and quality: 4 lists x 50,000 records on 2 cores, and FEBRL4.

Prints, for each figure, the anchor it is measured against:
- 4 lists x 50,000 synthetic Korean person records (romanised three ways, Hangul, birth dates with
  errors, duplicates within lists), linked and deduplicated with DuckDB limited to 2 threads.
  Anchor: the issue's goal, under 2 minutes; peak memory (resident set) reported.
- FEBRL4 (5,000 + 5,000 records): time and precision / recall / F1 beside the README anchor
  (Splink 5.0.0 on DuckDB: precision 1.0000, recall 0.9984, prediction under half a second).

Run: .venv/bin/python benchmarks/bench_linkage.py [--records 50000] [--lists 4] [--skip-febrl]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from splink import DuckDBAPI

from darkfigure.linkage import evaluate, link

FEBRL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "linkage" / "febrl"

# Given-name syllables: Hangul, Revised Romanisation, a common passport spelling, McCune-Reischauer.
SYLLABLES = [
    ("정", "jeong", "jung", "chŏng"), ("영", "yeong", "young", "yŏng"), ("희", "hui", "hee", "hŭi"),
    ("수", "su", "soo", "su"), ("은", "eun", "eun", "ŭn"), ("경", "gyeong", "kyung", "kyŏng"),
    ("민", "min", "min", "min"), ("지", "ji", "ji", "chi"), ("현", "hyeon", "hyun", "hyŏn"),
    ("선", "seon", "sun", "sŏn"), ("미", "mi", "mi", "mi"), ("숙", "suk", "sook", "suk"),
    ("순", "sun", "soon", "sun"), ("옥", "ok", "ok", "ok"), ("혜", "hye", "hye", "hye"),
    ("진", "jin", "jin", "chin"), ("연", "yeon", "yeon", "yŏn"), ("주", "ju", "joo", "chu"),
    ("화", "hwa", "hwa", "hwa"), ("란", "ran", "ran", "ran"), ("서", "seo", "seo", "sŏ"),
    ("윤", "yun", "yoon", "yun"), ("하", "ha", "ha", "ha"), ("나", "na", "na", "na"),
    ("아", "a", "ah", "a"), ("유", "yu", "yoo", "yu"), ("성", "seong", "sung", "sŏng"),
    ("해", "hae", "hae", "hae"), ("은", "eun", "un", "ŭn"), ("향", "hyang", "hyang", "hyang"),
    ("금", "geum", "keum", "kŭm"), ("춘", "chun", "choon", "ch'un"), ("명", "myeong", "myung", "myŏng"),
    ("복", "bok", "bok", "pok"), ("애", "ae", "ae", "ae"), ("림", "rim", "rim", "rim"),
    ("인", "in", "in", "in"), ("송", "song", "song", "song"), ("설", "seol", "sul", "sŏl"),
    ("봄", "bom", "bom", "pom"),
]  # fmt: skip
# Family names: Hangul, RR, common, MR (North Korean usage for 이/임/류), and a share of the population.
FAMILIES = [
    ("김", "Gim", "Kim", "Kim", 21.5), ("이", "I", "Lee", "Ri", 14.7), ("박", "Bak", "Park", "Pak", 8.4),
    ("최", "Choe", "Choi", "Ch'oe", 4.7), ("정", "Jeong", "Jung", "Chŏng", 4.3), ("강", "Gang", "Kang", "Kang", 2.4),
    ("조", "Jo", "Cho", "Cho", 2.1), ("윤", "Yun", "Yoon", "Yun", 2.1), ("장", "Jang", "Jang", "Chang", 2.0),
    ("임", "Im", "Lim", "Rim", 2.0), ("한", "Han", "Han", "Han", 1.5), ("오", "O", "Oh", "O", 1.5),
    ("서", "Seo", "Suh", "Sŏ", 1.5), ("신", "Sin", "Shin", "Sin", 1.5), ("권", "Gwon", "Kwon", "Kwŏn", 1.4),
    ("황", "Hwang", "Hwang", "Hwang", 1.4), ("안", "An", "Ahn", "An", 1.3), ("송", "Song", "Song", "Song", 1.3),
    ("전", "Jeon", "Jun", "Chŏn", 1.1), ("홍", "Hong", "Hong", "Hong", 1.1), ("류", "Ryu", "Yoo", "Ryu", 1.1),
    ("고", "Go", "Ko", "Ko", 0.9), ("문", "Mun", "Moon", "Mun", 0.9), ("양", "Yang", "Yang", "Yang", 0.9),
    ("손", "Son", "Sohn", "Son", 0.9),
]  # fmt: skip
PROVINCES = [
    ("함경북도", "Hamgyeongbuk-do", "North Hamgyong", "Hamgyŏng-pukto"),
    ("함경남도", "Hamgyeongnam-do", "South Hamgyong", "Hamgyŏng-namdo"),
    ("양강도", "Yanggang-do", "Ryanggang", "Ryanggang-do"),
    ("평안북도", "Pyeonganbuk-do", "North Pyongan", "P'yŏngan-pukto"),
    ("평안남도", "Pyeongannam-do", "South Pyongan", "P'yŏngan-namdo"),
    ("자강도", "Jagang-do", "Chagang", "Chagang-do"),
    ("황해북도", "Hwanghaebuk-do", "North Hwanghae", "Hwanghae-pukto"),
    ("강원도", "Gangwon-do", "Kangwon", "Kangwŏn-do"),
    ("평양", "Pyeongyang", "Pyongyang", "P'yŏngyang"),
]


def population(size: int, rng: np.random.Generator) -> pd.DataFrame:
    """Hidden people: family name by its share, two given syllables, a birth date, sex, province."""
    share = np.array([f[4] for f in FAMILIES])
    born = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 40 * 365, size), unit="D")
    return pd.DataFrame({
        "person": np.arange(1, size + 1),
        "family": rng.choice(len(FAMILIES), size, p=share / share.sum()),
        "g1": rng.integers(len(SYLLABLES), size=size),
        "g2": rng.integers(len(SYLLABLES), size=size),
        "born": born,
        "sex": rng.choice(["F", "M"], size, p=[0.8, 0.2]),
        "province": rng.integers(len(PROVINCES), size=size),
    })  # fmt: skip


def typo(text: str, rng: np.random.Generator) -> str:
    """One random letter replaced, dropped or doubled."""
    if len(text) < 3:
        return text
    i = int(rng.integers(1, len(text)))
    kind = rng.integers(3)
    letter = "aeiounghkjs"[int(rng.integers(11))]
    return (
        text[:i] + letter + text[i + 1 :]
        if kind == 0
        else text[:i] + text[i + 1 :]
        if kind == 1
        else text[:i] + text[i] + text[i:]
    )


def given(p: pd.Series, system: int, hyphen: bool) -> str:
    a, b = SYLLABLES[p.g1][system], SYLLABLES[p.g2][system]
    return f"{a.capitalize()}-{b}" if hyphen else (a + b).capitalize()


def one_list(pop: pd.DataFrame, style: int, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n records in one organisation's style; 2% are repeat records of a person already on the list."""
    n_dup = n // 50
    people = pop.sample(n - n_dup, random_state=int(rng.integers(2**31)))
    people = pd.concat([people, people.sample(n_dup, random_state=int(rng.integers(2**31)))], ignore_index=True)
    rows = [record(p, style, rng) for p in people.itertuples()]
    frame = pd.DataFrame(rows)
    frame.insert(0, "case_no", [f"L{style}-{i}" for i in range(len(frame))])
    return frame


def record(p: pd.Series, style: int, rng: np.random.Generator) -> dict[str, object]:
    fam = FAMILIES[p.family]
    born = p.born
    if style == 1:  # RR, separate fields, full dates
        return {"given": given(p, 1, False), "family": fam[1], "dob": born.strftime("%Y-%m-%d"), "sex": p.sex,
                "origin": PROVINCES[p.province][1], "truth": p.person}  # fmt: skip
    if style == 2:  # common spellings in one field, given name first; birth year only, sometimes off by one
        year = born.year + (int(rng.choice([-1, 1])) if rng.random() < 0.1 else 0)
        return {"name": f"{given(p, 2, True)} {fam[2]}", "year": year, "sex": p.sex, "truth": p.person}
    if style == 3:  # Hangul and MR; day and month sometimes swapped
        swap = rng.random() < 0.05 and born.day <= 12
        dob = born.strftime("%Y-%d-%m" if swap else "%d.%m.%Y")
        hangul = fam[0] + SYLLABLES[p.g1][0] + SYLLABLES[p.g2][0]
        return {"hangul": hangul, "romanised": f"{fam[3]} {given(p, 3, True)}", "dob": dob,
                "origin": PROVINCES[p.province][3], "truth": p.person}  # fmt: skip
    name = given(p, 1, True)  # RR with typos and date slips; sex often not recorded
    name = typo(name, rng) if rng.random() < 0.1 else name
    dob = born.strftime("%Y%m%d")
    if rng.random() < 0.05:
        i = int(rng.integers(4, 8))
        dob = dob[:i] + str(int(rng.integers(10))) + dob[i + 1 :]
    return {"first": name, "last": fam[1], "dob": dob, "sex": p.sex if rng.random() < 0.7 else "",
            "origin": PROVINCES[p.province][2], "truth": p.person}  # fmt: skip


MAPPING = {
    1: {"record_id": "case_no", "given_name": "given", "family_name": "family", "birth_date": "dob", "sex": "sex",
        "place_of_origin": "origin"},
    2: {"record_id": "case_no", "full_name": "name", "birth_year": "year", "sex": "sex"},
    3: {"record_id": "case_no", "name_original_script": "hangul", "full_name": "romanised", "birth_date": "dob",
        "place_of_origin": "origin"},
    4: {"record_id": "case_no", "given_name": "first", "family_name": "last", "birth_date": "dob", "sex": "sex",
        "place_of_origin": "origin"},
}  # fmt: skip


def two_core_duckdb() -> DuckDBAPI:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    return DuckDBAPI(con)


def bench_lists(n_records: int, n_lists: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pop = population(int(n_records * 2.4), rng)
    lists = {f"list{k}": one_list(pop, (k - 1) % 4 + 1, n_records, rng) for k in range(1, n_lists + 1)}
    mapping = {name: MAPPING[(k - 1) % 4 + 1] for k, name in enumerate(lists, start=1)}
    start = time.perf_counter()
    result = link(lists, mapping, seed=seed, db_api=two_core_duckdb)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    truth = np.concatenate([frame["truth"].to_numpy() for frame in lists.values()])
    print(
        f"figure: {n_lists} lists x {n_records:,} records linked (link_and_dedupe, DuckDB 2 threads) in "
        f"{elapsed:.1f} s ({_stages(result.timings)}), peak memory {peak:,.0f} MiB; anchor: goal under 120 s"
    )
    print(f"  blocking rules: {', '.join(result.blocking_rules)}; pairs kept {len(result.pairs):,}")
    for t in result.thresholds:
        q = evaluate(result.entity_ids(t), truth)
        print(f"  threshold {t:g}: {result.n_entities(t):,} entities (truth {len(np.unique(truth)):,}); "
              f"pair P/R/F1 {q.pair_precision:.4f}/{q.pair_recall:.4f}/{q.pair_f1:.4f}")  # fmt: skip


def bench_febrl4(seed: int) -> None:
    files = {name: FEBRL / f"dataset4{name.lower()}.csv" for name in ("A", "B")}
    lists = {n: pd.read_csv(p, dtype=str, skipinitialspace=True) for n, p in files.items()}
    spec = {"record_id": "rec_id", "given_name": "given_name", "family_name": "surname", "birth_date": "date_of_birth",
            "extra": ["soc_sec_id", "street_number", "postcode", "suburb", "address_1"]}  # fmt: skip
    start = time.perf_counter()
    result = link(lists, {"A": spec, "B": spec}, seed=seed, deduplicate=False, db_api=two_core_duckdb)
    elapsed = time.perf_counter() - start
    truth = result.records["record_id"].str.extract(r"rec-(\d+)", expand=False)
    q = evaluate(result.entity_ids(), truth)
    print(f"figure: FEBRL4 linked in {elapsed:.1f} s ({_stages(result.timings)}), at threshold "
          f"{result.threshold:g}: precision {q.pair_precision:.4f} recall {q.pair_recall:.4f} F1 {q.pair_f1:.4f}; "
          "anchor: Splink 5.0.0 on DuckDB precision 1.0000 recall 0.9984, prediction under 0.5 s")  # fmt: skip


def _stages(timings: dict[str, float]) -> str:
    return ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in timings.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--lists", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20130601)
    parser.add_argument("--skip-febrl", action="store_true")
    args = parser.parse_args()
    if not args.skip_febrl and FEBRL.exists():
        bench_febrl4(args.seed)
    bench_lists(args.records, args.lists, args.seed)


if __name__ == "__main__":
    main()
