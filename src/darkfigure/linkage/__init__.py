"""Record linkage: from organisations' lists of records to entities (people), with linkage doubt.

Map each list's columns to the standard identity fields, link with Splink (DuckDB by default), and
get entity ids at several match-probability thresholds; each clustering becomes capture histories.

>>> import pandas as pd
>>> from darkfigure.linkage import link, histories_by_threshold
>>> a = pd.DataFrame({"name": ["Kim Min-ji", "Ri Yong-hui"], "born": ["1990", "1985"]})
>>> b = pd.DataFrame({"name": ["Gim Minji", "Park Su-jin"], "born": ["1990", "1971"]})
>>> spec = {"full_name": "name", "birth_year": "born"}
>>> result = link({"A": a, "B": b}, {"A": spec, "B": spec}, seed=1)
>>> result.n_entities(), histories_by_threshold(result)[0.8].n_observed
(3, 3)
"""

from darkfigure.linkage.cluster import LinkageResult, cluster_at_thresholds, entities_from_pairs, histories_by_threshold
from darkfigure.linkage.evaluate import LinkageQuality, evaluate
from darkfigure.linkage.fields import (
    CASE_FIELDS,
    STANDARD_FIELDS,
    ColumnMapping,
    ListMapping,
    identity_frame,
    read_lists,
    read_mapping,
)
from darkfigure.linkage.names import coarse_name_key, name_key
from darkfigure.linkage.plaintext import DEFAULT_THRESHOLDS, link

__all__ = [
    "CASE_FIELDS",
    "DEFAULT_THRESHOLDS",
    "STANDARD_FIELDS",
    "ColumnMapping",
    "LinkageQuality",
    "LinkageResult",
    "ListMapping",
    "cluster_at_thresholds",
    "coarse_name_key",
    "entities_from_pairs",
    "evaluate",
    "histories_by_threshold",
    "identity_frame",
    "link",
    "name_key",
    "read_lists",
    "read_mapping",
]
