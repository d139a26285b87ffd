"""Compiled work of one stepwise step: fit the current model and test the candidates' columns.

Returns the fit (intercept, its variance, fitted values) and, for each candidate column, whether it
lies outside the span of the design on the cells with cases (so adding it keeps the MLE finite and
identifiable). ``full_rank`` is False when the design itself is rank deficient on those cells; then
the candidate test says nothing and the caller falls back to the full check.
"""

from __future__ import annotations

import numpy as np

from darkfigure._compile import kernel
from darkfigure.estimation._glm import _irls

RANK_TOL = 1e-10


@kernel
def cholesky_lower(a, tol):  # pragma: no cover - compiled
    """Cholesky factor of a symmetric matrix; ok=False when a pivot is below tol x the largest diagonal."""
    p = a.shape[0]
    low = np.zeros((p, p))
    scale = 0.0
    for i in range(p):
        scale = max(scale, a[i, i])
    for j in range(p):
        s = a[j, j]
        for k in range(j):
            s -= low[j, k] * low[j, k]
        if s <= tol * max(scale, 1.0):
            return low, False
        low[j, j] = np.sqrt(s)
        for i in range(j + 1, p):
            s = a[i, j]
            for k in range(j):
                s -= low[i, k] * low[j, k]
            low[i, j] = s / low[j, j]
    return low, True


@kernel
def solve_lower(low, b):  # pragma: no cover - compiled
    """Solve L L' x = b for each column of b."""
    p, k = b.shape
    z = np.zeros((p, k))
    for c in range(k):
        for i in range(p):
            s = b[i, c]
            for j in range(i):
                s -= low[i, j] * z[j, c]
            z[i, c] = s / low[i, i]
        for i in range(p - 1, -1, -1):
            s = z[i, c]
            for j in range(i + 1, p):
                s -= low[j, i] * z[j, c]
            z[i, c] = s / low[i, i]
    return z


@kernel
def fit_and_screen(x, y, eta, positive, candidates, tol, max_iter):  # pragma: no cover - compiled
    beta, mu, info, iterations, converged = _irls(x, y, eta, tol, max_iter)
    p = x.shape[1]
    unit = np.zeros((p, 1))
    unit[0, 0] = 1.0
    low_info, ok_info = cholesky_lower(info, 1e-14)
    var0 = np.inf
    if ok_info:
        var0 = solve_lower(low_info, unit)[0, 0]
    xp = x[positive]
    cp = candidates[positive]
    low, full_rank = cholesky_lower(xp.T @ xp, RANK_TOL)
    outside = np.zeros(cp.shape[1], dtype=np.bool_)
    if full_rank and cp.shape[1] > 0:
        coef = solve_lower(low, xp.T @ cp)
        resid = cp - xp @ coef
        for c in range(cp.shape[1]):
            norm2 = 0.0
            size2 = 0.0
            for i in range(cp.shape[0]):
                norm2 += resid[i, c] * resid[i, c]
                size2 += cp[i, c] * cp[i, c]
            outside[c] = norm2 > RANK_TOL * max(size2, 1.0)
    return beta[0], var0, mu, converged and ok_info, full_rank, outside
