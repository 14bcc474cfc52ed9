"""Helpers shared by the benchmark scripts (not part of the lookbook package).

- synthetic studio photos of garments as JPEG bytes (``garment_jpeg``),
- clustered synthetic catalog vectors whose clusters sit around real embeddings (``VectorMixture``),
- the "brief's method": a compact ResNet-50 (random weights; torchvision is not a dependency) run in torch
  at 224x224 on a full Pillow decode, and a scikit-learn brute-force cosine ``NearestNeighbors``,
- timing summaries, a markdown table printer and a one-line machine description.
"""

from __future__ import annotations

import io
import os
import platform
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

# --------------------------------------------------------------------------------------- synthetic photos

# Garment silhouettes in unit coordinates (x right, y down), roughly how they sit in a catalog photo.
_SHAPES = {
    "tshirt": [(0.30, 0.10), (0.42, 0.06), (0.50, 0.12), (0.58, 0.06), (0.70, 0.10), (0.92, 0.30),
               (0.80, 0.40), (0.72, 0.32), (0.72, 0.92), (0.28, 0.92), (0.28, 0.32), (0.20, 0.40),
               (0.08, 0.30)],
    "dress": [(0.38, 0.05), (0.50, 0.10), (0.62, 0.05), (0.66, 0.30), (0.60, 0.42), (0.86, 0.95),
              (0.14, 0.95), (0.40, 0.42), (0.34, 0.30)],
    "trousers": [(0.30, 0.05), (0.70, 0.05), (0.76, 0.95), (0.56, 0.95), (0.50, 0.35), (0.44, 0.95),
                 (0.24, 0.95)],
    "shoe": [(0.08, 0.55), (0.40, 0.50), (0.55, 0.35), (0.70, 0.36), (0.92, 0.60), (0.92, 0.70),
             (0.08, 0.70)],
    "bag": [(0.20, 0.35), (0.35, 0.35), (0.38, 0.15), (0.62, 0.15), (0.65, 0.35), (0.80, 0.35),
            (0.85, 0.90), (0.15, 0.90)],
}
SHAPE_NAMES = sorted(_SHAPES)


def garment_photo(seed: int, width: int, height: int) -> Image.Image:
    """A studio-style product photo: near-white background, one shaded, textured garment, sensor noise.

    Deterministic per seed; shape, colour, size, position, pattern and lighting vary between seeds, so
    a series of seeds gives different (but equally costly to decode) photos.
    """
    rng = random.Random(seed)
    w, h = width, height
    base = rng.randint(228, 250)
    background = Image.new("RGB", (w, h), (base, base - rng.randint(0, 4), base - rng.randint(0, 6)))
    vignette = Image.radial_gradient("L").resize((w, h), Image.Resampling.BILINEAR)
    background = ImageChops.subtract(background, Image.merge("RGB", [vignette.point(lambda v: v // 12)] * 3))

    kind = rng.choice(SHAPE_NAMES)
    scale = rng.uniform(0.7, 0.95)
    ox, oy = rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05)
    side = min(w, h)
    x0, y0 = (w - side * scale) / 2 + ox * w, (h - side * scale) / 2 + oy * h
    points = [(x0 + (x + rng.uniform(-0.02, 0.02)) * side * scale, y0 + (y + rng.uniform(-0.02, 0.02)) * side * scale)
              for x, y in _SHAPES[kind]]
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(points, fill=255)
    mask = mask.filter(ImageFilter.BoxBlur(max(1, side // 600)))

    colour = tuple(rng.randint(0, 255) for _ in range(3))
    garment = Image.new("RGB", (w, h), colour)
    draw = ImageDraw.Draw(garment)
    if rng.random() < 0.4:  # stripes or checks in a second colour
        second = tuple(rng.randint(0, 255) for _ in range(3))
        step = max(4, int(side * rng.uniform(0.02, 0.08)))
        for s in range(0, w + h, step * 2):
            draw.rectangle([0, s, w, s + step], fill=second)
            if rng.random() < 0.3:
                draw.rectangle([s, 0, s + step, h], fill=second)
    if rng.random() < 0.5:  # a print or logo
        cx, cy, r = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.3, 0.5), side * rng.uniform(0.05, 0.12)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(rng.randint(0, 255) for _ in range(3)))
    # Lighting: a soft gradient across the garment, then fabric texture (low-resolution noise, upscaled).
    light = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize((w, h), Image.Resampling.BILINEAR)
    light = light.point(lambda v: 150 + v * 105 // 255)
    garment = ImageChops.multiply(garment, Image.merge("RGB", [light] * 3))
    texture = Image.effect_noise((max(1, w // 4), max(1, h // 4)), rng.uniform(4, 10))
    texture = texture.resize((w, h), Image.Resampling.BILINEAR)
    garment = ImageChops.add(garment, Image.merge("RGB", [texture] * 3), scale=1.0, offset=-128)

    photo = Image.composite(garment, background, mask)
    grain = Image.effect_noise((w, h), 2.0)  # sensor noise: keeps JPEG sizes photo-like
    return ImageChops.add(photo, Image.merge("RGB", [grain] * 3), offset=-128)


def garment_jpeg(seed: int, width: int, height: int, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    garment_photo(seed, width, height).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def parse_size(text: str) -> tuple[int, int]:
    """'1800x2400' -> (1800, 2400): width x height."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected WIDTHxHEIGHT, e.g. 1152x864, not {text!r}") from None
    if w < 8 or h < 8:
        raise ValueError("images must be at least 8x8 pixels")
    return w, h


def parse_ints(text: str) -> list[int]:
    """'10000,70000,1000000' (underscores allowed) -> [10000, 70000, 1000000]."""
    return [int(v.replace("_", "")) for v in text.split(",") if v.strip()]


# ------------------------------------------------------------------------------------ synthetic vectors


class VectorMixture:
    """Unit vectors from a gaussian mixture with uneven cluster sizes, around real query-like vectors.

    The cluster centres are the combined (shape + colour) vectors of synthetic garment photos embedded by
    the model, each jittered into several clusters; points are centre + noise. So catalog vectors are
    clustered (not uniform), and a real query vector from the same pipeline lands among them instead of
    far away from everything (which would make HNSW search unrealistically cheap or expensive).
    """

    def __init__(self, seed_vectors: np.ndarray, *, clusters: int = 256, jitter: float = 0.5,
                 spread: float = 0.6, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        seed_vectors = np.asarray(seed_vectors, np.float32)
        self.dim = seed_vectors.shape[1]
        picks = seed_vectors[self.rng.integers(0, len(seed_vectors), clusters)]
        centres = picks + jitter * self._noise(clusters)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        weights = self.rng.pareto(1.5, clusters) + 1  # a few big categories, many small ones
        self.weights = weights / weights.sum()
        self.spread = spread

    def _noise(self, n: int) -> np.ndarray:
        return self.rng.standard_normal((n, self.dim), dtype=np.float32) / np.float32(np.sqrt(self.dim))

    def sample(self, n: int) -> np.ndarray:
        labels = self.rng.choice(len(self.centres), size=n, p=self.weights)
        x = self.centres[labels] + self.spread * self._noise(n)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def seed_vectors(encoder, count: int = 64, *, first_seed: int = 10_000_000) -> np.ndarray:
    """Combined vectors (colour weight 0.3, as served) of `count` synthetic garment photos."""
    from lookbook.vision.colour import combine

    size = max(encoder.input_size, 96)
    pixels = np.stack([encoder.pixels(garment_photo(first_seed + i, size, size)) for i in range(count)])
    embeddings = encoder.embed_pixels(pixels)
    return combine(embeddings.shape, embeddings.colour, 0.3)


def build_index(index, mixture: VectorMixture, n: int, *, chunk: int = 50_000, desc: str = "build") -> float:
    """Add n mixture vectors in chunks (ids 0..n-1); above the HNSW threshold, grow the graph after each chunk.

    VectorIndex builds its graph lazily on the first approximate search and appends rows added since on
    later ones, so a one-result approximate search after every chunk grows the graph piece by piece (the
    same graph as one big add) and the progress bar shows where a long build is. Returns seconds.
    """
    from tqdm import tqdm

    hnsw = n >= index.hnsw_threshold
    probe = mixture.sample(1)[0]
    start = time.perf_counter()
    with tqdm(total=n, desc=desc, unit="vec", unit_scale=True, file=sys.stderr) as bar:
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            index.add(np.arange(lo, hi), mixture.sample(hi - lo))
            if hnsw and hi >= min(index.hnsw_threshold, n):
                index.search(probe, 1, exact=False)
            bar.update(hi - lo)
    return time.perf_counter() - start


# --------------------------------------------------------------------------------- the brief's method

BRIEF_SIZE = 224
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


def resnet50_features():
    """ResNet-50 (bottleneck blocks [3, 4, 6, 3]) up to the 2048-d global average pool, random weights, eval mode."""
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, inp: int, width: int, stride: int):
            super().__init__()
            out = width * 4
            self.body = nn.Sequential(
                nn.Conv2d(inp, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out),
            )
            self.shortcut = (nn.Identity() if stride == 1 and inp == out else
                             nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out)))

        def forward(self, x):
            return torch.relu(self.body(x) + self.shortcut(x))

    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, 2, 1)]
    inp = 64
    for blocks, width, stride in ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)):
        for b in range(blocks):
            layers.append(Bottleneck(inp, width, stride if b == 0 else 1))
            inp = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers).eval()


def brief_decode(data: bytes) -> Image.Image:
    """The brief's decode: a full-resolution Pillow decode to RGB (no draft mode, no limits)."""
    return Image.open(io.BytesIO(data)).convert("RGB")


def brief_tensor(images):
    """Resize to 224x224 and normalise with the ImageNet mean/std: a float32 (n, 3, 224, 224) tensor."""
    import torch

    arrays = [np.asarray(im.resize((BRIEF_SIZE, BRIEF_SIZE), Image.Resampling.BILINEAR), np.float32) / 255.0
              for im in images]
    batch = (np.stack(arrays) - _MEAN) / _STD
    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))


def brief_embed(model, images) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return model(brief_tensor(images)).numpy()


def brief_search(gallery: np.ndarray, features: np.ndarray, k: int = 5):
    """The brief's search: a NearestNeighbors fitted on the whole gallery for every request."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(gallery)
    return nn.kneighbors(features, n_neighbors=k)


def random_gallery(n: int, dim: int = 2048, seed: int = 0) -> np.ndarray:
    """Non-negative float32 features, like pooled ReLU activations."""
    return np.random.default_rng(seed).random((n, dim), dtype=np.float32)


# ----------------------------------------------------------------------------------------- reporting


class Stopwatch:
    """Named stage timings per iteration: ``with watch("decode"): ...``; ``watch.next()`` closes an iteration."""

    def __init__(self):
        self.rows: list[dict[str, float]] = []
        self.current: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.current[stage] = self.current.get(stage, 0.0) + (time.perf_counter() - start) * 1000

    def next(self) -> None:
        self.rows.append(self.current)
        self.current = {}

    def totals(self) -> np.ndarray:
        return np.array([sum(r.values()) for r in self.rows])

    def median(self, stage: str) -> float:
        return float(np.median([r.get(stage, 0.0) for r in self.rows]))

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.totals(), q))


def markdown_table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """`align`: one character per column, 'l' or 'r' (default: first column left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def machine_line() -> str:
    """CPU model, cores, memory and the versions that matter, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    memory = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f", {kb / 2**20:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    load = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    versions = ", ".join(f"{name} {_version(pkg)}" for name, pkg in (
        ("onnxruntime", "onnxruntime"), ("faiss", "faiss-cpu"), ("numpy", "numpy"), ("Pillow", "pillow"),
        ("torch", "torch"), ("scikit-learn", "scikit-learn")))
    return (f"Machine: {cpu}, {usable} cores{memory}{load}; Python {platform.python_version()}, {versions}"
            f"{_blas_threads()}")


def _blas_threads() -> str:
    """numpy's BLAS and its thread count: a multi-threaded BLAS slows single-query matrix products on busy cores."""
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        names = dict.fromkeys(f"{i['prefix']} {i['num_threads']} threads" for i in blas)
        return "; BLAS " + ", ".join(names) if names else ""
    except Exception:
        return ""


def warn_if_busy() -> None:
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > 0.5:
        print(f"note: load average is {os.getloadavg()[0]:.2f}; timings are only comparable on a quiet machine",
              file=sys.stderr)


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss where /proc is missing), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KB on Linux


def current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def default_model_dir() -> Path:
    from lookbook.config import get_paths

    return get_paths().default_model


def open_encoder(model_dir: Path, threads: int | None = None):
    from lookbook.vision.encoder import Encoder, ModelNotFoundError, find_model_dir

    try:
        return Encoder(find_model_dir(Path(model_dir)), threads=threads)
    except ModelNotFoundError as exc:
        sys.exit(f"{exc}\n(or pass --model-dir, or set LOOKBOOK_MODELS)")
