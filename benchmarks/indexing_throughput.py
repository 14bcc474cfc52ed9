"""Indexing throughput: catalog photos per second through lookbook's real import and indexing path.

Makes a Kaggle-layout catalog (styles.csv + images/<id>.jpg) of N synthetic product photos, by default
1800x2400 JPEGs like the Kaggle "Fashion Product Images" full-size set (--size 60x80 for its small
variant), in a fresh temporary LOOKBOOK_HOME, then times separately:

    import    lookbook.catalog.importer.import_catalog  (parse, validate = reduced-scale decode, hash, store)
    index     lookbook.catalog.indexing.index_catalog   (decode with draft mode on 2 threads, ONNX
                                                          embedding, vectors to the database, index update)

For comparison, the brief's method on a subset: a full Pillow decode and ResNet-50 features in torch at
224x224 (random weights), in batches.

    python benchmarks/indexing_throughput.py                          # 2000 photos of 1800x2400
    python benchmarks/indexing_throughput.py --size 60x80             # Kaggle's small images
    python benchmarks/indexing_throughput.py --n 200 --brief-n 20     # smoke test
    python benchmarks/indexing_throughput.py --cache /tmp/photos      # keep the photos for the next run
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

import _common as C

KAGGLE_HEADER = ["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year",
                 "usage", "productDisplayName"]
_ARTICLES = [("Apparel", "Topwear", "Tshirts"), ("Apparel", "Bottomwear", "Trousers"), ("Apparel", "Dress", "Dresses"),
             ("Footwear", "Shoes", "Casual Shoes"), ("Accessories", "Bags", "Handbags")]
_COLOURS = ["Black", "White", "Blue", "Red", "Green", "Grey", "Navy Blue", "Pink"]
FIRST_ID = 10_000


def _write_photo(job: tuple[Path, int, int, int, int]) -> int:
    path, seed, width, height, quality = job
    data = C.garment_jpeg(seed, width, height, quality)
    path.write_bytes(data)
    return len(data)


def make_source(folder: Path, n: int, size: tuple[int, int], quality: int, jobs: int) -> float:
    """A Kaggle-layout catalog of n photos in `folder`, reused when it already holds the same one. Returns MB."""
    spec = {"n": n, "size": list(size), "quality": quality, "version": 1}
    marker = folder / "benchmark-source.json"
    images = folder / "images"
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        print(f"reusing the {n} photos in {folder}", file=sys.stderr)
        return sum(p.stat().st_size for p in images.iterdir()) / 2**20
    shutil.rmtree(images, ignore_errors=True)
    images.mkdir(parents=True)
    ids = range(FIRST_ID, FIRST_ID + n)
    work = [(images / f"{pid}.jpg", pid, size[0], size[1], quality) for pid in ids]
    total = 0
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        for written in tqdm(pool.map(_write_photo, work, chunksize=8), total=n, desc="making photos",
                            unit="img", file=sys.stderr):
            total += written
    with open(folder / "styles.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(KAGGLE_HEADER)
        for i, pid in enumerate(ids):
            master, sub, article = _ARTICLES[i % len(_ARTICLES)]
            colour = _COLOURS[i % len(_COLOURS)]
            out.writerow([pid, ["Men", "Women"][i % 2], master, sub, article, colour, "Summer", 2012 + i % 6,
                          "Casual", f"Synthetic {colour} {article} {pid}"])
    marker.write_text(json.dumps(spec))
    print(f"made {n} photos of {size[0]}x{size[1]} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return total / 2**20


def brief_throughput(paths: list[Path], batch: int, threads: int) -> tuple[float, float, float]:
    """The brief's indexing: full decode + ResNet-50 224 in torch. Returns (seconds, decode s, model s)."""
    import torch

    torch.set_num_threads(threads)
    model = C.resnet50_features()
    C.brief_embed(model, [C.brief_decode(paths[0].read_bytes())])  # warm-up, not timed
    decode_s = model_s = 0.0
    features = []
    for lo in tqdm(range(0, len(paths), batch), desc="brief: ResNet-50", unit="batch", file=sys.stderr):
        t = time.perf_counter()
        images = [C.brief_decode(p.read_bytes()) for p in paths[lo:lo + batch]]
        decode_s += time.perf_counter() - t
        t = time.perf_counter()
        features.append(C.brief_embed(model, images))
        model_s += time.perf_counter() - t
    assert sum(len(f) for f in features) == len(paths)
    return decode_s + model_s, decode_s, model_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--n", type=int, default=2000, help="catalog photos (default: 2000)")
    parser.add_argument("--size", type=C.parse_size, default=(1800, 2400), metavar="WxH",
                        help="photo size (default: 1800x2400, Kaggle's full images; 60x80 for the small set)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (default: 90)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="model directory (default: $LOOKBOOK_MODELS/default, i.e. models/default)")
    parser.add_argument("--batch-size", type=int, default=64, help="index_catalog batch size (default: 64)")
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX Runtime and torch intra-op threads (default: the Encoder's, min(cores, 4))")
    parser.add_argument("--brief-n", type=int, default=100, help="photos for the brief's method (default: 100)")
    parser.add_argument("--brief-batch", type=int, default=32, help="brief's method batch size (default: 32)")
    parser.add_argument("--skip-brief", action="store_true", help="do not run the brief's method")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the generated photos in this folder and reuse them next time "
                             "(default: a temporary folder, deleted)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes making the photos (default: all cores)")
    args = parser.parse_args()

    C.warn_if_busy()
    threads = args.threads or min(os.cpu_count() or 1, 4)
    model_dir = (args.model_dir or C.default_model_dir()).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="lookbook-bench-"))
    try:
        source = args.cache or workdir / "source"
        source.mkdir(parents=True, exist_ok=True)
        megabytes = make_source(source, args.n, args.size, args.quality, args.jobs)

        os.environ["LOOKBOOK_HOME"] = str(workdir / "home")  # a fresh data directory for this run
        from lookbook.catalog.importer import import_catalog
        from lookbook.catalog.indexing import index_catalog
        from lookbook.config import get_paths
        from lookbook.db import Database
        from lookbook.storage import LocalImageStore

        encoder = C.open_encoder(model_dir, args.threads)
        paths = get_paths()
        paths.home.mkdir(parents=True)
        db = Database(paths.database_url)
        store = LocalImageStore(paths.images)

        start = time.perf_counter()
        imported = import_catalog(source, db=db, store=store, progress=True)
        import_s = time.perf_counter() - start
        print(imported.summary(), file=sys.stderr)
        if imported.imported != args.n:
            sys.exit(f"expected {args.n} imported products, got {imported.imported}")

        start = time.perf_counter()
        indexed = index_catalog(db=db, store=store, encoder=encoder, directory=paths.index,
                                batch_size=args.batch_size, progress=True)
        index_s = time.perf_counter() - start
        print(indexed.summary(), file=sys.stderr)
        if indexed.embedded != args.n or indexed.indexed != args.n:
            sys.exit(f"expected {args.n} embedded and indexed products, got {indexed.embedded} / {indexed.indexed}")
        db.dispose()

        rows = [
            ["lookbook import_catalog (validate = reduced-scale decode, hash, store)", f"{args.n:,}", f"{import_s:.2f}",
             f"{args.n / import_s:.1f}"],
            [f"lookbook index_catalog (draft decode, ONNX {encoder.input_size}px, batch {args.batch_size}, index)",
             f"{args.n:,}", f"{index_s:.2f}", f"{args.n / index_s:.1f}"],
            ["lookbook import + index", f"{args.n:,}", f"{import_s + index_s:.2f}",
             f"{args.n / (import_s + index_s):.1f}"],
        ]
        if not args.skip_brief:
            subset = sorted((source / "images").iterdir())[:args.brief_n]
            brief_s, decode_s, model_s = brief_throughput(subset, args.brief_batch, threads)
            rows.append([f"brief: full decode + ResNet-50 torch {C.BRIEF_SIZE}px, batch {args.brief_batch} "
                         f"(decode {decode_s:.2f} s + model {model_s:.2f} s)",
                         f"{len(subset):,}", f"{brief_s:.2f}", f"{len(subset) / brief_s:.1f}"])

        w, h = args.size
        print(f"\nIndexing throughput: {args.n:,} synthetic catalog photos {w}x{h} JPEG q{args.quality} "
              f"(mean {megabytes * 1024 / args.n:.0f} KB, read from the page cache); model {encoder.info.version} "
              f"(input {encoder.input_size}px); ONNX Runtime / torch {threads} threads.\n")
        print(C.markdown_table(["step", "images", "seconds", "images/s"], rows))
        print()
        print(C.machine_line())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
