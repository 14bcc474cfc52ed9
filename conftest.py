"""Shared fixtures: a tiny trained model (seconds, not minutes) and throw-away data directories."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

GARMENT_COLOURS = {"black": (20, 20, 20), "blue": (30, 40, 200), "red": (200, 30, 30), "white": (235, 235, 235)}


def garment_photo(kind: str, colour: str, *, size: int = 96, seed: int = 0, fmt: str = "PNG") -> bytes:
    """A synthetic product shot: one garment silhouette in one colour on a white background."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    jitter = int(rng.integers(-3, 4))
    fill = tuple(int(np.clip(c + rng.integers(-12, 13), 0, 255)) for c in GARMENT_COLOURS[colour])
    s = size
    if kind == "tshirt":
        draw.polygon([(s*.3, s*.2), (s*.7, s*.2), (s*.9, s*.35), (s*.8, s*.45), (s*.72, s*.4), (s*.72, s*.85),
                      (s*.28, s*.85), (s*.28, s*.4), (s*.2, s*.45), (s*.1, s*.35)], fill=fill)
    elif kind == "trousers":
        draw.polygon([(s*.3, s*.1), (s*.7, s*.1), (s*.75, s*.9), (s*.55, s*.9), (s*.5, s*.4), (s*.45, s*.9),
                      (s*.25, s*.9)], fill=fill)
    elif kind == "bag":
        draw.rectangle([s*.2, s*.4, s*.8, s*.85], fill=fill)
        draw.arc([s*.35, s*.2, s*.65, s*.6], 180, 360, fill=fill, width=max(2, s // 24))
    else:
        raise ValueError(kind)
    image = image.transform(image.size, Image.Transform.AFFINE, (1, 0, jitter, 0, 1, jitter), fillcolor=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model trained for a few seconds on synthetic garments, exported like a real one."""
    from lookbook.vision.encoder import fit_square
    from lookbook.vision.images import load_image
    from lookbook.vision.training import TrainConfig, export, train

    kinds, colours = ["tshirt", "trousers", "bag"], list(GARMENT_COLOURS)
    pixels, categories, colour_labels = [], [], []
    for i in range(96):
        kind, colour = kinds[i % 3], colours[(i // 3) % 4]
        pixels.append(fit_square(load_image(garment_photo(kind, colour, seed=i)), 32))
        categories.append(kind)
        colour_labels.append(colour)
    config = TrainConfig(input_size=32, epochs=1, batch_size=16, embedding_dim=32, val_fraction=0.25)
    result = train(np.stack(pixels), {"category": categories, "colour": colour_labels}, config, progress=False)
    models = tmp_path_factory.mktemp("models")
    export(result, models / "default", name="tiny-test-model", trained_on="synthetic garments")
    return models / "default"


@pytest.fixture
def lookbook_env(tmp_path, tiny_model_dir, monkeypatch):
    """LOOKBOOK_HOME in a temporary folder and LOOKBOOK_MODELS pointing at the tiny model."""
    home = tmp_path / "home"
    monkeypatch.setenv("LOOKBOOK_HOME", str(home))
    monkeypatch.setenv("LOOKBOOK_MODELS", str(tiny_model_dir.parent))
    monkeypatch.delenv("LOOKBOOK_DATABASE_URL", raising=False)
    return home
