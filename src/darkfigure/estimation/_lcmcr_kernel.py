"""Gibbs sampler of the latent-class capture-recapture model (Manrique-Vallier 2016), compiled.

The model and the order of the sweep follow the C++ of the R package LCMCR
(``NPLCM_CR_Basic_Freq.cpp``): class counts of the observed patterns, capture probabilities,
stick-breaking weights, the number of unobserved entities ``n0`` and their classes, then the
concentration ``alpha``. Observed entities are handled as distinct patterns with frequencies.

All randomness comes from one ``numpy.random.Generator`` passed in, through methods numba
reproduces exactly (``random``, ``standard_gamma``, ``gamma``, ``beta``, ``binomial``,
``negative_binomial``): compiled and plain-Python runs give the same draws for a seed.
"""

from __future__ import annotations

import math

import numpy as np

from darkfigure._compile import kernel

CATEGORICAL_MAX = 12  # with this many entities or fewer left, one categorical draw each
SMALLEST_DETECTION = 1e-12  # floor of P(seen on some list), keeps the negative binomial finite


@kernel
def _categorical(rng, weights, first, total):  # pragma: no cover - compiled
    """Index k >= first drawn with probability ``weights[k] / total`` (``dan_multinomial_1``)."""
    u = rng.random() * total
    cum = 0.0
    last = weights.shape[0] - 1
    for k in range(first, last):
        cum += weights[k]
        if cum > u:
            return k
    return last


@kernel
def _multinomial(rng, size, weights, out):  # pragma: no cover - compiled
    """``out`` = counts of ``size`` entities spread over classes with unnormalised ``weights``:
    conditional binomials class by class (as GSL), and one categorical draw per entity once at
    most CATEGORICAL_MAX entities are left (cheaper than a binomial each for the other classes)."""
    out[:] = 0
    total = 0.0
    for k in range(weights.shape[0]):
        total += weights[k]
    left = size
    last = weights.shape[0] - 1
    for k in range(last):
        if left <= CATEGORICAL_MAX:
            for _ in range(left):
                out[_categorical(rng, weights, k, total)] += 1
            return
        p = weights[k] / total if total > 0.0 else 0.0
        out[k] = rng.binomial(left, min(max(p, 0.0), 1.0))
        left -= out[k]
        total -= weights[k]
    out[last] = left


@kernel
def _log_gamma(rng, shape):  # pragma: no cover - compiled
    """log of a Gamma(shape, 1) draw, stable for small shapes (Robert & Casella 2004, p. 45)."""
    if shape < 0.5:
        return math.log(1.0 - rng.random()) / shape + math.log(rng.standard_gamma(1.0 + shape))
    return math.log(rng.standard_gamma(shape))


@kernel
def _class_weights(patterns, lam, nu, weights):  # pragma: no cover - compiled
    """weights[m, k] = nu_k * P(pattern m | class k), for every observed pattern."""
    n_cells, n_lists = patterns.shape
    for m in range(n_cells):
        for k in range(nu.shape[0]):
            w = nu[k]
            for j in range(n_lists):
                w *= lam[j, k] if patterns[m, j] == 1 else 1.0 - lam[j, k]
            weights[m, k] = w


@kernel
def _unseen_weights(lam, nu, out):  # pragma: no cover - compiled
    """out[k] = nu_k * P(on no list | class k); returns their sum, P(on no list)."""
    total = 0.0
    for k in range(nu.shape[0]):
        w = nu[k]
        for j in range(lam.shape[0]):
            w *= 1.0 - lam[j, k]
        out[k] = w
        total += w
    return total


@kernel
def _draw_allocations(rng, patterns, freq, lam, nu, weights, alloc):  # pragma: no cover - compiled
    """Classes of the observed entities, counted by pattern (``sam_countzIK``)."""
    _class_weights(patterns, lam, nu, weights)
    for m in range(freq.shape[0]):
        _multinomial(rng, freq[m], weights[m], alloc[m])


@kernel
def _draw_capture(rng, patterns, alloc, unseen, lam):  # pragma: no cover - compiled
    """Capture probabilities from their Beta(1, 1) prior and the class counts (``sam_lambda``)."""
    n_cells, n_lists = patterns.shape
    n_classes = lam.shape[1]
    for k in range(n_classes):
        size = unseen[k]
        for m in range(n_cells):
            size += alloc[m, k]
        for j in range(n_lists):
            caught = 0
            for m in range(n_cells):
                if patterns[m, j] == 1:
                    caught += alloc[m, k]
            if size == 0:  # Beta(1, 1): one uniform instead of Johnk's rejection loop
                lam[j, k] = rng.random()
            else:
                lam[j, k] = rng.beta(1.0 + caught, 1.0 + size - caught)


@kernel
def _draw_weights(rng, alloc, unseen, n_seen, n0, alpha, nu, log_nu):  # pragma: no cover - compiled
    """Stick-breaking weights given the class sizes (``sam_nu``); returns the classes in use."""
    n_classes = nu.shape[0]
    taken = 0
    log_rest = 0.0
    used = 0
    for k in range(n_classes):
        size = unseen[k]
        for m in range(alloc.shape[0]):
            size += alloc[m, k]
        if size > 0:
            used += 1
        if k == n_classes - 1:
            break
        taken += size
        g1 = _log_gamma(rng, 1.0 + size)
        g2 = _log_gamma(rng, alpha + (n0 + n_seen - taken))
        top = max(g1, g2)
        log_sum = top + math.log1p(math.exp(min(g1, g2) - top))
        log_nu[k] = g1 - log_sum + log_rest
        nu[k] = math.exp(log_nu[k])
        log_rest += g2 - log_sum
    log_nu[n_classes - 1] = log_rest
    nu[n_classes - 1] = math.exp(log_rest)
    return used


@kernel
def _draw_unseen(rng, lam, nu, n_seen, unseen_weights, unseen):  # pragma: no cover - compiled
    """The number of unobserved entities (negative binomial: LCMCR's prior p(N) ~ 1/N) and their
    classes (``sam_n0``, ``sam_z0x0``)."""
    p_unseen = _unseen_weights(lam, nu, unseen_weights)
    detection = max(1.0 - p_unseen, SMALLEST_DETECTION)
    n0 = rng.negative_binomial(n_seen, detection) if detection < 1.0 else 0
    _multinomial(rng, n0, unseen_weights, unseen)
    return n0


@kernel
def _sweep(rng, patterns, freq, n_seen, state, weights, unseen_weights, update_alpha):  # pragma: no cover
    """One Gibbs sweep in LCMCR's order; returns (n0, alpha, classes in use)."""
    lam, nu, log_nu, alloc, unseen, scalars = state
    _draw_allocations(rng, patterns, freq, lam, nu, weights, alloc)
    _draw_capture(rng, patterns, alloc, unseen, lam)
    used = _draw_weights(rng, alloc, unseen, n_seen, scalars[0], scalars[1], nu, log_nu)
    scalars[0] = _draw_unseen(rng, lam, nu, n_seen, unseen_weights, unseen)
    if update_alpha:
        k = nu.shape[0]
        scalars[1] = rng.gamma(scalars[2] + k - 1.0, 1.0 / (scalars[3] - log_nu[k - 1]))
    return used


@kernel
def _start(patterns, freq, n_classes, a_alpha, b_alpha):  # pragma: no cover - compiled
    """LCMCR's starting point: capture probabilities at the lists' observed shares, four large
    classes, alpha = 0.3 / K (held there during the warm-up)."""
    n_cells, n_lists = patterns.shape
    n_seen = freq.sum()
    lam = np.empty((n_lists, n_classes))
    for j in range(n_lists):
        caught = 0
        for m in range(n_cells):
            caught += freq[m] * patterns[m, j]
        lam[j, :] = caught / n_seen
    nu = np.full(n_classes, 1.0 / n_classes)
    if n_classes > 4:
        nu[:4] = 0.25 * 0.9
        nu[4:] = 0.1 / (n_classes - 4)
    scalars = np.array([0.0, 0.3 / n_classes, a_alpha, b_alpha])  # n0, alpha, priors of alpha
    alloc = np.zeros((n_cells, n_classes), dtype=np.int64)
    return lam, nu, np.log(nu), alloc, np.zeros(n_classes, dtype=np.int64), scalars


@kernel
def _sort_classes(state):  # pragma: no cover - compiled
    """Relabel the classes by decreasing weight, as LCMCR does after its warm-up."""
    lam, nu, log_nu, alloc, unseen, _ = state
    order = np.argsort(-nu, kind="mergesort")
    lam[:, :] = lam[:, order]
    alloc[:, :] = alloc[:, order]
    nu[:] = nu[order]
    log_nu[:] = log_nu[order]
    unseen[:] = unseen[order]


@kernel
def run_chain(patterns, freq, n_classes, a_alpha, b_alpha, warmup, burnin, samples, thinning, rng):
    """One chain: ``warmup`` sweeps with alpha fixed, ``burnin`` sweeps, then ``samples`` draws
    kept every ``thinning`` sweeps. Returns the draws of N, alpha and the number of classes in use.

    ``patterns`` (cells x lists, 0/1 int64) are the distinct observed patterns, ``freq`` their
    counts (all positive).

    >>> n_total, alpha, used = run_chain(np.array([[1, 0], [0, 1], [1, 1]]), np.array([30, 20, 6]),
    ...                                  3, 0.25, 0.25, 10, 10, 5, 2, np.random.default_rng(1))
    >>> len(n_total), bool(n_total.min() >= 56), bool(used.max() <= 3)
    (5, True, True)
    """
    n_seen = freq.sum()
    state = _start(patterns, freq, n_classes, a_alpha, b_alpha)
    weights = np.empty((patterns.shape[0], n_classes))
    unseen_weights = np.empty(n_classes)
    for _ in range(warmup):
        _sweep(rng, patterns, freq, n_seen, state, weights, unseen_weights, False)
    _sort_classes(state)
    for _ in range(burnin):
        _sweep(rng, patterns, freq, n_seen, state, weights, unseen_weights, True)
    n_total = np.empty(samples, dtype=np.int64)
    alpha = np.empty(samples)
    used = np.empty(samples, dtype=np.int64)
    scalars = state[5]
    k_used = 0
    for s in range(samples):
        for _ in range(thinning):
            k_used = _sweep(rng, patterns, freq, n_seen, state, weights, unseen_weights, True)
        n_total[s] = n_seen + np.int64(scalars[0])
        alpha[s] = scalars[1]
        used[s] = k_used
    return n_total, alpha, used
