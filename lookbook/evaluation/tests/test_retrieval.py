"""Retrieval metrics on hand-made vectors whose rankings, and so whose scores, are known exactly."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lookbook.evaluation.retrieval import retrieval_scores


def at_angles(degrees) -> np.ndarray:
    """Unit vectors in the plane: cosine similarity falls as the angle between them grows."""
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)


# Twenty gallery items 4 degrees apart; a query at -2 degrees ranks them 0, 1, ..., 19 and one at 78 degrees
# ranks them 19, 18, ..., 0. Items 0-9 alternate a, b; items 10-19 are all b (5 a's and 15 b's in all).
GALLERY = at_angles([4 * i for i in range(20)])
GALLERY_LABELS = np.array(["a" if i < 10 and i % 2 == 0 else "b" for i in range(20)])
NEAR_FIRST, NEAR_LAST = at_angles([-2]), at_angles([78])


def clusters(sizes: dict[str, int], *, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tight clusters around orthogonal axes: every item is far closer to its own cluster than to any other."""
    rng = np.random.default_rng(seed)
    vectors, labels = [], []
    for axis, (label, size) in enumerate(sizes.items()):
        centre = np.zeros(8)
        centre[axis] = 1.0
        vectors.append(centre + noise * rng.standard_normal((size, 8)))
        labels += [label] * size
    return np.concatenate(vectors).astype(np.float32), np.array(labels)


def test_perfect_clusters_score_one_everywhere():
    vectors, labels = clusters({"tshirt": 12, "trousers": 12, "bag": 12})

    scores = retrieval_scores(vectors, labels, vectors, labels, leave_one_out=True)

    assert scores.as_dict() == {"precision@5": 1.0, "precision@10": 1.0, "mAP@10": 1.0, "queries": 36}


def test_perfect_clusters_with_separate_queries_score_one():
    gallery, gallery_labels = clusters({"a": 11, "b": 11}, seed=1)
    queries, query_labels = clusters({"a": 3, "b": 4}, seed=2)

    scores = retrieval_scores(queries, query_labels, gallery, gallery_labels)

    assert (scores.precision_at_5, scores.precision_at_10, scores.map_at_10, scores.queries) == (1.0, 1.0, 1.0, 7)


def test_alternating_hits_give_precision_one_half_and_the_hand_computed_average_precision():
    # Ranks 1-10 are a, b, a, b, ...: hits at ranks 1, 3, 5, 7, 9; all 5 a's are in the top 10.
    scores = retrieval_scores(NEAR_FIRST, np.array(["a"]), GALLERY, GALLERY_LABELS)

    average_precision = (Fraction(1, 1) + Fraction(2, 3) + Fraction(3, 5) + Fraction(4, 7) + Fraction(5, 9)) / 5
    assert scores.precision_at_10 == 0.5
    assert scores.precision_at_5 == pytest.approx(3 / 5)
    assert scores.map_at_10 == pytest.approx(float(average_precision))  # 0.67873...
    assert scores.queries == 1


def test_average_precision_divides_by_ten_when_more_than_ten_items_are_relevant():
    # Hits at ranks 2, 4, 6, 8, 10 (precision 1/2 at each), and 15 b's exist: AP = 5 * 1/2 / 10.
    scores = retrieval_scores(NEAR_FIRST, np.array(["b"]), GALLERY, GALLERY_LABELS)

    assert (scores.precision_at_5, scores.precision_at_10) == (pytest.approx(0.4), 0.5)
    assert scores.map_at_10 == pytest.approx(0.25)


def test_scores_are_means_over_queries():
    queries = np.concatenate([NEAR_FIRST, NEAR_LAST, NEAR_FIRST])
    labels = np.array(["a", "b", "b"])  # AP 0.6787..., 1.0 (ten b's in a row), 0.25

    scores = retrieval_scores(queries, labels, GALLERY, GALLERY_LABELS)

    first = float((Fraction(1) + Fraction(2, 3) + Fraction(3, 5) + Fraction(4, 7) + Fraction(5, 9)) / 5)
    assert scores.precision_at_10 == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert scores.precision_at_5 == pytest.approx((0.6 + 1.0 + 0.4) / 3)
    assert scores.map_at_10 == pytest.approx((first + 1.0 + 0.25) / 3)
    assert scores.queries == 3


def test_similarity_is_cosine_so_vector_length_does_not_matter():
    scaled = GALLERY * np.arange(1, 21, dtype=np.float32)[:, None]

    assert retrieval_scores(NEAR_FIRST * 9, np.array(["a"]), scaled, GALLERY_LABELS) == \
        retrieval_scores(NEAR_FIRST, np.array(["a"]), GALLERY, GALLERY_LABELS)


@pytest.mark.parametrize("chunk", [1024, 5, 1])
def test_leave_one_out_never_counts_the_query_itself(chunk):
    # Two clusters of 6: without its own row, each item has 5 relevant neighbours and then 6 of the other
    # cluster, so precision@10 is 5/10; counting itself would make it 6/10.
    vectors, labels = clusters({"a": 6, "b": 6})

    scores = retrieval_scores(vectors, labels, vectors, labels, leave_one_out=True, chunk=chunk)
    with_self = retrieval_scores(vectors, labels, vectors, labels, chunk=chunk)

    assert (scores.precision_at_5, scores.precision_at_10, scores.map_at_10) == (1.0, 0.5, 1.0)
    assert with_self.precision_at_10 == pytest.approx(0.6)


def test_a_gallery_of_exactly_ten_is_enough_without_leave_one_out():
    gallery, labels = clusters({"a": 10})

    scores = retrieval_scores(gallery[:2], labels[:2], gallery, labels)

    assert (scores.precision_at_10, scores.map_at_10) == (1.0, 1.0)


def test_a_gallery_too_small_for_precision_at_ten_is_a_clear_error():
    vectors, labels = clusters({"a": 5, "b": 5})

    with pytest.raises(ValueError, match="at least 10 gallery items per query, got 9"):
        retrieval_scores(vectors, labels, vectors, labels, leave_one_out=True)


def test_ranking_as_search_does_lifts_the_voted_category_above_close_look_alikes():
    def at(cosine):  # a unit vector at this cosine to the query [1, 0]
        return [cosine, np.sqrt(1 - cosine ** 2)]

    a = [0.95, *np.linspace(0.89, 0.85, 11)]
    b = [0.90, 0.895]
    gallery = np.array([at(c) for c in a + b], dtype=np.float32)
    labels = np.array([0] * len(a) + [1] * len(b))
    query, query_labels = np.array([[1.0, 0.0]], dtype=np.float32), np.array([0])
    plain = retrieval_scores(query, query_labels, gallery, labels)
    agreed = retrieval_scores(query, query_labels, gallery, labels, gallery_categories=labels, category_weight=0.05)
    assert plain.precision_at_10 == 0.8 and agreed.precision_at_10 == 1.0
