"""Clustering of scored pairs: hand-worked cases and a randomised check against Splink's clustering."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from splink import DuckDBAPI
from splink.clustering import cluster_pairwise_predictions_at_threshold

from darkfigure.errors import InputError
from darkfigure.linkage.cluster import (
    LinkageResult,
    cluster_at_thresholds,
    entities_from_pairs,
    histories_by_threshold,
)
from darkfigure.linkage.evaluate import evaluate


def test_entities_numbered_by_first_record():
    assert entities_from_pairs(6, [4, 1], [5, 3]).tolist() == [1, 2, 3, 2, 4, 4]
    assert entities_from_pairs(3, [], []).tolist() == [1, 2, 3]


def test_chains_join_transitively():
    assert entities_from_pairs(4, [0, 1, 2], [1, 2, 3]).tolist() == [1, 1, 1, 1]


def test_threshold_is_inclusive():
    pairs = pd.DataFrame({"unique_id_l": [0], "unique_id_r": [1], "match_probability": [0.8]})
    by_t = cluster_at_thresholds(2, pairs, [0.8, 0.81])
    assert by_t[0.8].tolist() == [1, 1] and by_t[0.81].tolist() == [1, 2]


@pytest.mark.parametrize("trial", range(5))
def test_same_partition_as_splink_connected_components(trial):
    rng = np.random.default_rng(trial)
    n = 200
    left, right = rng.integers(n, size=(2, 150))
    keep = left != right
    pairs = pd.DataFrame({"unique_id_l": left[keep], "unique_id_r": right[keep],
                          "match_probability": rng.random(keep.sum())})  # fmt: skip
    ours = cluster_at_thresholds(n, pairs, [0.6])[0.6]
    nodes = pd.DataFrame({"unique_id": np.arange(n)})
    api = DuckDBAPI(duckdb.connect())
    theirs = cluster_pairwise_predictions_at_threshold(
        nodes, pairs, api, "unique_id", threshold_match_probability=0.6
    ).as_pandas_dataframe()
    theirs = theirs.set_index("unique_id").loc[np.arange(n), "cluster_id"].to_numpy()
    q = evaluate(ours, theirs)
    assert q.cluster_precision == 1.0 and q.cluster_recall == 1.0


def _result():
    records = pd.DataFrame({"list": ["A", "A", "B", "C"], "record_id": ["1", "2", "1", "1"]})
    clusterings = {0.5: [1, 1, 1, 2], 0.9: [1, 2, 1, 3]}
    return LinkageResult.from_clusterings(records, pd.DataFrame(), clusterings, 0.9)


def test_result_histories_per_threshold():
    result = _result()
    assert result.records["entity_id"].tolist() == [1, 2, 1, 3]
    h = histories_by_threshold(result)
    # at 0.5: entity 1 on A and B, entity 2 on C; at 0.9: {A,B}, {A}, {C}
    assert h[0.5].n_observed == 2 and h[0.9].n_observed == 3
    assert h[0.5].count([1, 1, 0]) == 1 and h[0.9].count([1, 0, 0]) == 1


def test_result_frame_and_errors():
    result = _result()
    assert list(result.to_frame().columns) == ["list", "record_id", "entity_id", "entity_id_0.5", "entity_id_0.9"]
    assert "into 3 entities at match probability 0.9" in result.summary()
    with pytest.raises(InputError, match="no clustering at threshold 0.7"):
        result.n_entities(0.7)
    with pytest.raises(InputError, match="chosen threshold"):
        LinkageResult.from_clusterings(result.records, pd.DataFrame(), {0.5: [1, 1, 1, 2]}, 0.8)
