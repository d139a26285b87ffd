"""Prevalence: the share and the number of victims of each category (exploitation form, province ...).

Two ways, side by side:

* :func:`documented_shares` - among the documented cases only, with a Wilson or exact
  (Clopper-Pearson) binomial interval. This is what organisations usually publish; it undercounts
  every category that is less visible to the lists.
* :func:`estimated_shares` - for the whole hidden population, from a stratified multiple systems
  estimate (:func:`darkfigure.estimation.strata.estimate_strata` with the category as stratum). The
  share of a category is its estimated total over the sum of all strata; its interval comes from the
  bootstrap replicates or posterior draws, divided position by position, so the uncertainty of N is
  carried into the share.

:func:`prevalence` runs both on an entity table and puts them in one frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta, norm

from darkfigure.errors import InputError
from darkfigure.estimation.results import Estimate
from darkfigure.estimation.strata import StrataEstimate, StratumResult, estimate_strata, split_strata

METHODS = ("wilson", "exact")


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n``.

    >>> lo, hi = wilson_interval(3, 10)
    >>> round(lo, 4), round(hi, 4)
    (0.1078, 0.6032)
    """
    _check_binomial(k, n, level)
    z = float(norm.ppf(0.5 + level / 2))
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * float(np.sqrt(k * (n - k) / n + z * z / 4))
    return max(0.0, centre - half), min(1.0, centre + half)


def exact_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval for a proportion ``k / n``.

    >>> lo, hi = exact_interval(3, 10)
    >>> round(lo, 4), round(hi, 4)
    (0.0667, 0.6525)
    """
    _check_binomial(k, n, level)
    alpha = 1 - level
    lower = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    upper = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lower, upper


def _check_binomial(k: int, n: int, level: float) -> None:
    if n < 1 or not 0 <= k <= n:
        raise InputError(f"a share needs 0 <= k <= n and n >= 1 cases; got k={k}, n={n}")
    if not 0 < level < 1:
        raise InputError(f"the level must be between 0 and 1 (e.g. 0.95); got {level!r}")


def documented_shares(
    entities: pd.DataFrame,
    category: str,
    level: float = 0.95,
    method: str = "wilson",
    *,
    total: Estimate | None = None,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Share of each category among the documented cases (one row per entity, or a ``count`` column).

    Columns: the category, ``documented`` (count), ``share``, ``lower``, ``upper`` (``method``
    ``wilson`` or ``exact``). Cases with no value of the category are left out. With ``total`` (an
    estimate of N) the frame adds ``estimate``, ``estimate_lower``, ``estimate_upper``: the documented
    share times N, the naive number of victims, its interval carrying both the binomial uncertainty
    of the share and that of N (its replicates when it has them, else its interval's ends).

    >>> cases = pd.DataFrame({"form": ["marriage"] * 7 + ["cybersex"] * 3})
    >>> documented_shares(cases, "form").round(4)
           form  documented  share   lower   upper
    0  cybersex           3    0.3  0.1078  0.6032
    1  marriage           7    0.7  0.3968  0.8922
    """
    if method not in METHODS:
        raise InputError(f"unknown interval method {method!r}; choose one of {', '.join(METHODS)}")
    counts = _category_counts(entities, category)
    n = int(counts.sum())
    interval = wilson_interval if method == "wilson" else exact_interval
    bounds = np.array([interval(int(k), n, level) for k in counts.to_numpy()]).reshape(-1, 2)
    frame = pd.DataFrame({category: counts.index, "documented": counts.to_numpy(dtype=np.int64),
                          "share": counts.to_numpy() / n, "lower": bounds[:, 0], "upper": bounds[:, 1]})
    if total is not None:
        frame = frame.join(_scaled_by_total(frame, n, total, level, seed))
    return frame


def _category_counts(entities: pd.DataFrame, category: str) -> pd.Series:
    if category not in entities.columns:
        raise InputError(f"column {category!r} not found; columns are {', '.join(map(str, entities.columns))}")
    weights = entities["count"] if "count" in entities.columns else pd.Series(1, index=entities.index)
    known = entities[category].notna()
    counts = weights[known].groupby(entities.loc[known, category], observed=False, sort=True).sum()
    if counts.sum() <= 0:
        raise InputError(f"no case has a value of {category!r}; nothing to share out")
    return counts.astype(np.int64)


def _scaled_by_total(frame: pd.DataFrame, n: int, total: Estimate, level: float, seed: int | None) -> pd.DataFrame:
    """Documented share times N; shares drawn from their Beta posterior (Jeffreys prior)."""
    k = frame["documented"].to_numpy()
    alpha = (1 - level) / 2
    if total.replicates is not None and len(total.replicates) > 1:
        rng = np.random.default_rng(seed)
        draws = np.asarray(total.replicates, dtype=float)
        shares = rng.beta(k[:, None] + 0.5, n - k[:, None] + 0.5, size=(len(k), len(draws)))
        lower, upper = np.quantile(shares * draws, [alpha, 1 - alpha], axis=1)
    elif total.interval is not None:
        lower, upper = frame["lower"] * total.interval.lower, frame["upper"] * total.interval.upper
    else:
        lower = upper = np.full(len(k), np.nan)
    return pd.DataFrame({"estimate": frame["share"] * total.estimate, "estimate_lower": np.asarray(lower),
                         "estimate_upper": np.asarray(upper)}, index=frame.index)


def estimated_shares(strata: StrataEstimate, level: float = 0.95, category: str | None = None) -> pd.DataFrame:
    """Estimated number and share of each category in the whole hidden population, from a stratified
    estimate whose strata are the category (or include it: other stratum columns are summed over).

    Columns: the category, ``observed``, ``estimate``, ``lower``, ``upper``, ``share``, ``share_lower``,
    ``share_upper``, ``note``. Numbers and shares get percentile intervals from the strata's
    replicates (bootstrap) or draws (posterior) added and divided position by position, so N's
    uncertainty is in every share; without replicates the share has no interval and the number's
    interval adds the ends of the strata's own intervals. When a stratum could not be estimated, its
    category has no estimate and no category has a share (the sum of all strata would lack that
    stratum's dark figure); ``note`` says why.

    >>> from darkfigure.estimation.intervals import Interval
    >>> def stratum(form, n, draws):
    ...     e = Estimate("fixed", ("A", "B", "C"), n, float(np.mean(draws)), "[1,2,3]",
    ...                  (Interval(0.95, min(draws), max(draws), "bootstrap-percentile"),), replicates=draws)
    ...     return StratumResult((form,), n, 3, e)
    >>> result = StrataEstimate(("form",), (stratum("cybersex", 10, [90.0, 100.0, 110.0]),
    ...                                     stratum("marriage", 80, [290.0, 300.0, 310.0])), None)
    >>> estimated_shares(result)[["form", "observed", "estimate", "share"]]
           form  observed  estimate  share
    0  cybersex        10     100.0   0.25
    1  marriage        80     300.0   0.75
    """
    category = _category_of(strata, category)
    groups = _group_strata(strata, category)
    missing = [value for value, g in groups.items() if not g["complete"]]
    points = np.array([g["estimate"] for g in groups.values()])
    draws = None if missing else _aligned_draws([g["draws"] for g in groups.values()])
    rows = []
    for i, (value, g) in enumerate(groups.items()):
        row = {category: value, "observed": g["observed"], "estimate": g["estimate"],
               "share": g["estimate"] / points.sum() if not missing else np.nan}
        row |= _draw_intervals(draws, i, level) if draws is not None else _no_intervals(g["ends"])
        notes = g["notes"] + ([_no_share_note(missing)] if missing else [])
        rows.append(row | {"note": "; ".join(notes)})
    columns = [category, "observed", "estimate", "lower", "upper", "share", "share_lower", "share_upper", "note"]
    return pd.DataFrame(rows, columns=columns)


def _no_share_note(missing: Sequence[Any]) -> str:
    """Why no estimated share is given: the sum of the strata would lack some strata's dark figure."""
    names = ", ".join(map(str, missing))
    return (f"no estimated share: {names} could not be estimated, so the estimated total of all categories would "
            "lack its dark figure and every share of it would be wrong")


def _category_of(strata: StrataEstimate, category: str | None) -> str:
    if category is None:
        if len(strata.columns) != 1:
            raise InputError(f"the strata are {', '.join(strata.columns)}: name the category to share out")
        return strata.columns[0]
    if category not in strata.columns:
        raise InputError(f"{category!r} is not a stratum column; the strata are {', '.join(strata.columns)}")
    return category


def _group_strata(strata: StrataEstimate, category: str) -> dict[Any, dict[str, Any]]:
    """Strata summed per value of ``category``; a value with an unestimated stratum has no estimate (NaN)."""
    position = strata.columns.index(category)
    groups: dict[Any, dict[str, Any]] = {}
    for s in strata.strata:
        g = groups.setdefault(s.key[position], {"observed": 0, "estimate": 0.0, "draws": [], "notes": [],
                                                "ends": np.zeros(2), "complete": True})
        g["observed"] += s.n_observed
        g["ends"] = g["ends"] + _interval_ends(s)
        g["estimate"] += s.estimate.estimate if s.estimate else np.nan
        g["draws"].append(_stratum_draws(s))
        if s.estimate is None:
            g["complete"] = False
            g["notes"].append(f"stratum {', '.join(map(str, s.key))} could not be estimated ({s.reason}): no "
                              "estimate, as its documented people alone would leave out its dark figure")
    for g in groups.values():
        draws = _aligned_draws(g["draws"])
        g["draws"] = None if draws is None else draws.sum(axis=0)
    return groups


def _stratum_draws(s: StratumResult) -> np.ndarray | None:
    if s.estimate is None:
        return None
    reps = s.estimate.replicates
    return np.asarray(reps, dtype=float) if reps is not None and len(reps) > 1 else None


def _aligned_draws(draws: Sequence[np.ndarray | float | None]) -> np.ndarray | None:
    """Rows of equal length (the shortest), constants broadcast; None when any has no draws."""
    if any(d is None for d in draws):
        return None
    arrays = [d for d in draws if isinstance(d, np.ndarray)]
    if not arrays:
        return None
    length = min(len(d) for d in arrays)
    return np.array([d[:length] if isinstance(d, np.ndarray) else np.full(length, d) for d in draws])


def _draw_intervals(draws: np.ndarray, i: int, level: float) -> dict[str, float]:
    q = [(1 - level) / 2, (1 + level) / 2]
    lower, upper = np.quantile(draws[i], q)
    share_lower, share_upper = np.quantile(draws[i] / draws.sum(axis=0), q)
    return {"lower": float(lower), "upper": float(upper), "share_lower": float(share_lower),
            "share_upper": float(share_upper)}


def _interval_ends(s: StratumResult) -> np.ndarray:
    """The stratum's own interval, NaN when it has none (or no estimate)."""
    if s.estimate is None:
        return np.full(2, np.nan)
    iv = s.estimate.interval
    return np.array([iv.lower, iv.upper]) if iv else np.full(2, np.nan)


def _no_intervals(ends: np.ndarray) -> dict[str, float]:
    """Without draws: the number's interval adds the strata's interval ends (conservative); no share interval."""
    nan = float("nan")
    return {"lower": float(ends[0]), "upper": float(ends[1]), "share_lower": nan, "share_upper": nan}


def prevalence_table(
    entities: pd.DataFrame,
    category: str,
    lists: Sequence[str],
    method: str = "stepwise",
    settings: dict[str, Any] | None = None,
    *,
    level: float = 0.95,
    interval: str = "wilson",
    workers: int | None = 1,
) -> pd.DataFrame:
    """Documented and estimated share of each category, side by side (one row per category).

    ``entities`` has one row per entity (after linkage): the 0/1 columns ``lists`` and the
    ``category`` column. The category becomes the stratum of :func:`estimate_strata`; columns from
    :func:`documented_shares` keep their names, those of :func:`estimated_shares` are prefixed
    ``estimated_`` (``estimated_share`` ...).

    >>> from darkfigure.simulate import independent_probabilities, sample_table
    >>> rng = np.random.default_rng(1)
    >>> parts = [sample_table(independent_probabilities(p), n, rng).to_frame(include_zero=False).assign(form=f)
    ...          for f, p, n in (("seen", [0.5, 0.4, 0.5], 800), ("hidden", [0.1, 0.15, 0.1], 200))]
    >>> table = pd.concat(parts, ignore_index=True)
    >>> entities = table.loc[table.index.repeat(table.pop("count"))]
    >>> settings = {"model": "[1,2,3]", "nboot": 50, "seed": 1}
    >>> table = prevalence_table(entities, "form", ["A", "B", "C"], "fixed", settings)
    >>> table[["form", "share", "estimated_share"]].round(2).values.tolist()  # truth: hidden 0.2
    [['hidden', 0.08, 0.2], ['seen', 0.92, 0.8]]
    """
    missing = [c for c in (*lists, category) if c not in entities.columns]
    if missing:
        raise InputError(f"column(s) {', '.join(missing)} not found; columns are {', '.join(entities.columns)}")
    documented = documented_shares(entities, category, level, interval)
    known = entities[entities[category].notna()]
    parts = split_strata(known[[*lists, category, *(["count"] if "count" in known else [])]], [category])
    strata = estimate_strata(parts, [category], method, {**(settings or {}), "level": level}, workers=workers)
    estimated = estimated_shares(strata, level, category).add_prefix("estimated_")
    estimated = estimated.rename(columns={f"estimated_{category}": category, "estimated_estimate": "estimate"})
    return documented.merge(estimated, on=category, how="left")
