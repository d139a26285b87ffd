"""HierarchicalModel: notation, hierarchical closure, names, bad input and the design matrix."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from darkfigure.errors import InputError
from darkfigure.estimation.models import HierarchicalModel, bits_of

ABC = ["A", "B", "C"]
UK5 = ["LA", "NG", "PFNCA", "GO", "GP"]


def mask(*positions: int) -> int:
    """Bit mask of 1-based list positions, written the way the notation writes them."""
    return sum(1 << (p - 1) for p in positions)


@pytest.mark.parametrize(
    ("text", "lists", "terms"),
    [
        ("[12,13]", 3, {mask(1, 2), mask(1, 3)}),
        ("[A:B,A:C]", ABC, {mask(1, 2), mask(1, 3)}),
        ("A:B + A:C", ABC, {mask(1, 2), mask(1, 3)}),
        ("[12,13]", ABC, {mask(1, 2), mask(1, 3)}),
        (" [ 12 , 13 ] ", 3, {mask(1, 2), mask(1, 3)}),
        # REFERENCE.md's best maxorder-3 model: 123 brings 12, 13 and 23 with it
        ("[123,25,34]", UK5, {mask(1, 2), mask(1, 3), mask(2, 3), mask(1, 2, 3), mask(2, 5), mask(3, 4)}),
        ("[LA:NG:PFNCA,NG:GP,PFNCA:GO]", UK5,
         {mask(1, 2), mask(1, 3), mask(2, 3), mask(1, 2, 3), mask(2, 5), mask(3, 4)}),
        ("[1,2,3]", 3, set()),
        ("[A,B,C]", ABC, set()),
        ("[]", 3, set()),
        ("[12,3]", 3, {mask(1, 2)}),
    ],
)
def test_parse(text: str, lists, terms: set[int]) -> None:
    model = HierarchicalModel.parse(text, lists)
    assert model.terms == frozenset(terms)
    assert model.n_lists == (lists if isinstance(lists, int) else len(lists))


def test_closure_of_a_four_way_term() -> None:
    model = HierarchicalModel.parse("[1234]", 4)
    assert len(model.terms) == 6 + 4 + 1  # all pairs, triples and the four-way term
    assert model.generators == (mask(1, 2, 3, 4),)
    assert model.max_order == 4


@pytest.mark.parametrize(
    ("text", "lists", "name", "named"),
    [
        ("[12,13]", ABC, "[12,13]", "[A:B,A:C]"),
        ("[]", ABC, "[1,2,3]", "[A,B,C]"),
        ("[12]", ABC, "[12,3]", "[A:B,C]"),
        ("[123,25,34]", UK5, "[123,25,34]", "[LA:NG:PFNCA,NG:GP,PFNCA:GO]"),  # REFERENCE.md writes [123,25,34]
        ("[12,13,23,25,34]", UK5, "[12,13,23,25,34]", "[LA:NG,LA:PFNCA,NG:PFNCA,NG:GP,PFNCA:GO]"),
    ],
)
def test_names(text: str, lists: list[str], name: str, named: str) -> None:
    model = HierarchicalModel.parse(text, lists)
    assert model.name() == name == str(model)
    assert model.name(lists) == named
    assert HierarchicalModel.parse(name, lists) == model
    assert HierarchicalModel.parse(named, lists) == model


def test_names_round_trip_on_random_models(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lists = ["LA", "NG", "PF", "GO", "GP", "NCA"]
    candidates = [c for k in (2, 3) for c in combinations(range(6), k)]
    for _ in range(200):
        chosen = [c for c in candidates if rng.random() < 0.15]
        model = HierarchicalModel.from_terms(6, chosen)
        assert HierarchicalModel.parse(model.name(), 6) == model
        assert HierarchicalModel.parse(model.name(lists), lists) == model


def test_more_than_nine_lists_use_names_with_colons() -> None:
    model = HierarchicalModel.from_terms(12, [[0, 11], [2, 3]])
    assert model.name() == "[L1:L12,L2,L3:L4,L5,L6,L7,L8,L9,L10,L11]"  # terms in list order, as REFERENCE.md
    assert HierarchicalModel.parse(model.name(), 12) == model
    assert HierarchicalModel.parse("[1:12,3:4]", 12) == model
    names = [f"list{j}" for j in range(12)]
    assert HierarchicalModel.parse(model.name(names), names) == model


@pytest.mark.parametrize(
    ("text", "lists", "words"),
    [
        ("[A:D]", ABC, "no list named 'D'; lists are A, B, C"),
        ("[D]", ABC, "no list named 'D'; lists are A, B, C"),
        ("[14]", 3, "term '14' names a list position outside 1..3"),
        ("[01]", 3, "outside 1..3"),
        ("[0:1]", 3, "list position 0 is outside 1..3"),
        ("[12]", 10, "with more than 9 lists write terms with ':'"),
        ("[1:13]", 12, "list position 13 is outside 1..12"),
        ("[11]", 3, "names the same list twice"),
        ("[A:A]", ABC, "names the same list twice"),
        ("foo bar", 3, "cannot read term 'foo bar'"),
        ("[12;13]", 3, "cannot read term '12;13'"),
        ("[12", 3, "cannot read term '[12'"),
        ("[[12]]", 3, "cannot read term '[12]'"),
    ],
)
def test_bad_models_are_refused_with_the_reason(text: str, lists, words: str) -> None:
    with pytest.raises(InputError) as caught:
        HierarchicalModel.parse(text, lists)
    assert words in str(caught.value)
    assert repr(text) in str(caught.value)  # the message quotes what the user wrote


def test_non_text_model_is_refused() -> None:
    with pytest.raises(InputError, match="written like"):
        HierarchicalModel.parse(None, 3)  # type: ignore[arg-type]


def test_from_terms_and_masks_are_checked() -> None:
    with pytest.raises(InputError, match="outside 0..2"):
        HierarchicalModel.from_terms(3, [[0, 3]])
    with pytest.raises(InputError, match="does not fit 3 lists"):
        HierarchicalModel(3, frozenset({mask(1, 4)}))
    # main effects given as terms are no terms at all
    assert HierarchicalModel(3, frozenset({mask(1), mask(2, 3)})).terms == frozenset({mask(2, 3)})


def test_design_matrix_for_three_lists_by_hand() -> None:
    model = HierarchicalModel.parse("[12,13]", ABC)
    assert model.columns == (0, 1, 2, 4, mask(1, 2), mask(1, 3))
    assert model.term_names(ABC) == ["(Intercept)", "A", "B", "C", "A:B", "A:C"]
    expected = [
        # 1  A  B  C  AB AC      cell
        [1, 1, 0, 0, 0, 0],  # A
        [1, 0, 1, 0, 0, 0],  # B
        [1, 1, 1, 0, 1, 0],  # AB
        [1, 0, 0, 1, 0, 0],  # C
        [1, 1, 0, 1, 0, 1],  # AC
        [1, 0, 1, 1, 0, 0],  # BC
        [1, 1, 1, 1, 1, 1],  # ABC
    ]
    design = model.design()
    assert design.dtype == np.float64
    assert design.tolist() == expected
    assert model.design(np.array([3, 7])).tolist() == [expected[2], expected[6]]
    assert model.n_parameters == 6


def test_all_pairs_fill_the_seven_cells_and_the_three_way_term_is_one_too_many() -> None:
    pairs = HierarchicalModel.parse("[12,13,23]", 3).design()
    assert pairs.shape == (7, 7)
    assert round(abs(np.linalg.det(pairs))) == 1
    saturated = HierarchicalModel.parse("[123]", 3).design()
    assert saturated.shape == (7, 8)  # the unseen cell leaves the intercept and ABC confounded
    assert np.linalg.matrix_rank(saturated) == 7


def test_constructors_agree() -> None:
    parsed = HierarchicalModel.parse("[12,13]", 3)
    assert parsed == HierarchicalModel.from_terms(3, [[0, 1], [2, 0]])
    assert parsed == HierarchicalModel.independence(3).with_term(mask(1, 2)).with_term(mask(1, 3))
    assert hash(parsed) == hash(HierarchicalModel(3, frozenset({3, 5})))
    assert HierarchicalModel.independence(4).n_parameters == 5
    assert len(HierarchicalModel.saturated_pairs(5).terms) == 10
    assert bits_of(mask(1, 3, 4)) == [0, 2, 3]
