"""Kept photo queries outlive neither a day nor the model that made their vector."""

from __future__ import annotations

import numpy as np

from conftest import garment_photo
from lookbook.catalog import photo_queries


def test_a_query_made_by_another_model_is_gone_and_one_made_by_this_model_loads(tmp_path):
    photo = garment_photo("tshirt", "black", seed=1)
    vector = np.arange(8, dtype=np.float32)
    query_id = photo_queries.save_query(tmp_path, vector=vector, image_bytes=photo, vector_version="model-a")
    loaded = photo_queries.load_query(tmp_path, query_id, vector_version="model-a")
    assert loaded is not None and np.array_equal(loaded.vector, vector)
    assert photo_queries.load_query(tmp_path, query_id, vector_version="model-b") is None  # retrained since
    assert photo_queries.load_query(tmp_path, query_id, vector_version="model-a",
                                    now=loaded.saved_at + photo_queries.MAX_AGE + 1) is None
