"""The run configuration: one TOML file saying which lists, how to link them and how to estimate.

::

    title = "North Korean women in China, 2015-2023"
    mapping = "lists/mapping.toml"     # relative to this file
    output = "report"                  # the folder the run writes (darkfigure run --out overrides)
    seed = 1

    [linkage]
    thresholds = [0.5, 0.8, 0.95]      # one clustering (one version of the entities) per threshold
    threshold = 0.8                    # the clustering every method is estimated on
    sensitivity_methods = ["stepwise"] # estimated at every threshold, then combined
    ignore_fields = ["event_date", "place_of_exploitation", "exploitation_form"]  # not compared

    [estimation]
    methods = ["lcmcr", "stepwise"]    # the first is the report's headline
    nboot = 1000                       # bootstrap methods (stepwise, bic, aic, fixed)
    chains = 4                         # lcmcr
    strata = ["place_of_exploitation"] # mapped fields; each entity takes its records' most frequent value
    strata_method = "stepwise"

    [estimation.lcmcr]                 # settings for one method
    burnin = 10000

Every error names the config file and the key, and says what was expected.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from darkfigure.errors import InputError
from darkfigure.estimation.api import METHODS
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.linkage.fields import CASE_FIELDS, STANDARD_FIELDS, ColumnMapping
from darkfigure.settings import default

DEFAULT_THRESHOLDS = (0.5, 0.8, 0.95)
# fields that describe the case, not the person (linkage's own default: it does not compare them);
# they still define strata
NOT_COMPARED = CASE_FIELDS
# LCMCR first: on simulated coalitions its interval held the true N most often (docs/pipeline.md)
DEFAULT_METHODS = ("lcmcr", "stepwise")
BOOTSTRAP_METHODS = ("stepwise", "bic", "aic", "fixed")
# per-method settings: name -> (kind, lowest value); "int" and "real" are checked, "text" is any string
METHOD_SETTINGS: dict[str, dict[str, tuple[str, float]]] = {
    "stepwise": {"nboot": ("int", 0), "p_threshold": ("fraction", 0)},
    "bic": {"nboot": ("int", 0), "max_order": ("int", 1)},
    "aic": {"nboot": ("int", 0), "max_order": ("int", 1)},
    "fixed": {"nboot": ("int", 0), "model": ("text", 0)},
    "lcmcr": {"chains": ("int", 1), "classes": ("int", 1), "burnin": ("int", 0), "samples": ("int", 2),
              "thinning": ("int", 1)},
    "dga": {},
    "closed": {},
    "homeoffice": {},
}
_TOP_KEYS = ("title", "mapping", "output", "seed", "linkage", "estimation")
_LINKAGE_KEYS = ("thresholds", "threshold", "sensitivity_methods", "ignore_fields", "encoded", "one_to_one")
_ESTIMATION_KEYS = ("methods", "nboot", "chains", "level", "strata", "strata_method", *METHODS)


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration (paths absolute). Build one with :func:`load_config`, or in code.

    >>> c = RunConfig(title="t", mapping=Path("/data/mapping.toml"))
    >>> c.methods, c.threshold, c.settings_for("stepwise")
    (('lcmcr', 'stepwise'), 0.8, {'level': 0.95, 'seed': 0, 'nboot': 1000})
    """

    title: str
    mapping: Path
    output: Path | None = None
    seed: int = 0
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    threshold: float = 0.8
    sensitivity_methods: tuple[str, ...] = ("stepwise",)
    ignore_fields: tuple[str, ...] = NOT_COMPARED
    methods: tuple[str, ...] = DEFAULT_METHODS
    nboot: int = 1000
    chains: int = 4
    level: float = 0.95
    strata: tuple[str, ...] = ()
    strata_method: str | None = None
    method_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str | None = None
    notes: tuple[str, ...] = ()
    encoded: tuple[Path, ...] = ()
    one_to_one: bool = False

    def settings_for(self, method: str) -> dict[str, Any]:
        """The keyword settings of ``darkfigure.estimation.estimate`` for ``method``."""
        settings: dict[str, Any] = {"level": self.level, "seed": self.seed}
        if method in BOOTSTRAP_METHODS:
            settings["nboot"] = self.nboot
        if method == "lcmcr":
            settings["chains"] = self.chains
        return settings | dict(self.method_settings.get(method, {}))

    @property
    def stratum_method(self) -> str:
        """The method each stratum is estimated with (default: the first method)."""
        return self.strata_method or self.methods[0]

    def with_output(self, output: Path | None) -> RunConfig:
        """The same configuration writing to ``output`` (kept as it is when ``output`` is None)."""
        return self if output is None else replace(self, output=Path(output))

    def _shown(self, path: Path) -> str:
        """A path relative to the config file's folder when it lies below it."""
        if self.source is None:
            return str(path)
        try:
            return str(path.resolve().relative_to(Path(self.source).parent.resolve()))
        except ValueError:
            return str(path)

    def describe(self) -> dict[str, str]:
        """The settings as the report shows them: one line per stage and method."""
        lines = {
            "mapping": self._shown(self.mapping) if not self.encoded else "none: encoded lists",
            **({"encoded lists": ", ".join(self._shown(p) for p in self.encoded)} if self.encoded else {}),
            **({"one-to-one linkage": "yes: each list holds each person at most once"} if self.one_to_one else {}),
            "linkage thresholds": ", ".join(f"{t:g}" for t in self.thresholds),
            "main linkage threshold": f"{self.threshold:g}",
            "methods": ", ".join(self.methods),
            "estimated at every threshold": ", ".join(self.sensitivity_methods) or "none",
            "fields linkage does not compare": ", ".join(self.ignore_fields) or "none",
            "interval level": f"{self.level:g}",
        }
        for method in dict.fromkeys([*self.methods, *self.sensitivity_methods]):
            given = {k: default(k) for k in METHOD_SETTINGS[method] if k != "model"} | self.settings_for(method)
            shown = {k: v for k, v in given.items() if k not in ("level", "seed")}
            lines[f"{method} settings"] = ", ".join(f"{k} {_grouped(v)}" for k, v in shown.items()) or "none"
        if self.strata:
            lines["strata"] = f"{', '.join(self.strata)} (estimated with {self.stratum_method})"
        lines.update({f"note {k + 1}": note for k, note in enumerate(self.notes)})
        return lines


def load_config(path: str | Path) -> RunConfig:
    """Read and check a run configuration file; relative paths are taken from the file's folder.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "run.toml").write_text('title = "Demo"\\nmapping = "m.toml"\\n[estimation]\\nnboot = 200\\n')
    >>> c = load_config(folder / "run.toml")
    >>> c.mapping == folder / "m.toml", c.nboot, c.methods
    (True, 200, ('lcmcr', 'stepwise'))
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the run configuration ({err}); check the path", source=str(path)) from None
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"the run configuration is not valid TOML: {err}", source=str(path)) from None
    return parse_config(spec, source=str(path), base=path.parent)


def parse_config(spec: Mapping[str, Any], *, source: str | None = None, base: Path | None = None) -> RunConfig:
    """Check a configuration given as a dictionary (the parsed TOML).

    >>> parse_config({"mapping": "m.toml", "seed": -1})
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: key 'seed': expected a whole number of at least 0; got -1
    """
    check = _Checker(source)
    check.keys(spec, _TOP_KEYS, "")
    linkage = check.table(spec, "linkage")
    estimation = check.table(spec, "estimation")
    check.keys(linkage, _LINKAGE_KEYS, "linkage.")
    check.keys(estimation, _ESTIMATION_KEYS, "estimation.")
    base = base or Path.cwd()
    output = spec.get("output")
    encoded = encoded_paths(check, linkage, base)
    config = RunConfig(
        title=check.text(spec, "title", "darkfigure run"),
        mapping=base / check.text(spec, "mapping", None) if "mapping" in spec or not encoded else encoded[0].parent,
        encoded=encoded,
        output=None if output is None else base / check.text(spec, "output", None),
        seed=int(check.number(spec, "seed", 0, "int", 0)),
        source=source,
        **_linkage_settings(check, linkage),
        **_estimation_settings(check, estimation),
    )
    if config.one_to_one and not encoded:
        check.fail("linkage.one_to_one", "expected encoded lists (linkage.encoded) with it", True)
    check_fixed_model(config)
    return config


def methods_by_key(config: RunConfig) -> dict[str, tuple[str, ...]]:
    """The methods a run estimates, by the config key that asks for them (strata only with strata).

    >>> methods_by_key(RunConfig("t", Path("m.toml"), methods=("fixed",), sensitivity_methods=()))
    {'estimation.methods': ('fixed',), 'linkage.sensitivity_methods': ()}
    """
    keys = {"estimation.methods": config.methods, "linkage.sensitivity_methods": config.sensitivity_methods}
    if config.strata:
        keys["estimation.strata_method"] = (config.stratum_method,)
    return keys


def check_fixed_model(config: RunConfig, lists: Sequence[str] | None = None) -> None:
    """The method ``fixed`` needs ``[estimation.fixed] model``; with the run's list names (in the
    mapping's order), the model must name lists that exist.

    >>> check_fixed_model(RunConfig("t", Path("m.toml"), methods=("fixed",)), ["A", "B"])
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: key 'estimation.fixed.model' is missing: estimation.methods asks for the \
method fixed, which needs a model; add [estimation.fixed] with model = "[12]" (interactions of lists by \
position in the mapping, from 1: 1 A, 2 B) or model = "[A:B]" (by list name)
    """
    asking = [key for key, methods in methods_by_key(config).items() if "fixed" in methods]
    if not asking:
        return
    model = config.method_settings.get("fixed", {}).get("model")
    positions = ", ".join(f"{j + 1} {name}" for j, name in enumerate(lists or ()))
    if model is None:
        by_position = "position in the mapping, from 1" + (f": {positions}" if positions else "")
        by_name = f"[{':'.join(lists[:2])}]" if lists and len(lists) > 1 else "[police:shelter]"
        who = " and ".join(asking) + (" asks" if len(asking) == 1 else " ask")
        example = "[12]" if lists is not None and len(lists) < 3 else "[12,13]"
        raise InputError(f"key 'estimation.fixed.model' is missing: {who} for the method fixed, which needs a "
                         f'model; add [estimation.fixed] with model = "{example}" (interactions of lists by '
                         f'{by_position}) or model = "{by_name}" (by list name)', source=config.source)
    if lists is not None:
        try:
            HierarchicalModel.parse(str(model), list(lists))
        except InputError as err:
            raise InputError(f"key 'estimation.fixed.model': {err.message}; the lists, in the mapping's order, "
                             f"are {positions}", source=config.source) from None


def check_against_mapping(config: RunConfig, mapping: ColumnMapping, lists: Sequence[str]) -> None:
    """Check what the config asks of the lists once the mapping is read, before any linkage: at least
    two lists (the error names the mapping file), ``linkage.ignore_fields`` names fields linkage could
    leave out, and a fixed model names lists that exist. ``lists`` are the names in the mapping's order.

    >>> two = ColumnMapping.from_dict({"A": {"given_name": "g"}, "B": {"given_name": "g"}}, source="m.toml")
    >>> check_against_mapping(RunConfig("t", Path("m.toml"), methods=("stepwise",)), two, ["A", "B"])
    >>> check_against_mapping(RunConfig("t", Path("m.toml")), two, ["A"])
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: m.toml: the mapping names one list ('A'); estimating N needs at least two \
lists, since a person's capture history is which of them hold her. Add a [lists.<name>] table for each other list
    """
    if len(lists) < 2:
        what, source = ("the encoded lists (key 'linkage.encoded') hold", config.source) if config.encoded else \
            ("the mapping names", mapping.source)
        raise InputError(f"{what} {'one list' if lists else 'no list'} ({', '.join(map(repr, lists))}); estimating "
                         "N needs at least two lists, since a person's capture history is which of them hold her. "
                         "Add a [lists.<name>] table for each other list", source=source)
    if not config.encoded:
        check_ignored_fields(config, mapping.extra_fields())
    check_fixed_model(config, lists)


def check_ignored_fields(config: RunConfig, extras: Sequence[str]) -> None:
    """Every name in ``linkage.ignore_fields`` is a case field or one of the mapping's ``extras``
    (identity fields are always compared).

    >>> check_ignored_fields(RunConfig("t", Path("m.toml"), ignore_fields=("phone",)), ["phone"])
    >>> check_ignored_fields(RunConfig("t", Path("m.toml"), ignore_fields=("fone",)), ["phone"])
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: key 'linkage.ignore_fields': no list maps a field 'fone' that linkage could \
leave out (did you mean 'phone'?); it can leave out event_date, exploitation_form, phone, place_of_exploitation \
(identity fields are always compared)
    """
    known = sorted({*CASE_FIELDS, *extras})
    for name in config.ignore_fields:
        if name in known:
            continue
        if name in STANDARD_FIELDS:
            problem = f"{name!r} is an identity field, which linkage always compares"
        else:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problem = f"no list maps a field {name!r} that linkage could leave out{hint}"
        raise InputError(f"key 'linkage.ignore_fields': {problem}; it can leave out {', '.join(known)} "
                         "(identity fields are always compared)", source=config.source)


def encoded_paths(check: _Checker, linkage: Mapping[str, Any], base: Path) -> tuple[Path, ...]:
    """``linkage.encoded``: a folder of encoded lists (every ``*.clk.jsonl`` in it, by name) or a
    list of encoded files, relative to the config file; linkage then compares the encodings, and
    ``mapping`` is not needed."""
    if "encoded" not in linkage:
        return ()
    value = linkage["encoded"]
    if isinstance(value, str) and value.strip():
        folder = base / value.strip()
        files = tuple(sorted(folder.glob("*.clk.jsonl"))) if folder.is_dir() else (folder,)
        if not files:
            check.fail("linkage.encoded", "expected a folder holding encoded lists (*.clk.jsonl, as `darkfigure "
                       "encode` writes them)", value)
        return files
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(base / v.strip() for v in value)
    check.fail("linkage.encoded", 'expected a folder or a list of encoded files, like "encoded" or '
               '["police.clk.jsonl", "shelter.clk.jsonl"]', value)


def _linkage_settings(check: _Checker, linkage: Mapping[str, Any]) -> dict[str, Any]:
    thresholds = check.numbers(linkage, "linkage.thresholds", DEFAULT_THRESHOLDS)
    middle = 0.8 if 0.8 in thresholds else sorted(thresholds)[len(thresholds) // 2]
    threshold = check.number(linkage, "linkage.threshold", middle, "probability", 0)
    return {
        "thresholds": tuple(sorted({*thresholds, threshold})),
        "threshold": threshold,
        "sensitivity_methods": check.methods(linkage, "linkage.sensitivity_methods", ("stepwise",), empty=True),
        "ignore_fields": check.names(linkage, "linkage.ignore_fields", NOT_COMPARED),
        "one_to_one": check.flag(linkage, "linkage.one_to_one", False),
    }


def _estimation_settings(check: _Checker, estimation: Mapping[str, Any]) -> dict[str, Any]:
    methods = check.methods(estimation, "estimation.methods", DEFAULT_METHODS)
    strata = check.names(estimation, "estimation.strata", ())
    strata_method = None
    if "strata_method" in estimation:
        if not isinstance(estimation["strata_method"], str):
            check.fail("estimation.strata_method", 'expected one method, like "stepwise"', estimation["strata_method"])
        strata_method = check.methods(estimation, "estimation.strata_method", ())[0]
    return {
        "methods": methods,
        "nboot": int(check.number(estimation, "estimation.nboot", 1000, "int", 0)),
        "chains": int(check.number(estimation, "estimation.chains", 4, "int", 1)),
        "level": check.number(estimation, "estimation.level", 0.95, "fraction", 0),
        "strata": strata,
        "strata_method": strata_method,
        "method_settings": {m: check.method_table(estimation, m) for m in METHODS if m in estimation},
    }


class _Checker:
    """Checks values of the parsed TOML; every failure names the file and the key."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, key: str, expected: str, got: Any) -> NoReturn:
        raise InputError(f"key {key!r}: {expected}; got {got!r}", source=self.source)

    def keys(self, table: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {prefix + close[0]!r}? " if close else ""
                listing = f"known keys are {', '.join(prefix + k for k in known)}" if known else "it takes none"
                raise InputError(f"unknown key {prefix + key!r}; {hint}{listing}", source=self.source)

    def table(self, spec: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = spec.get(key, {})
        if not isinstance(value, Mapping):
            self.fail(key, f"expected a table, [{key}]", value)
        return value

    def text(self, spec: Mapping[str, Any], key: str, default: str | None) -> str:
        value = spec.get(key.rsplit(".", 1)[-1], default)
        if value is None:
            raise InputError(f"key {key!r} is missing; add {key} = \"...\" (a path relative to the config file)",
                             source=self.source)
        if not (isinstance(value, str) and value.strip()):
            self.fail(key, "expected text", value)
        return value.strip()

    def number(self, spec: Mapping[str, Any], key: str, default: float, kind: str, low: float) -> float:
        value = spec.get(key.rsplit(".", 1)[-1], default)
        return self.value(key, value, kind, low)

    def value(self, key: str, value: Any, kind: str, low: float) -> Any:
        if kind == "text":
            if not (isinstance(value, str) and value.strip()):
                self.fail(key, "expected text", value)
            return value
        real = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if kind == "int" and not (real and float(value).is_integer() and value >= low):
            self.fail(key, f"expected a whole number of at least {low:g}", value)
        if kind == "fraction" and not (real and 0 < value < 1):
            self.fail(key, "expected a number between 0 and 1, like 0.95", value)
        if kind == "probability" and not (real and 0 < value <= 1):
            self.fail(key, "expected a match probability above 0 and at most 1, like 0.8", value)
        return int(value) if kind == "int" else float(value)

    def flag(self, spec: Mapping[str, Any], key: str, default: bool) -> bool:
        value = spec.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            self.fail(key, "expected true or false", value)
        return value

    def numbers(self, spec: Mapping[str, Any], key: str, default: tuple[float, ...]) -> tuple[float, ...]:
        value = spec.get(key.rsplit(".", 1)[-1], list(default))
        if not isinstance(value, list) or not value:
            self.fail(key, "expected a list of match probabilities, like [0.5, 0.8, 0.95]", value)
        return tuple(self.value(key, v, "probability", 0) for v in value)

    def names(self, spec: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = spec.get(key.rsplit(".", 1)[-1], list(default))
        value = [value] if isinstance(value, str) else value
        if not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
            self.fail(key, 'expected a field name or a list of field names, like ["exploitation_form"]', value)
        return tuple(v.strip() for v in value)

    def methods(
        self, spec: Mapping[str, Any], key: str, default: tuple[str, ...], empty: bool = False
    ) -> tuple[str, ...]:
        value = spec.get(key.rsplit(".", 1)[-1], list(default))
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not (value or empty):
            self.fail(key, f"expected a list of methods from {', '.join(METHODS)}", value)
        for method in value:
            if method not in METHODS:
                close = difflib.get_close_matches(str(method), METHODS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(key, f"expected methods from {', '.join(METHODS)}{hint}", method)
        return tuple(dict.fromkeys(value))

    def method_table(self, estimation: Mapping[str, Any], method: str) -> dict[str, Any]:
        table = estimation[method]
        if not isinstance(table, Mapping):
            self.fail(f"estimation.{method}", f"expected a table of settings, [estimation.{method}]", table)
        allowed = METHOD_SETTINGS[method]
        self.keys(table, tuple(allowed), f"estimation.{method}.")
        return {k: self.value(f"estimation.{method}.{k}", v, *allowed[k]) for k, v in table.items()}


def _grouped(value: object) -> str:
    """Whole numbers with thousands separators (10,000), everything else as it is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
