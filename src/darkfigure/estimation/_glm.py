"""Poisson log-linear regression by iteratively reweighted least squares.

The same algorithm as R's ``glm(family = poisson)`` (start at ``mu = y + 0.1``, Newton steps on the
canonical link, fitted means kept at or above machine epsilon as R's ``poisson()$linkinv`` does),
converged more tightly so that results match R's to many digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from darkfigure._compile import kernel
from darkfigure.errors import EstimationError, InputError

TOLERANCE = 1e-12
MAX_ITERATIONS = 100
MIN_MEAN = 2.220446049250313e-16  # R's .Machine$double.eps: the floor of poisson()$linkinv
RANK_TOLERANCE = 1e-10  # a column this close (relatively) to the span of the others is dependent
BROKE_DOWN = (
    "the Poisson fit broke down (fitted values overflowed): the maximum likelihood estimate probably "
    "does not exist for this model; check it with check_estimable or drop an interaction"
)


@kernel
def _irls(x, y, eta, tol, max_iter):  # pragma: no cover - compiled
    mu = np.maximum(np.exp(eta), MIN_MEAN)
    dev_old = _deviance(y, mu)
    beta = np.zeros(x.shape[1])
    info = np.zeros((x.shape[1], x.shape[1]))
    converged = False
    iterations = 0
    for it in range(max_iter):
        iterations = it + 1
        z = eta + (y - mu) / mu
        xw = x * mu.reshape(-1, 1)
        info = xw.T @ x
        beta_old = beta
        beta = np.linalg.solve(info, xw.T @ z)
        eta = x @ beta
        mu = np.maximum(np.exp(eta), MIN_MEAN)
        dev = _deviance(y, mu)
        # R's rule on the deviance; with huge counts the deviance is rounding noise, so a step that no
        # longer moves the coefficients also means convergence
        step = np.max(np.abs(beta - beta_old)) if it > 0 else np.inf
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol or step <= 1e-10 * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
        dev_old = dev
    info = (x * mu.reshape(-1, 1)).T @ x
    return beta, mu, info, iterations, converged


@kernel
def _deviance(y, mu):  # pragma: no cover - compiled
    total = 0.0
    for i in range(y.shape[0]):
        if y[i] > 0:
            total += y[i] * np.log(y[i] / mu[i])
        total -= y[i] - mu[i]
    return 2.0 * total


@dataclass(frozen=True)
class PoissonFit:
    """A fitted Poisson GLM: coefficients, their covariance, fitted means and fit statistics."""

    coefficients: np.ndarray
    covariance: np.ndarray
    fitted: np.ndarray
    deviance: float
    loglik: float
    iterations: int
    converged: bool


def fit_poisson(
    x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, tol: float = TOLERANCE
) -> PoissonFit:
    """Fit ``log E[y] = x @ beta`` by maximum likelihood.

    >>> x = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> fit = fit_poisson(x, np.array([10.0, 30.0]))
    >>> np.round(np.exp(fit.coefficients), 6).tolist()
    [10.0, 3.0]
    """
    x, y = _checked(x, y, start)
    if not full_column_rank(x):
        raise EstimationError(
            "the model's design is singular on these cells (not identifiable): drop an interaction"
        )
    eta = np.log(y + 0.1) if start is None else np.log(np.maximum(start, 1e-300))
    try:
        beta, mu, info, iterations, converged = _irls(x, y, eta, tol, MAX_ITERATIONS)
        covariance = np.linalg.inv(info)
    except (np.linalg.LinAlgError, ZeroDivisionError):
        raise EstimationError(BROKE_DOWN) from None
    if not (np.isfinite(beta).all() and np.isfinite(mu).all() and np.isfinite(covariance).all()):
        raise EstimationError(BROKE_DOWN)
    return PoissonFit(
        coefficients=beta,
        covariance=covariance,
        fitted=mu,
        deviance=float(_deviance(y, mu)),
        loglik=poisson_loglik(y, mu),
        iterations=int(iterations),
        converged=bool(converged),
    )


def full_column_rank(x: np.ndarray) -> bool:
    """Whether the columns of ``x`` are linearly independent (Cholesky of ``x'x``: every pivot must
    keep a share of its column's length).

    >>> full_column_rank(np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]))
    False
    """
    if x.shape[0] < x.shape[1]:
        return False
    gram = x.T @ x
    scale = np.diag(gram).copy()
    if (scale <= 0).any():
        return False
    try:
        pivots = np.diag(np.linalg.cholesky(gram)) ** 2
    except np.linalg.LinAlgError:
        return False
    return bool((pivots >= RANK_TOLERANCE * scale).all())


def _checked(x: np.ndarray, y: np.ndarray, start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise InputError(f"the design has shape {x.shape} but there are {y.shape[0]} counts; need a row each")
    if not (np.isfinite(y).all() and (y >= 0).all()):
        raise InputError("Poisson counts must be finite and non-negative")
    if start is not None and np.shape(start) != y.shape:
        raise InputError(f"start needs a fitted value per count ({y.shape[0]}); got shape {np.shape(start)}")
    return x, y


def poisson_loglik(y: np.ndarray, mu: np.ndarray) -> float:
    """Poisson log-likelihood with its constant (as R's ``logLik``), ``0 log 0 = 0``."""
    safe = np.where(y > 0, np.log(np.where(mu > 0, mu, 1.0)), 0.0)
    return float(np.sum(y * safe - mu - gammaln(y + 1.0)))
