"""Compiled kernel that checks and fits many hierarchical log-linear models on one table.

The checks are those of :mod:`darkfigure.estimation._batch_check`. The fit uses the same trick:
the weighted cross product is ``X'WX[a, b] = S_mu[m_a | m_b]`` (a superset-sum transform of the
fitted values, ``t 2^(t-1)`` additions) and the linear predictor of every cell is a subset-sum
transform of the coefficients, so one Newton step costs a few hundred additions and a small
Cholesky factorisation instead of products with the design matrix. Models whose MLE exists and is
identifiable are fitted by the IRLS of :mod:`darkfigure.estimation._glm` (start at ``mu = y + 0.1``,
same stopping rule), so the numbers agree with ``fit_model`` to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from darkfigure._compile import kernel
from darkfigure.estimation._batch_check import (
    UNDECIDED,
    check_model,
    kept_cells,
    subset_sums,
    superset_sums,
)

__all__ = ["NOT_CONVERGED", "RESULT_FIELDS", "UNDECIDED", "evaluate", "evaluate_models"]

NOT_CONVERGED = -2  # the fit failed numerically: refit with fit_model
TOLERANCE = 1e-12
MAX_ITERATIONS = 100

RESULT_FIELDS = (
    "code",
    "rank_deficiency",
    "loglik",
    "deviance",
    "log_dark_figure",
    "log_dark_figure_var",
    "n_cells",
    "n_estimated",
    "n_empty",
    "iterations",
)


@kernel
def _cholesky(h, p, low):  # pragma: no cover - compiled
    """Plain lower Cholesky factor; False when ``h`` is not numerically positive definite."""
    for j in range(p):
        for k in range(j):
            s = h[j, k]
            for m in range(k):
                s -= low[j, m] * low[k, m]
            low[j, k] = s / low[k, k]
        d = h[j, j]
        for m in range(j):
            d -= low[j, m] * low[j, m]
        if not d > 0.0:
            return False
        low[j, j] = np.sqrt(d)
    return True


@kernel
def _cholesky_solve(low, p, rhs, out):  # pragma: no cover - compiled
    for i in range(p):
        s = rhs[i]
        for k in range(i):
            s -= low[i, k] * out[k]
        out[i] = s / low[i, i]
    for i in range(p - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, p):
            s -= low[k, i] * out[k]
        out[i] = s / low[i, i]


# ------------------------------------------------------------------------------------- one model
@kernel
def _model_columns(n_lists, term_masks, member, margins, cols, empty):  # pragma: no cover - compiled
    """Design columns (intercept, mains, terms with cases) and the empty-overlap terms."""
    cols[0] = 0
    for j in range(n_lists):
        cols[1 + j] = 1 << j
    p = 1 + n_lists
    n_empty = 0
    for i in range(term_masks.shape[0]):
        if member[i]:
            if margins[term_masks[i]] > 0:
                cols[p] = term_masks[i]
                p += 1
            else:
                empty[n_empty] = term_masks[i]
                n_empty += 1
    return p, n_empty


# ------------------------------------------------------------------------------------- the fit
@kernel
def _deviance(y, mu, kept):  # pragma: no cover - compiled
    total = 0.0
    for c in range(1, y.shape[0]):
        if kept[c] > 0.0:
            if y[c] > 0.0:
                total += y[c] * np.log(y[c] / mu[c])
            total -= y[c] - mu[c]
    return 2.0 * total


@kernel
def _weighted_products(n_lists, y, kept, mu, eta, cols, p, sm, sr, h, rhs):  # pragma: no cover
    """``X'WX`` into ``h`` and ``X'W z`` into ``rhs`` (working response ``z = eta + (y - mu)/mu``)."""
    for c in range(sm.shape[0]):
        if kept[c] > 0.0:
            sm[c] = mu[c]
            sr[c] = mu[c] * eta[c] + y[c] - mu[c]
        else:
            sm[c] = 0.0
            sr[c] = 0.0
    superset_sums(sm, n_lists)
    superset_sums(sr, n_lists)
    for a in range(p):
        rhs[a] = sr[cols[a]]
        for b in range(a + 1):
            h[a, b] = sm[cols[a] | cols[b]]


@kernel
def _fit_model(n_lists, y, kept, cols, p, tol, max_iter, out):  # pragma: no cover - compiled
    """IRLS as ``_glm.fit_poisson``; ``out`` = (loglik w/o constant, deviance, b0, var b0, iterations)."""
    n_cells = y.shape[0]
    mu = np.zeros(n_cells)
    eta = np.zeros(n_cells)
    sm = np.zeros(n_cells)
    sr = np.zeros(n_cells)
    h = np.zeros((p, p))
    low = np.zeros((p, p))
    rhs = np.zeros(p)
    beta = np.zeros(p)
    for c in range(1, n_cells):
        if kept[c] > 0.0:
            mu[c] = y[c] + 0.1
            eta[c] = np.log(mu[c])
    dev_old = _deviance(y, mu, kept)
    dev = dev_old
    converged = False
    iterations = 0
    for it in range(max_iter):
        iterations = it + 1
        _weighted_products(n_lists, y, kept, mu, eta, cols, p, sm, sr, h, rhs)
        if not _cholesky(h, p, low):
            return False
        _cholesky_solve(low, p, rhs, beta)
        for c in range(n_cells):
            sm[c] = 0.0
        for a in range(p):
            sm[cols[a]] = beta[a]
        subset_sums(sm, n_lists)
        for c in range(1, n_cells):
            if kept[c] > 0.0:
                eta[c] = sm[c]
                mu[c] = np.exp(sm[c])
        dev = _deviance(y, mu, kept)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    _weighted_products(n_lists, y, kept, mu, eta, cols, p, sm, sr, h, rhs)
    if not converged or not _cholesky(h, p, low):
        return False
    for a in range(p):
        rhs[a] = 0.0
    rhs[0] = 1.0
    _cholesky_solve(low, p, rhs, sr[:p])
    loglik = 0.0
    for c in range(1, n_cells):
        if kept[c] > 0.0:
            loglik += y[c] * eta[c] - mu[c]
    out[0] = loglik
    out[1] = dev
    out[2] = beta[0]
    out[3] = sr[0]
    out[4] = iterations
    return True


# ------------------------------------------------------------------------------------- many models
@kernel
def evaluate_models(n_lists, y, lgamma_sum, term_masks, membership, first, last, results):  # pragma: no cover
    """Check and fit models ``first .. last - 1`` (rows of ``membership``) into ``results`` (RESULT_FIELDS)."""
    n_cells = y.shape[0]
    margins = y.copy()
    superset_sums(margins, n_lists)
    pos_sup = np.zeros(n_cells)
    for c in range(1, n_cells):
        if y[c] > 0.0:
            pos_sup[c] = 1.0
    superset_sums(pos_sup, n_lists)
    p_max = 1 + n_lists + term_masks.shape[0]
    cols = np.zeros(p_max, dtype=np.int64)
    empty = np.zeros(term_masks.shape[0] + 1, dtype=np.int64)
    kept = np.zeros(n_cells)
    work = np.zeros(n_cells)
    g = np.zeros((p_max, p_max))
    low = np.zeros((p_max, p_max))
    accepted = np.zeros(p_max, dtype=np.uint8)
    dirs = np.zeros((n_cells, p_max))
    fit = np.zeros(5)
    for i in range(first, last):
        p, n_empty = _model_columns(n_lists, term_masks, membership[i], margins, cols, empty)
        n_kept = kept_cells(empty, n_empty, kept)
        code, deficiency = check_model(n_lists, y, pos_sup, kept, cols, p, g, low, accepted, work, dirs)
        row = results[i]
        for f in range(row.shape[0]):
            row[f] = np.nan
        row[1] = deficiency
        row[6] = n_kept
        row[7] = p
        row[8] = n_empty
        if code == 0 and not _fit_model(n_lists, y, kept, cols, p, TOLERANCE, MAX_ITERATIONS, fit):
            code = NOT_CONVERGED
        row[0] = code
        if code == 0:
            row[2] = fit[0] - lgamma_sum
            row[3] = fit[1]
            row[4] = fit[2]
            row[5] = fit[3]
            row[9] = fit[4]


def evaluate(
    table: np.ndarray, n_lists: int, term_masks: np.ndarray, membership: np.ndarray, workers: int = 1
) -> np.ndarray:
    """Check and fit every model (row of ``membership`` over ``term_masks``) on the dense count table.

    ``table`` has length ``2**n_lists`` with ``table[0] == 0``. Returns a float matrix, one row per
    model, with the columns ``RESULT_FIELDS``; ``loglik`` includes R's ``-lgamma(y + 1)`` constant.
    """
    from math import lgamma

    y = np.ascontiguousarray(table, dtype=np.float64)
    lgamma_sum = float(sum(lgamma(v + 1.0) for v in y))
    masks = np.ascontiguousarray(term_masks, dtype=np.int64)
    member = np.ascontiguousarray(membership, dtype=np.uint8)
    n = member.shape[0]
    results = np.empty((n, len(RESULT_FIELDS)))
    if workers <= 1 or n < 256:
        evaluate_models(n_lists, y, lgamma_sum, masks, member, 0, n, results)
        return results
    bounds = np.linspace(0, n, 4 * workers + 1).astype(np.int64)
    pool = _thread_pool(workers)
    jobs = [
        pool.submit(evaluate_models, n_lists, y, lgamma_sum, masks, member, int(a), int(b), results)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    for job in jobs:
        job.result()
    return results


_POOLS: dict[int, Any] = {}


def _thread_pool(workers: int) -> Any:
    """One lasting pool per size: starting threads costs more than a small batch of fits."""
    from concurrent.futures import ThreadPoolExecutor

    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="darkfigure-fit")
    return _POOLS[workers]
