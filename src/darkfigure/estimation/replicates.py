"""Combining estimates across replicates: multiply-imputed or multiply-linked versions of the data.

The rule of HRDAG's verdata ``combine_estimates`` (laws of total expectation and total variance, on
the log of the dark figure, with Rubin's degrees of freedom): per replicate the dark figure
``n0 = N - n_obs`` (0 becomes 0.1 before the log); ``W`` the mean within-replicate variance of
``log n0``, ``B`` the variance of the replicate means, ``T = W + (M + 1) / M * B``,
``df = (M - 1) (1 + W / ((M + 1) B))^2``; the interval is ``n_obs + exp(mean log n0 -/+ t sqrt(T))``
and the point ``n_obs + mean n0``; like verdata, results are rounded to whole people.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from darkfigure.errors import InputError
from darkfigure.estimation._params import check_level
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.results import Estimate


def combine_replicates(draws: pd.DataFrame, level: float = 0.95, whole: bool = True) -> Estimate:
    """Combine posterior draws of N from several replicates (columns ``replicate``, ``n_obs``, ``N``).

    Errors name the row as a spreadsheet shows it: ``index + 2`` for a frame from
    :func:`darkfigure.histories.read_frame` (which keeps each row's position as its index).

    >>> frame = pd.DataFrame({"replicate": ["a"] * 3 + ["b"] * 3, "n_obs": [10] * 3 + [12] * 3,
    ...                       "N": [20, 30, 40, 25, 35, 45]})
    >>> e = combine_replicates(frame)
    >>> e.estimate, e.interval.kind
    (33.0, 'multiple-imputation')
    """
    level = check_level("combine_replicates", level)
    missing = {"replicate", "n_obs", "N"} - set(draws.columns)
    if missing:
        raise InputError(f"replicate draws need columns replicate, n_obs and N; missing {', '.join(sorted(missing))}")
    _refuse_missing(draws, "replicate")
    draws = draws.assign(n_obs=_finite_numbers(draws, "n_obs"), N=_finite_numbers(draws, "N"))
    _refuse_changing_n_obs(draws)
    groups = [g for _, g in draws.groupby("replicate", sort=True)]
    if len(groups) < 2:
        raise InputError(f"combining needs at least 2 replicates; got {len(groups)}")
    below = (draws["N"] < draws["n_obs"]).to_numpy()
    if below.any():
        first = draws.iloc[below.argmax()]
        raise InputError(f"a draw of N ({first['N']:g}) is below its replicate's observed count n_obs "
                         f"({first['n_obs']:g}); check the columns", row=_row_number(draws, below.argmax()), column="N")
    thin = (draws.groupby("replicate")["N"].transform("size") < 2).to_numpy()
    if thin.any():
        name = draws["replicate"].iloc[thin.argmax()]
        raise InputError(f"each replicate needs at least 2 draws of N; replicate {name!r} has 1",
                         row=_row_number(draws, thin.argmax()), column="replicate")
    n_obs = [float(g["n_obs"].iloc[0]) for g in groups]
    n0 = [g["N"].to_numpy(float) - o for g, o in zip(groups, n_obs, strict=True)]
    return _combine(n0, n_obs, level, whole)


def _row_number(frame: pd.DataFrame, position: Any) -> int:
    """The spreadsheet row of the row at ``position``: its index + 2 (read_frame's index), or
    position + 2 where the index is not made of integers."""
    label = frame.index[position]
    return (int(label) if pd.api.types.is_integer_dtype(frame.index) else int(position)) + 2


def _refuse_missing(draws: pd.DataFrame, column: str) -> None:
    absent = draws[column].isna().to_numpy()
    if absent.any():
        raise InputError("value is missing; every row needs replicate, n_obs and N",
                         row=_row_number(draws, absent.argmax()), column=column)


def _finite_numbers(draws: pd.DataFrame, column: str) -> pd.Series:
    _refuse_missing(draws, column)
    values = pd.to_numeric(draws[column], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(float))
    if bad.any():
        raise InputError(f"expected a finite number; got {str(draws[column].iloc[bad.argmax()]).strip()!r}",
                         row=_row_number(draws, bad.argmax()), column=column)
    return values


def _refuse_changing_n_obs(draws: pd.DataFrame) -> None:
    first = draws.groupby("replicate")["n_obs"].transform("first")
    changed = (draws["n_obs"] != first).to_numpy()
    if changed.any():
        at = changed.argmax()
        raise InputError(
            f"n_obs must be the same in every row of a replicate (it is the replicate's observed count); "
            f"replicate {draws['replicate'].iloc[at]!r} has {first.iloc[at]:g} earlier and "
            f"{draws['n_obs'].iloc[at]:g} here", row=_row_number(draws, at), column="n_obs")


def combine_estimates(estimates: Sequence[Estimate], level: float = 0.95, whole: bool = True) -> Estimate:
    """Combine Bayesian estimates (with posterior draws in ``replicates``) of several replicates."""
    level = check_level("combine_estimates", level)
    if any(e.replicates is None or len(e.replicates) < 2 for e in estimates):
        raise InputError("every replicate's estimate needs posterior draws (a Bayesian method, or nboot > 0)")
    n_obs = [float(e.n_observed) for e in estimates]
    return _combine([np.asarray(e.replicates, float) - e.n_observed for e in estimates], n_obs, level, whole)


def _combine(n0: list[np.ndarray], n_obs: list[float], level: float, whole: bool) -> Estimate:
    m = len(n0)
    rounder = _whole if whole else float
    observed = rounder(float(np.mean(n_obs)))
    point = rounder(float(np.mean([x.mean() for x in n0])))
    logs = [np.log(np.where(x == 0, 0.1, x)) for x in n0]
    means = np.array([x.mean() for x in logs])
    within = float(np.mean([x.var(ddof=1) for x in logs]))
    between = float(means.var(ddof=1))
    total = within + (m + 1) / m * between
    df = (m - 1) * (1 + within / ((m + 1) * between)) ** 2 if between > 0 else math.inf
    t = float(student_t.ppf(0.5 + level / 2, df))
    with np.errstate(over="ignore"):  # draws near the float limit: an infinite end, not a crash
        lower = rounder(float(np.exp(means.mean() - t * math.sqrt(total))))
        upper = rounder(float(np.exp(means.mean() + t * math.sqrt(total))))
    warnings = ("fewer than 10 replicates: the combined interval may be unreliable",) if m < 10 else ()
    return Estimate(
        method="replicates", lists=(), n_observed=int(round(np.mean(n_obs))), estimate=float(observed + point),
        model=f"{m} replicates combined", intervals=(Interval(level, float(observed + lower),
                                                               float(observed + upper), "multiple-imputation"),),
        warnings=warnings,
        diagnostics={"replicates": m, "within_variance": within, "between_variance": between, "df": df},
    )


def _whole(value: float) -> float:
    """Rounded to whole people, as verdata does; an infinite interval end stays infinite."""
    return float(round(value)) if math.isfinite(value) else value
