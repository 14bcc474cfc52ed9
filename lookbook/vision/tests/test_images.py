"""Specification of the safe image loader. Every image is made here, in memory, with Pillow."""

from __future__ import annotations

import io
import pickle
import struct
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from lookbook.vision.images import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageError,
    _to_rgb,
    load_image,
    read_image_bytes,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
NOT_AN_IMAGE = "not an image (expected JPEG, PNG, WEBP or GIF)"


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def png(width: int, height: int, bit_depth: int, color_type: int, idat: bytes) -> bytes:
    """A PNG written by hand, so the header can declare anything."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def assert_near(actual, expected, tolerance: int = 8) -> None:
    assert len(actual) == len(expected)
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected)), (actual, expected)


def pixels_png(mode: str, pixels: list) -> bytes:
    img = Image.new(mode, (len(pixels), 1))
    img.putdata(pixels)
    return encode(img, "PNG")


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    return encode(Image.new("RGB", (2000, 1500), (40, 90, 160)), "JPEG")


@pytest.fixture(scope="module")
def real_png_bomb() -> bytes:
    """64 megapixels of zeros (between our 50M default limit and Pillow's own 89M) in about 60 KB."""
    width = height = 8000
    compressor = zlib.compressobj(9)
    hundred_rows = bytes(1 + width) * 100  # each row: filter byte 0, then gray zeros
    idat = b"".join(compressor.compress(hundred_rows) for _ in range(height // 100)) + compressor.flush()
    return png(width, height, 8, 0, idat)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image's pixel data is decoded."""

    def refuse(self):
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# --- formats and colour ---------------------------------------------------------------------


def test_jpeg_is_decoded_to_rgb():
    out = load_image(encode(Image.new("RGB", (32, 24), RED), "JPEG"))
    assert (out.mode, out.size) == ("RGB", (32, 24))
    assert_near(out.getpixel((16, 12)), RED)


def test_result_is_fully_loaded_and_detached_from_the_file(tmp_path):
    path = tmp_path / "dress.png"
    path.write_bytes(encode(Image.new("RGB", (8, 8), GREEN), "PNG"))
    out = load_image(path)
    path.unlink()
    assert type(out) is Image.Image  # a plain image, not a lazily decoded ImageFile
    assert out.getpixel((0, 0)) == GREEN


def test_png_with_alpha_is_composited_onto_white():
    out = load_image(pixels_png("RGBA", [(255, 0, 0, 0), (0, 0, 255, 255), (0, 0, 0, 128)]))
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == WHITE
    assert out.getpixel((1, 0)) == BLUE
    assert_near(out.getpixel((2, 0)), (127, 127, 127), tolerance=1)


def test_grayscale_png_with_alpha_is_composited_onto_white():
    out = load_image(pixels_png("LA", [(0, 0), (0, 255)]))
    assert [out.getpixel((x, 0)) for x in range(2)] == [WHITE, (0, 0, 0)]


def test_palette_png_with_transparency_is_composited_onto_white():
    img = Image.new("P", (2, 1))
    img.putpalette([*RED, *GREEN])
    img.putdata([0, 1])
    out = load_image(encode(img, "PNG", transparency=0))
    assert [out.getpixel((x, 0)) for x in range(2)] == [WHITE, GREEN]


def test_sixteen_bit_grayscale_png_is_scaled_not_clipped():
    data = encode(Image.fromarray(np.array([[0, 128 * 257, 65535]], dtype=np.uint16)), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = load_image(data)
    assert [out.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (128, 128, 128), WHITE]


def test_sixteen_bit_rgb_png():
    row = b"\0" + struct.pack(">6H", 65535, 128 * 257, 0, 0, 0, 65535)  # filter byte, 2 pixels
    out = load_image(png(2, 1, 16, 2, zlib.compress(row)))
    assert [out.getpixel((x, 0)) for x in range(2)] == [(255, 128, 0), BLUE]


@pytest.mark.parametrize(
    "img",
    [
        Image.fromarray(np.array([[0, 128 * 257, 65535]], dtype=np.int32)),  # mode I, 16-bit samples
        Image.fromarray(np.array([[-3.0, 127.6, 300.0]], dtype=np.float32)),  # mode F, clipped
    ],
    ids=["I", "F"],
)
def test_wide_grayscale_modes_become_eight_bit_rgb(img):
    out = _to_rgb(img)
    assert [out.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (128, 128, 128), WHITE]


def test_grayscale_jpeg_becomes_rgb():
    out = load_image(encode(Image.new("L", (16, 16), 100), "JPEG"))
    assert out.mode == "RGB"
    assert_near(out.getpixel((8, 8)), (100, 100, 100), tolerance=2)


def test_cmyk_jpeg_is_converted_to_rgb():
    data = encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG")  # Adobe, inverted CMYK
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = load_image(data)
    assert out.mode == "RGB"
    assert_near(out.getpixel((8, 8)), RED)


def test_webp_with_alpha_is_composited_onto_white():
    img = Image.new("RGBA", (2, 1))
    img.putdata([(0, 255, 0, 255), (0, 0, 0, 0)])
    out = load_image(encode(img, "WEBP", lossless=True))
    assert [out.getpixel((x, 0)) for x in range(2)] == [GREEN, WHITE]


def test_gif_first_frame_is_used():
    first, second = Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)
    out = load_image(encode(first, "GIF", save_all=True, append_images=[second]))
    assert (out.mode, out.getpixel((4, 4))) == ("RGB", RED)


def test_gif_transparency_becomes_white():
    img = Image.new("P", (2, 1))
    img.putpalette([*RED, *GREEN])
    img.putdata([0, 1])
    out = load_image(encode(img, "GIF", transparency=0))
    assert [out.getpixel((x, 0)) for x in range(2)] == [WHITE, GREEN]


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), RED)
    img.paste(BLUE, (20, 0, 40, 20))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to show
    out = load_image(encode(img, "JPEG", exif=exif, quality=95))
    assert out.size == (20, 40)
    assert_near(out.getpixel((10, 5)), RED)  # the left edge is now the top
    assert_near(out.getpixel((10, 34)), BLUE)


# --- drafting --------------------------------------------------------------------------------


def test_large_jpeg_is_drafted_to_reduced_size(big_jpeg):
    out = load_image(big_jpeg, min_side=224)
    width, height = out.size
    assert 224 <= min(width, height) < 1500
    assert width * 3 == height * 4  # same aspect ratio
    assert_near(out.getpixel((width // 2, height // 2)), (40, 90, 160))


def test_drafting_keeps_the_shorter_side_at_least_min_side(big_jpeg):
    assert min(load_image(big_jpeg, min_side=700).size) >= 700
    assert load_image(big_jpeg, min_side=1501).size == (2000, 1500)


def test_nothing_is_resized_without_min_side_or_for_other_formats(big_jpeg):
    assert load_image(big_jpeg).size == (2000, 1500)
    assert load_image(encode(Image.new("RGB", (900, 600)), "PNG"), min_side=224).size == (900, 600)


# --- refusals --------------------------------------------------------------------------------


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("shirt.jpg", b"not really")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some text\n",
        b"<!doctype html><html><body>404</body></html>",
        _zip_bytes(),
        encode(Image.new("RGB", (4, 4)), "BMP"),
        encode(Image.new("RGB", (4, 4)), "TIFF"),
    ],
    ids=["empty", "text", "html", "zip", "bmp", "tiff"],
)
def test_anything_else_is_not_an_image(data):
    with pytest.raises(ImageError) as caught:
        load_image(data)
    assert caught.value.reason == "not_an_image"
    assert str(caught.value) == NOT_AN_IMAGE


def test_truncated_jpeg_raises_corrupt():
    data = encode(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG")
    with pytest.raises(ImageError) as caught:
        load_image(data[: len(data) // 2])
    assert caught.value.reason == "corrupt"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_png_raises_corrupt():
    data = encode(Image.effect_noise((64, 64), 50), "PNG")
    with pytest.raises(ImageError) as caught:
        load_image(data[: len(data) // 2])
    assert caught.value.reason == "corrupt"


def test_png_with_bad_crc_raises_corrupt():
    data = bytearray(encode(Image.new("RGB", (4, 4)), "PNG"))
    data[29] ^= 0xFF  # last byte of the IHDR checksum
    with pytest.raises(ImageError) as caught:
        load_image(bytes(data))
    assert caught.value.reason == "corrupt"


def test_jpeg_cut_inside_its_header_raises_corrupt():
    with pytest.raises(ImageError) as caught:
        load_image(encode(Image.new("RGB", (8, 8)), "JPEG")[:40])
    assert caught.value.reason == "corrupt"


def test_byte_limit_is_enforced_before_decoding(tmp_path, no_decoding):
    data = encode(Image.new("RGB", (8, 8)), "PNG")
    path = tmp_path / "big.png"
    path.write_bytes(data)
    for source in (data, path, io.BytesIO(data)):
        with pytest.raises(ImageError) as caught:
            load_image(source, max_bytes=len(data) - 1)
        assert caught.value.reason == "too_large"
    assert read_image_bytes(path, max_bytes=len(data)) == data


def test_endless_stream_is_not_read_past_the_byte_limit():
    class Endless:
        served = 0

        def read(self, n=-1):
            assert n is not None and n >= 0, "tried to read the whole stream"
            self.served += n
            return b"\xff" * n

    stream = Endless()
    with pytest.raises(ImageError) as caught:
        load_image(stream, max_bytes=10_000)
    assert caught.value.reason == "too_large"
    assert stream.served == 10_001


def test_pixel_limit_is_checked_from_the_header(monkeypatch, no_decoding):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # our limit does not depend on Pillow's
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(ImageError) as caught:
        load_image(data, max_pixels=9_999)
    assert caught.value.reason == "too_many_pixels"
    assert "100 x 100 pixels" in str(caught.value)


def test_image_exactly_at_the_pixel_limit_is_accepted():
    assert load_image(encode(Image.new("RGB", (100, 100)), "PNG"), max_pixels=10_000).size == (100, 100)


def test_decompression_bomb_is_refused_before_decoding(real_png_bomb, no_decoding):
    # A real bomb: ~60 KB that would inflate to 64 MB, over our default limit, under Pillow's.
    assert len(real_png_bomb) < 100_000
    with pytest.raises(ImageError) as caught:
        load_image(real_png_bomb)
    assert caught.value.reason == "too_many_pixels"
    assert "8000 x 8000" in str(caught.value)
    # A header declaring 20000x20000 (1.6 GB as RGBA) over a few bytes of data, default limits.
    declared = png(20_000, 20_000, 8, 6, zlib.compress(b"\0" * 100))
    with pytest.raises(ImageError) as caught:
        load_image(declared, max_bytes=DEFAULT_MAX_BYTES, max_pixels=DEFAULT_MAX_PIXELS)
    assert caught.value.reason == "too_many_pixels"


@pytest.mark.parametrize("side", [40, 50], ids=["pillow-warning", "pillow-error"])
def test_pillow_decompression_bomb_checks_map_to_too_many_pixels(monkeypatch, side):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # warns above 1000 pixels, errors above 2000
    data = encode(Image.new("RGB", (side, side)), "PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageError) as caught:
            load_image(data, max_pixels=10**6)
    assert caught.value.reason == "too_many_pixels"


# --- sources and messages --------------------------------------------------------------------


def test_paths_and_binary_files_are_accepted(tmp_path):
    data = encode(Image.new("RGB", (6, 4), BLUE), "PNG")
    path = tmp_path / "coat.png"
    path.write_bytes(data)
    with path.open("rb") as f:
        sources = [data, bytearray(data), str(path), path, io.BytesIO(data), f]
        assert all(load_image(s).getpixel((0, 0)) == BLUE for s in sources)


def test_missing_or_unreadable_path_is_unreadable(tmp_path):
    for path in (tmp_path / "gone.jpg", tmp_path):
        with pytest.raises(ImageError) as caught:
            load_image(path)
        assert caught.value.reason == "unreadable"
    assert str(caught.value).startswith(f"{tmp_path.name}: the file could not be read")


def test_error_names_the_file(tmp_path):
    path = tmp_path / "shirt.jpg"
    path.write_text("hello")
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert str(caught.value) == f"shirt.jpg: {NOT_AN_IMAGE}"
    with path.open("rb") as f, pytest.raises(ImageError) as caught:
        load_image(f)
    assert str(caught.value) == f"shirt.jpg: {NOT_AN_IMAGE}"
    with pytest.raises(ImageError) as caught:
        load_image(b"hello", name="upload.png")
    assert str(caught.value) == f"upload.png: {NOT_AN_IMAGE}"


def test_image_error_is_a_picklable_value_error():
    error = pickle.loads(pickle.dumps(ImageError("corrupt", name="a.jpg")))
    assert isinstance(error, ValueError)
    assert (error.reason, error.name) == ("corrupt", "a.jpg")
    assert str(error) == "a.jpg: the image file is damaged or incomplete"
    with pytest.raises(ValueError):
        ImageError("no_such_reason")
