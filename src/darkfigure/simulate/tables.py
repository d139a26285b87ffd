"""Capture-history tables drawn from a population of known size N.

Each function gives the probabilities of all ``2**t`` cells (cell 0, on no list, included), for
:func:`sample_table` to draw a table of ``N`` entities from. The true N is then known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories, pattern_matrix


def _all_patterns(n_lists: int) -> np.ndarray:
    return np.vstack([np.zeros((1, n_lists), dtype=np.int64), pattern_matrix(n_lists)])


def independent_probabilities(capture: Sequence[float]) -> np.ndarray:
    """Cell probabilities when each list captures independently with the given probabilities.

    >>> independent_probabilities([0.5, 0.5]).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    p = np.asarray(capture, dtype=float)
    pat = _all_patterns(len(p))
    return np.prod(np.where(pat == 1, p, 1 - p), axis=1)


def mixture_probabilities(capture: Sequence[Sequence[float]], shares: Sequence[float]) -> np.ndarray:
    """Heterogeneous population: groups (rows of ``capture``) in the given shares, independent
    captures within each group (a latent-class population).

    >>> mixture_probabilities([[0.5, 0.5], [0.1, 0.1]], [0.5, 0.5]).round(3).tolist()
    [0.53, 0.17, 0.17, 0.13]
    """
    w = np.asarray(shares, dtype=float)
    w = w / w.sum()
    return sum(wi * independent_probabilities(row) for wi, row in zip(w, capture, strict=True))


def loglinear_probabilities(model: HierarchicalModel, coefficients: Sequence[float]) -> np.ndarray:
    """Cell probabilities of a log-linear model (coefficients in ``model.columns`` order; the
    intercept is irrelevant, probabilities are normalised).

    >>> m = HierarchicalModel.independence(2)
    >>> loglinear_probabilities(m, [0.0, 0.0, 0.0]).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    cells = np.arange(1 << model.n_lists, dtype=np.int64)
    eta = model.design(cells) @ np.asarray(coefficients, dtype=float)
    w = np.exp(eta - eta.max())
    return w / w.sum()


def sample_table(
    probabilities: np.ndarray,
    n_total: int,
    rng: np.random.Generator,
    lists: Sequence[str] | None = None,
) -> CaptureHistories:
    """Draw the capture histories of ``n_total`` entities; entities on no list are not observed.

    >>> h = sample_table(independent_probabilities([0.3, 0.4, 0.5]), 1000, np.random.default_rng(1))
    >>> h.n_observed < 1000
    True
    """
    counts = rng.multinomial(n_total, probabilities / probabilities.sum())
    n_lists = int(np.log2(len(probabilities)))
    names = tuple(lists) if lists is not None else tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n_lists])
    table = counts.astype(np.int64)
    table[0] = 0
    return CaptureHistories(names, table)
