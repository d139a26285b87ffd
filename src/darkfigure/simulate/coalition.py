"""A truth-known coalition: organisations' lists as they would send them, and the truth behind them.

:func:`simulate_coalition` draws the hidden population, decides who each organisation sees, and
writes each list in that organisation's own way (columns, romanisation, date format, codes, typos,
missing values, the same person twice). :meth:`Coalition.write` puts it all in one folder::

    <list>.csv           one per organisation, its own column names
    mapping.toml         per list: file, date_format, fields (standard field = column), codes
    truth.csv            list, record_id, entity_id and the entity's strata: keep away from linkage
    truth_summary.json   true N, observed, dark figure; per list, per stratum value; true patterns
    scenario.toml        the scenario as run (load_scenario reads it back)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkfigure._atomic import check_output_folder, swap_in_folder
from darkfigure.errors import InputError
from darkfigure.simulate import identities as ids
from darkfigure.simulate.population import draw_captures, draw_population
from darkfigure.simulate.scenarios import CODED_FIELDS, Organisation, Recording, Scenario, dump_toml, load_scenario

TRUTH_FILES = ("truth.csv", "truth_summary.json", "scenario.toml", "mapping.toml")


@dataclass(frozen=True, eq=False)
class Coalition:
    """The lists (record tables by list name), the truth (one row per record) and the population.

    >>> c = simulate_coalition(load_scenario("generic").with_n(500), seed=1)
    >>> list(c.lists), len(c.truth) == sum(len(t) for t in c.lists.values())
    (['outreach', 'police', 'health', 'inspectorate'], True)
    """

    lists: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    population: pd.DataFrame
    scenario: Scenario
    seed: int

    @property
    def n(self) -> int:
        return len(self.population)

    @property
    def n_observed(self) -> int:
        return int(self.truth["entity_id"].nunique())

    def mapping(self) -> dict[str, Any]:
        """For each list its file, date format, ``fields`` (standard field -> column) and ``codes``
        (field -> {value in the file: canonical value}).

        >>> m = simulate_coalition(load_scenario("generic").with_n(200), seed=1).mapping()
        >>> m["lists"]["police"]["fields"]["given_name"], m["lists"]["police"]["codes"]["sex"]
        ('forenames', {'F': 'Feminine', 'M': 'Masculine'})
        """
        return {"lists": {o.name: _list_mapping(o, self.scenario) for o in self.scenario.organisations}}

    def summary(self) -> dict[str, Any]:
        """The truth in numbers: N, observed, dark figure, per list, per stratum value, true patterns.

        >>> s = simulate_coalition(load_scenario("generic").with_n(300), seed=2).summary()
        >>> s["n"], s["n"] == s["n_observed"] + s["dark_figure"]
        (300, True)
        """
        on = self.population["history"].str.contains("1")
        per_list = {}
        for o in self.scenario.organisations:
            rows = self.truth[self.truth["list"] == o.name]
            entities = int(rows["entity_id"].nunique())
            per_list[o.name] = {"label": o.label, "kind": o.kind, "records": len(rows), "entities": entities,
                                "duplicate_records": len(rows) - entities}
        strata = {}
        for stratum, values in self.scenario.strata.items():
            column = self.population[stratum].astype(str)
            strata[stratum] = {v: {"n": int((column == v).sum()), "n_observed": int(((column == v) & on).sum())}
                               for v in values}
        patterns = self.population.loc[on, "history"].value_counts().sort_index()
        return {
            "scenario": self.scenario.name, "description": self.scenario.description,
            "population": self.scenario.population, "seed": self.seed, "n": self.n,
            "n_observed": int(on.sum()), "dark_figure": int(self.n - on.sum()), "n_records": len(self.truth),
            "lists": per_list, "strata": strata,
            "histories": {"lists": list(self.scenario.lists), "patterns": {k: int(v) for k, v in patterns.items()}},
        }

    def describe(self, folder: str | Path | None = None) -> str:
        """One paragraph: what was simulated and, given ``folder``, where it was written.

        >>> simulate_coalition(load_scenario("generic").with_n(100), seed=1).describe()[:40]
        "Simulated scenario 'generic' (seed 1): N"
        """
        s = self.summary()
        sizes = ", ".join(f"{name} {v['records']:,}" for name, v in s["lists"].items())
        duplicates = sum(v["duplicate_records"] for v in s["lists"].values())
        text = (
            f"Simulated scenario '{s['scenario']}' (seed {self.seed}): N = {s['n']:,} {s['population']}, "
            f"{s['n_observed']:,} ({s['n_observed'] / s['n']:.1%}) on at least one of {len(s['lists'])} lists "
            f"and a dark figure of {s['dark_figure']:,}. The lists hold {s['n_records']:,} records "
            f"({duplicates:,} of them a second record of someone already on the same list): {sizes}."
        )
        if folder is not None:
            text += (
                f" Wrote {folder}: one CSV per list, mapping.toml (columns to identity fields), scenario.toml, "
                "and the truth in truth.csv and truth_summary.json (keep these away from linkage)."
            )
        return text

    def true_histories(self) -> Any:
        """Capture histories of the entities as they really are (perfect linkage), a
        :class:`~darkfigure.histories.CaptureHistories`.

        >>> simulate_coalition(load_scenario("generic").with_n(400), seed=3).true_histories().n_lists
        4
        """
        from darkfigure.histories import CaptureHistories

        patterns = self.summary()["histories"]["patterns"]
        rows = [[int(c) for c in p] for p in patterns]
        return CaptureHistories.from_counts(rows, list(patterns.values()), lists=self.scenario.lists)

    def write(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write every file into ``folder``, all or nothing: the files are written to a temporary
        folder beside it, which then takes its place. A non-empty folder is replaced only with
        ``overwrite`` and only when it holds nothing but an earlier simulation's files.

        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "coalition"
        >>> c = simulate_coalition(load_scenario("generic").with_n(100), seed=1)
        >>> sorted(p.name for p in c.write(out).iterdir())[:3]
        ['health.csv', 'inspectorate.csv', 'mapping.toml']
        """
        folder = Path(folder)
        check_simulation_target(folder, overwrite)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
        try:
            self._write_files(staging)
            staging.chmod(0o755)
            swap_in_folder(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    def _write_files(self, folder: Path) -> None:
        for name, table in self.lists.items():
            table.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n", encoding="utf-8")
        self.truth.to_csv(folder / "truth.csv", index=False, lineterminator="\n", encoding="utf-8")
        summary = json.dumps(self.summary(), indent=2, ensure_ascii=False) + "\n"
        (folder / "truth_summary.json").write_text(summary, encoding="utf-8")
        (folder / "scenario.toml").write_text(self.scenario.to_toml(), encoding="utf-8")
        header = "# How each list's columns map to the standard identity fields (darkfigure simulate).\n"
        (folder / "mapping.toml").write_text(header + dump_toml(self.mapping()), encoding="utf-8")


def simulate_coalition(scenario: Scenario | str | Path, seed: int) -> Coalition:
    """Draw the population, the captures and every list; the same seed gives the same coalition.

    >>> c = simulate_coalition("generic", seed=4)
    >>> c.n, c.n_observed < c.n
    (5000, True)
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"the seed must be a whole number of at least 0; got {seed!r}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(2 + len(scenario.lists))]
    population = draw_population(scenario, streams[0])
    captured = draw_captures(scenario, population, streams[1])
    population["history"] = (captured.astype(np.uint8) + ord("0")).view(f"S{captured.shape[1]}").ravel().astype(str)
    lists, truths = {}, []
    for j, organisation in enumerate(scenario.organisations):
        rows = _record_rows(np.flatnonzero(captured[:, j]), organisation.recording.duplicates, streams[2 + j])
        lists[organisation.name] = _render_list(organisation, scenario, population.iloc[rows], streams[2 + j])
        truths.append(_truth(organisation, lists[organisation.name], population.iloc[rows], scenario))
    return Coalition(lists, pd.concat(truths, ignore_index=True), population, scenario, int(seed))


def _record_rows(entities: np.ndarray, duplicates: float, rng: np.random.Generator) -> np.ndarray:
    twice = entities[rng.random(len(entities)) < duplicates]
    return rng.permutation(np.concatenate([entities, twice]))


def _truth(organisation: Organisation, table: pd.DataFrame, people: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    truth = pd.DataFrame({"list": organisation.name,
                          "record_id": table[organisation.recording.columns["record_id"]].to_numpy(),
                          "entity_id": people["entity_id"].to_numpy()})
    for stratum in scenario.strata:
        truth[stratum] = people[stratum].to_numpy()
    return truth


def _render_list(organisation: Organisation, scenario: Scenario, people: pd.DataFrame,
                 rng: np.random.Generator) -> pd.DataFrame:
    """The list as the organisation writes it: every value a string, "" where missing."""
    recording = organisation.recording
    records = _Records(people, organisation, rng)
    table = {}
    for field, column in recording.columns.items():
        values = getattr(records, field)()
        missing = rng.random(len(values)) < recording.missing.get(field, 0.0)
        table[column] = np.where(missing, "", values) if field != "record_id" else values
    return pd.DataFrame(table, index=pd.RangeIndex(len(people)))


class _Records:
    """Renders each standard field of one list's records, one numpy array of strings per field."""

    def __init__(self, people: pd.DataFrame, organisation: Organisation, rng: np.random.Generator) -> None:
        self.people, self.org, self.rec, self.rng = people, organisation, organisation.recording, rng
        self.n = len(people)
        self.systems = _choose(self.rec.romanisation, ids.SYSTEMS, self.n, rng)
        self.birth = _recorded_birth(people["birth_date"].to_numpy(), self.rec, rng)

    def record_id(self) -> np.ndarray:
        width = max(5, len(str(self.n)))
        return np.array([f"{self.rec.record_prefix}{k:0{width}d}" for k in range(1, self.n + 1)], dtype=object)

    def family_name(self) -> np.ndarray:
        family = self.people["family_index"].to_numpy()
        names = ids.family_names(family, self.systems, self.rec.orthography, self.rng)
        return self._written(np.array([v[:1].upper() + v[1:] for v in names], dtype=object))

    def given_name(self) -> np.ndarray:
        styles = _choose(self.rec.name_style, ids.NAME_STYLES, self.n, self.rng)
        first, second = self.people["syllable_1"].to_numpy(), self.people["syllable_2"].to_numpy()
        return self._written(ids.given_names(first, second, self.systems, styles, self.rec.orthography, self.rng))

    def _written(self, names: np.ndarray) -> np.ndarray:
        if not self.rec.diacritics:
            names = ids.strip_diacritics(names)
        if self.rec.case == "upper":
            names = np.array([v.upper() for v in names], dtype=object)
        return ids.add_typos(names, self.rec.typo, self.rng)

    def name_original_script(self) -> np.ndarray:
        p = self.people
        hangul = ids.hangul_names(p["family_index"].to_numpy(), p["syllable_1"].to_numpy(),
                                  p["syllable_2"].to_numpy(), self.rec.orthography)
        return ids.add_typos(hangul, self.rec.typo, self.rng)

    def birth_date(self) -> np.ndarray:
        return ids.format_dates(*self.birth, self.rec.date_format)

    def birth_year(self) -> np.ndarray:
        return self.birth[0].astype(str).astype(object)

    def event_date(self) -> np.ndarray:
        year = self.people["year"].to_numpy(dtype=np.int64)
        first_day = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
        length = ((year - 1969).astype("datetime64[Y]").astype("datetime64[D]") - first_day).astype(np.int64)
        dates = first_day + np.floor(self.rng.random(self.n) * length).astype(np.int64)
        return ids.format_dates(*_split_dates(dates), self.rec.date_format)

    def sex(self) -> np.ndarray:
        return self._coded("sex")

    def exploitation_form(self) -> np.ndarray:
        return self._coded("exploitation_form")

    def _coded(self, field: str) -> np.ndarray:
        codes = self.rec.codes.get(field, {})
        return np.array([codes.get(v, v) for v in self.people[field].astype(str)], dtype=object)

    def place_of_origin(self) -> np.ndarray:
        return self._place("place_of_origin")

    def place_of_exploitation(self) -> np.ndarray:
        return self._place("place_of_exploitation")

    def _place(self, field: str) -> np.ndarray:
        styles = _choose(self.rec.place_style, ids.PLACE_STYLES, self.n, self.rng)
        return ids.spell_places(self.people[field].astype(str).to_numpy(dtype=object), styles)


def _choose(weights: dict[str, float], choices: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """Index into ``choices`` per record, drawn with the given weights."""
    p = np.array([weights.get(c, 0.0) for c in choices], dtype=float)
    return rng.choice(len(choices), size=n, p=p / p.sum())


def _split_dates(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = dates.astype("datetime64[D]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _recorded_birth(dates: np.ndarray, rec: Recording, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Birth dates with the organisation's errors: day unknown (written 1 January), day and month
    swapped (where the swap still gives a date), and the year one off."""
    year, month, day = _split_dates(dates)
    n = len(year)
    unknown = rng.random(n) < rec.unknown_day
    month, day = np.where(unknown, 1, month), np.where(unknown, 1, day)
    swap = (rng.random(n) < rec.day_month_swap) & (day <= 12) & (day != month)
    month, day = np.where(swap, day, month), np.where(swap, month, day)
    off = rng.random(n) < rec.birth_year_error
    year = year + np.where(off, rng.choice([-1, 1], size=n), 0)
    day = np.minimum(day, ids.days_in_month(year, month))  # 29 February moved to a year without it
    return year, month, day


def _list_mapping(organisation: Organisation, scenario: Scenario) -> dict[str, Any]:
    rec = organisation.recording
    codes = {}
    for field in CODED_FIELDS:
        if field not in rec.columns:
            continue
        if field.startswith("place_"):
            styles = [s for s in ids.PLACE_STYLES if rec.place_style.get(s, 0) > 0]
            codes[field] = {ids.place_spelling(v, s): v for v in scenario.strata[field] for s in styles}
        else:
            codes[field] = {rec.codes.get(field, {}).get(v, v): v for v in scenario.strata[field]}
    return {"file": f"{organisation.name}.csv", "label": organisation.label, "kind": organisation.kind,
            "date_format": rec.date_format, "fields": dict(rec.columns), "codes": codes}


def check_simulation_target(folder: Path, overwrite: bool) -> None:
    """Refuse a file in the way, and a non-empty folder unless ``overwrite`` and it holds only an
    earlier simulation (checked before simulating, and again before writing).

    >>> import tempfile
    >>> check_simulation_target(Path(tempfile.mkdtemp()) / "new", overwrite=False)  # a new folder is fine
    """
    check_output_folder(folder, overwrite, _not_a_simulation, "simulation")


def _not_a_simulation(entries: list[str]) -> str | None:
    ours = set(TRUTH_FILES) | {p for p in entries if p.endswith(".csv")}
    foreign = [p for p in entries if p not in ours]
    if foreign:
        return f"it has {foreign[0]!r}"
    return None if "truth_summary.json" in entries else "it has no truth_summary.json"

