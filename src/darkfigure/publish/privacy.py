"""Differential privacy for published counts and capture-history tables, and a privacy-budget ledger.

Noise comes from OpenDP's measurements on integer vectors: ``laplace`` is the discrete Laplace
(two-sided geometric) law, ``P(z) ~ exp(-|z| / scale)``, with ``scale = sensitivity / epsilon``
(pure epsilon-DP, L1 sensitivity); ``gaussian`` is the discrete Gaussian, ``P(z) ~ exp(-z^2 / 2 scale^2)``,
zero-concentrated DP converted by OpenDP to (epsilon, delta)-DP, its scale the smallest that meets
both (L2 sensitivity). A table where each entity is counted in exactly one cell (a capture-history
table, a cross-table without margins) has sensitivity 1 when one entity is added or removed. Margins
are not noised: they are sums of the noisy cells (post-processing costs no privacy).

OpenDP draws its noise from the operating system's secure generator; released noise cannot be
seeded (a seeded noise could be reproduced and subtracted). Simulations of the noise, to measure the
uncertainty it adds (:func:`noise_uncertainty`), use numpy with a seed.

:class:`PrivacyLedger` keeps, per dataset, the budget and every release's spend in a JSON file,
written atomically under a file lock: a release is refused (:class:`PrivacyBudgetExceeded`, nothing
spent) once the budget is gone, also when several processes release at once. Spends add up
(sequential composition).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkfigure.errors import InputError, PrivacyBudgetExceeded
from darkfigure.estimation.results import Estimate
from darkfigure.histories import CaptureHistories

MECHANISMS = ("laplace", "gaussian")
_TOLERANCE = 1e-9  # float slack when adding spends up to the budget


# ------------------------------------------------------------------------------------------ the ledger
class PrivacyLedger:
    """A persistent privacy budget per dataset: each release spends some and is refused when over.

    ``epsilon_budget`` and ``delta_budget`` apply to datasets not yet in the file; a dataset's budget,
    once recorded, is kept (a later ledger cannot raise it). The file is JSON, rewritten atomically
    under an exclusive lock on ``<path>.lock``.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "ledger.json"
    >>> ledger = PrivacyLedger(path, epsilon_budget=1.0)
    >>> _ = ledger.spend("nk-2023", 0.6, purpose="table by province")
    >>> PrivacyLedger(path, epsilon_budget=1.0).remaining("nk-2023")  # read back from the file
    (0.4, 0.0)
    >>> ledger.spend("nk-2023", 0.5)
    Traceback (most recent call last):
    ...
    darkfigure.errors.PrivacyBudgetExceeded: dataset 'nk-2023': this release needs epsilon 0.5 but only ...
    """

    def __init__(self, path: str | Path, epsilon_budget: float | None, delta_budget: float = 0.0) -> None:
        self.path = Path(path)
        if epsilon_budget is not None:
            _check_epsilon(epsilon_budget, "epsilon_budget")
        _check_delta(delta_budget, "delta_budget")
        self.epsilon_budget, self.delta_budget = epsilon_budget, float(delta_budget)

    def spend(self, dataset: str, epsilon: float, delta: float = 0.0, purpose: str = "") -> dict[str, Any]:
        """Record a release that spends ``epsilon`` (and ``delta``) of ``dataset``'s budget; raise
        :class:`PrivacyBudgetExceeded` (recording nothing) when that is more than is left."""
        _check_epsilon(epsilon, "epsilon")
        _check_delta(delta, "delta")
        with self._locked():
            book = self._read()
            entry = book["datasets"].get(dataset) or self._new_entry(dataset)
            left_epsilon, left_delta = _left(entry)
            if epsilon > left_epsilon + _TOLERANCE or delta > left_delta + _TOLERANCE:
                raise PrivacyBudgetExceeded(_refusal(dataset, epsilon, delta, entry, left_epsilon, left_delta))
            record = {"epsilon": float(epsilon), "delta": float(delta), "purpose": purpose,
                      "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "number": len(entry["spends"]) + 1}
            entry["spends"].append(record)
            book["datasets"][dataset] = entry
            self._write(book)
        return record

    def remaining(self, dataset: str) -> tuple[float, float]:
        """Epsilon and delta left for ``dataset`` (its whole budget when nothing was spent yet)."""
        entry = self._read()["datasets"].get(dataset) or self._new_entry(dataset)
        left_epsilon, left_delta = _left(entry)
        return round(max(left_epsilon, 0.0), 12), round(max(left_delta, 0.0), 15)

    def budget(self, dataset: str) -> tuple[float, float]:
        """The epsilon and delta budget of ``dataset``."""
        entry = self._read()["datasets"].get(dataset) or self._new_entry(dataset)
        return entry["epsilon_budget"], entry["delta_budget"]

    def history(self, dataset: str) -> list[dict[str, Any]]:
        """Every spend on ``dataset``, oldest first: epsilon, delta, purpose, time, number."""
        entry = self._read()["datasets"].get(dataset)
        return [dict(s) for s in entry["spends"]] if entry else []

    def _new_entry(self, dataset: str) -> dict[str, Any]:
        if self.epsilon_budget is None:
            raise InputError(f"dataset {dataset!r} has no budget in {self.path}; give epsilon_budget to start one")
        return {"epsilon_budget": float(self.epsilon_budget), "delta_budget": self.delta_budget, "spends": []}

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": 1, "datasets": {}}
        try:
            book = json.loads(text)
            assert isinstance(book["datasets"], dict)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise InputError("not a privacy ledger (JSON with 'datasets'); refusing to overwrite it",
                             source=str(self.path)) from None
        return book

    def _write(self, book: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(book, out, indent=2, ensure_ascii=False)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl  # POSIX; the ledger is for the servers and laptops darkfigure runs on

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _left(entry: dict[str, Any]) -> tuple[float, float]:
    spent_epsilon = math.fsum(s["epsilon"] for s in entry["spends"])
    spent_delta = math.fsum(s["delta"] for s in entry["spends"])
    return entry["epsilon_budget"] - spent_epsilon, entry["delta_budget"] - spent_delta


def _refusal(dataset: str, epsilon: float, delta: float, entry: dict[str, Any], left_e: float, left_d: float) -> str:
    what = f"epsilon {epsilon:g}" + (f" and delta {delta:g}" if delta else "")
    left = f"epsilon {max(left_e, 0):.6g} of {entry['epsilon_budget']:g}"
    if delta or entry["delta_budget"]:
        left += f" and delta {max(left_d, 0):.3g} of {entry['delta_budget']:g}"
    return (f"dataset {dataset!r}: this release needs {what} but only {left} is left; nothing was spent. "
            "Publish less (fewer tables), reuse a table already released, or accept more noise (smaller epsilon)")


def _check_epsilon(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a positive number such as 1.0; got {value!r}")


def _check_delta(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise InputError(f"{name} must be a number from 0 up to (not including) 1, such as 1e-6; got {value!r}")


# ------------------------------------------------------------------------------------------- the noise
@dataclass(frozen=True)
class NoisyCounts:
    """Counts with noise: ``values`` (post-processed: whole, non-negative when asked), ``raw`` (the
    mechanism's output), the mechanism, its ``scale``, ``epsilon``, ``delta`` and ``sensitivity``.
    ``table`` holds the values in the input's pandas shape when the input was a DataFrame or Series.

    >>> noisy = noisy_counts(pd.Series([40, 3], index=["Jilin", "Hebei"]), epsilon=1.0)
    >>> noisy.mechanism, noisy.scale, round(noisy.noise_sd, 2), noisy.margin(0.95), list(noisy.table.index)
    ('laplace', 1.0, 1.36, 3, ['Jilin', 'Hebei'])
    """

    values: np.ndarray
    raw: np.ndarray = field(repr=False)
    mechanism: str
    scale: float
    epsilon: float
    delta: float
    sensitivity: int
    table: pd.DataFrame | pd.Series | None = field(default=None, repr=False, compare=False)

    @property
    def noise_sd(self) -> float:
        """Standard deviation of the noise added to each count."""
        return noise_sd(self.mechanism, self.scale)

    def margin(self, level: float = 0.95) -> int:
        """The noise stays within plus or minus this many with probability at least ``level``."""
        support, pmf = noise_pmf(self.mechanism, self.scale)
        within = np.cumsum(np.bincount(np.abs(support), weights=pmf))  # P(|noise| <= m), m = 0, 1, ...
        return int(np.searchsorted(within, level - 1e-12))


def noise_scale(epsilon: float, mechanism: str = "laplace", delta: float | None = None, sensitivity: int = 1) -> float:
    """The noise scale OpenDP needs for ``epsilon`` (and ``delta``) at this sensitivity: for
    ``laplace`` exactly ``sensitivity / epsilon``.

    >>> noise_scale(0.5), noise_scale(0.5, sensitivity=2)
    (2.0, 4.0)
    >>> round(noise_scale(1.0, "gaussian", delta=1e-6), 3)
    4.531
    """
    _check_mechanism(mechanism, delta)
    _check_epsilon(epsilon, "epsilon")
    if isinstance(sensitivity, bool) or not isinstance(sensitivity, int | np.integer) or sensitivity < 1:
        raise InputError(f"sensitivity must be a whole number of at least 1; got {sensitivity!r}")
    if mechanism == "laplace":
        return float(sensitivity) / float(epsilon)
    return _gaussian_scale(float(epsilon), float(delta), int(sensitivity))  # type: ignore[arg-type]


def _gaussian_scale(epsilon: float, delta: float, sensitivity: int) -> float:
    from scipy.optimize import brentq

    def excess(log_scale: float) -> float:
        return _privacy_of(_measurement("gaussian", math.exp(log_scale)), sensitivity, delta) - epsilon

    low, high = math.log(sensitivity) - 3, math.log(sensitivity) + 15
    scale = math.exp(brentq(excess, low, high, xtol=1e-12)) * (1 + 1e-9)
    while _privacy_of(_measurement("gaussian", scale), sensitivity, delta) > epsilon:
        scale *= 1 + 1e-9
    return scale


def _check_mechanism(mechanism: str, delta: float | None) -> None:
    if mechanism not in MECHANISMS:
        raise InputError(f"unknown mechanism {mechanism!r}; choose one of {', '.join(MECHANISMS)}")
    if mechanism == "gaussian" and (delta is None or not 0 < delta < 1):
        raise InputError(f"the gaussian mechanism needs a delta between 0 and 1 (such as 1e-6); got {delta!r}")
    if mechanism == "laplace" and delta:
        raise InputError(f"the laplace mechanism is pure epsilon-DP and takes no delta; got delta {delta!r}")


def _measurement(mechanism: str, scale: float) -> Any:
    """OpenDP's measurement on a vector of 64-bit integers."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    domain = dp.vector_domain(dp.atom_domain(T="i64"))
    if mechanism == "laplace":
        return dp.m.make_laplace(domain, dp.l1_distance(T="i64"), scale=scale)
    return dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(domain, dp.l2_distance(T="i64"), scale=scale))


def _privacy_of(measurement: Any, sensitivity: int, delta: float | None) -> float:
    """Epsilon that OpenDP certifies for this measurement at this sensitivity (and delta)."""
    spent = measurement.map(sensitivity)
    return float(spent) if delta is None or not delta else float(spent.epsilon(delta))


def noisy_counts(
    counts: Any,
    epsilon: float,
    mechanism: str = "laplace",
    delta: float | None = None,
    *,
    sensitivity: int = 1,
    nonnegative: bool = True,
    ledger: PrivacyLedger | None = None,
    dataset: str | None = None,
    purpose: str = "",
) -> NoisyCounts:
    """Add OpenDP noise to whole counts (an array, Series or DataFrame, each entity in one cell).

    With a ``ledger`` the release first spends its epsilon (and delta) on ``dataset``, so a refused
    release draws no noise. ``nonnegative`` sets negative noisy counts to 0 (post-processing).

    >>> noisy = noisy_counts([40, 3, 12], epsilon=0.5)
    >>> noisy.scale, noisy.values.shape, bool((noisy.values >= 0).all())
    (2.0, (3,), True)
    """
    values, template = _whole_vector(counts)
    scale = noise_scale(epsilon, mechanism, delta, sensitivity)
    measurement = _measurement(mechanism, scale)
    certified = _privacy_of(measurement, sensitivity, delta)
    if certified > epsilon * (1 + 1e-9):  # OpenDP's own accounting must agree with ours
        raise InputError(f"OpenDP certifies epsilon {certified} for scale {scale}, more than asked ({epsilon})")
    if ledger is not None:
        if not dataset:
            raise InputError("a release against a ledger must name its dataset")
        ledger.spend(dataset, epsilon, float(delta or 0.0), purpose)
    raw = np.asarray(measurement(values.ravel().tolist()), dtype=np.int64).reshape(values.shape)
    shown = np.maximum(raw, 0) if nonnegative else raw
    return NoisyCounts(shown, raw, mechanism, scale, float(epsilon), float(delta or 0.0), int(sensitivity),
                       _like(template, shown))


def _whole_vector(counts: Any) -> tuple[np.ndarray, Any]:
    template = counts if isinstance(counts, pd.DataFrame | pd.Series) else None
    try:
        values = np.asarray(counts.to_numpy() if template is not None else counts, dtype=float)
    except (TypeError, ValueError):
        raise InputError("counts must be whole numbers") from None
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values != np.round(values)) or np.any(values < 0):
        raise InputError("counts must be whole numbers of at least 0, with no missing values")
    return values.astype(np.int64), template


def _like(template: Any, values: np.ndarray) -> pd.DataFrame | pd.Series | None:
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(values, index=template.index, columns=template.columns)
    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index, name=template.name)
    return None


def noise_sd(mechanism: str, scale: float) -> float:
    """Standard deviation of one draw of the noise: ``sqrt(2a) / (1 - a)`` with ``a = exp(-1/scale)``
    for the discrete Laplace; close to ``scale`` for the discrete Gaussian (computed exactly).

    >>> round(noise_sd("laplace", 2.0), 4)  # a = exp(-0.5) = 0.60653: sqrt(1.21306) / 0.39347
    2.7992
    """
    if mechanism == "laplace":
        a = math.exp(-1.0 / scale)
        return math.sqrt(2 * a) / (1 - a)
    support, pmf = noise_pmf(mechanism, scale)
    return float(np.sqrt(np.sum(pmf * support.astype(float) ** 2)))


def noise_pmf(mechanism: str, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The noise law: support (whole numbers around 0, wide enough that what lies outside has
    probability below 1e-15) and probabilities.

    >>> support, pmf = noise_pmf("laplace", 1.0)
    >>> round(float(pmf[support == 0][0]), 6)  # (1 - a) / (1 + a), a = exp(-1)
    0.462117
    """
    _check_mechanism(mechanism, 1e-6 if mechanism == "gaussian" else None)
    reach = int(math.ceil(scale * (36 if mechanism == "laplace" else 9))) + 5
    support = np.arange(-reach, reach + 1)
    if mechanism == "laplace":
        log_weight = -np.abs(support) / scale
    else:
        log_weight = -(support.astype(float) ** 2) / (2 * scale * scale)
    weight = np.exp(log_weight - log_weight.max())
    return support, weight / weight.sum()


def simulate_noise(mechanism: str, scale: float, size: int | tuple[int, ...], seed: int | None = 0) -> np.ndarray:
    """Draws of the same noise law with numpy (for simulating the noise's effect, never for a release).

    >>> simulate_noise("laplace", 2.0, 4, seed=1).shape
    (4,)
    """
    support, pmf = noise_pmf(mechanism, scale)
    return np.random.default_rng(seed).choice(support, size=size, p=pmf)


# ---------------------------------------------------------------------------- capture-history tables
@dataclass(frozen=True)
class NoisyHistories:
    """A capture-history table with noise on every observable cell (zeros included), as published.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 0], lists=["A", "B"])
    >>> noisy = noisy_histories(h, epsilon=2.0)
    >>> noisy.histories.n_lists, noisy.noise.scale, noisy.noise.values.shape
    (2, 0.5, (3,))
    """

    histories: CaptureHistories
    noise: NoisyCounts


def noisy_histories(
    histories: CaptureHistories,
    epsilon: float,
    mechanism: str = "laplace",
    delta: float | None = None,
    *,
    ledger: PrivacyLedger | None = None,
    dataset: str | None = None,
    purpose: str = "capture-history table",
) -> NoisyHistories:
    """The table with noise on all ``2**t - 1`` cells (so that which cells are empty is not given
    away), each entity counting in one cell (sensitivity 1); noisy counts below 0 become 0.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [300, 200, 60], lists=["A", "B"])
    >>> noisy = noisy_histories(h, epsilon=1.0)
    >>> noisy.histories.lists, noisy.noise.scale
    (('A', 'B'), 1.0)
    """
    noise = noisy_counts(histories.counts, epsilon, mechanism, delta, ledger=ledger, dataset=dataset,
                         purpose=purpose)
    return NoisyHistories(histories.with_counts(noise.values), noise)


@dataclass(frozen=True)
class NoiseUncertainty:
    """How much the noise moves an estimate: the estimate on the published (noisy) table, the
    estimates over simulated re-noisings of it, their spread, and the estimate's interval widened
    by that spread (each side in quadrature); see :func:`noise_uncertainty` for an example.

    >>> NoiseUncertainty.__dataclass_fields__.keys() >= {"sd", "lower", "upper"}
    True
    """

    estimate: Estimate
    draws: np.ndarray = field(repr=False)
    sd: float
    lower: float
    upper: float
    level: float


def noise_uncertainty(
    noisy: NoisyHistories,
    method: str = "stepwise",
    settings: dict[str, Any] | None = None,
    *,
    draws: int = 50,
    seed: int | None = 0,
    level: float = 0.95,
) -> NoiseUncertainty:
    """The extra uncertainty the noise adds to an estimate of N. The published table is noised again
    ``draws`` times with the same law (post-processing: no privacy spent), each estimated without
    bootstrap; the spread of those estimates is the noise's share of the uncertainty.

    >>> h = CaptureHistories.from_counts([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1],
    ...                                   [1, 1, 1]], [300, 280, 250, 80, 70, 60, 20], lists=["A", "B", "C"])
    >>> extra = noise_uncertainty(noisy_histories(h, epsilon=1.0), "fixed", {"model": "[1,2,3]"}, draws=20)
    >>> bool(extra.lower < extra.estimate.estimate < extra.upper), bool(extra.sd > 0)
    (True, True)
    """
    from darkfigure.estimation.api import BOOTSTRAP_METHODS, estimate

    settings = {**(settings or {}), "level": level}
    base = estimate(noisy.histories, method, **settings)
    quick = {**settings, "nboot": 0} if method in BOOTSTRAP_METHODS else settings
    counts, law = noisy.histories.counts, noisy.noise
    noise = simulate_noise(law.mechanism, law.scale, (draws, len(counts)), seed)
    estimates = np.array([estimate(noisy.histories.with_counts(np.maximum(counts + e, 0)), method,
                                   **quick).estimate for e in noise])
    return _widened(base, estimates, level)


def _widened(base: Estimate, estimates: np.ndarray, level: float) -> NoiseUncertainty:
    centre = float(np.median(estimates))
    below, above = np.quantile(estimates, [(1 - level) / 2, (1 + level) / 2]) - centre
    iv = base.interval
    own_lower = base.estimate - iv.lower if iv else 0.0
    own_upper = iv.upper - base.estimate if iv else 0.0
    lower = base.estimate - math.hypot(own_lower, float(below))
    upper = base.estimate + math.hypot(own_upper, float(above))
    return NoiseUncertainty(base, estimates, float(np.std(estimates, ddof=1)), lower, upper, level)
