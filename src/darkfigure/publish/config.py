"""What a release publishes and how it protects the people in it: :class:`ReleaseConfig`, read from
a TOML file (:func:`load_release_config`) or a dictionary (:func:`parse_release_config`) and checked
setting by setting, so a mistyped key or an impossible epsilon is refused before anything is spent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from darkfigure._toml import read_toml
from darkfigure.errors import InputError
from darkfigure.estimation.api import METHODS

# the keys of each section of the TOML file ("" is the top level)
SECTION_KEYS = {
    "": ("title", "dataset", "k", "categories", "privacy", "estimation"),
    "privacy": ("dp", "epsilon", "delta", "mechanism", "budget", "delta_budget", "ledger", "noise_draws"),
    "estimation": ("method", "nboot", "seed", "level"),
}
# (kind, lowest) per numeric setting: "int" is checked against the lowest value
NUMBER_KINDS: dict[str, tuple[str, float]] = {
    "k": ("int", 1), "epsilon": ("positive", 0), "delta": ("fraction", 0), "budget": ("positive", 0),
    "delta_budget": ("fraction", 0), "noise_draws": ("int", 2), "nboot": ("int", 0), "seed": ("int", 0),
    "level": ("open fraction", 0),
}
REAL_SETTINGS = ("epsilon", "delta", "budget", "delta_budget", "level")
EXPECTED = {"positive": "a number above 0", "fraction": "a number from 0 up to (not including) 1",
            "open fraction": "a number between 0 and 1"}


@dataclass(frozen=True)
class ReleaseConfig:
    """What a release publishes and how it protects the people in it.

    ``k``: counts below it are suppressed. ``dp``: add noise (default on) with ``epsilon`` (and
    ``delta`` for the Gaussian mechanism), spent from a ledger of ``budget`` per dataset kept at
    ``ledger`` (default: ``privacy_ledger.json`` beside the run folder). ``categories``: the
    prevalence table's column (default: the run's strata). ``method``, ``nboot``, ``seed``,
    ``level``: how N and the strata are estimated (default: the run's headline method for N, its strata
    method for the strata, and the run's seed).

    >>> c = ReleaseConfig()
    >>> c.k, c.dp, c.epsilon, c.budget
    (5, True, 1.0, 3.0)
    """

    title: str | None = None
    dataset: str | None = None
    k: int = 5
    categories: tuple[str, ...] | None = None
    dp: bool = True
    epsilon: float = 1.0
    delta: float = 0.0
    mechanism: str = "laplace"
    budget: float = 3.0
    delta_budget: float = 0.0
    ledger: Path | None = None
    noise_draws: int = 20
    method: str | None = None
    nboot: int = 200
    seed: int | None = None
    level: float = 0.95
    source: str | None = field(default=None, compare=False)

    def with_options(self, **options: Any) -> ReleaseConfig:
        """The same configuration with the options that were given (None means not given) in place.

        >>> ReleaseConfig().with_options(k=10, epsilon=None).k
        10
        """
        given = {name: value for name, value in options.items() if value is not None}
        config = replace(self, **given)
        return checked_config(config, self.source, "option")


def load_release_config(path: str | Path) -> ReleaseConfig:
    """Read and check a release configuration (TOML); relative paths are from the file's folder.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "release.toml").write_text('k = 10\\n[privacy]\\nepsilon = 0.5\\nbudget = 2\\n')
    >>> c = load_release_config(folder / "release.toml")
    >>> c.k, c.epsilon, c.budget
    (10, 0.5, 2.0)
    """
    path = Path(path)
    spec = read_toml(path, "the release configuration")
    return parse_release_config(spec, source=str(path), base=path.parent)


def parse_release_config(spec: Mapping[str, Any], *, source: str | None = None,
                         base: Path | None = None) -> ReleaseConfig:
    """Check a release configuration given as a dictionary (the parsed TOML).

    >>> parse_release_config({"k": 0})
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: key 'k': expected a whole number of at least 1; got 0
    """
    values: dict[str, Any] = {}
    for section, keys in SECTION_KEYS.items():
        values.update(_section_settings(spec, section, keys, source))
    if "categories" in values and isinstance(values["categories"], list):
        values["categories"] = tuple(values["categories"])
    if values.get("ledger") is not None:
        values["ledger"] = (base or Path.cwd()) / str(values["ledger"])
    return checked_config(ReleaseConfig(**values, source=source), source, "key")


def _section_settings(spec: Mapping[str, Any], section: str, keys: tuple[str, ...],
                      source: str | None) -> dict[str, Any]:
    """The settings of one section (not its sub-sections); an unknown key is refused."""
    table = spec if not section else spec.get(section, {})
    if not isinstance(table, Mapping):
        raise InputError(f"[{section}] must be a table of settings; got {table!r}", source=source)
    for key in table:
        if key not in keys and key not in SECTION_KEYS:
            raise InputError(f"unknown key {(section + '.' if section else '') + key!r}; the keys here are "
                             f"{', '.join(keys)}", source=source)
    return {k: v for k, v in table.items() if k not in SECTION_KEYS}


def checked_config(config: ReleaseConfig, source: str | None, what: str) -> ReleaseConfig:
    """``config`` with its real numbers as floats, once every setting is checked (``what``: "key"
    or "option", as the user gave them).

    >>> checked_config(ReleaseConfig(epsilon=2), None, "key").epsilon
    2.0
    >>> checked_config(ReleaseConfig(mechanism="gaussian"), None, "option")
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: option 'delta': the gaussian mechanism needs a delta above 0 (e.g. 1e-6); got 0.0
    """
    for name, (kind, lowest) in NUMBER_KINDS.items():
        _check_number(getattr(config, name), name, kind, lowest, source, what)
    config = replace(config, **{name: float(getattr(config, name)) for name in REAL_SETTINGS})
    _check_text(config, source, what)
    _check_privacy(config, source, what)
    if config.method is not None and config.method not in METHODS:
        raise InputError(f"{what} 'method': expected one of {', '.join(METHODS)}; got {config.method!r}",
                         source=source)
    cats = config.categories
    if cats is not None and not (isinstance(cats, tuple) and all(isinstance(c, str) and c for c in cats)):
        raise InputError(f"{what} 'categories': expected a list of column names; got {cats!r}", source=source)
    return config


def _check_text(config: ReleaseConfig, source: str | None, what: str) -> None:
    for name in ("title", "dataset"):
        if getattr(config, name) is not None and not isinstance(getattr(config, name), str):
            raise InputError(f"{what} {name!r}: expected text; got {getattr(config, name)!r}", source=source)


def _check_privacy(config: ReleaseConfig, source: str | None, what: str) -> None:
    if not isinstance(config.dp, bool):
        raise InputError(f"{what} 'dp': expected true or false; got {config.dp!r}", source=source)
    if config.mechanism not in ("laplace", "gaussian"):
        raise InputError(f"{what} 'mechanism': expected laplace or gaussian; got {config.mechanism!r}", source=source)
    if config.dp and config.mechanism == "gaussian" and not config.delta > 0:
        raise InputError(f"{what} 'delta': the gaussian mechanism needs a delta above 0 (e.g. 1e-6); got "
                         f"{config.delta!r}", source=source)


def _check_number(value: Any, name: str, kind: str, lowest: float, source: str | None, what: str) -> None:
    if value is None and name == "seed":
        return
    whole = isinstance(value, int) and not isinstance(value, bool)
    real = (whole or isinstance(value, float)) and not isinstance(value, bool) and math.isfinite(float(value))
    ok = {"int": whole and value >= lowest, "positive": real and value > 0,
          "fraction": real and 0 <= value < 1, "open fraction": real and 0 < value < 1}[kind]
    if not ok:
        expected = f"a whole number of at least {lowest:g}" if kind == "int" else EXPECTED[kind]
        raise InputError(f"{what} {name!r}: expected {expected}; got {value!r}", source=source)
