"""Linkage quality measures on tiny cases worked by hand."""

import pytest

from darkfigure.errors import InputError
from darkfigure.linkage.evaluate import evaluate


def test_perfect_linkage():
    q = evaluate([7, 7, 8, 9], ["a", "a", "b", "c"])
    assert (q.pair_precision, q.pair_recall, q.pair_f1) == (1.0, 1.0, 1.0)
    assert (q.cluster_precision, q.cluster_recall, q.cluster_f1) == (1.0, 1.0, 1.0)
    assert (q.predicted_pairs, q.true_pairs, q.correct_pairs) == (1, 1, 1)
    assert (q.predicted_clusters, q.true_clusters, q.correct_clusters) == (3, 3, 3)


def test_one_false_merge():
    # truth {0,1,2} {3,4}; predicted {0,1,2,3,4}: predicted pairs C(5,2)=10, true pairs 3+1=4, all 4 found
    q = evaluate([1, 1, 1, 1, 1], [1, 1, 1, 2, 2])
    assert (q.predicted_pairs, q.true_pairs, q.correct_pairs) == (10, 4, 4)
    assert q.pair_precision == pytest.approx(0.4) and q.pair_recall == 1.0
    assert q.pair_f1 == pytest.approx(2 * 0.4 / 1.4)
    assert (q.predicted_clusters, q.true_clusters, q.correct_clusters) == (1, 2, 0)
    assert q.cluster_f1 == 0.0


def test_one_missed_link():
    # truth {0,1,2} {3}; predicted {0,1} {2} {3}: 1 predicted pair, correct; true pairs 3
    q = evaluate(["x", "x", "y", "z"], [5, 5, 5, 6])
    assert q.pair_precision == 1.0 and q.pair_recall == pytest.approx(1 / 3)
    assert q.pair_f1 == pytest.approx(0.5)
    # only {3} is an exact match: 1 of 3 predicted clusters, 1 of 2 true clusters
    assert q.cluster_precision == pytest.approx(1 / 3) and q.cluster_recall == pytest.approx(0.5)
    assert q.cluster_f1 == pytest.approx(0.4)


def test_nothing_linked_among_singletons():
    q = evaluate([1, 2, 3], [1, 2, 3])
    assert q.predicted_pairs == q.true_pairs == 0
    assert q.pair_precision == q.pair_recall == q.pair_f1 == 1.0


def test_labels_are_only_names():
    # the same partition under other labels scores the same
    assert evaluate([3, 3, 1], [9, 9, 4]) == evaluate(["b", "b", "a"], [0, 0, 1])


def test_summary_and_dict():
    q = evaluate([1, 1, 2], [1, 1, 1])
    assert "precision 1.0000" in q.summary() and q.to_dict()["true_pairs"] == 3


def test_bad_input():
    with pytest.raises(InputError, match="2 predicted entity ids but 3"):
        evaluate([1, 2], [1, 2, 3])
    with pytest.raises(InputError, match="must not be missing"):
        evaluate([1, None], [1, 2])
