"""Colour descriptor of the garment, not of the studio background.

ImageNet-style features barely see colour, but shoppers do: a black hoodie should rank black hoodies above
blue ones. The descriptor is a hue/lightness histogram of the pixels that differ from the background
(estimated from the image border), square-rooted so that cosine similarity between two descriptors is
their Bhattacharyya coefficient.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

COLOUR_VERSION = "c1"
HUE_BINS = 12
# Achromatic pixels are binned by lightness; chromatic ones by hue x (dark, light) x (muted, vivid).
GREY_BINS = 5
COLOUR_DIM = GREY_BINS + HUE_BINS * 2 * 2
_MIN_GARMENT_FRACTION = 0.04


def background_colour(rgb: np.ndarray) -> np.ndarray:
    """The studio background: the median colour of the image border."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float32)
    return np.median(border, axis=0)


def garment_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels that differ clearly from the background colour estimated on the image border."""
    distance = np.abs(rgb.astype(np.float32) - background_colour(rgb)).max(axis=2)
    mask = distance > 24
    if mask.mean() < _MIN_GARMENT_FRACTION:  # nothing stands out: describe the whole picture
        mask[:] = True
    return mask


def colour_descriptor(rgb: np.ndarray) -> np.ndarray:
    """Describe an (H, W, 3) uint8 image as a unit-length float32 vector of length COLOUR_DIM."""
    mask = garment_mask(rgb)
    hsv = np.asarray(Image.fromarray(rgb).convert("HSV"), dtype=np.float32)[mask] / 255.0
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    chromatic = (sat > 0.2) & (val > 0.18)
    grey_bin = np.minimum((val * GREY_BINS).astype(np.int64), GREY_BINS - 1)
    hue_bin = np.minimum((hue * HUE_BINS + 0.5).astype(np.int64) % HUE_BINS, HUE_BINS - 1)
    colour_bin = GREY_BINS + hue_bin * 4 + (val > 0.6) * 2 + (sat > 0.55)
    bins = np.where(chromatic, colour_bin, grey_bin)
    histogram = np.bincount(bins, minlength=COLOUR_DIM).astype(np.float32)
    histogram = np.sqrt(histogram / max(histogram.sum(), 1.0))
    return histogram / max(float(np.linalg.norm(histogram)), 1e-12)


def combine(shape: np.ndarray, colour: np.ndarray, colour_weight: float) -> np.ndarray:
    """Join unit shape and colour vectors so that cosine = (1-w)·cos(shape) + w·cos(colour)."""
    if not 0.0 <= colour_weight <= 1.0:
        raise ValueError("colour weight must be between 0 and 1")
    shape = np.atleast_2d(shape).astype(np.float32)
    colour = np.atleast_2d(colour).astype(np.float32)
    return np.hstack([shape * np.sqrt(1.0 - colour_weight), colour * np.sqrt(colour_weight)]).astype(np.float32)
