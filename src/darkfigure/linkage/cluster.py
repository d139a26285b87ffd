"""Clusterings of scored record pairs into entities, at several thresholds, and the linkage result.

A clustering joins records whose pair's match probability is at or above a threshold, and every
record reachable through such pairs (connected components, as Splink's
``cluster_pairwise_predictions_at_threshold``). Each threshold gives one plausible version of the
entities; turning each into capture histories shows how much linkage moves N.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from darkfigure.errors import InputError
from darkfigure.histories import CaptureHistories


def entities_from_pairs(n_records: int, left: Iterable[int], right: Iterable[int]) -> np.ndarray:
    """Entity ids 1, 2, ... (in order of each entity's first record) from linked record pairs.

    Records are numbered ``0 .. n_records - 1``; a record in no pair is an entity of its own.

    >>> entities_from_pairs(5, [0, 3], [2, 4]).tolist()
    [1, 2, 1, 3, 3]
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n_records, n_records))
    _, labels = connected_components(graph, directed=False)
    return pd.factorize(labels)[0].astype(np.int64) + 1


def cluster_at_thresholds(n_records: int, pairs: pd.DataFrame, thresholds: Iterable[float]) -> dict[float, np.ndarray]:
    """One clustering per threshold from pairs with ``unique_id_l``, ``unique_id_r``, ``match_probability``.

    >>> pairs = pd.DataFrame({"unique_id_l": [0, 1], "unique_id_r": [1, 2], "match_probability": [0.9, 0.6]})
    >>> {t: ids.tolist() for t, ids in cluster_at_thresholds(3, pairs, [0.5, 0.8]).items()}
    {0.5: [1, 1, 1], 0.8: [1, 1, 2]}
    """
    out = {}
    for threshold in sorted(float(t) for t in thresholds):
        kept = pairs[pairs["match_probability"] >= threshold]
        out[threshold] = entities_from_pairs(n_records, kept["unique_id_l"], kept["unique_id_r"])
    return out


@dataclass(frozen=True, eq=False)
class LinkageResult:
    """Records with their entity ids, the scored record pairs, and a clustering per threshold.

    ``records`` has ``list``, ``record_id`` and ``entity_id`` (at ``threshold``); ``pairs`` has
    ``list_l``, ``record_id_l``, ``list_r``, ``record_id_r``, ``match_probability`` and
    ``match_weight`` for the pairs at or above the lowest threshold; ``clusterings`` maps each
    threshold to entity ids in the order of ``records``. ``model`` is the trained Splink model,
    ``blocking_rules`` the rules that generated the pairs, ``timings`` the seconds per stage,
    ``warnings`` what went less well than planned (a training block that had to fall back, say).

    >>> records = pd.DataFrame({"list": ["A", "B", "B"], "record_id": ["1", "1", "2"]})
    >>> r = LinkageResult.from_clusterings(records, pd.DataFrame(), {0.5: [1, 1, 2], 0.9: [1, 2, 3]}, 0.5)
    >>> r.n_entities(), r.n_entities(0.9), r.histories().n_observed
    (2, 3, 2)
    """

    records: pd.DataFrame
    pairs: pd.DataFrame
    clusterings: Mapping[float, np.ndarray]
    threshold: float
    model: Mapping[str, Any] = field(default_factory=dict, repr=False)
    blocking_rules: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_clusterings(
        cls,
        records: pd.DataFrame,
        pairs: pd.DataFrame,
        clusterings: Mapping[float, Iterable[int]],
        threshold: float,
        **details: Any,
    ) -> LinkageResult:
        """Assemble a result; ``records`` gains ``entity_id`` from the clustering at ``threshold``."""
        ids = {float(t): np.asarray(list(v), dtype=np.int64) for t, v in clusterings.items()}
        if float(threshold) not in ids:
            raise InputError(f"no clustering at the chosen threshold {threshold}; have {sorted(ids)}")
        records = records[["list", "record_id"]].reset_index(drop=True).assign(entity_id=ids[float(threshold)])
        return cls(records, pairs, dict(sorted(ids.items())), float(threshold), **details)

    @property
    def thresholds(self) -> tuple[float, ...]:
        """The thresholds with a clustering, ascending."""
        return tuple(self.clusterings)

    def entity_ids(self, threshold: float | None = None) -> np.ndarray:
        """Entity ids of the records (in ``records`` order) at a threshold (default: the chosen one)."""
        key = self.threshold if threshold is None else float(threshold)
        if key not in self.clusterings:
            raise InputError(f"no clustering at threshold {threshold}; thresholds are {list(self.thresholds)}")
        return self.clusterings[key]

    def n_entities(self, threshold: float | None = None) -> int:
        """The number of entities (distinct people) at a threshold."""
        return int(len(np.unique(self.entity_ids(threshold))))

    def histories(self, threshold: float | None = None) -> CaptureHistories:
        """Capture histories of the entities at a threshold (lists ordered by name)."""
        frame = pd.DataFrame({"entity_id": self.entity_ids(threshold), "list": self.records["list"].to_numpy()})
        return CaptureHistories.from_long(frame)

    def to_frame(self) -> pd.DataFrame:
        """``records`` with one ``entity_id_<threshold>`` column per clustering."""
        out = self.records.copy()
        for t, ids in self.clusterings.items():
            out[f"entity_id_{t:g}"] = ids
        return out

    def summary(self) -> str:
        """One paragraph: records, lists, entities at each threshold, pairs scored."""
        lists = self.records["list"].unique()
        by_t = ", ".join(f"{self.n_entities(t):,} at {t:g}" for t in self.thresholds)
        return (
            f"Linked {len(self.records):,} records from {len(lists)} lists ({', '.join(map(str, lists))}) into "
            f"{self.n_entities():,} entities at match probability {self.threshold:g} ({by_t}); "
            f"{len(self.pairs):,} record pairs scored at or above {min(self.thresholds):g}."
        )


def histories_by_threshold(result: LinkageResult) -> dict[float, CaptureHistories]:
    """Capture histories of each clustering, by threshold: one replicate of the data per threshold.

    >>> records = pd.DataFrame({"list": ["A", "B", "B"], "record_id": ["1", "1", "2"]})
    >>> r = LinkageResult.from_clusterings(records, pd.DataFrame(), {0.5: [1, 1, 2], 0.9: [1, 2, 3]}, 0.5)
    >>> {t: h.n_observed for t, h in histories_by_threshold(r).items()}
    {0.5: 2, 0.9: 3}
    """
    return {t: result.histories(t) for t in result.thresholds}
