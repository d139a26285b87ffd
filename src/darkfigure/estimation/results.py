"""The frozen result of an estimator: point estimate, intervals, model, fit and diagnostics."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from darkfigure.estimation.intervals import Interval


@dataclass(frozen=True)
class Estimate:
    """An estimate of N, the total of a hidden population (observed plus dark figure).

    ``interval`` is the headline interval; ``intervals`` holds every interval computed. ``table``
    compares the models or steps behind the estimate; ``fitted`` holds observed and fitted counts of
    the cells; ``replicates`` the bootstrap replicates of N when there are any.

    >>> e = Estimate(method="fixed", lists=("A", "B"), n_observed=56, estimate=156.0, model="[1,2]",
    ...              intervals=(Interval(0.95, 120.0, 230.0, "profile"),))
    >>> e.dark_figure, e.interval.kind
    (100.0, 'profile')
    """

    method: str
    lists: tuple[str, ...]
    n_observed: int
    estimate: float
    model: str
    intervals: tuple[Interval, ...] = ()
    se: float | None = None
    table: pd.DataFrame | None = field(default=None, compare=False)
    fitted: pd.DataFrame | None = field(default=None, compare=False)
    replicates: np.ndarray | None = field(default=None, compare=False, repr=False)
    warnings: tuple[str, ...] = ()
    diagnostics: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.replicates is not None:
            frozen = np.array(self.replicates, dtype=float)
            frozen.setflags(write=False)
            object.__setattr__(self, "replicates", frozen)

    @property
    def dark_figure(self) -> float:
        """Estimated number of cases on no list."""
        return self.estimate - self.n_observed

    @property
    def interval(self) -> Interval | None:
        """The headline interval: the first one computed."""
        return self.intervals[0] if self.intervals else None

    def interval_of(self, kind: str, level: float | None = None) -> Interval:
        """The interval of a given kind (and level)."""
        for iv in self.intervals:
            if iv.kind == kind and (level is None or math.isclose(iv.level, level)):
                return iv
        raise KeyError(f"no {kind} interval at level {level}; have {[(i.kind, i.level) for i in self.intervals]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the CLI's ``--json`` output); MCMC results add ``rhat`` and ``ess``."""
        mcmc = {}
        if "rhat" in self.diagnostics:
            ess = self.diagnostics.get("ess", self.diagnostics.get("ess_bulk"))
            mcmc = {"rhat": _jsonable(self.diagnostics["rhat"]), "ess": _jsonable(ess)}
        return mcmc | {
            "method": self.method,
            "lists": list(self.lists),
            "n_observed": self.n_observed,
            "estimate": _num(self.estimate),
            "dark_figure": _num(self.dark_figure),
            "se": _num(self.se),
            "model": self.model,
            "interval": self.interval.to_dict() if self.interval else None,
            "intervals": [iv.to_dict() for iv in self.intervals],
            "warnings": list(self.warnings),
            "diagnostics": {k: _jsonable(v) for k, v in self.diagnostics.items()},
            "table": _records(self.table),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row: the estimate and every interval, for stacking across strata or methods."""
        row: dict[str, Any] = {
            "method": self.method,
            "model": self.model,
            "n_observed": self.n_observed,
            "estimate": self.estimate,
            "se": self.se,
        }
        for iv in self.intervals:
            tag = f"{iv.kind}_{round(iv.level * 100):d}"
            row[f"{tag}_lower"], row[f"{tag}_upper"] = iv.lower, iv.upper
        return pd.DataFrame([row])

    def summary(self) -> str:
        """A plain-text report, like statsmodels' ``summary()``."""
        lines = [
            f"Multiple systems estimation: {self.method}",
            f"Lists ({len(self.lists)}): {', '.join(self.lists)}",
            f"Observed cases (n):      {self.n_observed:>12,}",
            f"Estimated total (N):     {self.estimate:>12,.1f}" + (f"   se {self.se:,.1f}" if self.se else ""),
            f"Estimated dark figure:   {self.dark_figure:>12,.1f}",
            f"Model: {self.model}",
        ]
        for iv in self.intervals:
            lines.append(f"{iv.level:.0%} interval ({iv.kind}): {iv.lower:,.1f} to {iv.upper:,.1f}")
        for key, value in self.diagnostics.items():
            lines.append(f"{key}: {_short(value)}")
        lines += [f"Warning: {w}" for w in self.warnings]
        if self.table is not None and len(self.table):
            lines += ["", self.table.head(12).to_string(index=False, float_format=_cell)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{iv.level:.0%} {html.escape(iv.kind)}</td><td>{iv.lower:,.1f} &ndash; {iv.upper:,.1f}</td></tr>"
            for iv in self.intervals
        )
        warn = "".join(f"<p><strong>Warning:</strong> {html.escape(w)}</p>" for w in self.warnings)
        table = self.table.head(10).to_html(index=False) if self.table is not None else ""
        return (
            f"<div><h4>darkfigure estimate ({html.escape(self.method)})</h4><table>"
            f"<tr><td>observed n</td><td>{self.n_observed:,}</td></tr>"
            f"<tr><td>estimated N</td><td>{self.estimate:,.1f}</td></tr>"
            f"<tr><td>model</td><td>{html.escape(self.model)}</td></tr>{rows}</table>{warn}{table}</div>"
        )

    def __str__(self) -> str:
        return self.summary()


def _cell(value: float) -> str:
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.4g}"


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def json_ready(value: Any) -> Any:
    """Plain JSON types all the way down; NaN and infinities become None (strict JSON has neither).

    >>> json_ready({"a": np.float64("nan"), "b": [np.int64(2), float("inf")], "c": np.array([1.5])})
    {'a': None, 'b': [2, None], 'c': [1.5]}
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _num(float(value))
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if value is pd.NA or value is pd.NaT:
        return None
    return value


_jsonable = json_ready


def _records(table: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if table is None:
        return None
    return [{str(k): _jsonable(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
