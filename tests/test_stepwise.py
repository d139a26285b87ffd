"""Stepwise selection: hand-checkable cases and the fast candidate screen against the full check."""

import numpy as np
import pytest
from scipy.stats import poisson

import darkfigure.estimation.stepwise as stepwise
from darkfigure import CaptureHistories
from darkfigure.errors import EstimationError, ModelNotEstimable
from darkfigure.estimation.existence import check_counts
from darkfigure.estimation.loglinear import fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.estimation.stepwise import pair_terms, stepwise_path

TABLE = ([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], [50, 40, 30, 60, 5, 4, 6])


def test_pair_order_is_sparsemse():
    assert pair_terms(4) == [0b0011, 0b0101, 0b1001, 0b0110, 0b1010, 0b1100]


def test_first_step_p_value_is_poisson_tail_of_overlap():
    h = CaptureHistories.from_counts(*TABLE)
    independence = fit_model(h, HierarchicalModel.independence(3))
    # expected number on both A and B under independence, from the fitted cells
    p_values = {}
    for pair in (0b011, 0b101, 0b110):
        on_both = (independence.cells & pair) == pair
        expected = independence.fitted[on_both].sum()
        observed = h.counts[(h.cells & pair) == pair].sum()
        p_values[pair] = min(poisson.cdf(observed, expected), poisson.sf(observed - 1, expected))
    path = stepwise_path(h.counts, h.cells, 3)
    best = min(p_values, key=p_values.get)
    assert path.steps[0].term == best == 0b101  # A:C, the most surprising overlap
    assert path.steps[0].p_value == pytest.approx(p_values[best], rel=1e-9)


def test_threshold_zero_gives_independence():
    h = CaptureHistories.from_counts(*TABLE)
    assert stepwise_path(h.counts, h.cells, 3, p_threshold=0.0).model.terms == frozenset()


def test_stops_when_no_pair_is_significant():
    h = CaptureHistories.from_counts(*TABLE)
    path = stepwise_path(h.counts, h.cells, 3)
    assert [s.term for s in path.steps] == [0b101, 0b110]
    assert all(s.p_value < 0.02 for s in path.steps)
    assert stepwise_path(h.counts, h.cells, 3, p_threshold=0.015).model.terms == frozenset()  # first p = 0.0161


def _random_sparse_table(rng, t):
    counts = rng.poisson(rng.gamma(0.4, 6.0, size=(1 << t) - 1))
    counts[(1 << np.arange(t)) - 1] += rng.integers(1, 20, size=t)  # every list has cases
    return counts


def test_fast_screen_agrees_with_full_check(monkeypatch):
    """Differential test: the rank screen must pick the same models as SparseMSE's full check
    (linear programme for every candidate) on sparse random tables."""
    rng = np.random.default_rng(7)
    tables = [(_random_sparse_table(rng, t), t) for t in (3, 4, 5) for _ in range(25)]
    fast = [_selected(c, t) for c, t in tables]

    def full_only(self, outside):
        todo = np.flatnonzero(~self.included)
        verdict = np.zeros(len(self.pairs), dtype=bool)
        for k in todo:
            verdict[k] = check_counts(self.y, self.cells, self.model.with_term(self.pairs[k])).ok
        return verdict

    monkeypatch.setattr(stepwise._State, "_estimable", full_only)
    slow = [_selected(c, t) for c, t in tables]
    assert fast == slow
    assert sum(isinstance(m, HierarchicalModel) and bool(m.terms) for m in fast) > 30  # real selections


def _selected(counts, t):
    try:
        return stepwise_path(counts, np.arange(1, 1 << t), t, p_threshold=0.2).model
    except ModelNotEstimable as exc:
        return exc.code
    except EstimationError as exc:  # a fit that broke down: both paths must agree on that too
        return str(exc)


# A DP-noised stratum table of the demo coalition (five lists; 659 police-only): the warm-started
# Newton steps for hotline:shelter diverge, while R's glm start y + 0.1 converges (walkthrough issue 2)
NOISY_STRATUM = [73, 23, 0, 659, 4, 2, 0, 5, 1, 2, 1, 0, 1, 0, 0, 71, 4, 0, 0, 2, 0, 0, 1, 1, 0, 0, 4, 3, 1, 1, 1]


def test_fit_that_diverges_from_warm_start_is_refitted_from_r_start():
    h = CaptureHistories.from_counts(np.arange(1, 32)[:, None] >> np.arange(5) & 1, NOISY_STRATUM)
    path = stepwise_path(h.counts, h.cells, 5)
    # first step by hand: independence fit, Poisson tails of each pair's overlap; hotline:shelter (2 and 4)
    independence = fit_model(h, HierarchicalModel.independence(5))
    p_values = {}
    for pair in pair_terms(5):
        on_both = (independence.cells & pair) == pair
        observed = h.counts[(h.cells & pair) == pair].sum()
        expected = independence.fitted[on_both].sum()
        p_values[pair] = min(poisson.cdf(observed, expected), poisson.sf(observed - 1, expected))
    assert path.steps[0].term == min(p_values, key=p_values.get) == 0b01010
    # N of the selected model, fitted on its own (cold start, checked against R elsewhere)
    assert h.n_observed + np.exp(path.intercept) == pytest.approx(fit_model(h, path.model).estimate, rel=1e-6)


def test_candidate_whose_fit_breaks_down_is_skipped(monkeypatch):
    """A singular refit makes that pair not estimable for the step (as SparseMSE skips models whose
    MLE does not exist): the next pair is added instead of the whole selection failing."""
    h = CaptureHistories.from_counts(*TABLE)
    a_c = ((h.cells & 0b101) == 0b101).astype(float)
    real = stepwise.fit_and_screen

    def singular_with_a_c(x, *args):
        if np.any(np.all(x[:, 4:] == a_c[:, None], axis=0)):
            raise np.linalg.LinAlgError("Matrix is singular to machine precision.")
        return real(x, *args)

    monkeypatch.setattr(stepwise, "fit_and_screen", singular_with_a_c)
    path = stepwise_path(h.counts, h.cells, 3)
    # scipy's Poisson tails under independence: A:C 0.0161, A:B 0.0191 (60 seen, 50.28 expected),
    # B:C 0.0214; with A:C out, A:B goes in; then A:C is still singular and B:C stays above 0.02
    assert [s.term for s in path.steps] == [0b011]
    assert path.steps[0].p_value == pytest.approx(_independence_p(h, 0b011), rel=1e-9)
    assert h.n_observed + np.exp(path.intercept) == pytest.approx(fit_model(h, path.model).estimate, rel=1e-6)


def _independence_p(h, pair):
    independence = fit_model(h, HierarchicalModel.independence(h.n_lists))
    expected = independence.fitted[(independence.cells & pair) == pair].sum()
    observed = h.counts[(h.cells & pair) == pair].sum()
    return min(poisson.cdf(observed, expected), poisson.sf(observed - 1, expected))
