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

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from darkfigure.errors import InputError
from darkfigure.estimation.intervals import Interval
from darkfigure.estimation.results import Estimate


def combine_replicates(draws: pd.DataFrame, level: float = 0.95, whole: bool = True) -> Estimate:
    """Combine posterior draws of N from several replicates (columns ``replicate``, ``n_obs``, ``N``).

    >>> frame = pd.DataFrame({"replicate": ["a"] * 3 + ["b"] * 3, "n_obs": [10] * 3 + [12] * 3,
    ...                       "N": [20, 30, 40, 25, 35, 45]})
    >>> e = combine_replicates(frame)
    >>> e.estimate, e.interval.kind
    (33.0, 'multiple-imputation')
    """
    missing = {"replicate", "n_obs", "N"} - set(draws.columns)
    if missing:
        raise InputError(f"replicate draws need columns replicate, n_obs and N; missing {', '.join(sorted(missing))}")
    for column in ("n_obs", "N"):
        values = pd.to_numeric(draws[column], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax()) + 2
            raise InputError(f"expected a number; got {draws[column].iloc[row - 2]!r}", row=row, column=column)
    draws = draws.assign(n_obs=pd.to_numeric(draws["n_obs"]), N=pd.to_numeric(draws["N"]))
    if (draws.groupby("replicate")["n_obs"].nunique() > 1).any():
        raise InputError("n_obs must be the same in every row of a replicate (it is the replicate's observed count)")
    groups = [g for _, g in draws.groupby("replicate", sort=True)]
    if len(groups) < 2:
        raise InputError(f"combining needs at least 2 replicates; got {len(groups)}")
    n_obs = [float(g["n_obs"].iloc[0]) for g in groups]
    n0 = [g["N"].to_numpy(float) - o for g, o in zip(groups, n_obs, strict=True)]
    if any((x < 0).any() for x in n0):
        raise InputError("a draw of N is below its replicate's observed count n_obs; check the columns")
    return _combine(n0, n_obs, level, whole)


def combine_estimates(estimates: Sequence[Estimate], level: float = 0.95, whole: bool = True) -> Estimate:
    """Combine Bayesian estimates (with posterior draws in ``replicates``) of several replicates."""
    if any(e.replicates is None or len(e.replicates) < 2 for e in estimates):
        raise InputError("every replicate's estimate needs posterior draws (a Bayesian method, or nboot > 0)")
    n_obs = [float(e.n_observed) for e in estimates]
    return _combine([np.asarray(e.replicates, float) - e.n_observed for e in estimates], n_obs, level, whole)


def _combine(n0: list[np.ndarray], n_obs: list[float], level: float, whole: bool) -> Estimate:
    m = len(n0)
    rounder = round if whole else (lambda v: v)
    observed = rounder(float(np.mean(n_obs)))
    point = rounder(float(np.mean([x.mean() for x in n0])))
    logs = [np.log(np.where(x == 0, 0.1, x)) for x in n0]
    means = np.array([x.mean() for x in logs])
    within = float(np.mean([x.var(ddof=1) for x in logs]))
    between = float(means.var(ddof=1))
    total = within + (m + 1) / m * between
    df = (m - 1) * (1 + within / ((m + 1) * between)) ** 2 if between > 0 else math.inf
    t = float(student_t.ppf(0.5 + level / 2, df))
    lower = rounder(math.exp(means.mean() - t * math.sqrt(total)))
    upper = rounder(math.exp(means.mean() + t * math.sqrt(total)))
    warnings = ("fewer than 10 replicates: the combined interval may be unreliable",) if m < 10 else ()
    return Estimate(
        method="replicates", lists=(), n_observed=int(round(np.mean(n_obs))), estimate=float(observed + point),
        model=f"{m} replicates combined", intervals=(Interval(level, float(observed + lower),
                                                               float(observed + upper), "multiple-imputation"),),
        warnings=warnings,
        diagnostics={"replicates": m, "within_variance": within, "between_variance": between, "df": df},
    )
