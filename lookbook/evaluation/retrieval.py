"""Retrieval metrics: precision@k and mAP@k with exact cosine search (the reference ranking)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookbook.search.agreement import agreement_ranking, candidates_for


@dataclass
class RetrievalScores:
    precision_at_5: float
    precision_at_10: float
    map_at_10: float
    queries: int

    def as_dict(self) -> dict:
        return {"precision@5": self.precision_at_5, "precision@10": self.precision_at_10,
                "mAP@10": self.map_at_10, "queries": self.queries}


def retrieval_scores(queries: np.ndarray, query_labels: np.ndarray, gallery: np.ndarray,
                     gallery_labels: np.ndarray, *, leave_one_out: bool = False, chunk: int = 1024,
                     gallery_categories: np.ndarray | None = None, category_weight: float = 0.0) -> RetrievalScores:
    """Rank the gallery for every query by cosine similarity; relevant = same label.

    With ``leave_one_out`` the queries are the gallery itself and each item's own row is skipped. With a
    ``category_weight`` the neighbours are re-ranked by agreement on ``gallery_categories`` (integer codes,
    -1 for none) exactly as search does (``lookbook.search.agreement``).
    """
    k = 10
    candidates = len(gallery) - (1 if leave_one_out else 0)
    if candidates < k:
        raise ValueError(f"retrieval scores need at least {k} gallery items per query, got {candidates}")
    rerank = category_weight > 0 and gallery_categories is not None
    fetch = min(candidates_for(k), candidates) if rerank else k
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    gallery = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    gallery = gallery.astype(np.float32)
    hits = np.zeros((len(queries), k), dtype=bool)
    for start in range(0, len(queries), chunk):
        scores = queries[start : start + chunk].astype(np.float32) @ gallery.T
        if leave_one_out:
            rows = np.arange(scores.shape[0])
            scores[rows, start + rows] = -np.inf
        top = np.argpartition(-scores, fetch - 1, axis=1)[:, :fetch]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, axis=1)
        if rerank:
            top_scores = np.take_along_axis(scores, top, axis=1)
            top = np.stack([row[agreement_ranking(s, gallery_categories[row], weight=category_weight)[0]]
                            for row, s in zip(top, top_scores)])
        top = top[:, :k]
        hits[start : start + chunk] = gallery_labels[top] == query_labels[start : start + chunk, None]
    cumulative = np.cumsum(hits, axis=1)
    precision_at_i = cumulative / np.arange(1, k + 1)
    relevant = np.array([(gallery_labels == q).sum() for q in np.unique(query_labels)])
    per_label = dict(zip(np.unique(query_labels).tolist(), relevant.tolist()))
    denominators = np.array([min(k, per_label[q] - (1 if leave_one_out else 0)) for q in query_labels.tolist()])
    average_precision = (precision_at_i * hits).sum(axis=1) / np.maximum(denominators, 1)
    return RetrievalScores(
        precision_at_5=float(hits[:, :5].mean()), precision_at_10=float(hits.mean()),
        map_at_10=float(average_precision.mean()), queries=len(queries),
    )
