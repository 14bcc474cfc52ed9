import numpy as np
import pytest

from lookbook.vision.colour import COLOUR_DIM, colour_descriptor, combine, garment_mask


def _shot(colour, background=(255, 255, 255), size=64):
    image = np.full((size, size, 3), background, dtype=np.uint8)
    image[16:48, 20:44] = colour
    return image


def test_descriptor_is_unit_length_with_fixed_size():
    d = colour_descriptor(_shot((20, 20, 20)))
    assert d.shape == (COLOUR_DIM,)
    assert np.isclose(np.linalg.norm(d), 1.0)


def test_background_is_ignored():
    on_white = colour_descriptor(_shot((30, 40, 200)))
    on_grey = colour_descriptor(_shot((30, 40, 200), background=(200, 200, 200)))
    assert on_white @ on_grey > 0.99


def test_black_garment_is_closer_to_black_than_to_blue():
    black, black2, blue = (colour_descriptor(_shot(c)) for c in [(15, 15, 15), (35, 32, 30), (30, 40, 200)])
    assert black @ black2 > 0.9
    assert black @ blue < 0.2


def test_garment_mask_finds_the_garment_not_the_border():
    mask = garment_mask(_shot((200, 30, 30)))
    assert mask[30, 30] and not mask[2, 2]
    assert mask.mean() == pytest.approx(32 * 24 / 64**2, abs=0.01)


def test_plain_image_falls_back_to_the_whole_picture():
    assert garment_mask(np.full((32, 32, 3), 128, np.uint8)).all()


def test_combined_cosine_is_the_weighted_sum_of_both_cosines():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(2, 8)); s /= np.linalg.norm(s, axis=1, keepdims=True)
    c = rng.random(size=(2, COLOUR_DIM)); c /= np.linalg.norm(c, axis=1, keepdims=True)
    v = combine(s, c, 0.3)
    assert np.isclose(v[0] @ v[1], 0.7 * (s[0] @ s[1]) + 0.3 * (c[0] @ c[1]), atol=1e-5)
    with pytest.raises(ValueError):
        combine(s, c, 1.5)
