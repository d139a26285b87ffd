"""Intervals and the bootstrap, on cases worked by hand."""

import math

import numpy as np
import pytest

from darkfigure.estimation.bootstrap import bootstrap
from darkfigure.estimation.intervals import (
    bca_interval,
    jackknife_acceleration,
    normal_log_interval,
)


def test_normal_log_interval_by_hand():
    # n0 = 100, se(log n0) = 0.1: exp(log 100 +- 1.959964 * 0.1)
    iv = normal_log_interval(50, math.log(100.0), 0.1, 0.95)
    assert iv.lower == pytest.approx(50 + 100 * math.exp(-0.1959964), rel=1e-6)
    assert iv.upper == pytest.approx(50 + 100 * math.exp(0.1959964), rel=1e-6)


def test_bca_without_bias_or_acceleration_is_percentile_type8():
    reps = np.arange(1.0, 101.0)  # 1..100; half below the estimate 50.5 -> z0 = 0
    iv = bca_interval(reps, 50.5, 0.0, 0.9)
    # Hyndman-Fan type 8 quantile: position (n + 1/3) p + 1/3
    for p, got in ((0.05, iv.lower), (0.95, iv.upper)):
        h = (100 + 1 / 3) * p + 1 / 3
        assert got == pytest.approx(reps[int(h) - 1] + (h - int(h)) * (reps[int(h)] - reps[int(h) - 1]))


def test_acceleration_of_symmetric_jackknife_is_zero():
    assert jackknife_acceleration(np.array([3, 3]), np.array([9.0, 11.0])) == 0.0


def test_acceleration_by_hand():
    counts = np.array([1, 2, 0])
    loo = np.array([10.0, 13.0, 0.0])
    mean = (10 + 2 * 13) / 3
    r = np.array([mean - 10, mean - 13])
    expected = (r[0] ** 3 + 2 * r[1] ** 3) / (6 * (r[0] ** 2 + 2 * r[1] ** 2) ** 1.5)
    assert jackknife_acceleration(counts, loo) == pytest.approx(expected)


def test_bootstrap_is_reproducible_and_counts_failures():
    counts = np.array([30, 20, 2])

    def lincoln_petersen(c):
        from darkfigure.errors import EstimationError

        if c[2] == 0:
            raise EstimationError("no recaptures")
        return (c[0] + c[2]) * (c[1] + c[2]) / c[2]

    a = bootstrap(counts, lincoln_petersen, 300, np.random.default_rng(3))
    b = bootstrap(counts, lincoln_petersen, 300, np.random.default_rng(3))
    assert np.array_equal(a.replicates, b.replicates)
    assert a.failures + len(a.replicates) == 300
    assert a.failures > 0  # with 2 recaptures of 52, some resamples have none
