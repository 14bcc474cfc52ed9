"""End-to-end visual search latency: from the bytes of an uploaded 1-megapixel JPEG to the top-k ids.

lookbook's path, as in lookbook.catalog.service.query_vector + VectorIndex.search:

    load_image(bytes, min_side=input_size)   decode  (JPEG draft mode: DCT-scaled decode)
    encoder.pixels -> encoder.embed_pixels   embed   (pad + resize, ONNX model, colour descriptor)
      -> combine(shape, colour, 0.3)
    VectorIndex.search(k=40)                 search  (exact below hnsw_threshold, HNSW above)
      -> agreement_ranking -> top 10                   (category agreement, as search ranks; random categories)

at several catalog sizes. The catalog is synthetic: clustered unit vectors of the index's dimension
(embedding_dim + COLOUR_DIM) around real embeddings of synthetic garment photos. Index build time is
reported but not part of the latency.

Side by side, the brief's method: a full Pillow decode, ResNet-50 features in torch at 224x224 (random
weights: the cost is the same), and scikit-learn NearestNeighbors(metric="cosine", algorithm="brute")
fitted on a random 44k x 2048 gallery for every request, k=5.

Every query is a different synthetic photo (1152x864, JPEG quality 90); a few warm-up queries are not
counted. Prints a markdown table (for docs/benchmarks.md).

    python benchmarks/query_latency.py                             # 10k, 70k, 1M + the brief at 44k
    python benchmarks/query_latency.py --sizes 2000 --queries 10 --brief-sizes 2000   # smoke test
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import _common as C
from lookbook.search.agreement import agreement_ranking, candidates_for
from lookbook.search.index import VectorIndex
from lookbook.vision.colour import COLOUR_DIM, combine
from lookbook.vision.images import load_image

K = 10
BRIEF_K = 5
COLOUR_WEIGHT = 0.3
WARMUP = 3


CATEGORIES = np.random.default_rng(0).integers(0, 40, size=2_000_000)  # a category code per synthetic id


def lookbook_query(encoder, index: VectorIndex, data: bytes, watch: C.Stopwatch) -> np.ndarray:
    with watch("decode"):
        image = load_image(data, min_side=encoder.input_size, name="query photo")
    with watch("embed"):
        embeddings = encoder.embed_pixels(encoder.pixels(image)[None])
        vector = combine(embeddings.shape, embeddings.colour, COLOUR_WEIGHT)[0]
    with watch("search"):
        ids, scores = index.search(vector, candidates_for(K))
        found = ids[0][ids[0] >= 0]
        order, _ = agreement_ranking(scores[0][: len(found)], CATEGORIES[found])
    return found[order][:K]


def brief_query(model, gallery: np.ndarray, data: bytes, watch: C.Stopwatch) -> np.ndarray:
    with watch("decode"):
        image = C.brief_decode(data)
    with watch("embed"):
        features = C.brief_embed(model, [image])
    with watch("search"):
        _, ids = C.brief_search(gallery, features, BRIEF_K)
    return ids[0]


def run(queries: list[bytes], one_query, desc: str) -> C.Stopwatch:
    for data in queries[:WARMUP]:
        one_query(data, C.Stopwatch())
    watch = C.Stopwatch()
    for data in tqdm(queries, desc=desc, unit="query", file=sys.stderr, leave=False):
        found = one_query(data, watch)
        watch.next()
        assert (found >= 0).sum() > 0, "search returned nothing"
    return watch


def row(method: str, size: int, watch: C.Stopwatch) -> list[str]:
    return [method, f"{size:,}", f"{watch.percentile(50):.1f}", f"{watch.percentile(95):.1f}",
            f"{watch.median('decode'):.1f}", f"{watch.median('embed'):.1f}", f"{watch.median('search'):.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--sizes", type=C.parse_ints, default=C.parse_ints("10000,70000,1000000"),
                        help="catalog sizes, comma-separated (default: 10000,70000,1000000)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per catalog size (default: 200)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="model directory (default: $LOOKBOOK_MODELS/default, i.e. models/default)")
    parser.add_argument("--photo-size", type=C.parse_size, default=(1152, 864), metavar="WxH",
                        help="query photo size (default: 1152x864, about 1 megapixel)")
    parser.add_argument("--quality", type=int, default=90, help="query JPEG quality (default: 90)")
    parser.add_argument("--hnsw-m", type=int, default=None, help="override VectorIndex's HNSW M")
    parser.add_argument("--ef-construction", type=int, default=None, help="override VectorIndex's efConstruction")
    parser.add_argument("--ef-search", type=int, default=None, help="override VectorIndex's ef_search")
    parser.add_argument("--chunk", type=int, default=50_000, help="vectors per add() while building (default: 50000)")
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX Runtime and torch intra-op threads (default: the Encoder's, min(cores, 4))")
    parser.add_argument("--skip-brief", action="store_true", help="do not run the brief's method")
    parser.add_argument("--brief-sizes", type=C.parse_ints, default=C.parse_ints("44000"),
                        help="gallery sizes for the brief's method, comma-separated (default: 44000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    C.warn_if_busy()
    model_dir = args.model_dir or C.default_model_dir()
    encoder = C.open_encoder(model_dir, args.threads)
    threads = args.threads or min(os.cpu_count() or 1, 4)
    dim = encoder.info.embedding_dim + COLOUR_DIM
    overrides = {name: value for name, value in (("hnsw_m", args.hnsw_m), ("ef_construction", args.ef_construction),
                                                  ("ef_search", args.ef_search)) if value is not None}
    print(f"model {encoder.info.version} ({model_dir}): input {encoder.input_size}px, vectors {dim}-d",
          file=sys.stderr)

    w, h = args.photo_size
    t = time.perf_counter()
    queries = [C.garment_jpeg(args.seed * 1_000_003 + i, w, h, args.quality)
               for i in tqdm(range(args.queries + WARMUP), desc="query photos", file=sys.stderr, leave=False)]
    print(f"{len(queries)} query photos {w}x{h} (mean {np.mean([len(q) for q in queries]) / 1024:.0f} KB) "
          f"made in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    mixture = C.VectorMixture(C.seed_vectors(encoder), seed=args.seed)

    rows, notes = [], []
    for size in args.sizes:
        index = VectorIndex(dim, **overrides)
        hnsw = size >= index.hnsw_threshold
        build_s = C.build_index(index, mixture, size, chunk=args.chunk, desc=f"build {size:,}")
        kind = (f"HNSW M={index.hnsw_m} efC={index.ef_construction} ef_search={index.ef_search}" if hnsw
                else "exact")
        notes.append(f"- {size:,} vectors: {kind}, built in {build_s:.1f} s "
                     f"({'generate + add + HNSW graph' if hnsw else 'generate + add'}; not part of the latency)")
        print(notes[-1][2:], file=sys.stderr)
        watch = run(queries, lambda data, watch, index=index: lookbook_query(encoder, index, data, watch), f"queries {size:,}")
        search = f"HNSW ef={index.ef_search}" if hnsw else "exact"
        method = f"lookbook: ONNX {encoder.input_size}px + VectorIndex {search}"
        rows.append(row(method, size, watch))
        print(" | ".join(rows[-1]), file=sys.stderr)
        del index
        gc.collect()

    if not args.skip_brief:
        import torch

        torch.set_num_threads(threads)
        model = C.resnet50_features()
        for size in args.brief_sizes:
            gallery = C.random_gallery(size, seed=args.seed)
            watch = run(queries, lambda data, watch: brief_query(model, gallery, data, watch), f"brief {size:,}")
            rows.append(row(f"brief: ResNet-50 torch {C.BRIEF_SIZE}px + sklearn brute cosine, fit per request",
                            size, watch))
            print(" | ".join(rows[-1]), file=sys.stderr)
            del gallery
            gc.collect()
        notes.append(f"- brief: full Pillow decode, ResNet-50 (random weights) in torch {torch.__version__} with "
                     f"{torch.get_num_threads()} threads, NearestNeighbors fitted on a float32 N x 2048 gallery "
                     f"per request, k={BRIEF_K}")

    print(f"\nQuery latency, end to end from the JPEG bytes: {args.queries} queries per row, {w}x{h} JPEG q{args.quality} "
          f"(mean {np.mean([len(q) for q in queries]) / 1024:.0f} KB), lookbook k={K}; ONNX Runtime "
          f"{threads} threads. decode/embed/search are per-stage medians (ms).\n")
    print(C.markdown_table(["method", "catalog size", "p50 ms", "p95 ms", "decode", "embed", "search"], rows,
                           align="lrrrrrr"))
    print()
    print("\n".join(notes))
    print(f"- model {encoder.info.version}: input {encoder.input_size}px, {dim}-d vectors "
          f"({encoder.info.embedding_dim} shape + {COLOUR_DIM} colour); catalog vectors: clustered mixture "
          f"({len(mixture.centres)} clusters around real embeddings)")
    print(C.machine_line())


if __name__ == "__main__":
    main()
