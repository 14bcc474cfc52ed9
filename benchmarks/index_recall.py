"""Recall and latency of VectorIndex: exact numpy search vs HNSW at several ef_search.

Synthetic data: unit vectors drawn from a mixture of gaussians with uneven cluster
sizes, because uniform random vectors make nearest-neighbour search unrealistically
easy (or hard) compared with real image embeddings. Queries are fresh draws from the
same mixture, so none of them is in the index.

    python benchmarks/index_recall.py                  # 70k x 256, ~couple of minutes
    python benchmarks/index_recall.py --n 20000 --dim 128 --ef-search 32 128

Prints a markdown table (for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import platform
import time

import faiss
import numpy as np
from tqdm import tqdm

from lookbook.search.index import VectorIndex


def mixture(n: int, dim: int, rng: np.random.Generator, centres: np.ndarray, weights: np.ndarray,
            spread: float) -> np.ndarray:
    labels = rng.choice(len(centres), size=n, p=weights)
    x = centres[labels] + spread * rng.standard_normal((n, dim), dtype=np.float32) / np.sqrt(dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def latencies_ms(index: VectorIndex, queries: np.ndarray, k: int, exact: bool, desc: str):
    """Single-query latency (what a product page does), plus the results for recall."""
    times, found = [], []
    for q in tqdm(queries, desc=desc, leave=False):
        t = time.perf_counter()
        ids, _ = index.search(q, k, exact=exact)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    return np.percentile(times, 50), np.percentile(times, 95), np.array(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=70_000, help="indexed vectors")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--spread", type=float, default=0.6, help="noise norm relative to the unit cluster centres")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=5000, help="ids added per add() call while building")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((args.clusters, args.dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.pareto(1.5, args.clusters) + 1  # a few big categories, many small ones
    weights /= weights.sum()
    data = mixture(args.n, args.dim, rng, centres, weights, args.spread)
    queries = mixture(args.queries, args.dim, rng, centres, weights, args.spread)

    # The graph is built by the first approximate search and extended by later ones; adding in
    # chunks shows progress and times the incremental path (faiss HNSW insertion is incremental
    # anyway, so this is the same kind of graph as one big add).
    index = VectorIndex(args.dim)
    t = time.perf_counter()
    for start in tqdm(range(0, args.n, args.chunk), desc="build", leave=False):
        index.add(np.arange(start, min(start + args.chunk, args.n)), data[start:start + args.chunk])
        index.search(queries[0], 1, exact=False)
    build_s = time.perf_counter() - t
    del data

    truth, _ = index.search(queries, args.k, exact=True)
    rows = []
    p50, p95, _ = latencies_ms(index, queries, args.k, True, "exact")
    rows.append(("exact (numpy)", "-", p50, p95, 1.0))
    for ef in args.ef_search:
        index.ef_search = ef
        p50, p95, found = latencies_ms(index, queries, args.k, False, f"hnsw ef={ef}")
        hits = [len(np.intersect1d(f, t)) for f, t in zip(found, truth)]
        rows.append(("HNSW", str(ef), p50, p95, np.mean(hits) / args.k))

    print(f"VectorIndex benchmark: n={args.n:,} dim={args.dim} queries={args.queries} k={args.k} "
          f"clusters={args.clusters} spread={args.spread} seed={args.seed}")
    print(f"HNSW M={index.hnsw_m} ef_construction={index.ef_construction}; faiss {faiss.__version__}, "
          f"{faiss.omp_get_max_threads()} OpenMP threads, numpy {np.__version__}, {platform.machine()}")
    print(f"build (add + HNSW graph, {args.chunk:,} ids per add): {build_s:.1f} s\n")
    print(f"| search | ef_search | p50 ms | p95 ms | recall@{args.k} |")
    print("|---|---:|---:|---:|---:|")
    for name, ef, p50, p95, rec in rows:
        print(f"| {name} | {ef} | {p50:.2f} | {p95:.2f} | {rec:.4f} |")


if __name__ == "__main__":
    main()
