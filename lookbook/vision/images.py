"""The one place where lookbook turns untrusted bytes into a picture.

Product photos come from shop owners, imports and shoppers' search uploads, so every image is
untrusted: it may be huge, a decompression bomb, truncated, or not an image at all. Every module
loads images through `load_image`, which enforces byte and pixel limits *before* decoding, accepts
only JPEG, PNG, WEBP and GIF, and always returns a fully loaded, upright RGB image (transparency
composited onto white). Anything unusable raises one typed `ImageError` with a plain-language
message. Pillow's process-wide settings (`Image.MAX_IMAGE_PIXELS`,
`ImageFile.LOAD_TRUNCATED_IMAGES`) are read by Pillow but never changed here.
"""

from __future__ import annotations

import io
import os
import struct
import typing
import zlib

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000

FORMATS = ["JPEG", "PNG", "WEBP", "GIF"]
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_CHUNK = 1024 * 1024
# What Pillow raises on malformed data (besides the decompression-bomb and "unidentified" errors).
_DECODE_ERRORS = (
    OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, struct.error, zlib.error
)
_MESSAGES = {
    "too_large": "the file is too large",
    "too_many_pixels": "the image has too many pixels",
    "not_an_image": "not an image (expected JPEG, PNG, WEBP or GIF)",
    "corrupt": "the image file is damaged or incomplete",
    "unreadable": "the file could not be read",
}

Source = typing.Union[bytes, bytearray, memoryview, str, os.PathLike, typing.BinaryIO]


class ImageError(ValueError):
    """One typed error for every image that cannot be used.

    `reason` is one of "too_large", "too_many_pixels", "not_an_image", "corrupt", "unreadable";
    `str(err)` is a message a shop owner understands, prefixed with the file name when known.
    """

    def __init__(self, reason: str, detail: str | None = None, name: str | None = None):
        if reason not in _MESSAGES:
            raise ValueError(f"unknown ImageError reason {reason!r}")
        self.reason, self.detail, self.name = reason, detail, name
        message = detail or _MESSAGES[reason]
        super().__init__(f"{name}: {message}" if name else message)

    def __reduce__(self):  # keep the error picklable (worker processes send it back)
        return type(self), (self.reason, self.detail, self.name)


def read_image_bytes(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None) -> bytes:
    """Return the raw bytes of a path, binary file object or bytes, never reading more than max_bytes + 1."""
    name = name or _name_of(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise ImageError("too_large", f"the file is larger than the {_human_bytes(max_bytes)} limit", name)
        return data
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                return _read_bounded(f, max_bytes, name)
        if hasattr(source, "read"):
            return _read_bounded(source, max_bytes, name)
    except OSError as exc:
        raise ImageError("unreadable", f"the file could not be read ({exc.strerror or exc})", name) from exc
    raise TypeError(f"cannot read an image from {type(source).__name__}")


def load_image(
    source: Source,
    *,
    min_side: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> Image.Image:
    """Decode an untrusted image into a fully loaded, EXIF-upright RGB image.

    With `min_side`, a JPEG may be decoded at a reduced scale (1/2, 1/4 or 1/8) whose shorter side
    is still at least `min_side`; nothing else is resized.
    """
    if min_side is not None and min_side < 1:
        raise ValueError("min_side must be a positive number of pixels")
    name = name or _name_of(source)
    data = read_image_bytes(source, max_bytes=max_bytes, name=name)
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            width, height = img.size  # from the header; nothing is decoded yet
            if width * height > max_pixels:
                detail = f"the image is too big ({width} x {height} pixels; the limit is {max_pixels:,} pixels)"
                raise ImageError("too_many_pixels", detail, name)
            if min_side and img.format in ("JPEG", "MPO"):
                img.draft("RGB", (min_side, min_side))
            img.load()
            upright = ImageOps.exif_transpose(img)  # always a new, detached image
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        # Pillow reports a damaged header as "unidentified": tell it apart by the file signature.
        raise ImageError("corrupt" if _has_image_signature(data) else "not_an_image", name=name) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_many_pixels", name=name) from exc
    except _DECODE_ERRORS as exc:
        raise ImageError("corrupt", name=name) from exc
    return _to_rgb(upright)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any decoded mode to RGB: high bit depths scaled to 8 bits, transparency onto white."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        # Pillow's own conversion clips 16-bit values at 255; scale them instead.
        values = np.asarray(img, dtype=np.float64)
        if img.mode != "F":
            values = values / 257.0  # 0..65535 -> 0..255
        img = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return img.convert("RGB")


def _read_bounded(f: typing.BinaryIO, max_bytes: int, name: str | None) -> bytes:
    """Read to the end in chunks, failing as soon as more than max_bytes arrive."""
    chunks, total = [], 0
    while chunk := f.read(min(_CHUNK, max_bytes + 1 - total)):
        if not isinstance(chunk, (bytes, bytearray)):
            raise TypeError("image files must be opened in binary mode")
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise ImageError("too_large", f"the file is larger than the {_human_bytes(max_bytes)} limit", name)
    return b"".join(chunks)


def _name_of(source: object) -> str | None:
    """The file name to show in messages: a path's base name, or a file object's."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fsdecode(source)) or None
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return os.path.basename(name) or None
    return None


def _has_image_signature(data: bytes) -> bool:
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _human_bytes(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n:,} bytes"
