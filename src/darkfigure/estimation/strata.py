"""Estimating strata (year x province x exploitation form ...) and combining them into a total.

Each stratum is estimated on its own, in parallel processes. Strata with fewer than 3 informative
lists are marked not estimable. Totals add posterior draws draw by draw (Bayesian methods) or
bootstrap replicates replicate by replicate (log-linear methods), so the total's interval carries
every stratum's uncertainty. Each stratum's result is cached on disk under a hash of its table and
settings, so a rerun is instant.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkfigure._parallel import available_workers, single_worker
from darkfigure.errors import DarkfigureError, InputError
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories

MIN_INFORMATIVE_LISTS = 3
NOT_RECORDED = "(not recorded)"  # the stratum of cases without a value, named as the pipeline names it


@dataclass(frozen=True)
class StratumResult:
    """One stratum: its key, its table size, and its estimate or the reason it has none."""

    key: tuple[Any, ...]
    n_observed: int
    n_lists: int
    estimate: Estimate | None
    reason: str = ""


@dataclass(frozen=True)
class StrataEstimate:
    """Estimates per stratum and their total."""

    columns: tuple[str, ...]
    strata: tuple[StratumResult, ...]
    total: Estimate

    def to_frame(self) -> pd.DataFrame:
        """One row per stratum (and a last row for the total)."""
        rows = [self._row(s.key, s.n_observed, s.estimate, s.reason) for s in self.strata]
        rows.append(self._row(("total",) * len(self.columns), self.total.n_observed, self.total, ""))
        return pd.DataFrame(rows)

    def _row(self, key: tuple[Any, ...], n: int, est: Estimate | None, reason: str) -> dict[str, Any]:
        row: dict[str, Any] = dict(zip(self.columns, key, strict=True))
        iv = est.interval if est else None
        row.update(n_observed=n, estimate=est.estimate if est else None, lower=iv.lower if iv else None,
                   upper=iv.upper if iv else None, interval=iv.kind if iv else None,
                   note=reason or "; ".join(est.warnings if est else ()))
        return row

    def to_dict(self) -> dict[str, Any]:
        frame = self.to_frame().astype(object)
        records = frame.where(frame.notna(), None).to_dict(orient="records")
        return {"strata": records, "total": self.total.to_dict()}

    def summary(self) -> str:
        return self.to_frame().to_string(index=False, float_format=lambda v: f"{v:,.1f}")


def split_strata(
    frame: pd.DataFrame, strata: Sequence[str], source: str | None = None
) -> list[tuple[tuple[Any, ...], CaptureHistories]]:
    """Split a record-level (one row per entity) or aggregated (with ``count``) table by the stratum
    columns; every other column except ``entity_id`` is a 0/1 list column.

    Stratum names come from :func:`stratum_labels` (blank values: ``(not recorded)``); strata are
    in the order of their names, numbers by value.

    >>> df = pd.DataFrame({"year": [2020, 2020, 2021], "A": [1, 1, 0], "B": [0, 1, 1]})
    >>> [(k, h.n_observed) for k, h in split_strata(df, ["year"])]
    [((2020,), 2), ((2021,), 1)]
    """
    missing = [c for c in strata if c not in frame.columns]
    if missing:
        raise InputError(f"stratum column(s) {', '.join(missing)} not found; columns are {', '.join(frame.columns)}",
                         source=source)
    lists = [c for c in frame.columns if c not in set(strata) | {"count", "entity_id"}]
    _validate_whole_table(frame, lists, source)  # row numbers in errors refer to the whole file
    pat = frame[lists].to_numpy(dtype=np.int64)
    counts = frame["count"].to_numpy(dtype=np.int64) if "count" in frame.columns else np.ones(len(frame), np.int64)
    masks = pat @ (1 << np.arange(len(lists), dtype=np.int64))
    labels = pd.DataFrame({c: stratum_labels(frame[c]) for c in strata})
    out = []
    for key, index in labels.groupby(list(strata), sort=False).indices.items():
        table = np.bincount(masks[index], weights=counts[index], minlength=1 << len(lists)).astype(np.int64)
        table[0] = 0
        names = tuple(_label(k) for k in (key if isinstance(key, tuple) else (key,)))  # groupby gives np.int64
        out.append((names, CaptureHistories(tuple(lists), table)))
    return sorted(out, key=lambda part: tuple(_label_order(v) for v in part[0]))


def stratum_labels(values: pd.Series) -> pd.Series:
    """A stratum column's values as the strata's names: blank or missing values form one stratum
    ``(not recorded)`` (as the pipeline names it), text is trimmed, and whole numbers are ints
    (pandas reads a year column with a blank cell as 2019.0).

    >>> stratum_labels(pd.Series([2019.0, float("nan"), 2020.0])).tolist()
    [2019, '(not recorded)', 2020]
    >>> stratum_labels(pd.Series([" north", " ", None])).tolist()
    ['north', '(not recorded)', '(not recorded)']
    """
    return pd.Series([_label(v) for v in values.astype(object)], index=values.index, dtype=object)


def _label(value: Any) -> Any:
    if pd.isna(value):
        return NOT_RECORDED
    if isinstance(value, str):
        return value.strip() or NOT_RECORDED
    value = value.item() if isinstance(value, np.generic) else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _label_order(label: Any) -> tuple[int, float, str]:
    """Numbers (also written as text) by value, 9 before 10; then text; ``(not recorded)`` last."""
    if label == NOT_RECORDED:
        return (2, 0.0, "")
    try:
        number = float(label)
    except (TypeError, ValueError):
        return (1, 0.0, str(label))
    return (0, number, str(label)) if math.isfinite(number) else (1, 0.0, str(label))


def _validate_whole_table(frame: pd.DataFrame, lists: list[str], source: str | None) -> None:
    rows = frame.index.to_numpy() + 2  # read_frame keeps positions: header = row 1
    if "count" in frame.columns:
        CaptureHistories._from_aggregated(frame[[*lists, "count"]], "count", source, rows)
    else:
        CaptureHistories._from_entities(frame, lists, source, rows)


def estimate_strata(
    strata: Sequence[tuple[tuple[Any, ...], CaptureHistories]],
    columns: Sequence[str],
    method: str,
    settings: dict[str, Any] | None = None,
    *,
    workers: int | None = None,
    cache_dir: Path | None = None,
) -> StrataEstimate:
    """Estimate every stratum with ``method`` and combine the totals.

    ``workers`` processes (default: all cores); ``cache_dir`` keeps results between runs.
    """
    settings = dict(settings or {})
    jobs = [(key, h, method, settings, cache_dir) for key, h in strata]
    workers = min(workers or available_workers(), max(len(jobs), 1))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers, initializer=single_worker) as pool:
            results = list(pool.map(_estimate_one, jobs))
    else:
        results = [_estimate_one(job) for job in jobs]
    level = float(settings.get("level") or 0.95)
    return StrataEstimate(tuple(columns), tuple(results), combine_strata(results, level=level))


def _estimate_one(job: tuple[tuple[Any, ...], CaptureHistories, str, dict[str, Any], Path | None]) -> StratumResult:
    from darkfigure.estimation.api import estimate

    key, histories, method, settings, cache_dir = job
    informative = histories.drop_uninformative()
    if informative.n_lists < MIN_INFORMATIVE_LISTS:
        reason = f"not estimable: {informative.n_lists} informative list(s), at least {MIN_INFORMATIVE_LISTS} needed"
        return StratumResult(key, histories.n_observed, informative.n_lists, None, reason)
    own = _stratum_settings(settings, key)
    path = _cache_path(cache_dir, informative, method, own)
    cached = _read_cached(path)
    if cached is not None:
        return StratumResult(key, histories.n_observed, informative.n_lists, cached)
    try:
        result = estimate(informative, method, **own)
    except DarkfigureError as exc:
        return StratumResult(key, histories.n_observed, informative.n_lists, None, f"not estimable: {exc}")
    if path is not None:
        _write_atomically(path, pickle.dumps(result))
    return StratumResult(key, histories.n_observed, informative.n_lists, result)


def _stratum_settings(settings: dict[str, Any], key: tuple[Any, ...]) -> dict[str, Any]:
    """Each stratum gets its own random stream, fixed by the seed and the stratum's name (not its
    order, nor whether the name was read as 2019 or '2019')."""
    if settings.get("seed") is None:
        return settings
    name = tuple(str(k) for k in key)
    digest = int.from_bytes(hashlib.sha256(repr(name).encode()).digest()[:4], "little")
    child = np.random.SeedSequence([int(settings["seed"]), digest]).generate_state(1)[0]
    return {**settings, "seed": int(child)}


def _read_cached(path: Path | None) -> Estimate | None:
    """The cached result, or None: no entry, or one that cannot be read (cut short, written by
    another version, not readable), which is then recomputed and rewritten."""
    if path is None:
        return None
    try:
        cached = pickle.loads(path.read_bytes())
    except Exception:  # a corrupt pickle can raise almost anything; a cache miss is always safe
        return None
    return cached if isinstance(cached, Estimate) else None


def _cache_path(cache_dir: Path | None, h: CaptureHistories, method: str, settings: dict[str, Any]) -> Path | None:
    """The entry for a stratum's table and its own settings (its seed derives from its key, so two
    strata with the same table do not share an entry)."""
    if cache_dir is None or settings.get("seed") is None:
        return None  # unseeded runs are not reproducible, so not cached
    blob = repr((_package_version(), h.lists, h.counts.tolist(), method, sorted(settings.items()))).encode()
    return Path(cache_dir) / f"{hashlib.sha256(blob).hexdigest()}.pickle"


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("darkfigure")
    except PackageNotFoundError:  # running from a source tree
        return "unknown"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def combine_strata(results: Sequence[StratumResult], level: float = 0.95) -> Estimate:
    """The total over strata: draws (or bootstrap replicates) summed position by position."""
    done = [r.estimate for r in results if r.estimate is not None]
    skipped = [r for r in results if r.estimate is None]
    unseen = sum(r.n_observed for r in skipped)  # counted as observed only: no dark figure estimated
    warnings = []
    if skipped:
        warnings.append(
            f"{len(skipped)} stratum/strata not estimable: their {unseen} observed cases are added to the "
            "total without any dark figure, so the total is too low by that much at least"
        )
    point = float(sum(e.estimate for e in done)) + unseen
    intervals: tuple[Interval, ...] = ()
    draws = [e.replicates for e in done]
    if done and all(d is not None and len(d) > 1 for d in draws):
        length = min(len(d) for d in draws)  # type: ignore[arg-type]
        total = np.sum([np.asarray(d)[:length] for d in draws], axis=0) + unseen
        lo, mid, hi = np.quantile(total, [(1 - level) / 2, 0.5, (1 + level) / 2])
        bayesian = all(e.interval is not None and e.interval.kind == "posterior" for e in done)
        point = float(mid) if bayesian else point
        intervals = (Interval(level, float(lo), float(hi), "posterior" if bayesian else "bootstrap-percentile"),)
    elif done:
        warnings.append("no draws or bootstrap replicates in some strata: the total has no interval (set nboot > 0)")
    return Estimate(
        method="strata", lists=(), n_observed=sum(e.n_observed for e in done) + unseen, estimate=point,
        model=f"sum over {len(done)} strata", intervals=intervals, warnings=tuple(warnings),
        replicates=None, diagnostics={"strata": len(results), "estimated": len(done)},
    )
