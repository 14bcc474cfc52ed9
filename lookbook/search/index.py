"""Cosine-similarity vector index for visual search.

A self-contained library object (numpy + faiss only, no other lookbook import) so it
can be used from a notebook::

    index = VectorIndex(256)
    index.add(product_ids, embeddings)
    ids, scores = index.search(query_embedding, k=10)

Layout: vectors live in one dense float32 matrix, one row per *slot*. Rows are only
appended; removing or replacing an id tombstones its row. The HNSW graph uses the row
number as its label, so new rows can be appended to the graph without a rebuild and
tombstoned rows are skipped with a faiss ID selector. When tombstones exceed 25% of the
rows, the matrix is compacted and the graph dropped (rebuilt on the next approximate
search). id -> row lookups use sorted numpy arrays, so filters over 1M ids stay
vectorised.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import NamedTuple

import faiss
import numpy as np

__all__ = ["VectorIndex"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_DATA_FILE = re.compile(r"(vectors|row_ids|alive)-[0-9a-f]{12}\.npy|graph-[0-9a-f]{12}\.faiss")


class _State(NamedTuple):
    """Consistent view of the arrays, taken under the lock.

    Mutations never change rows < n in place except for tombstoning (a benign race), and
    replace arrays rather than resize them, so a search can keep using a snapshot after
    releasing the lock.
    """

    vecs: np.ndarray  # (n, dim) view
    alive: np.ndarray  # (n,) bool view
    row_ids: np.ndarray  # (n,) int64 view
    sorted_ids: np.ndarray  # live ids, ascending
    sorted_rows: np.ndarray  # row of each sorted id
    n_dead: int

    def rows_of(self, ids) -> np.ndarray:
        """Rows of the live ids among `ids` (unknown ids are dropped)."""
        ids = _as_ids(ids)
        if not len(ids) or not len(self.sorted_ids):
            return np.empty(0, np.int64)
        pos = np.searchsorted(self.sorted_ids, ids).clip(max=len(self.sorted_ids) - 1)
        return self.sorted_rows[pos[self.sorted_ids[pos] == ids]]


def _as_ids(ids) -> np.ndarray:
    """Accept scalars, lists, sets, generators and arrays of integer ids."""
    if isinstance(ids, (set, frozenset, dict)) or (
        not isinstance(ids, (np.ndarray, list, tuple)) and hasattr(ids, "__iter__")
    ):
        ids = np.fromiter(ids, dtype=np.int64)
    arr = np.atleast_1d(np.asarray(ids))
    if arr.size == 0:
        return np.empty(0, np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D sequence of integers, got {arr.dtype} {arr.shape}")
    return arr.astype(np.int64, copy=False)


class VectorIndex:
    """Cosine-similarity index over int64 ids: exact below a size threshold, HNSW (faiss) above."""

    COMPACT_RATIO = 0.25  # rebuild when tombstones exceed this share of the rows
    SMALL_FILTER = 5000  # filters up to this many ids (or 2% of the index) are searched exactly
    SMALL_FILTER_RATIO = 0.02

    def __init__(self, dim: int, *, hnsw_threshold: int = 20_000, hnsw_m: int = 32,
                 ef_construction: int = 200, ef_search: int = 128):
        if int(dim) < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = int(dim)
        self.hnsw_threshold = int(hnsw_threshold)
        self.hnsw_m = int(hnsw_m)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)  # read at every search, may be changed any time
        self._lock = threading.RLock()
        self._n = 0  # rows in use (live + tombstoned)
        self._n_dead = 0
        self._vecs = np.empty((0, self.dim), np.float32)  # capacity >= _n
        self._alive = np.empty(0, bool)
        self._row_ids = np.empty(0, np.int64)
        self._sorted_ids = np.empty(0, np.int64)
        self._sorted_rows = np.empty(0, np.int64)
        self._graph: faiss.IndexHNSWFlat | None = None  # labels are rows; may lag behind _n

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self._sorted_ids)

    def __contains__(self, id) -> bool:
        try:
            return len(self._state().rows_of(id)) == 1
        except (ValueError, TypeError):
            return False

    def __repr__(self) -> str:
        graph = "none" if self._graph is None else f"{self._graph.ntotal} nodes"
        return f"VectorIndex(dim={self.dim}, len={len(self)}, tombstones={self._n_dead}, hnsw={graph})"

    @property
    def ids(self) -> np.ndarray:
        """Live ids, ascending (read-only view)."""
        view = self._sorted_ids.view()
        view.flags.writeable = False
        return view

    def _state(self) -> _State:
        with self._lock:
            n = self._n
            return _State(self._vecs[:n], self._alive[:n], self._row_ids[:n],
                          self._sorted_ids, self._sorted_rows, self._n_dead)

    # ---------------------------------------------------------------- mutation
    def add(self, ids, vectors) -> None:
        """Add or replace vectors; they are L2-normalised so inner product = cosine."""
        ids = _as_ids(ids)
        vecs = np.asarray(vectors)
        if not len(ids) and vecs.size == 0:
            return
        if vecs.ndim == 1 and len(ids) == 1:
            vecs = vecs[None, :]
        if vecs.ndim != 2 or vecs.shape != (len(ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vecs.shape}")
        if (ids == -1).any():
            raise ValueError("id -1 is reserved for padding in search results")
        norms = np.sqrt(np.einsum("ij,ij->i", vecs, vecs, dtype=np.float64))
        if not np.isfinite(norms).all() or (norms == 0).any():
            raise ValueError("vectors must be finite and non-zero (cosine is undefined otherwise)")
        uniq, last = np.unique(ids[::-1], return_index=True)
        if len(uniq) < len(ids):  # duplicates in the batch: the last one wins
            keep = np.sort(len(ids) - 1 - last)
            ids, vecs, norms = ids[keep], vecs[keep], norms[keep]

        with self._lock:
            m, start = len(ids), self._n
            pos = np.searchsorted(self._sorted_ids, ids)
            posc = pos.clip(max=max(len(self._sorted_ids) - 1, 0))
            found = (self._sorted_ids[posc] == ids) if len(self._sorted_ids) else np.zeros(m, bool)
            self._alive[self._sorted_rows[posc[found]]] = False  # tombstone replaced rows
            self._n_dead += int(found.sum())

            self._reserve(start + m)
            block = self._vecs[start:start + m]
            block[:] = vecs
            block /= norms[:, None].astype(np.float32)
            self._row_ids[start:start + m] = ids
            self._alive[start:start + m] = True
            self._n = start + m

            rows = np.arange(start, start + m, dtype=np.int64)
            sorted_rows = self._sorted_rows.copy() if found.any() else self._sorted_rows
            sorted_rows[pos[found]] = rows[found]
            new = np.flatnonzero(~found)
            new = new[np.argsort(ids[new], kind="stable")]  # np.insert needs them ascending
            self._sorted_ids = np.insert(self._sorted_ids, pos[new], ids[new])
            self._sorted_rows = np.insert(sorted_rows, pos[new], rows[new])
            self._maybe_compact()

    def remove(self, ids) -> None:
        """Tombstone ids; unknown ids are ignored."""
        ids = np.unique(_as_ids(ids))
        with self._lock:
            if not len(ids) or not len(self._sorted_ids):
                return
            pos = np.searchsorted(self._sorted_ids, ids).clip(max=len(self._sorted_ids) - 1)
            pos = pos[self._sorted_ids[pos] == ids]
            if not len(pos):
                return
            self._alive[self._sorted_rows[pos]] = False
            self._n_dead += len(pos)
            self._sorted_ids = np.delete(self._sorted_ids, pos)
            self._sorted_rows = np.delete(self._sorted_rows, pos)
            self._maybe_compact()

    def _reserve(self, rows: int) -> None:
        """Grow capacity by 25% steps: amortised appends without doubling memory."""
        cap = len(self._vecs)
        if rows <= cap:
            return
        cap = max(rows, cap + cap // 4)
        vecs = np.empty((cap, self.dim), np.float32)
        vecs[:self._n] = self._vecs[:self._n]
        alive = np.zeros(cap, bool)
        alive[:self._n] = self._alive[:self._n]
        row_ids = np.full(cap, -1, np.int64)
        row_ids[:self._n] = self._row_ids[:self._n]
        self._vecs, self._alive, self._row_ids = vecs, alive, row_ids

    def _maybe_compact(self) -> None:
        """Drop tombstoned rows once they exceed COMPACT_RATIO; the graph is rebuilt lazily."""
        if self._n_dead == 0 or self._n_dead <= self.COMPACT_RATIO * self._n:
            return
        alive = self._alive[:self._n]
        keep = np.flatnonzero(alive)
        new_row = np.cumsum(alive) - 1
        # New arrays (not in-place) so that snapshots held by running searches stay valid.
        self._vecs = self._vecs[keep]
        self._row_ids = self._row_ids[keep]
        self._alive = np.ones(len(keep), bool)
        self._sorted_rows = new_row[self._sorted_rows]
        self._n, self._n_dead = len(keep), 0
        self._graph = None

    # ------------------------------------------------------------------ lookup
    def vectors_of(self, ids) -> np.ndarray:
        """Stored (normalised) vectors, shape (len(ids), dim); KeyError for unknown ids."""
        ids = _as_ids(ids)
        st = self._state()
        if not len(st.sorted_ids):
            if len(ids):
                raise KeyError(f"unknown ids: {ids[:10].tolist()}")
            return np.empty((0, self.dim), np.float32)
        pos = np.searchsorted(st.sorted_ids, ids).clip(max=len(st.sorted_ids) - 1)
        missing = st.sorted_ids[pos] != ids
        if missing.any():
            raise KeyError(f"unknown ids: {ids[missing][:10].tolist()}")
        return st.vecs[st.sorted_rows[pos]]

    # ------------------------------------------------------------------ search
    def search(self, queries, k: int = 10, *, allowed=None, exclude=None,
               exact: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k ids and cosine scores, best first; shape (n, k) (n=1 for a 1-D query).

        Rows with fewer than k candidates are padded with id -1 / score -inf. `allowed`
        restricts results to those ids, `exclude` removes ids. exact=None picks exact
        search below hnsw_threshold live vectors and HNSW above; True/False force it.
        Filtered HNSW searches that come back short fall back to exact search, so a
        filter never loses results.
        """
        q = self._prepare_queries(queries)
        k = int(k)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        out_ids = np.full((len(q), k), -1, np.int64)
        out_scores = np.full((len(q), k), -np.inf, np.float32)
        # Convert filters (maybe large Python sets) before taking the lock.
        allowed = None if allowed is None else _as_ids(allowed)
        exclude = None if exclude is None else _as_ids(exclude)

        with self._lock:
            st = self._state()
            mask, n_cand = self._candidates(st, allowed, exclude)
            if n_cand == 0 or len(q) == 0:
                return out_ids, out_scores
            if exact is None:
                filtered = allowed is not None or exclude is not None
                small = n_cand < max(self.SMALL_FILTER, self.SMALL_FILTER_RATIO * len(st.sorted_ids))
                exact = len(st.sorted_ids) < self.hnsw_threshold or (filtered and small)
            if not exact:
                # faiss HNSW is not safe for search during add, so graph use stays under the lock.
                self._search_hnsw(st, q, k, mask, out_ids, out_scores)

        if exact:
            self._search_exact(st, q, k, mask, n_cand, out_ids, out_scores)
        else:
            short = (out_ids >= 0).sum(axis=1) < min(k, n_cand)
            if short.any():
                ids = np.full((int(short.sum()), k), -1, np.int64)
                scores = np.full(ids.shape, -np.inf, np.float32)
                self._search_exact(st, q[short], k, mask, n_cand, ids, scores)
                out_ids[short], out_scores[short] = ids, scores
        return out_ids, out_scores

    def _prepare_queries(self, queries) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape ({self.dim},) or (n, {self.dim}), got {np.shape(queries)}")
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        return np.ascontiguousarray(q / np.where(norms > 0, norms, 1))

    @staticmethod
    def _candidates(st: _State, allowed, exclude) -> tuple[np.ndarray | None, int]:
        """Boolean row mask of searchable rows (None = every row is live) and its count."""
        if allowed is None and exclude is None and st.n_dead == 0:
            return None, len(st.sorted_ids)
        if allowed is None:
            mask = st.alive.copy()
        else:
            mask = np.zeros(len(st.alive), bool)
            mask[st.rows_of(allowed)] = True
        if exclude is not None:
            mask[st.rows_of(exclude)] = False
        return mask, int(mask.sum())

    def _search_exact(self, st: _State, q, k, mask, n_cand, out_ids, out_scores) -> None:
        """Reference search: one float32 matrix product + argpartition, in query chunks."""
        if mask is not None and n_cand * 8 < len(mask):
            rows = np.flatnonzero(mask)  # small subset: gather it (copy <= 1/8 of the matrix)
            vecs, mask = st.vecs[rows], None
        else:
            rows, vecs = None, st.vecs  # large subset: score everything, mask the rest
        m = len(vecs)
        kk = min(k, m)
        step = max(1, (1 << 24) // max(m, 1))  # bound the score block to ~64 MB
        for s in range(0, len(q), step):
            scores = q[s:s + step] @ vecs.T
            if mask is not None:
                scores[:, ~mask] = -np.inf
            if kk < m:
                top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
            else:
                top = np.broadcast_to(np.arange(m), (len(scores), m))
            top_scores = np.take_along_axis(scores, top, axis=1)
            order = np.argsort(-top_scores, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            top_scores = np.take_along_axis(top_scores, order, axis=1)
            labels = top if rows is None else rows[top]
            valid = np.isfinite(top_scores)
            out_ids[s:s + step, :kk] = np.where(valid, st.row_ids[labels], -1)
            out_scores[s:s + step, :kk] = top_scores

    def _search_hnsw(self, st: _State, q, k, mask, out_ids, out_scores) -> None:
        """Approximate search; tombstones and filters are skipped via an ID selector."""
        graph = self._sync_graph()
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        if mask is not None:
            bitmap = np.packbits(mask, bitorder="little")  # local refs: must outlive the search
            selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
            params.sel = selector
        scores, labels = graph.search(q, k, params=params)
        valid = labels >= 0
        out_ids[:] = np.where(valid, st.row_ids[labels.clip(min=0)], -1)
        out_scores[:] = np.where(valid, scores, -np.inf)

    def _sync_graph(self) -> faiss.IndexHNSWFlat:
        """Build the graph on first use, then append rows added since (no rebuild)."""
        with self._lock:
            if self._graph is None:
                self._graph = self._build_graph()
            if self._graph.ntotal < self._n:
                self._graph.add(self._vecs[self._graph.ntotal:self._n])
            return self._graph

    def _build_graph(self) -> faiss.IndexHNSWFlat:
        graph = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = self.ef_construction
        graph.add(self._vecs[:self._n])
        return graph

    # ------------------------------------------------------------- persistence
    def save(self, directory) -> None:
        """Write all files under fresh names, then swap the manifest in with one rename.

        A reader therefore sees either the old or the new index, never a mix; files of
        the previous save are deleted afterwards. The graph is saved (built if the index
        is above the HNSW threshold) so that load never rebuilds it.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._graph is not None or len(self) >= self.hnsw_threshold:
                self._sync_graph()
            tag = uuid.uuid4().hex[:12]
            files = {name: f"{name}-{tag}.npy" for name in ("vectors", "row_ids", "alive")}
            np.save(directory / files["vectors"], self._vecs[:self._n])
            np.save(directory / files["row_ids"], self._row_ids[:self._n])
            np.save(directory / files["alive"], self._alive[:self._n])
            if self._graph is not None:
                files["graph"] = f"graph-{tag}.faiss"
                faiss.write_index(self._graph, str(directory / files["graph"]))
            manifest = {
                "format_version": FORMAT_VERSION,
                "dim": self.dim,
                "rows": self._n,
                "live": len(self),
                "params": {"hnsw_threshold": self.hnsw_threshold, "hnsw_m": self.hnsw_m,
                           "ef_construction": self.ef_construction, "ef_search": self.ef_search},
                "files": files,
            }
        tmp = directory / f"{MANIFEST}.{tag}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, directory / MANIFEST)
        current = set(files.values())
        for path in directory.iterdir():
            if _DATA_FILE.fullmatch(path.name) and path.name not in current:
                path.unlink(missing_ok=True)  # left over from the previous save

    @classmethod
    def load(cls, directory) -> "VectorIndex":
        """Load an index written by save(); the HNSW graph is read, not rebuilt."""
        directory = Path(directory)
        if not (directory / MANIFEST).is_file():
            raise FileNotFoundError(f"no vector index at {directory} (missing {MANIFEST})")
        try:
            manifest = json.loads((directory / MANIFEST).read_text())
            version = manifest.get("format_version")
            if version != FORMAT_VERSION:
                raise ValueError(f"unsupported format_version {version!r} (expected {FORMAT_VERSION})")
            files = manifest["files"]
            index = cls(int(manifest["dim"]), **manifest["params"])
            vecs = np.load(directory / files["vectors"])
            row_ids = np.load(directory / files["row_ids"])
            alive = np.load(directory / files["alive"])
            graph = faiss.read_index(str(directory / files["graph"])) if "graph" in files else None
            n, live = int(manifest["rows"]), int(manifest["live"])
        except (ValueError, KeyError, TypeError, AttributeError, OSError, EOFError, RuntimeError) as exc:
            raise ValueError(f"corrupt vector index at {directory}: {exc}") from exc

        if (vecs.dtype != np.float32 or vecs.shape != (n, index.dim) or row_ids.shape != (n,)
                or alive.shape != (n,) or alive.dtype != bool or int(alive.sum()) != live
                or (graph is not None and (graph.d != index.dim or graph.ntotal > n))):
            raise ValueError(f"corrupt vector index at {directory}: inconsistent array shapes")
        live_rows = np.flatnonzero(alive)
        order = np.argsort(row_ids[live_rows], kind="stable")
        index._vecs, index._row_ids, index._alive = vecs, row_ids.astype(np.int64), alive
        index._n, index._n_dead = n, n - len(live_rows)
        index._sorted_rows = live_rows[order].astype(np.int64)
        index._sorted_ids = index._row_ids[index._sorted_rows]
        if len(np.unique(index._sorted_ids)) != len(index._sorted_ids):
            raise ValueError(f"corrupt vector index at {directory}: duplicate live ids")
        index._graph = graph
        return index
