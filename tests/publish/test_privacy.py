"""Differential privacy: the noise has the stated law and scale, and the budget ledger persists,
refuses overspending and holds under concurrent processes."""

import json
import math
import multiprocessing

import numpy as np
import pytest
from scipy.stats import chisquare

from darkfigure.errors import InputError, PrivacyBudgetExceeded
from darkfigure.histories import CaptureHistories
from darkfigure.publish.privacy import (
    PrivacyLedger,
    _measurement,
    noise_scale,
    noise_sd,
    noise_uncertainty,
    noisy_counts,
    noisy_histories,
)


def discrete_laplace(z, scale):
    """P(Z = z) = (1 - a) / (1 + a) a^|z|, a = exp(-1/scale): the two-sided geometric law, by hand."""
    a = math.exp(-1 / scale)
    return (1 - a) / (1 + a) * a ** np.abs(z)


def discrete_gaussian(z, sigma):
    """P(Z = z) proportional to exp(-z^2 / 2 sigma^2) (Canonne, Kamath, Steinke 2020), normalised."""
    grid = np.arange(-60 * math.ceil(sigma), 60 * math.ceil(sigma) + 1)
    norm = np.exp(-(grid**2) / (2 * sigma * sigma)).sum()
    return np.exp(-(np.asarray(z, float) ** 2) / (2 * sigma * sigma)) / norm


def chi_square_against(draws, pmf, cut):
    """Chi-square of the draws against a pmf on -cut..cut, both tails pooled into one bin each."""
    support = np.arange(-cut, cut + 1)
    probs = pmf(support)
    tail = (1 - probs.sum()) / 2
    observed = np.concatenate([[np.sum(draws < -cut)], [np.sum(draws == z) for z in support], [np.sum(draws > cut)]])
    expected = len(draws) * np.concatenate([[tail], probs, [tail]])
    return chisquare(observed, expected).pvalue


def test_laplace_scale_is_sensitivity_over_epsilon():
    # by hand: 1 / 0.5 = 2, 3 / 1.5 = 2, 1 / 0.1 = 10
    assert noise_scale(0.5) == 2.0
    assert noise_scale(1.5, sensitivity=3) == 2.0
    assert noise_scale(0.1) == pytest.approx(10.0)
    # and OpenDP's own accounting of that measurement gives back epsilon = sensitivity / scale
    assert _measurement("laplace", 2.0).map(1) == pytest.approx(0.5)
    assert _measurement("laplace", 2.0).map(3) == pytest.approx(1.5)


def test_laplace_noise_has_the_stated_law():
    draws = noisy_counts(np.zeros(20000, dtype=int), epsilon=0.5, nonnegative=False).raw
    assert chi_square_against(draws, lambda z: discrete_laplace(z, 2.0), cut=10) > 1e-4
    # variance 2a/(1-a)^2 with a = exp(-1/2): 7.8354 by hand; the sample variance within 7 %
    assert noise_sd("laplace", 2.0) ** 2 == pytest.approx(7.8354, abs=1e-4)
    assert draws.var() == pytest.approx(7.8354, rel=0.07)  # 4 sd of a sample variance
    assert abs(draws.mean()) < 0.1
    # the test has power: the same draws reject a law of scale 2.5 (epsilon 0.4)
    assert chi_square_against(draws, lambda z: discrete_laplace(z, 2.5), cut=10) < 1e-6


def test_gaussian_noise_has_the_stated_law_and_privacy():
    scale = noise_scale(1.0, "gaussian", delta=1e-6)
    # zCDP of the discrete Gaussian: rho = sensitivity^2 / (2 scale^2), by hand
    import opendp.prelude as dp

    zcdp = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T="i64")), dp.l2_distance(T="i64"), scale=scale)
    assert zcdp.map(1) == pytest.approx(1 / (2 * scale**2), rel=1e-9)
    # the classical conversion eps = rho + 2 sqrt(rho log(1/delta)) is looser: it would need scale 5.35
    rho = 1 / (2 * scale**2)
    assert rho + 2 * math.sqrt(rho * math.log(1e6)) > 1.0
    assert _measurement("gaussian", scale).map(1).epsilon(1e-6) <= 1.0
    assert _measurement("gaussian", scale * 0.99).map(1).epsilon(1e-6) > 1.0  # the smallest such scale
    noisy = noisy_counts(np.zeros(10000, dtype=int), epsilon=1.0, mechanism="gaussian", delta=1e-6, nonnegative=False)
    assert noisy.delta == 1e-6 and noisy.scale == scale
    assert chi_square_against(noisy.raw, lambda z: discrete_gaussian(z, scale), cut=12) > 1e-4
    assert noisy.raw.std() == pytest.approx(scale, rel=0.05)


def test_margin_of_the_noise_by_hand():
    # scale 1: P(|Z| <= m) = 1 - 2 a^(m+1) / (1 + a), a = exp(-1): m = 2 gives 0.927, m = 3 gives 0.973
    noisy = noisy_counts([10], epsilon=1.0)
    assert noisy.margin(0.95) == 3
    assert noisy.margin(0.9) == 2


def test_noisy_counts_keep_shape_and_are_whole_and_non_negative():
    import pandas as pd

    table = pd.DataFrame({"x": [0, 1, 50], "y": [2, 0, 7]}, index=["a", "b", "c"])
    noisy = noisy_counts(table, epsilon=1.0)
    assert noisy.values.shape == (3, 2) and noisy.values.dtype == np.int64
    assert (noisy.values >= 0).all() and list(noisy.table.index) == ["a", "b", "c"]
    assert (noisy.values == np.maximum(noisy.raw, 0)).all()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"epsilon": 0}, "epsilon must be"),
    ({"epsilon": 1.0, "mechanism": "gaussian"}, "needs a delta"),
    ({"epsilon": 1.0, "delta": 1e-5}, "takes no delta"),
    ({"epsilon": 1.0, "mechanism": "exponential"}, "unknown mechanism"),
])
def test_bad_noise_settings(kwargs, match):
    with pytest.raises(InputError, match=match):
        noisy_counts([1, 2], **kwargs)
    with pytest.raises(InputError, match="whole numbers"):
        noisy_counts([1.5, 2], epsilon=1.0)


def test_ledger_survives_a_restart(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = PrivacyLedger(path, epsilon_budget=1.0, delta_budget=1e-5)
    ledger.spend("nk", 0.3, purpose="by province")
    ledger.spend("nk", 0.2, 1e-6, purpose="capture histories")
    ledger.spend("other", 0.9)
    again = PrivacyLedger(path, epsilon_budget=1.0, delta_budget=1e-5)  # a new object on the same file
    assert again.remaining("nk") == pytest.approx((0.5, 9e-6))
    assert [h["purpose"] for h in again.history("nk")] == ["by province", "capture histories"]
    assert again.remaining("other") == pytest.approx((0.1, 1e-5))
    assert again.remaining("new") == (1.0, 1e-5)
    assert json.loads(path.read_text())["datasets"]["nk"]["epsilon_budget"] == 1.0


def test_ledger_refuses_overspending_and_spends_nothing(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = PrivacyLedger(path, epsilon_budget=1.0)
    for _ in range(10):
        ledger.spend("nk", 0.1)  # ten spends of 0.1 add up to the budget despite float rounding
    before = path.read_bytes()
    with pytest.raises(PrivacyBudgetExceeded, match="nothing was spent"):
        ledger.spend("nk", 0.01)
    assert path.read_bytes() == before and len(ledger.history("nk")) == 10
    with pytest.raises(PrivacyBudgetExceeded, match="delta"):
        ledger.spend("fresh", 0.1, delta=1e-6)  # no delta budget
    assert ledger.history("fresh") == []


def test_recorded_budget_is_kept(tmp_path):
    path = tmp_path / "ledger.json"
    PrivacyLedger(path, epsilon_budget=1.0).spend("nk", 0.8)
    generous = PrivacyLedger(path, epsilon_budget=10.0)
    with pytest.raises(PrivacyBudgetExceeded):
        generous.spend("nk", 0.5)
    assert generous.budget("nk") == (1.0, 0.0)
    with pytest.raises(InputError, match="no budget"):
        PrivacyLedger(path, epsilon_budget=None).spend("unknown", 0.1)
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="not a privacy ledger"):
        PrivacyLedger(tmp_path / "junk.json", 1.0).spend("nk", 0.1)


def test_refused_release_draws_no_noise(tmp_path):
    ledger = PrivacyLedger(tmp_path / "ledger.json", epsilon_budget=1.0)
    first = noisy_counts([5, 7], epsilon=0.6, ledger=ledger, dataset="nk", purpose="table 1")
    assert first.epsilon == 0.6
    with pytest.raises(PrivacyBudgetExceeded):
        noisy_counts([5, 7], epsilon=0.6, ledger=ledger, dataset="nk", purpose="table 2")
    assert [h["purpose"] for h in ledger.history("nk")] == ["table 1"]
    with pytest.raises(InputError, match="name its dataset"):
        noisy_counts([5, 7], epsilon=0.1, ledger=ledger)


def _spend_many(path, attempts, results):
    ledger, done = PrivacyLedger(path, epsilon_budget=1.0), 0
    for _ in range(attempts):
        try:
            ledger.spend("shared", 0.1)
            done += 1
        except PrivacyBudgetExceeded:
            pass
    results.put(done)


def test_ledger_holds_under_concurrent_processes(tmp_path):
    path = str(tmp_path / "ledger.json")
    context = multiprocessing.get_context("fork")  # the children share the imports already made
    results = context.Queue()
    workers = [context.Process(target=_spend_many, args=(path, 6, results)) for _ in range(4)]
    for w in workers:  # 24 attempts at 0.1 on a budget of 1.0, at the same time
        w.start()
    done = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert sum(done) == 10
    assert len(PrivacyLedger(path, 1.0).history("shared")) == 10
    assert PrivacyLedger(path, 1.0).remaining("shared") == (0.0, 0.0)


HISTORIES = CaptureHistories.from_counts(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], [300, 280, 250, 80, 70, 60],
    lists=["A", "B", "C"])  # the cell on all three lists is 0: it gets noise too


def test_noisy_histories_noise_every_cell():
    noisy = noisy_histories(HISTORIES, epsilon=0.5)
    assert noisy.noise.values.shape == (7,) and noisy.noise.scale == 2.0
    assert noisy.histories.lists == HISTORIES.lists
    assert (noisy.histories.counts >= 0).all()
    assert np.array_equal(noisy.histories.counts, np.maximum(noisy.noise.raw, 0))


def test_noise_uncertainty_widens_the_interval():
    noisy = noisy_histories(HISTORIES, epsilon=0.2)
    extra = noise_uncertainty(noisy, "fixed", {"model": "[1,2,3]", "nboot": 0}, draws=30, seed=4)
    base = extra.estimate
    assert len(extra.draws) == 30 and extra.sd > 0
    assert extra.lower <= base.interval.lower and extra.upper >= base.interval.upper
    assert abs(np.median(extra.draws) - base.estimate) < 4 * extra.sd
