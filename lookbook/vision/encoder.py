"""Turn product photos into vectors with an exported ONNX model; no torch at serve time.

A model directory holds ``encoder.onnx`` (uint8 NHWC pixels in; a unit-length embedding and one set of
logits per label head out) and ``model.json`` (its version, input size, label names and training
metrics). Every stored vector is tagged with :attr:`Encoder.vector_version`, so a model change is
detected and triggers re-indexing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from lookbook.vision.colour import COLOUR_VERSION, background_colour, colour_descriptor, garment_mask

MODEL_FILE = "encoder.onnx"
INFO_FILE = "model.json"


class ModelNotFoundError(FileNotFoundError):
    """No usable model directory (run `make setup` or `lookbook train`)."""


GARMENT_MARGIN = 0.04


def fit_square(image: Image.Image, size: int) -> np.ndarray:
    """Frame the garment like a catalog shot: uint8 (size, size, 3).

    The background around the garment is trimmed, then the garment is centred on a square of the background
    colour with a small margin, longest side filling the frame (how Fashion-MNIST framed its articles), so
    a close crop and a photo with wide margins of the same garment look alike to the model.
    """
    thumb = image.copy()
    thumb.thumbnail((96, 96))
    small = np.asarray(thumb, dtype=np.uint8)
    background = tuple(int(c) for c in background_colour(small))
    mask = garment_mask(small)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    scale_x, scale_y = image.width / small.shape[1], image.height / small.shape[0]
    box = (int(cols[0] * scale_x), int(rows[0] * scale_y),
           int(np.ceil((cols[-1] + 1) * scale_x)), int(np.ceil((rows[-1] + 1) * scale_y)))
    garment = image.crop(box)
    side = max(1, round(max(garment.size) * (1 + 2 * GARMENT_MARGIN)))
    canvas = Image.new("RGB", (side, side), background)
    canvas.paste(garment, ((side - garment.width) // 2, (side - garment.height) // 2))
    reducing_gap = 2.0 if side > 2 * size else None
    return np.asarray(canvas.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=reducing_gap), dtype=np.uint8)


@dataclass
class Embeddings:
    shape: np.ndarray                   # (n, dim) float32, unit length
    colour: np.ndarray                  # (n, COLOUR_DIM) float32, unit length
    predictions: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # head -> (label, prob) per item


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    input_size: int
    embedding_dim: int
    heads: dict[str, list[str]]
    metrics: dict
    # Columns read off a finer head's prediction: {column: {"from": head, "labels": [label per class]}}.
    derived_heads: dict = field(default_factory=dict)

    @property
    def label_columns(self) -> list[str]:
        return [*self.heads, *self.derived_heads]

    @classmethod
    def read(cls, directory: Path) -> "ModelInfo":
        data = json.loads((directory / INFO_FILE).read_text())
        return cls(
            name=data["name"], version=data["version"], input_size=int(data["input_size"]),
            embedding_dim=int(data["embedding_dim"]), heads=data.get("heads", {}), metrics=data.get("metrics", {}),
            derived_heads=data.get("derived_heads", {}),
        )


def find_model_dir(*candidates: Path) -> Path:
    """The first candidate that holds a complete model."""
    for directory in candidates:
        if (directory / MODEL_FILE).is_file() and (directory / INFO_FILE).is_file():
            return directory
    names = ", ".join(str(c) for c in candidates)
    raise ModelNotFoundError(f"no model found in {names}; run `make setup` or `lookbook train`")


class Encoder:
    """An ONNX embedding model plus the colour descriptor."""

    def __init__(self, directory: str | os.PathLike, *, threads: int | None = None):
        import onnxruntime as ort

        self.directory = Path(directory)
        self.info = ModelInfo.read(self.directory)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        # Spinning threads fight numpy and the HTTP workers for the cores; measured to double latency.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(self.directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._output_names = [o.name for o in self.session.get_outputs()]

    @property
    def input_size(self) -> int:
        return self.info.input_size

    @property
    def vector_version(self) -> str:
        """Identifies how a stored vector was made: model version plus colour descriptor version."""
        return f"{self.info.version}+{COLOUR_VERSION}"

    def pixels(self, image: Image.Image) -> np.ndarray:
        return fit_square(image, self.input_size)

    def embed_pixels(self, pixels: np.ndarray, *, with_predictions: bool = False) -> Embeddings:
        """Embed a batch of (n, size, size, 3) uint8 arrays from :meth:`pixels`."""
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        if pixels.ndim == 3:
            pixels = pixels[None]
        outputs = dict(zip(self._output_names, self.session.run(None, {"pixels": pixels})))
        colour = np.stack([colour_descriptor(p) for p in pixels])
        predictions: dict[str, list[tuple[str, float]]] = {}
        if with_predictions:
            for head, names in self.info.heads.items():
                logits = outputs[f"logits_{head}"]
                probs = np.exp(logits - logits.max(axis=1, keepdims=True))
                probs /= probs.sum(axis=1, keepdims=True)
                best = probs.argmax(axis=1)
                predictions[head] = [(names[i], float(probs[j, i])) for j, i in enumerate(best)]
            for column, rule in self.info.derived_heads.items():
                classes = self.info.heads[rule["from"]]
                predictions[column] = [(rule["labels"][classes.index(label)], p) for label, p in predictions[rule["from"]]]
        return Embeddings(shape=outputs["embedding"].astype(np.float32), colour=colour, predictions=predictions)

    def embed(self, images: Sequence[Image.Image], *, with_predictions: bool = False) -> Embeddings:
        return self.embed_pixels(np.stack([self.pixels(im) for im in images]), with_predictions=with_predictions)
