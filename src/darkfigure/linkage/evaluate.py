"""Linkage quality against known truth: pairwise and cluster precision, recall and F1.

Pairwise: every two records put in one entity is a predicted pair; a pair is correct when the two
records are truly one person. Cluster level: a predicted entity is correct when it holds exactly the
records of one true entity (singletons included). A measure with nothing to count (no predicted
pairs, say) is 1: nothing was claimed wrongly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from darkfigure.errors import InputError


@dataclass(frozen=True)
class LinkageQuality:
    """Pairwise and cluster-level precision, recall and F1, with the counts behind them.

    >>> q = evaluate([1, 1, 2, 3], [1, 1, 2, 2])
    >>> q.pair_precision, q.pair_recall, q.cluster_recall
    (1.0, 0.5, 0.5)
    """

    pair_precision: float
    pair_recall: float
    pair_f1: float
    cluster_precision: float
    cluster_recall: float
    cluster_f1: float
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    predicted_clusters: int
    true_clusters: int
    correct_clusters: int

    def summary(self) -> str:
        """Two lines: pairwise and cluster precision / recall / F1."""
        return (
            f"pairs:    precision {self.pair_precision:.4f}  recall {self.pair_recall:.4f}  F1 {self.pair_f1:.4f}"
            f"  ({self.correct_pairs:,} of {self.predicted_pairs:,} predicted, {self.true_pairs:,} true)\n"
            f"clusters: precision {self.cluster_precision:.4f}  recall {self.cluster_recall:.4f}  "
            f"F1 {self.cluster_f1:.4f}  ({self.correct_clusters:,} of {self.predicted_clusters:,} predicted, "
            f"{self.true_clusters:,} true)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The measures and counts as plain numbers (JSON-ready)."""
        return asdict(self)


def evaluate(
    predicted: Sequence[Any] | np.ndarray | pd.Series, truth: Sequence[Any] | np.ndarray | pd.Series
) -> LinkageQuality:
    """Compare predicted entity ids with true entity ids, record by record.

    >>> q = evaluate(["a", "a", "a"], [1, 1, 2])   # one false link among three pairs
    >>> round(q.pair_precision, 4), q.pair_recall, q.cluster_precision, q.cluster_recall
    (0.3333, 1.0, 0.0, 0.0)
    """
    pred, true = pd.Series(np.asarray(predicted)), pd.Series(np.asarray(truth))
    if len(pred) != len(true):
        raise InputError(f"got {len(pred)} predicted entity ids but {len(true)} true ones; give one of each per record")
    if pred.isna().any() or true.isna().any():
        raise InputError("entity ids must not be missing; give every record a predicted and a true entity id")
    joint = pd.DataFrame({"p": pred.to_numpy(), "t": true.to_numpy()}).value_counts().reset_index(name="n")
    sizes_p, sizes_t = pred.value_counts(), true.value_counts()
    correct = int(_pairs(joint["n"]))
    exact = (joint["n"].to_numpy() == sizes_p.loc[joint["p"]].to_numpy()) & (
        joint["n"].to_numpy() == sizes_t.loc[joint["t"]].to_numpy()
    )
    return _quality(
        (int(_pairs(sizes_p)), int(_pairs(sizes_t)), correct),
        (len(sizes_p), len(sizes_t), int(exact.sum())),
    )


def _pairs(sizes: pd.Series) -> int:
    n = sizes.to_numpy(dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def _quality(pairs: tuple[int, int, int], clusters: tuple[int, int, int]) -> LinkageQuality:
    return LinkageQuality(*_prf(*pairs), *_prf(*clusters), *pairs, *clusters)


def _prf(predicted: int, true: int, correct: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
