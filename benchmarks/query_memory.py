"""Peak memory of a query-serving process: lookbook vs the brief's method.

Each measurement runs in its own fresh Python process, which reports its peak resident set size
(VmHWM from /proc/self/status; ru_maxrss where /proc is missing):

    build   builds a VectorIndex of N synthetic clustered vectors (HNSW at and above the index's
            hnsw_threshold) and saves it, as `lookbook index` does; its peak is reported separately
    serve   what a serving worker holds: loads the encoder (ONNX) and the saved index (the HNSW graph
            is read, not rebuilt), then answers --queries searches end to end from JPEG bytes
    brief   the brief's method: ResNet-50 in torch (random weights), a random float32 gallery of
            44k x 2048 features, and per request a full decode, 224x224 features and a scikit-learn
            NearestNeighbors(metric="cosine", algorithm="brute") fitted on the gallery, k=5

    python benchmarks/query_memory.py                           # 70k vectors, 44k gallery
    python benchmarks/query_memory.py --n 2000 --queries 10 --brief-gallery 2000 --brief-queries 5   # smoke test
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C

RESULT = "RESULT "
K = 10
BRIEF_K = 5


def _queries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jpg"))  # read one at a time, as uploads arrive


def _report(**values) -> None:
    values.update(peak_mb=C.peak_rss_mb(), rss_mb=C.current_rss_mb())
    print(RESULT + json.dumps(values), flush=True)


def role_build(args) -> None:
    from lookbook.search.index import VectorIndex
    from lookbook.vision.colour import COLOUR_DIM

    encoder = C.open_encoder(args.model_dir)
    overrides = {k: v for k, v in (("hnsw_m", args.hnsw_m), ("ef_construction", args.ef_construction)) if v is not None}
    index = VectorIndex(encoder.info.embedding_dim + COLOUR_DIM, **overrides)
    mixture = C.VectorMixture(C.seed_vectors(encoder), seed=args.seed)
    build_s = C.build_index(index, mixture, args.n, desc=f"build {args.n:,}")
    start = time.perf_counter()
    index.save(args.workdir / "index")
    hnsw = args.n >= index.hnsw_threshold
    _report(build_s=build_s, save_s=time.perf_counter() - start, hnsw=hnsw, dim=index.dim,
            params=f"HNSW M={index.hnsw_m} efC={index.ef_construction} ef_search={index.ef_search}" if hnsw else "exact")


def role_serve(args) -> None:
    start_mb = C.current_rss_mb()
    from lookbook.search.index import VectorIndex
    from lookbook.vision.colour import combine
    from lookbook.vision.images import load_image

    queries = _queries(args.workdir / "queries")[:args.queries]
    encoder = C.open_encoder(args.model_dir)
    index = VectorIndex.load(args.workdir / "index")
    index.search(index.vectors_of(index.ids[:1]), 1)  # touch the index once
    loaded_mb = C.current_rss_mb()
    for path in queries:
        image = load_image(path.read_bytes(), min_side=encoder.input_size, name="query photo")
        embeddings = encoder.embed_pixels(encoder.pixels(image)[None])
        ids, _ = index.search(combine(embeddings.shape, embeddings.colour, 0.3)[0], K)
        assert ids[0, 0] >= 0
    _report(start_mb=start_mb, loaded_mb=loaded_mb, queries=len(queries), vectors=len(index))


def role_brief(args) -> None:
    start_mb = C.current_rss_mb()
    queries = _queries(args.workdir / "queries")[:args.brief_queries]
    import sklearn.neighbors  # noqa: F401  (imported up front, as a service would)
    import torch

    torch.set_num_threads(args.threads or torch.get_num_threads())
    model = C.resnet50_features()
    gallery = C.random_gallery(args.brief_gallery, seed=args.seed)
    loaded_mb = C.current_rss_mb()
    for path in queries:
        features = C.brief_embed(model, [C.brief_decode(path.read_bytes())])
        _, ids = C.brief_search(gallery, features, BRIEF_K)
        assert len(ids[0]) == BRIEF_K
    _report(start_mb=start_mb, loaded_mb=loaded_mb, queries=len(queries), vectors=len(gallery))


def child(role: str, args) -> dict:
    """Run this script in a fresh process in `role`; its progress goes to our stderr, its result is returned."""
    command = [sys.executable, __file__, "--role", role, "--workdir", str(args.workdir),
               "--model-dir", str(args.model_dir), "--n", str(args.n), "--seed", str(args.seed), "--queries", str(args.queries),
               "--brief-gallery", str(args.brief_gallery), "--brief-queries", str(args.brief_queries)]
    for flag, value in (("--hnsw-m", args.hnsw_m), ("--ef-construction", args.ef_construction),
                        ("--threads", args.threads)):
        if value is not None:
            command += [flag, str(value)]
    print(f"[{role}] starting a fresh process", file=sys.stderr)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        sys.exit(f"the {role} process failed (exit code {done.returncode})")
    return json.loads(lines[-1][len(RESULT):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--n", type=int, default=70_000, help="vectors in lookbook's index (default: 70000)")
    parser.add_argument("--queries", type=int, default=100, help="queries the serving process answers (default: 100)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="model directory (default: $LOOKBOOK_MODELS/default, i.e. models/default)")
    parser.add_argument("--hnsw-m", type=int, default=None, help="override VectorIndex's HNSW M")
    parser.add_argument("--ef-construction", type=int, default=None, help="override VectorIndex's efConstruction")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads for the brief's method")
    parser.add_argument("--skip-brief", action="store_true", help="do not measure the brief's method")
    parser.add_argument("--brief-gallery", type=int, default=44_000,
                        help="gallery size for the brief's method (default: 44000)")
    parser.add_argument("--brief-queries", type=int, default=100,
                        help="queries for the brief's method (default: 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--role", choices=["build", "serve", "brief"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.model_dir = (args.model_dir or C.default_model_dir()).resolve()

    if args.role:
        {"build": role_build, "serve": role_serve, "brief": role_brief}[args.role](args)
        return

    C.open_encoder(args.model_dir)  # fail early, in this process, when there is no model
    args.workdir = Path(tempfile.mkdtemp(prefix="lookbook-mem-"))
    try:
        folder = args.workdir / "queries"
        folder.mkdir()
        count = max(args.queries, 0 if args.skip_brief else args.brief_queries)
        for i in range(count):
            (folder / f"{i:05d}.jpg").write_bytes(C.garment_jpeg(args.seed * 1_000_003 + i, 1152, 864, 90))
        print(f"{count} query photos 1152x864 written", file=sys.stderr)

        build = child("build", args)
        serve = child("serve", args)
        rows = [
            [f"lookbook build + save ({build['params']})", f"{args.n:,} x {build['dim']}", "-", "-",
             f"{build['peak_mb']:.0f}"],
            [f"lookbook serve: ONNX encoder + loaded VectorIndex, {serve['queries']} queries",
             f"{args.n:,} x {build['dim']}", f"{serve['start_mb']:.0f}", f"{serve['loaded_mb']:.0f}",
             f"{serve['peak_mb']:.0f}"],
        ]
        if not args.skip_brief:
            brief = child("brief", args)
            rows.append([f"brief: ResNet-50 torch + gallery + sklearn NN fit per request, {brief['queries']} queries",
                         f"{args.brief_gallery:,} x 2048", f"{brief['start_mb']:.0f}", f"{brief['loaded_mb']:.0f}",
                         f"{brief['peak_mb']:.0f}"])

        print(f"\nQuery process memory (resident MB; peak = VmHWM of a fresh process). The index was built in "
              f"{build['build_s']:.1f} s and saved in {build['save_s']:.1f} s by a separate process.\n")
        print(C.markdown_table(["process", "vectors", "RSS at start", "RSS after load", "peak RSS"], rows))
        print("\nRSS at start: interpreter + numpy + Pillow, before the role's own imports; after load: libraries imported, "
              "model and index (lookbook, one warm-up search done) or model and gallery (brief) in memory.")
        print()
        print(C.machine_line())
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
