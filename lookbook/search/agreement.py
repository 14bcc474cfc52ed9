"""Re-rank visual neighbours by what the catalog's own labels say the query is.

A photo's nearest catalog products mostly share a category; the few that do not are look-alikes from
another category (a dark shirt among coats) or products whose picture is untypical of their label. The
nearest neighbours vote, weighted by similarity, on the query's category, and the ranking score becomes

    score = (1 - weight) * similarity + weight * [candidate's category is the voted one]

so among near-equals the products of the voted category come first, while a much closer product of
another category still stays above. When the nearest product itself is not of the voted category (a photo
between two categories, or a catalog whose look-alikes use another taxonomy), the order is left alone. The
score keeps the meaning of a similarity in [-1, 1] and stays sorted. Products without a category neither
vote nor gain. Measured on Fashion-MNIST and the Saleor photos (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

DEFAULT_WEIGHT = 0.05
VOTERS = 10        # the nearest neighbours that vote
CANDIDATES = 40    # how many neighbours are re-ranked: enough for the vote to lift a category's near-equals


def candidates_for(k: int) -> int:
    """How many neighbours to fetch for a top-k answer."""
    return max(CANDIDATES, 2 * k)


def agreement_ranking(scores: np.ndarray, labels: np.ndarray, *, weight: float = DEFAULT_WEIGHT,
                      voters: int = VOTERS, label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' new order and ranking scores.

    ``scores`` are similarities sorted best first, ``labels`` the candidates' category codes (-1: none).
    ``label`` is the query's category when it is known (a catalog product); otherwise the neighbours vote.
    """
    scores = np.asarray(scores, dtype=np.float32)
    labels = np.asarray(labels)
    if weight <= 0 or len(scores) == 0:
        return np.arange(len(scores)), scores
    if label is None:
        near, near_scores = labels[:voters], np.maximum(scores[:voters], 0.0)
        known = near >= 0
        if not known.any():
            return np.arange(len(scores)), scores
        label = int(np.bincount(near[known], weights=near_scores[known] + 1e-6).argmax())
        if labels[0] != label:  # the nearest product is of another category: the vote is not clear enough
            return np.arange(len(scores)), scores
    ranked = (1.0 - weight) * scores + weight * ((labels == label) & (labels >= 0))
    order = np.argsort(-ranked, kind="stable")
    return order, ranked[order]
