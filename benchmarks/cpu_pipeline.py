"""The seeds' way of degrading images: one image at a time on the CPU, with numpy and PIL.

The reference the device-side bank is measured against. Each op mirrors one of the bank's default
ops at a comparable strength, written as the seed scripts write them inside ``Dataset.__getitem__``
(``np.random`` noise, PIL filters and enhancers, a hand-built motion kernel with scipy), and
:class:`SeedsDegradedPatches` runs them there, so a DataLoader (and its workers) does the degrading.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageFilter
from scipy.ndimage import convolve
from torch import Tensor
from torch.utils.data import Dataset

from denoise_lab.data.datasets import RandomPatches


def gaussian_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(5, 30) / 255
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 1)


def gaussian_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pil = Image.fromarray((image * 255).astype(np.uint8))
    return np.asarray(pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))) / 255


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = int(rng.integers(1, 5)) * 2 + 1
    kernel = np.zeros((size, size))
    kernel[size // 2, :] = 1.0
    kernel = np.asarray(Image.fromarray(kernel).rotate(rng.uniform(0, 180)))
    kernel = kernel / kernel.sum()
    return np.stack([convolve(image[..., c], kernel, mode="reflect") for c in range(3)], axis=-1)


def illumination_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pil = Image.fromarray((image * 255).astype(np.uint8))
    pil = ImageEnhance.Brightness(pil).enhance(rng.uniform(0.9, 1.1))
    pil = ImageEnhance.Contrast(pil).enhance(rng.uniform(0.77, 1.3))
    return (np.asarray(pil) / 255) ** rng.uniform(0.77, 1.3)


def color_channels(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(image * rng.uniform(0.85, 1.15, 3), 0, 1)


def jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray((image * 255).astype(np.uint8)).save(buffer, "JPEG", quality=int(rng.integers(10, 60)))
    return np.asarray(Image.open(buffer)) / 255


OPS = [gaussian_noise, gaussian_blur, motion_blur, illumination_contrast, color_channels]


def degrade_one_by_one(images: np.ndarray, rng: np.random.Generator, ops=OPS) -> np.ndarray:
    """``images``: (N, H, W, 3) float in [0, 1]; a random op per image, applied image by image."""
    return np.stack([ops[rng.integers(len(ops))](image, rng) for image in images]).astype(np.float32)


class SeedsDegradedPatches(Dataset):
    """The training patches of :class:`RandomPatches`, each degraded in ``__getitem__`` by a random op
    of ``ops``, image by image on the CPU: where the seeds degraded their data."""

    def __init__(self, patches: RandomPatches, ops=OPS) -> None:
        self.patches, self.ops = patches, ops

    def __len__(self) -> int:
        return len(self.patches)

    def __getitem__(self, key: int) -> dict[str, Tensor]:
        sample = self.patches[key]
        rng = np.random.default_rng([key, 1])  # a stream of its own, apart from the crop's
        image = sample["clean"].permute(1, 2, 0).numpy()
        degraded = self.ops[rng.integers(len(self.ops))](image, rng)
        sample["degraded"] = torch.from_numpy(np.ascontiguousarray(degraded.transpose(2, 0, 1), np.float32))
        return sample
