"""Re-ranking by category agreement: near-equals of the category the neighbours vote for come first."""

from __future__ import annotations

import numpy as np

from lookbook.search.agreement import agreement_ranking, candidates_for

SHIRT, COAT = 0, 1


def test_near_equals_of_the_voted_category_move_above_a_look_alike_of_another():
    scores = np.array([0.90, 0.89, 0.88, 0.87, 0.86])
    labels = np.array([SHIRT, COAT, SHIRT, SHIRT, COAT])
    order, ranked = agreement_ranking(scores, labels, weight=0.05)
    assert labels[order].tolist() == [SHIRT, SHIRT, SHIRT, COAT, COAT]
    assert (np.diff(ranked) <= 0).all() and (np.abs(ranked) <= 1).all()


def test_a_much_closer_product_of_another_category_stays_above():
    scores = np.array([0.95, 0.80, 0.70, 0.60])
    labels = np.array([SHIRT, COAT, SHIRT, SHIRT])
    order, _ = agreement_ranking(scores, labels, weight=0.05)
    assert order.tolist() == [0, 1, 2, 3]  # the coat is 0.10 closer than the next shirt: more than the lift


def test_when_the_nearest_product_is_not_of_the_voted_category_the_order_is_left_alone():
    scores = np.array([0.99, 0.90, 0.89, 0.88, 0.87])  # e.g. the product itself, among look-alikes of a coat
    labels = np.array([SHIRT, COAT, COAT, COAT, SHIRT])
    order, ranked = agreement_ranking(scores, labels, weight=0.05)
    assert order.tolist() == [0, 1, 2, 3, 4] and np.allclose(ranked, scores)


def test_products_without_a_category_neither_vote_nor_gain():
    scores = np.array([0.90, 0.89, 0.88])
    order, ranked = agreement_ranking(scores, np.array([-1, -1, -1]), weight=0.5)
    assert order.tolist() == [0, 1, 2] and np.allclose(ranked, scores)
    order, _ = agreement_ranking(scores, np.array([SHIRT, -1, SHIRT]), weight=0.5)
    assert order.tolist() == [0, 2, 1]


def test_a_known_category_replaces_the_vote_and_weight_zero_ranks_by_similarity_alone():
    scores = np.array([0.90, 0.89, 0.88])
    labels = np.array([SHIRT, SHIRT, COAT])
    assert agreement_ranking(scores, labels, weight=0.05, label=COAT)[0].tolist() == [2, 0, 1]
    order, ranked = agreement_ranking(scores, labels, weight=0.0, label=COAT)
    assert order.tolist() == [0, 1, 2] and np.allclose(ranked, scores)


def test_enough_candidates_are_fetched_for_the_lift_to_matter():
    assert candidates_for(5) == 40 and candidates_for(50) == 100
