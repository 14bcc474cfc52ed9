"""Specification tests for VectorIndex (small random data, fixed seeds, a few seconds)."""

import threading

import numpy as np
import pytest

from lookbook.search.index import VectorIndex

DIM = 64


def clustered(n, dim=DIM, *, clusters=50, spread=0.35, seed=0):
    """Mixture of gaussians around unit centres: closer to real embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, dim)) / np.sqrt(dim)
    return points.astype(np.float32)


def brute_force(ids, vectors, queries, k):
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = q @ v.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return ids[top], np.take_along_axis(scores, top, axis=1)


def recall(found, truth):
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)])


def small_hnsw_index(n=1000, seed=1):
    """Cheap graph parameters so mutation tests stay fast."""
    index = VectorIndex(DIM, hnsw_threshold=500, hnsw_m=16, ef_construction=64, ef_search=64)
    index.add(np.arange(n) + 1000, clustered(n, seed=seed))
    return index


@pytest.fixture(scope="module")
def big():
    """5k clustered vectors above the HNSW threshold; shared, tests must not mutate it."""
    ids = np.arange(5000, dtype=np.int64) * 7 + 3  # non-contiguous ids
    vectors = clustered(5000, seed=0)
    index = VectorIndex(DIM, hnsw_threshold=1000)
    index.add(ids, vectors)
    return index, ids, vectors, clustered(200, seed=99)


def test_exact_search_returns_true_top_k_and_self_match_scores_one():
    ids = np.arange(300, dtype=np.int64) * 2
    vectors = clustered(300, seed=3)
    index = VectorIndex(DIM)
    index.add(ids, vectors)
    queries = clustered(20, seed=4)

    found, scores = index.search(queries, k=10)
    true_ids, true_scores = brute_force(ids, vectors, queries, 10)
    assert found.dtype == np.int64 and scores.dtype == np.float32 and found.shape == (20, 10)
    np.testing.assert_array_equal(found, true_ids)
    np.testing.assert_allclose(scores, true_scores, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()

    self_ids, self_scores = index.search(vectors[5], k=1)
    assert self_ids.shape == (1, 1) and self_ids[0, 0] == ids[5]
    assert self_scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_hnsw_recall_at_10_is_at_least_99_percent_of_exact(big):
    index, _, _, queries = big
    truth, _ = index.search(queries, k=10, exact=True)
    approx, scores = index.search(queries, k=10)  # len >= threshold: HNSW chosen automatically
    assert index._graph is not None
    assert recall(approx, truth) >= 0.99
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_add_after_build_appends_to_graph_without_rebuild():
    index = small_hnsw_index()
    index.search(clustered(1, seed=5), exact=False)
    graph, before = index._graph, index._graph.ntotal

    new = clustered(50, seed=6)
    index.add(np.arange(50) + 90_000, new)
    found, scores = index.search(new, k=1, exact=False)

    assert index._graph is graph and graph.ntotal == before + 50
    np.testing.assert_array_equal(found[:, 0], np.arange(50) + 90_000)
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


@pytest.mark.parametrize("exact", [True, False])
def test_removed_ids_disappear_from_results(exact):
    index = small_hnsw_index()
    vectors = index.vectors_of([1000, 1001, 1002])
    index.search(vectors, exact=False)  # build the graph before removing
    index.remove([1000, 1001, 1002, 424242])  # unknown id ignored

    found, _ = index.search(vectors, k=20, exact=exact)
    assert not np.isin(found, [1000, 1001, 1002]).any()
    assert len(index) == 997 and 1000 not in index and 1003 in index
    with pytest.raises(KeyError):
        index.vectors_of([1000])


def test_many_removals_compact_the_graph_and_keep_results_correct():
    index = small_hnsw_index()
    index.search(clustered(1, seed=5), exact=False)
    graph = index._graph
    index.remove(np.arange(1000, 1100))  # 10%: tombstones only
    assert index._graph is graph
    index.remove(np.arange(1100, 1400))  # 40% > 25%: compacted, rebuilt lazily
    assert index._graph is None and len(index) == 600

    queries = clustered(30, seed=7)
    approx, _ = index.search(queries, k=10, exact=False)
    truth, _ = index.search(queries, k=10, exact=True)
    assert index._graph.ntotal == 600
    assert (approx >= 1400).all() and recall(approx, truth) >= 0.95


@pytest.mark.parametrize("exact", [True, False])
def test_adding_an_existing_id_replaces_its_vector(exact):
    index = small_hnsw_index()
    index.search(clustered(1, seed=5), exact=False)
    replacement = clustered(1, seed=8)[0]

    index.add([1500], replacement[None, :] * 3.0)  # normalised inside
    assert len(index) == 1000
    np.testing.assert_allclose(index.vectors_of([1500])[0], replacement / np.linalg.norm(replacement), atol=1e-6)
    found, scores = index.search(replacement, k=5, exact=exact)
    assert found[0, 0] == 1500 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert (found[0] == 1500).sum() == 1  # the old slot is gone


def test_duplicate_ids_in_one_batch_keep_the_last_vector():
    index = VectorIndex(4)
    index.add([7, 7], [[1, 0, 0, 0], [0, 1, 0, 0]])
    assert len(index) == 1
    np.testing.assert_allclose(index.vectors_of(7), [[0, 1, 0, 0]])


@pytest.mark.parametrize("exact", [None, True, False])
def test_filtered_search_still_returns_k_results_when_k_exist(big, exact):
    index, ids, _, queries = big
    rng = np.random.default_rng(11)
    tiny = ids[[10, 2000, 4999]]
    wide = rng.choice(ids, size=3000, replace=False)  # 60% of the index

    found, scores = index.search(queries[:20], k=3, allowed=tiny, exact=exact)
    assert (np.sort(found, axis=1) == np.sort(tiny)).all() and np.isfinite(scores).all()

    found, _ = index.search(queries, k=10, allowed=set(wide.tolist()), exact=exact)
    assert (found >= 0).all() and np.isin(found, wide).all()
    truth, _ = index.search(queries, k=10, allowed=wide, exact=True)
    assert recall(found, truth) >= 0.95


def test_filtered_search_pads_with_minus_one_when_fewer_than_k_exist(big):
    index, ids, _, queries = big
    allowed = [ids[1], ids[2], 123456789]  # unknown ids are not candidates
    for exact in (True, False):
        found, scores = index.search(queries[:5], k=10, allowed=allowed, exact=exact)
        assert (np.sort(found[:, :2], axis=1) == np.sort(ids[1:3])).all()
        assert (found[:, 2:] == -1).all() and np.isneginf(scores[:, 2:]).all()
    found, _ = index.search(queries[:2], k=4, allowed=[])
    assert (found == -1).all()


@pytest.mark.parametrize("exact", [True, False])
def test_excluded_ids_are_never_returned(big, exact):
    index, ids, vectors, _ = big
    found, _ = index.search(vectors[:10], k=10, exclude=ids[:10], exact=exact)
    assert not np.isin(found, ids[:10]).any() and (found >= 0).all()

    found, _ = index.search(vectors[0], k=5, allowed=ids[:3], exclude=ids[0], exact=exact)
    assert sorted(found[0, :2]) == sorted(ids[1:3]) and (found[0, 2:] == -1).all()


def test_save_load_round_trip_gives_identical_results_without_rebuild(tmp_path, monkeypatch):
    index = small_hnsw_index()
    index.remove([1000, 1001])  # tombstones must survive the round trip
    queries = clustered(20, seed=12)
    before = index.search(queries, k=10, exact=False)
    before_exact = index.search(queries, k=10, exact=True)
    index.save(tmp_path / "idx")
    index.save(tmp_path / "idx")  # overwrite: old data files are cleaned up

    monkeypatch.setattr(VectorIndex, "_build_graph", lambda self: pytest.fail("graph rebuilt on load"))
    loaded = VectorIndex.load(tmp_path / "idx")
    assert len(list((tmp_path / "idx").iterdir())) == 5  # manifest + 3 arrays + graph
    assert loaded._graph.ntotal == index._graph.ntotal and len(loaded) == len(index)
    np.testing.assert_array_equal(loaded.ids, index.ids)
    for got, want in zip(loaded.search(queries, k=10, exact=False), before):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(loaded.search(queries, k=10, exact=True), before_exact):
        np.testing.assert_array_equal(got, want)
    assert (loaded.dim, loaded.hnsw_m, loaded.ef_search) == (index.dim, index.hnsw_m, index.ef_search)


def test_loading_missing_or_corrupt_directory_raises_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no vector index"):
        VectorIndex.load(tmp_path / "nope")
    index = VectorIndex(4)
    index.add([1, 2], np.eye(4)[:2])
    index.save(tmp_path / "idx")
    next((tmp_path / "idx").glob("vectors-*.npy")).write_bytes(b"garbage")
    with pytest.raises(ValueError, match="corrupt vector index"):
        VectorIndex.load(tmp_path / "idx")
    (tmp_path / "idx" / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt vector index"):
        VectorIndex.load(tmp_path / "idx")


def test_dimension_mismatch_raises_value_error():
    index = VectorIndex(8)
    with pytest.raises(ValueError):
        index.add([1], np.ones((1, 7)))
    with pytest.raises(ValueError):
        index.add([1, 2], np.ones((3, 8)))
    index.add([1], np.ones((1, 8)))
    with pytest.raises(ValueError):
        index.search(np.ones(7))


def test_invalid_vectors_are_rejected():
    index = VectorIndex(3)
    for bad in ([[0, 0, 0]], [[np.nan, 1, 0]]):
        with pytest.raises(ValueError):
            index.add([1], bad)
    with pytest.raises(ValueError):
        index.add([-1], [[1, 0, 0]])
    assert len(index) == 0


@pytest.mark.parametrize("exact", [None, False])
def test_empty_index_search_returns_all_minus_one(exact):
    index = VectorIndex(DIM)
    found, scores = index.search(np.ones((3, DIM)), k=5, exact=exact)
    assert found.shape == (3, 5) and (found == -1).all() and np.isneginf(scores).all()


def test_fewer_vectors_than_k_pads_the_rest():
    index = VectorIndex(4)
    index.add([5, 6], np.eye(4)[:2])
    found, scores = index.search(np.eye(4)[0], k=4)
    assert found.tolist() == [[5, 6, -1, -1]] and np.isneginf(scores[0, 2:]).all()


def test_concurrent_search_and_add_do_not_crash():
    index = small_hnsw_index(n=600)
    queries = clustered(8, seed=13)
    errors = []

    def searcher():
        try:
            for i in range(30):
                index.search(queries, k=5, exact=bool(i % 2), exclude=[1000])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(20):
        index.add(np.arange(10) + 50_000 + 10 * i, clustered(10, seed=100 + i))
        index.remove(np.arange(20) + 1000 + 20 * i)  # crosses the 25% compaction
    for t in threads:
        t.join()
    assert not errors
    assert len(index) == 600 + 200 - 400
