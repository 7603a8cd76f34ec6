"""Datasets over decoded images: random training patches and fixed, deterministic evaluation crops.

Both read from the in-memory uint8 arrays of :mod:`denoise_lab.data.sources` (decoded once; DataLoader
workers share them), cut the clean image and, for paired data, its degraded twin at the same place,
and return float32 CHW tensors in [0, 1].
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from denoise_lab.config import ConfigError
from denoise_lab.data.sources import LoadedImage
from denoise_lab.seeding import TRAIN_PATCHES, derive_seed

log = logging.getLogger(__name__)


def to_tensor(array: np.ndarray) -> Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div_(255.0)


def as_sample(clean: np.ndarray, degraded: np.ndarray | None) -> dict[str, Tensor]:
    sample = {"clean": to_tensor(clean)}
    if degraded is not None:
        sample["degraded"] = to_tensor(degraded)
    return sample


def fit_to_size(images: list[LoadedImage], size: int, policy: str, purpose: str) -> list[LoadedImage]:
    """Make every image at least ``size`` pixels on each side: reflect-pad it ("pad") or drop it ("skip")."""
    if policy not in ("pad", "skip"):
        raise ValueError(f"small_images must be 'pad' or 'skip', got '{policy}'")
    small = [im for im in images if min(im.clean.shape[:2]) < size]
    if not small:
        return images
    log.warning(
        "%s: %d of %d images are smaller than %d px and were %s",
        purpose,
        len(small),
        len(images),
        size,
        "reflect-padded" if policy == "pad" else "skipped",
    )
    if policy == "skip":
        kept = [im for im in images if min(im.clean.shape[:2]) >= size]
        if not kept:
            raise ValueError(
                f"{purpose}: every image is smaller than {size} px; lower the size or use small_images=pad"
            )
        return kept

    # A crop over twice an image's side would be mostly mirror images of it: such images are skipped (a 1x1
    # file among photos), and if that leaves none the size is the mistake (a typo such as 100000 would
    # otherwise allocate gigabytes before any training).
    tiny = [im for im in small if size > 2 * min(im.clean.shape[:2])]
    if tiny:
        log.warning(
            "%s: skipped %d images less than half of %d px on a side (%s)",
            purpose,
            len(tiny),
            size,
            ", ".join(im.name for im in tiny[:5]),
        )
        images = [im for im in images if im not in tiny]
    if not images:
        raise ConfigError(
            f"{purpose}: a {size} px crop is more than twice the size of every image: lower "
            "data.patch_size / data.val_crop_size, or set data.small_images=skip"
        )

    def pad(array: np.ndarray | None) -> np.ndarray | None:
        if array is None:
            return None
        h, w = array.shape[:2]
        return np.pad(array, ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0)), mode="reflect")

    return [LoadedImage(im.name, pad(im.clean), pad(im.degraded)) for im in images]


def rescaled_copies(images: list[LoadedImage], scales: list[float]) -> list[LoadedImage]:
    """Each image at each of ``scales`` (bicubic, antialiased when shrinking), named ``name@scale``.

    Why: a few photos give more to learn at several sizes (DnCNN's training set was BSD400 at scales 1, 0.9,
    0.8 and 0.7), and a shrunk photo is also a cleaner target: the noise the photo carried falls with its size.
    Only clean images can be rescaled: a degraded twin's degradation would change with it.
    """
    if list(scales) == [1]:
        return images
    if not scales or any(not 0 < s <= 1 for s in scales):
        raise ConfigError(f"data.scales must be in (0, 1], got {list(scales)}")
    if any(im.degraded is not None for im in images):
        raise ConfigError("data.scales rescales clean images only; paired data needs data.scales=[1.0]")
    copies = []
    for image in images:
        h, w = image.clean.shape[:2]
        for scale in scales:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            clean = (
                image.clean
                if scale == 1
                else np.asarray(Image.fromarray(image.clean).resize(size, Image.Resampling.BICUBIC))
            )
            copies.append(LoadedImage(f"{image.name}@{scale:g}", clean))
    return copies


class PatchKeys(Sampler[int]):
    """The training sampler: ``length`` random keys per epoch, each of which decides one whole patch.

    The keys depend only on ``(seed, epoch)`` (Lightning calls :meth:`set_epoch`, also through its DDP
    sampler wrapper), so an epoch's patches are the same with any number of workers and after a resume.
    """

    def __init__(self, length: int, seed: int) -> None:
        self.length, self.seed, self.epoch = length, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(derive_seed(TRAIN_PATCHES, self.seed, self.epoch))
        return iter(rng.integers(0, 2**63 - 1, self.length).tolist())


class RandomPatches(Dataset):
    """Random ``patch_size`` crops with random flips and 90-degree rotations, one per key of :class:`PatchKeys`.

    Every image is equally likely, whatever its size: drawing by area let one 1411x1411 photo (retina)
    supply two thirds of the bundled set's patches.
    """

    def __init__(self, images: list[LoadedImage], patch_size: int, length: int, augment: bool = True) -> None:
        self.images, self.patch_size, self.length, self.augment = images, patch_size, length, augment

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int) -> dict[str, Tensor]:
        rng = np.random.default_rng(key)
        image = self.images[rng.integers(len(self.images))]
        h, w = image.clean.shape[:2]
        top, left = (int(rng.integers(n - self.patch_size + 1)) for n in (h, w))
        window = np.s_[top : top + self.patch_size, left : left + self.patch_size]
        arrays = [a[window] if a is not None else None for a in (image.clean, image.degraded)]
        if self.augment:
            turns, flip = int(rng.integers(4)), bool(rng.integers(2))
            arrays = [self._orient(a, turns, flip) for a in arrays]
        return as_sample(*arrays)

    @staticmethod
    def _orient(array: np.ndarray | None, turns: int, flip: bool) -> np.ndarray | None:
        if array is None:
            return None
        array = np.rot90(array, turns)
        return array[:, ::-1] if flip else array


class FixedCrops(Dataset):
    """``crops_per_image`` crops of ``crop_size`` on an even grid over each image; the same every time.

    Each sample carries its ``index``, the key that seeds its evaluation degradation.
    """

    def __init__(self, images: list[LoadedImage], crop_size: int, crops_per_image: int) -> None:
        self.images, self.crop_size = images, crop_size
        self.windows = [
            (i, top, left) for i, im in enumerate(images) for top, left in self._grid(im, crops_per_image)
        ]

    def _grid(self, image: LoadedImage, count: int) -> list[tuple[int, int]]:
        h, w = image.clean.shape[:2]
        rows = math.ceil(math.sqrt(count))
        cols = math.ceil(count / rows)
        tops = np.linspace(0, h - self.crop_size, rows).round().astype(int)
        lefts = np.linspace(0, w - self.crop_size, cols).round().astype(int)
        return [(int(t), int(le)) for t in tops for le in lefts][:count]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        i, top, left = self.windows[index]
        window = np.s_[top : top + self.crop_size, left : left + self.crop_size]
        image = self.images[i]
        sample = as_sample(image.clean[window], None if image.degraded is None else image.degraded[window])
        sample["index"] = torch.tensor(index)
        return sample
