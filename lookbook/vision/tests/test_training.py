
import numpy as np
import pytest
from PIL import Image

from conftest import garment_photo
from lookbook.vision.encoder import Encoder, fit_square
from lookbook.vision.images import load_image
from lookbook.vision.training import encode_labels, split_indices


def test_fit_square_frames_the_garment_on_a_square_of_the_background():
    photo = Image.new("RGB", (200, 100), (250, 250, 250))
    photo.paste((10, 10, 10), (120, 20, 140, 80))  # a tall dark garment off-centre, wide margins
    square = fit_square(photo, 64)
    assert square.shape == (64, 64, 3)
    assert (square[32, 32] < 20).all()                          # centred
    assert (square[32, 2] > 240).all() and (square[32, 61] > 240).all()  # background colour on the sides
    garment_rows = np.flatnonzero((square[:, 32] < 128).all(axis=1))
    assert 52 <= len(garment_rows) <= 60                        # the longest side fills the frame, small margin


def test_rare_and_missing_labels_are_left_out_of_training():
    names, targets = encode_labels({"category": ["a", "a", "b", "b", "c", None], "usage": ["x"] * 6}, 2)
    assert names == {"category": ["a", "b"]}  # "c" is too rare; "usage" has one class only
    assert targets["category"].tolist() == [0, 0, 1, 1, -1, -1]


def test_held_out_split_is_stratified_and_disjoint():
    targets = np.array([0] * 50 + [1] * 10)
    train, val = split_indices(60, targets, 0.2, seed=0)
    assert set(train).isdisjoint(val) and len(train) + len(val) == 60
    assert (targets[val] == 1).sum() == 2 and (targets[val] == 0).sum() == 10


def test_exported_onnx_model_matches_the_torch_network(tmp_path):
    import torch

    from lookbook.vision.training import TrainConfig, export, train

    kinds = ["tshirt", "trousers", "bag"]
    pixels = np.stack([fit_square(load_image(garment_photo(kinds[i % 3], "red", seed=i)), 32) for i in range(24)])
    config = TrainConfig(input_size=32, epochs=0.2, batch_size=8, embedding_dim=16, val_fraction=0.25)
    result = train(pixels, {"category": [kinds[i % 3] for i in range(24)]}, config, progress=False)
    export(result, tmp_path / "model", name="export-check", trained_on="synthetic")

    with torch.inference_mode():
        expected = result.network(torch.from_numpy(pixels[:5]))[0].numpy()
    got = Encoder(tmp_path / "model").embed_pixels(pixels[:5]).shape
    assert np.allclose(got, expected, atol=1e-4)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_model_info_carries_version_heads_and_held_out_metrics(tiny_model_dir):
    encoder = Encoder(tiny_model_dir)
    assert encoder.info.version.startswith("tiny-test-model-")
    assert encoder.vector_version.startswith(encoder.info.version + "+")
    assert set(encoder.info.heads) == {"category", "colour"}
    for metrics in encoder.info.metrics.values():
        assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["macro_f1"] <= 1.0


def test_predictions_name_a_known_label_with_a_probability(tiny_model_dir):
    encoder = Encoder(tiny_model_dir)
    out = encoder.embed([load_image(garment_photo("trousers", "blue", seed=5))], with_predictions=True)
    label, probability = out.predictions["category"][0]
    assert label in {"tshirt", "trousers", "bag"} and 0.0 < probability <= 1.0


def test_training_refuses_a_catalog_without_usable_labels():
    from lookbook.vision.training import TrainConfig, train

    with pytest.raises(ValueError, match="label"):
        train(np.zeros((4, 32, 32, 3), np.uint8), {"category": [None] * 4}, TrainConfig(input_size=32), progress=False)


def _pretrained_view(pixels, cut):
    """Reference: the pretrained backbone, untouched, on the colour pixels, as Appearance reads it."""
    import copy

    import torch

    from lookbook.vision.training import Appearance, LowerBlocks, Normalise, load_backbone

    backbone = load_backbone("efficientnet-lite0").eval()
    with torch.inference_mode():
        lower = LowerBlocks(backbone, cut).eval()(Normalise(False)(torch.from_numpy(pixels)))
        return lower, Appearance(copy.deepcopy(backbone._blocks[cut:]))(lower).numpy()


def test_search_embedding_joins_the_pretrained_backbones_view_of_the_colour_photo(tmp_path):
    import torch

    from lookbook.vision.training import APPEARANCE_DIM, TrainConfig, export, train

    kinds = ["tshirt", "trousers", "bag"]
    colour = np.stack([fit_square(load_image(garment_photo(kinds[i % 3], "red", seed=i)), 32) for i in range(24)])
    grey = np.repeat(colour.mean(axis=3, keepdims=True).astype(np.uint8), 3, axis=3)
    config = TrainConfig(input_size=32, epochs=0.3, batch_size=8, embedding_dim=16, appearance_weight=0.6)
    result = train(grey, {"category": [kinds[i % 3] for i in range(24)]}, config, progress=False)
    assert config.grayscale  # trained on grayscale articles, as the default model is
    export(result, tmp_path / "model", name="appearance", trained_on="synthetic")
    encoder = Encoder(tmp_path / "model")
    assert encoder.info.embedding_dim == 16 + APPEARANCE_DIM

    photos = colour[:4]
    embedding = encoder.embed_pixels(photos).shape
    assert embedding.shape == (4, 16 + APPEARANCE_DIM)
    assert np.allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-5)
    # The appearance part is the untouched pretrained network's view of the colour photo, weighted by 0.6 ...
    lower, appearance = _pretrained_view(photos, config.cut)
    assert np.allclose(embedding[:, 16:], appearance * np.sqrt(0.6), atol=1e-4)
    # ... and the fine-tuned part keeps the rest: cosine = 0.4·fine-tuned + 0.6·appearance.
    assert np.allclose(np.linalg.norm(embedding[:, :16], axis=1), np.sqrt(0.4), atol=1e-5)
    # The frozen lower blocks compute the pretrained backbone's own features (ReLU6 kept, not swapped for Swish).
    with torch.inference_mode():
        trained_lower = result.network.lower(result.network.normalise_colour(torch.from_numpy(photos))).numpy()
    assert np.allclose(trained_lower, lower.numpy(), atol=1e-4)


def test_appearance_weight_zero_keeps_the_fine_tuned_embedding_alone():
    from lookbook.vision.training import TrainConfig, train

    kinds = ["tshirt", "bag"]
    pixels = np.stack([fit_square(load_image(garment_photo(kinds[i % 2], "blue", seed=i)), 32) for i in range(12)])
    config = TrainConfig(input_size=32, epochs=0.2, batch_size=4, embedding_dim=16, appearance_weight=0.0)
    result = train(pixels, {"category": [kinds[i % 2] for i in range(12)]}, config, progress=False)
    assert result.network.appearance is None and result.network.embedding_dim == 16
