"""The Poisson IRLS fit: hand-worked cases, an independent optimiser, and the failure modes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from darkfigure.errors import EstimationError, InputError
from darkfigure.estimation._glm import fit_poisson, full_column_rank, poisson_loglik
from darkfigure.estimation.models import HierarchicalModel


def test_two_lists_independence_is_lincoln_petersen() -> None:
    # n10 = 30 on A only, n01 = 20 on B only, m = 6 on both: n1 = 36, n2 = 26
    x = HierarchicalModel.independence(2).design()
    y = np.array([30.0, 20.0, 6.0])  # cells A, B, AB
    fit = fit_poisson(x, y)
    dark = math.exp(fit.coefficients[0])
    assert dark == pytest.approx(30 * 20 / 6, rel=1e-10)  # n10 n01 / m
    assert y.sum() + dark == pytest.approx(36 * 26 / 6, rel=1e-10)  # N = n1 n2 / m = 156
    assert fit.deviance == pytest.approx(0.0, abs=1e-9)  # three cells, three parameters
    np.testing.assert_allclose(fit.fitted, y, rtol=1e-10)
    assert fit.converged


def test_two_lists_variance_of_log_dark_figure_by_hand() -> None:
    # log n00 = log n10 + log n01 - log n11, so var = 1/n10 + 1/n01 + 1/n11 (delta method)
    fit = fit_poisson(HierarchicalModel.independence(2).design(), np.array([30.0, 20.0, 6.0]))
    assert fit.covariance[0, 0] == pytest.approx(1 / 30 + 1 / 20 + 1 / 6, rel=1e-9)


def test_loglik_and_deviance_definitions_by_hand() -> None:
    x = HierarchicalModel.independence(3).design()
    y = np.array([12.0, 7.0, 3.0, 9.0, 0.0, 2.0, 1.0])
    fit = fit_poisson(x, y)
    mu = fit.fitted
    pairs = list(zip(y, mu, strict=True))
    loglik = sum((yi * math.log(mi) if yi > 0 else 0.0) - mi - math.lgamma(yi + 1) for yi, mi in pairs)
    deviance = 2 * sum((yi * math.log(yi / mi) if yi > 0 else 0.0) - (yi - mi) for yi, mi in pairs)
    assert fit.loglik == pytest.approx(loglik, rel=1e-12)
    assert fit.deviance == pytest.approx(deviance, rel=1e-10)
    assert poisson_loglik(y, mu) == pytest.approx(loglik, rel=1e-12)
    saturated = poisson_loglik(y, y)
    assert fit.deviance == pytest.approx(2 * (saturated - fit.loglik), rel=1e-9)
    # at the MLE the margins of the model are fitted exactly: X'mu = X'y
    np.testing.assert_allclose(x.T @ mu, x.T @ y, rtol=1e-9)


def negative_loglik(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    eta = x @ beta
    return float(np.sum(np.exp(eta) - y * eta))


def gradient(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x.T @ (np.exp(x @ beta) - y)


def hessian_of(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x * np.exp(x @ beta)[:, None]).T @ x


def test_agrees_with_a_general_optimiser_on_a_random_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = HierarchicalModel.parse("[12,13,34]", 4)
    x = model.design()
    y = rng.poisson(rng.uniform(1, 40, size=x.shape[0])).astype(float)
    fit = fit_poisson(x, y)
    best = minimize(
        negative_loglik, np.zeros(x.shape[1]), args=(x, y), jac=gradient, hess=hessian_of,
        method="trust-exact",
    )
    assert best.success
    np.testing.assert_allclose(fit.coefficients, best.x, atol=1e-6)
    # covariance = inverse Hessian of the negative log-likelihood, by central differences
    h = 1e-5
    steps = np.eye(x.shape[1]) * h
    columns = [(gradient(best.x + e, x, y) - gradient(best.x - e, x, y)) / (2 * h) for e in steps]
    hessian = np.column_stack(columns)
    np.testing.assert_allclose(fit.covariance, np.linalg.inv(hessian), rtol=1e-5, atol=1e-8)


def test_start_values_give_the_same_fit_sooner() -> None:
    x = HierarchicalModel.parse("[12]", 3).design()
    y = np.array([40.0, 30.0, 6.0, 20.0, 4.0, 3.0, 1.0])
    first = fit_poisson(x, y)
    again = fit_poisson(x, y, start=first.fitted)
    np.testing.assert_allclose(again.coefficients, first.coefficients, rtol=1e-10)
    assert again.iterations <= 2 < first.iterations


@pytest.mark.parametrize(
    "extra",
    [
        lambda x: x[:, 1],  # a column twice
        lambda x: x[:, 1] + x[:, 2],  # a sum of two columns
        lambda x: x[:, 0] - x[:, 3],  # the complement of a main effect
        lambda x: np.zeros(x.shape[0]),  # an empty column
    ],
    ids=["repeated", "sum", "complement", "empty"],
)
def test_singular_design_raises_estimation_error(extra) -> None:
    x = HierarchicalModel.saturated_pairs(4).design()
    y = np.arange(1.0, 16.0)
    with pytest.raises(EstimationError, match="singular"):
        fit_poisson(np.column_stack([x, extra(x)]), y)


def test_more_parameters_than_cells_is_singular() -> None:
    x = HierarchicalModel.parse("[123]", 3).design()  # 8 parameters, 7 cells
    with pytest.raises(EstimationError, match="singular"):
        fit_poisson(x, np.arange(1.0, 8.0))
    assert not full_column_rank(x)
    assert full_column_rank(HierarchicalModel.parse("[12,13,23]", 3).design())


def test_fitted_value_going_to_zero_stays_finite() -> None:
    # the cell of list B alone has count 0 and its own parameter: the MLE is at -infinity; the fit
    # keeps the fitted value at R's floor (machine epsilon) and stays finite, as glm does
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    fit = fit_poisson(x, np.array([5.0, 0.0]))
    assert np.isfinite(fit.coefficients).all()
    assert fit.fitted[1] < 1e-8
    assert fit.fitted[0] == pytest.approx(5.0)


def test_bad_arguments_are_input_errors() -> None:
    x = HierarchicalModel.independence(2).design()
    with pytest.raises(InputError, match="one row each|a row each"):
        fit_poisson(x, np.ones(4))
    with pytest.raises(InputError, match="non-negative"):
        fit_poisson(x, np.array([1.0, -1.0, 2.0]))
    with pytest.raises(InputError, match="start"):
        fit_poisson(x, np.ones(3), start=np.ones(2))
