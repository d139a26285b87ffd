"""Scenario files: the hidden population, the organisations that see part of it, and how each writes
its list.

A scenario is a TOML file (see the presets in ``presets/``). Every key is checked; an error names the
file and the key, says what was expected and what was found. ``load_scenario("nk-women-china")``
loads a preset, ``load_scenario("my.toml")`` a file.

Capture model: entity ``i`` is on list ``j`` with probability ``1 - (1 - capture_j) ** rate`` where
``rate`` multiplies the stratum multipliers (every list's and list ``j``'s own), the entity's latent
visibility raised to the list's ``visibility_weight``, and the ``factor`` of each referral from a list
the entity is already on. With every multiplier 1 the probability is ``capture_j``.
"""

from __future__ import annotations

import difflib
import graphlib
import re
import tomllib
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from darkfigure.errors import InputError
from darkfigure.simulate.identities import DATE_FORMATS, NAME_STYLES, PLACE_STYLES, SYSTEMS

PRESETS = ("generic", "nk-women-china")
STANDARD_FIELDS = (
    "record_id", "family_name", "given_name", "name_original_script", "birth_date", "birth_year", "sex",
    "place_of_origin", "place_of_exploitation", "event_date", "exploitation_form",
)
CODED_FIELDS = ("sex", "place_of_origin", "place_of_exploitation", "exploitation_form")  # fields that are strata
# HTCDS v2.0 pick-lists: prs_Gender, org_Type, vic_TypeOfExploitation + vic_TypeOfSexExploitation
SEXES = ("Feminine", "Masculine", "TransgenderFeminine", "TransgenderMasculine", "NonConforming", "NonSpecifiedUnknown")
ORGANISATION_KINDS = (
    "NGO", "LawEnforcement", "HealthServiceOrganisation", "CentralGovernmentOrganisation",
    "LocalGovernmentOrganisation", "ImmigrationService", "LegalService", "CorporateBusiness", "SchoolOrCollege",
)
EXPLOITATION_FORMS = (
    "ForcedLabour", "SexualExploitation", "ChildLabour", "ForcedMarriage", "Servitude",
    "ForcedMilitaryByNonStateActors", "OrganRemoval", "ForcedBegging", "ForcedAdoption", "Surrogacy", "Other",
    "Prostitution", "Pornography", "RemoteInteractiveServices", "PrivateSexualServices",
)
_RESERVED = {"entity_id", "list", "record_id", "birth_date", "name_hangul", "visibility", "history", "truth",
             "truth_summary", "scenario", "mapping", "family_index", "syllable_1", "syllable_2"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_REQUIRED = object()


@dataclass(frozen=True, eq=False)
class Recording:
    """How one organisation writes its list: columns, spellings, formats and error rates."""

    columns: dict[str, str]  # standard field -> this list's column name
    record_prefix: str
    romanisation: dict[str, float]  # shares over SYSTEMS
    name_style: dict[str, float]  # shares over NAME_STYLES
    place_style: dict[str, float]  # shares over PLACE_STYLES
    orthography: str  # Hangul spelling: "north" or "south"
    diacritics: bool  # keep McCune-Reischauer breves and apostrophes
    case: str  # "title" or "upper"
    date_format: str
    codes: dict[str, dict[str, str]]  # coded field -> {value: this list's code}
    missing: dict[str, float]  # field -> share left empty
    typo: float
    birth_year_error: float
    day_month_swap: float
    unknown_day: float
    duplicates: float


@dataclass(frozen=True, eq=False)
class Organisation:
    """One list: who keeps it, how likely it sees an entity, and how it records what it sees."""

    name: str
    label: str
    kind: str
    capture: float
    visibility_weight: float
    multipliers: dict[str, dict[str, float]]
    recording: Recording


@dataclass(frozen=True)
class Heterogeneity:
    """Latent visibility of each entity: ``none``, ``lognormal`` (mean 1) or latent ``classes``."""

    kind: str = "none"
    sigma: float = 0.0
    shares: tuple[float, ...] = ()
    visibility: tuple[float, ...] = ()


@dataclass(frozen=True)
class Referral:
    """Being on list ``source`` multiplies the capture rate of list ``target`` by ``factor``."""

    source: str
    target: str
    factor: float


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario (see the module docstring for the capture model).

    >>> s = load_scenario("generic")
    >>> s.lists, s.n
    (('outreach', 'police', 'health', 'inspectorate'), 5000)
    """

    name: str
    description: str
    population: str
    n: int
    age: dict[str, float]
    strata: dict[str, dict[str, float]]  # stratum -> value -> weight (shares once normalised); years as str
    heterogeneity: Heterogeneity
    multipliers: dict[str, dict[str, float]]
    organisations: tuple[Organisation, ...]
    referrals: tuple[Referral, ...]
    source: str = "<scenario>"

    @property
    def lists(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.organisations)

    def with_n(self, n: int) -> Scenario:
        """The same scenario with another population size.

        >>> load_scenario("generic").with_n(300).n
        300
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"the population size n must be a whole number of at least 1; got {n!r}")
        return replace(self, n=n)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as TOML-ready data; :func:`parse_scenario` reads it back.

        >>> parse_scenario(load_scenario("generic").to_dict()).lists
        ('outreach', 'police', 'health', 'inspectorate')
        """
        lists = {}
        for o in self.organisations:
            lists[o.name] = {"label": o.label, "kind": o.kind, "capture": o.capture,
                             "visibility_weight": o.visibility_weight, "multipliers": o.multipliers,
                             "recording": asdict(o.recording)}
        h = self.heterogeneity
        heterogeneity: dict[str, Any] = {"kind": h.kind}
        if h.kind == "lognormal":
            heterogeneity["sigma"] = h.sigma
        if h.kind == "classes":
            heterogeneity |= {"shares": list(h.shares), "visibility": list(h.visibility)}
        return {
            "name": self.name, "description": self.description, "population": self.population, "n": self.n,
            "age": self.age, "strata": self.strata, "heterogeneity": heterogeneity,
            "multipliers": self.multipliers, "lists": lists,
            "referrals": [{"from": r.source, "to": r.target, "factor": r.factor} for r in self.referrals],
        }

    def to_toml(self) -> str:
        """The scenario as a TOML file that :func:`load_scenario` reads back.

        >>> load_scenario("generic").to_toml().splitlines()[1]
        'name = "generic"'
        """
        return "# darkfigure simulation scenario\n" + dump_toml(self.to_dict())


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A preset by name (see PRESETS) or a scenario TOML file by path.

    >>> load_scenario("nk-women-china").lists
    ('church', 'hotline', 'police', 'shelter', 'resettlement')
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        return _load_file(Path(name_or_path))
    if text not in PRESETS:
        raise InputError(f"unknown preset {text!r}; choose one of {', '.join(PRESETS)} or give a .toml file")
    preset = resources.files("darkfigure.simulate").joinpath("presets", f"{text}.toml")
    return parse_scenario(_parse_toml(preset.read_text(encoding="utf-8"), f"preset {text}"), f"preset {text}")


def _load_file(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the scenario file: {exc}", source=str(path)) from None
    return parse_scenario(_parse_toml(text, str(path)), str(path))


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc}); see https://toml.io for the syntax", source=source) from None


def parse_scenario(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate scenario data (as read from TOML); errors name ``source`` and the key.

    >>> parse_scenario({"n": 10}).n
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: <scenario>: key 'strata' is missing: give a table [strata] with at least sex and year
    """
    top = _Table(data, "", source)
    strata = _strata(top.table("strata", required="give a table [strata] with at least sex and year"))
    organisations = _organisations(top.table("lists", required="give a table [lists.<name>] per list"), strata)
    names = [o.name for o in organisations]
    scenario = Scenario(
        name=top.string("name", "scenario"),
        description=top.string("description", ""),
        population=top.string("population", "people"),
        n=int(top.number("n", low=1, integer=True)),
        age=_age(top.table("age")),
        strata=strata,
        heterogeneity=_heterogeneity(top.table("heterogeneity")),
        multipliers=_multipliers(top.table("multipliers"), strata),
        organisations=organisations,
        referrals=_referrals(top, names),
        source=source,
    )
    top.finish()
    return scenario


class _Table:
    """One TOML table being read: typed getters that say which key is wrong, and a check for typos."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        self.where, self.source, self.used = where, source, set()
        if not isinstance(data, dict):
            raise InputError(f"key '{where}' must be a table; got {data!r}", source=source)
        self.data = data

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where and key else self.where or key

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"key '{self.path(key)}' {message}", source=self.source)

    def raw(self, key: str, default: Any = _REQUIRED, required: str = "") -> Any:
        self.used.add(key)
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise self.error(key, f"is missing{': ' + required if required else ''}")
        return default

    def number(self, key: str, default: Any = _REQUIRED, low: float = 0.0, high: float = float("inf"),
               integer: bool = False) -> float:
        value = self.raw(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
        if not ok or (integer and int(value) != value):
            kind = "a whole number" if integer else "a number"
            span = f" of at least {low:g}" if high == float("inf") else f" from {low:g} to {high:g}"
            raise self.error(key, f"must be {kind}{span}; got {value!r}")
        return value

    def string(self, key: str, default: Any = _REQUIRED, choices: tuple[str, ...] | None = None) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or (choices is not None and value not in choices):
            expected = f"one of {', '.join(choices)}" if choices else "a string"
            raise self.error(key, f"must be {expected}; got {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false; got {value!r}")
        return value

    def table(self, key: str, required: str = "") -> _Table:
        return _Table(self.raw(key, _REQUIRED if required else {}, required), self.path(key), self.source)

    def shares(self, key: str, choices: tuple[str, ...], default: str) -> dict[str, float]:
        """A table of non-negative weights over ``choices`` (or one choice as a string)."""
        value = self.raw(key, default)
        if isinstance(value, str):
            value = {value: 1.0}
        weights = _Table(value, self.path(key), self.source)
        out = {k: weights.number(k) for k in value}
        for k in out:
            if k not in choices:
                raise weights.error(k, f"is not one of {', '.join(choices)}")
        return _weights(out, weights, key)

    def finish(self) -> None:
        for key in self.data:
            if key not in self.used:
                close = difflib.get_close_matches(key, list(self.used), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(sorted(self.used))}"
                raise self.error(key, f"is not a scenario key{hint}")


def _weights(weights: dict[str, float], table: _Table, key: str) -> dict[str, float]:
    total = sum(weights.values())
    if not weights or total <= 0:
        raise InputError(f"key '{table.where}' needs at least one positive share; got {weights!r}", source=table.source)
    return weights


def _strata(table: _Table) -> dict[str, dict[str, float]]:
    strata = {}
    for name in table.data:
        if not _NAME.match(name) or name in _RESERVED:
            raise table.error(name, "is not a usable stratum name (letters, digits, _ or -; not a reserved column)")
        values = table.table(name)
        strata[name] = _weights({str(k): values.number(k) for k in values.data}, values, name)
    for name, allowed in (("sex", SEXES), ("exploitation_form", EXPLOITATION_FORMS)):
        for value in strata.get(name, {}):
            if value not in allowed:
                raise table.error(f"{name}.{value}", f"is not an HTCDS value; use one of {', '.join(allowed)}")
    for required in ("sex", "year"):
        if required not in strata:
            raise table.error(required, "is missing: every scenario needs the strata sex and year")
    for year in strata["year"]:
        if not (year.isdigit() and 1900 <= int(year) <= 2100):
            raise table.error(f"year.{year}", "must be a year such as \"2019\"")
    return strata


def _age(table: _Table) -> dict[str, float]:
    age = {"mean": table.number("mean", 28.0, 0, 110), "sd": table.number("sd", 8.0, 0, 50),
           "min": table.number("min", 14, 0, 110, integer=True), "max": table.number("max", 60, 0, 110, integer=True)}
    table.finish()
    if age["min"] > age["max"]:
        raise table.error("min", f"must not exceed age.max ({age['max']}); got {age['min']}")
    return age


def _heterogeneity(table: _Table) -> Heterogeneity:
    kind = table.string("kind", "none", ("none", "lognormal", "classes"))
    sigma = table.number("sigma", 0.0, 0.0, 5.0) if kind == "lognormal" else 0.0
    shares: tuple[float, ...] = ()
    visibility: tuple[float, ...] = ()
    if kind == "classes":
        shares, visibility = _numbers(table, "shares"), _numbers(table, "visibility")
        if len(shares) != len(visibility) or not sum(shares) > 0:
            raise table.error("visibility", "needs one value per class, as many as heterogeneity.shares, "
                              "and the shares must not all be 0")
    table.finish()
    return Heterogeneity(kind, sigma, shares, visibility)


def _numbers(table: _Table, key: str) -> tuple[float, ...]:
    values = table.raw(key)
    if not isinstance(values, list) or not values or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values
    ):
        raise table.error(key, f"must be a list of non-negative numbers such as [0.7, 0.3]; got {values!r}")
    return tuple(float(v) for v in values)


def _multipliers(table: _Table, strata: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for name in table.data:
        if name not in strata:
            raise table.error(name, f"is not a stratum; strata are {', '.join(strata)}")
        values = table.table(name)
        for value in values.data:
            if str(value) not in strata[name]:
                raise values.error(value, f"is not a value of stratum {name}: {', '.join(strata[name])}")
        out[name] = {str(v): values.number(v) for v in values.data}
    return out


def _organisations(table: _Table, strata: dict[str, dict[str, float]]) -> tuple[Organisation, ...]:
    if len(table.data) < 2:
        raise table.error("", "needs at least two lists ([lists.<name>] tables); estimation compares lists")
    return tuple(_organisation(name, table.table(name), strata) for name in table.data)


def _organisation(name: str, table: _Table, strata: dict[str, dict[str, float]]) -> Organisation:
    if not _NAME.match(name) or name in _RESERVED:
        raise InputError(f"list name {name!r} must start with a letter, use letters, digits, _ or -, "
                         f"and not be one of {', '.join(sorted(_RESERVED))}", source=table.source)
    organisation = Organisation(
        name=name,
        label=table.string("label", name),
        kind=table.string("kind", "NGO", ORGANISATION_KINDS),
        capture=table.number("capture", low=0.0, high=1.0),
        visibility_weight=table.number("visibility_weight", 1.0, 0.0, 5.0),
        multipliers=_multipliers(table.table("multipliers"), strata),
        recording=_recording(table.table("recording", required="say how this list is written"), name, strata),
    )
    if organisation.capture >= 1.0:
        raise table.error("capture", "must be below 1 (a list that sees everyone leaves no dark figure); got 1")
    table.finish()
    return organisation


def _recording(table: _Table, name: str, strata: dict[str, dict[str, float]]) -> Recording:
    recording = Recording(
        columns=_columns(table.table("columns", required="map standard fields to column names"), strata),
        record_prefix=table.string("record_prefix", name[:2].upper() + "-"),
        romanisation=table.shares("romanisation", SYSTEMS, "revised"),
        name_style=table.shares("name_style", NAME_STYLES, "hyphen"),
        place_style=table.shares("place_style", PLACE_STYLES, "english"),
        orthography=table.string("orthography", "south", ("north", "south")),
        diacritics=table.boolean("diacritics", True),
        case=table.string("case", "title", ("title", "upper")),
        date_format=table.string("date_format", "%Y-%m-%d", DATE_FORMATS),
        codes=_codes(table.table("codes"), strata),
        missing=_missing(table),
        **{k: table.number(k, 0.0, 0.0, 1.0)
           for k in ("typo", "birth_year_error", "day_month_swap", "unknown_day", "duplicates")},
    )
    table.finish()
    return recording


def _columns(table: _Table, strata: dict[str, dict[str, float]]) -> dict[str, str]:
    columns = {field: table.string(field) for field in table.data}
    for field in columns:
        if field not in STANDARD_FIELDS:
            raise table.error(field, f"is not a standard field; use {', '.join(STANDARD_FIELDS)}")
        if field in CODED_FIELDS and field not in strata:
            raise table.error(field, f"is recorded but the scenario has no stratum {field}; add [strata.{field}]")
    if "record_id" not in columns:
        raise table.error("record_id", "is missing: every list needs a record identifier column")
    if len(set(columns.values())) < len(columns) or "" in columns.values():
        raise table.error("", f"needs distinct, non-empty column names; got {list(columns.values())}")
    return columns


def _codes(table: _Table, strata: dict[str, dict[str, float]]) -> dict[str, dict[str, str]]:
    codes = {}
    for field in table.data:
        if field not in ("sex", "exploitation_form") or field not in strata:
            raise table.error(field, "can only be sex or exploitation_form (places are spelt by place_style)")
        values = table.table(field)
        codes[field] = {str(v): values.string(v) for v in values.data}
        unknown = set(codes[field]) - set(strata[field])
        if unknown:
            raise values.error(sorted(unknown)[0], f"is not a value of stratum {field}")
        if len(set(codes[field].values())) < len(codes[field]):
            raise table.error(field, "gives two values the same code; codes must tell values apart")
    return codes


def _missing(table: _Table) -> dict[str, float]:
    value = table.raw("missing", 0.0)
    if not isinstance(value, dict):
        table.number("missing", 0.0, 0.0, 1.0)
        return dict.fromkeys(STANDARD_FIELDS[1:], float(value))
    fields = _Table(value, table.path("missing"), table.source)
    out = dict.fromkeys(STANDARD_FIELDS[1:], 0.0) | {f: fields.number(f, 0.0, 0.0, 1.0) for f in value}
    if set(value) - set(STANDARD_FIELDS[1:]):
        raise fields.error(sorted(set(value) - set(STANDARD_FIELDS[1:]))[0], "is not a field that can be missing")
    return out


def _referrals(top: _Table, names: list[str]) -> tuple[Referral, ...]:
    raw = top.raw("referrals", [])
    if not isinstance(raw, list):
        raise top.error("referrals", "must be an array of tables [[referrals]] with from, to and factor")
    referrals = []
    for k, item in enumerate(raw):
        table = _Table(item, f"referrals[{k}]", top.source)
        source, target = table.string("from", choices=tuple(names)), table.string("to", choices=tuple(names))
        if source == target:
            raise table.error("to", f"must differ from 'from'; a list cannot refer to itself ({source})")
        referrals.append(Referral(source, target, table.number("factor", low=0.0, high=1000.0)))
        table.finish()
    capture_order(names, tuple(referrals), top.source)
    return tuple(referrals)


def capture_order(names: list[str], referrals: tuple[Referral, ...], source: str = "<scenario>") -> list[str]:
    """Lists in an order where every referral comes from a list already drawn.

    >>> capture_order(["a", "b"], (Referral("b", "a", 2.0),))
    ['b', 'a']
    """
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter({n: set() for n in names})
    for r in referrals:
        sorter.add(r.target, r.source)
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise InputError(f"referrals form a cycle ({' -> '.join(exc.args[1])}); remove one of them",
                         source=source) from None


def dump_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Write nested dicts (tables), lists of dicts (arrays of tables) and plain values as TOML.

    >>> print(dump_toml({"n": 3, "lists": {"a b": {"capture": 0.5}}}), end="")
    n = 3
    <BLANKLINE>
    [lists."a b"]
    capture = 0.5
    """
    plain = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    lines = [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        name = f"{prefix}.{_key(key)}" if prefix else _key(key)
        if _is_table(value):
            body = dump_toml(value, name)
            if body and not body.startswith("["):
                body = f"[{name}]\n" + body
            out += ("\n" if out and body else "") + body
        elif _is_table_array(value):
            for item in value:
                out += ("\n" if out else "") + f"[[{name}]]\n" + dump_toml(item, name)
    return out


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _key(key: str) -> str:
    return key if re.match(r"^[A-Za-z0-9_-]+$", key) else _value(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
