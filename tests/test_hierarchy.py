"""The space of hierarchical models: counts, a brute-force cross-check, names and neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from darkfigure.errors import InputError
from darkfigure.estimation.hierarchy import (
    count_models,
    interaction_terms,
    model_space,
    neighbours,
    sub_terms_one_down,
)
from darkfigure.estimation.models import HierarchicalModel


def brute_force_term_sets(n_lists: int, max_order: int) -> set[int]:
    """Every subset of the terms (as a bit set over term numbers) that is closed downward."""
    terms = interaction_terms(n_lists, max_order)
    subsets = np.arange(1 << len(terms), dtype=np.int64)
    closed = np.ones(subsets.shape, dtype=bool)
    for k, term in enumerate(terms):
        has_term = (subsets >> k) & 1 == 1
        for sub in sub_terms_one_down(term):
            closed &= ~has_term | ((subsets >> terms.index(sub)) & 1 == 1)
    return set(subsets[closed].tolist())


@pytest.mark.parametrize(
    ("n_lists", "max_order", "expected"),
    [
        (3, 2, 8),  # brief; MSE docs: get_hierarchical_models(nlists = 3) lists 8 models
        (3, 3, 9),  # brief: the 8 pairwise models and [123]
        (4, 2, 64),  # brief: 2^6 sets of pairs
        (5, 2, 1024),  # REFERENCE.md: maxorder 2, 1,024 models
        (5, 3, 6212),  # MSE docs: length(get_hierarchical_models(nlists = 5, maxorder = 3)) is 6212
        (6, 2, 32768),  # MSE docs (estimate_population_bic): 32,768 six-list models of order <= 2
        (6, 3, 3702013),  # MSE docs: order 3 "would increase this to 3,702,013 models"
    ],
)
def test_counts_of_hierarchical_models(n_lists: int, max_order: int, expected: int) -> None:
    assert count_models(n_lists, max_order) == expected


def test_mse_catalogue_size() -> None:
    # MSE docs (hiermodels): 39,783 models, order <= t - 1 for 2 to 5 lists and order <= 2 for 6 lists
    sizes = [count_models(2, 1), count_models(3, 2), count_models(4, 3), count_models(5, 4), count_models(6, 2)]
    assert sum(sizes) == 39783


@pytest.mark.parametrize(
    ("n_lists", "max_order"), [(2, 1), (2, 2), (3, 2), (3, 3), (4, 2), (4, 3), (4, 4), (5, 2), (5, 3)]
)
def test_enumeration_matches_brute_force(n_lists: int, max_order: int) -> None:
    space = model_space(n_lists, max_order)
    found = space.term_sets.tolist()
    assert len(found) == len(set(found))  # none twice
    assert set(found) == brute_force_term_sets(n_lists, max_order)
    assert count_models(n_lists, max_order) == len(found)


@pytest.mark.parametrize(("n_lists", "max_order"), [(3, 3), (4, 3), (5, 2)])
def test_every_model_is_hierarchical_and_within_the_order(n_lists: int, max_order: int) -> None:
    models = model_space(n_lists, max_order).models()
    assert models[0] == HierarchicalModel.independence(n_lists)
    assert len(set(models)) == len(models)
    for m in models:
        assert m.max_order <= max_order
        assert HierarchicalModel(n_lists, m.terms) == m  # closing downward adds nothing


def test_names_are_those_of_hierarchical_model() -> None:
    for n_lists, max_order in [(3, 3), (4, 4), (5, 3)]:
        space = model_space(n_lists, max_order)
        assert space.names() == [m.name() for m in space.models()]


def test_names_beyond_nine_lists_use_list_labels() -> None:
    space = model_space(10, 1)
    assert space.names() == [HierarchicalModel.independence(10).name()]


def test_count_stops_at_the_limit() -> None:
    assert count_models(5, 3, limit=6212) == 6212
    assert count_models(5, 3, limit=6211) is None
    assert count_models(6, 3, limit=50_000) is None
    assert count_models(9, 4, limit=10**6) is None  # 246 terms: no enumeration at all


def test_too_many_terms_to_enumerate() -> None:
    with pytest.raises(InputError, match="too many models"):
        count_models(9, 4)


@pytest.mark.parametrize(("n_lists", "max_order"), [(1, 1), (3, 0), (3, 4)])
def test_bad_orders_are_refused(n_lists: int, max_order: int) -> None:
    with pytest.raises(InputError):
        interaction_terms(n_lists, max_order)


def test_neighbours_worked_by_hand() -> None:
    m = HierarchicalModel.parse("[123,34]", 4)
    names = sorted(x.name() for x in neighbours(m, 3))
    # drop 123 or 34; add 14 or 24 (all pairs' sub-terms are main effects); no triple has all pairs in
    assert names == sorted(["[12,13,23,34]", "[123,4]", "[123,14,34]", "[123,24,34]"])
    assert [x.name() for x in neighbours(m, 2)] == ["[12,13,23,34]", "[123,4]", "[123,14,34]", "[123,24,34]"]
    assert [x.name() for x in neighbours(HierarchicalModel.independence(2), 2)] == ["[12]"]


@pytest.mark.parametrize(("n_lists", "max_order"), [(3, 3), (4, 2), (4, 3)])
def test_neighbours_are_the_models_one_term_away(n_lists: int, max_order: int) -> None:
    models = model_space(n_lists, max_order).models()
    for m in models:
        expected = {x for x in models if len(x.terms ^ m.terms) == 1}
        got = neighbours(m, max_order)
        assert len(got) == len(set(got))
        assert set(got) == expected
