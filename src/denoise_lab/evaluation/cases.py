"""Evaluation cases, the one place that says what a model is measured on.

A :class:`Case` is a batch of clean images, what the model is given, and the noise sigma where known. Two
protocols produce them:

* ``mixed`` (default, :func:`crop_cases`): every op of the degradation bank on every fixed evaluation crop,
  seeded per crop and op (as validation is), so every run and every checkpoint is measured on the same cases;
* ``standard`` (:func:`standard_cases`): the protocol behind CBSD68/Kodak tables: whole images, Gaussian
  noise added to the float image from a generator seeded with ``seed`` (0) for every image, not clipped;
  the output is rounded to uint8 and PSNR taken on RGB without border crop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from omegaconf import DictConfig
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from denoise_lab.data.datamodule import PAIRED_OP, DenoiseDataModule
from denoise_lab.data.datasets import to_tensor
from denoise_lab.data.sources import LoadedImage
from denoise_lab.degradations import DegradationBank


@dataclass
class Case:
    """One batch: clean images, the model's input, and each image's Gaussian noise sigma (0-1 units)."""

    op: str
    keys: list[int]
    clean: Tensor
    degraded: Tensor
    sigma: Tensor | None = None


def crop_cases(
    crops: Dataset, bank: DegradationBank | None, batch_size: int, device: torch.device
) -> Iterator[Case]:
    """Mixed protocol: each batch of fixed crops under every op of the bank (or as paired data)."""
    for batch in DataLoader(crops, batch_size=batch_size):
        clean, keys = batch["clean"].to(device), batch["index"].to(device)
        if "degraded" in batch:
            yield Case(PAIRED_OP, keys.tolist(), clean, batch["degraded"].to(device))
            continue
        for k, name in enumerate(bank.names):
            degraded = bank.apply_fixed(clean, keys, torch.full_like(keys, k))
            sigma = bank.ops[name].noise_sigma(degraded.severity)
            yield Case(name, keys.tolist(), clean, degraded.image, sigma)


def standard_cases(
    images: Sequence[LoadedImage], sigmas: Sequence[float], seed: int, device: torch.device
) -> Iterator[Case]:
    """Standard protocol: every whole image under Gaussian noise of each sigma (0-255), seeded per image."""
    for sigma in sigmas:
        for key, image in enumerate(images):
            clean = to_tensor(image.clean).unsqueeze(0)
            noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
            noisy = clean + sigma / 255.0 * noise
            yield Case(
                f"gaussian_noise_{sigma:g}",
                [key],
                clean.to(device),
                noisy.to(device),
                torch.tensor([sigma / 255.0]),
            )


def grid_pairs(n_images: int, op_names: Sequence[str], count: int) -> set[tuple[int, str]]:
    """``(key, op)`` of ``count`` examples spread over the images, the ops cycling (seed 001's figure)."""
    keys = torch.linspace(0, n_images - 1, min(count, n_images)).round().long().unique().tolist()
    return {(key, op_names[i % len(op_names)]) for i, key in enumerate(keys)}


def centre(images: Tensor, size: int) -> Tensor:
    """The central ``size`` x ``size`` window (or less, for smaller images) of (..., H, W)."""
    h, w = images.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return images[..., top : top + size, left : left + size]


def evaluation_images(datamodule: DenoiseDataModule, which: str) -> list[LoadedImage]:
    """The held-out images, which the run never trained on (the validation split, or the source's own test
    split), or every image of the source; unpadded, since the standard protocol scores whole images as they
    are."""
    if which == "heldout":
        return datamodule.heldout_images()
    load_test = getattr(datamodule.source, "load_test", None)
    return datamodule.source.load() + (load_test() if load_test else [])


@dataclass
class Protocol:
    """The cases ``eval.protocol`` asks for: their op names in order, how many images each op covers, and
    one line describing them for the report's header."""

    cases: Iterator[Case]
    ops: list[str]
    n_images: int
    description: str


def protocol_cases(datamodule: DenoiseDataModule, settings: DictConfig, device: torch.device) -> Protocol:
    """The cases of ``settings.protocol`` (the ``eval`` config) on ``settings.images`` of ``datamodule``."""
    images = evaluation_images(datamodule, settings.images)
    names = ", ".join(im.name for im in images[:8]) + (", ..." if len(images) > 8 else "")
    if settings.protocol == "standard":
        sigmas = list(settings.sigmas)
        return Protocol(
            standard_cases(images, sigmas, settings.noise_seed, device),
            [f"gaussian_noise_{s:g}" for s in sigmas],
            len(images),
            f"protocol: standard, {len(images)} whole images ({names}); Gaussian noise of sigma {sigmas} added "
            f"to the float image from a generator seeded {settings.noise_seed} for every image, not clipped; "
            "output rounded to uint8; PSNR on RGB without border crop",
        )
    crops = datamodule.crops(images, "eval")
    return Protocol(
        crop_cases(crops, datamodule.bank, datamodule.eval_batch_size, device),
        datamodule.op_names,
        len(crops),
        f"protocol: mixed, every degradation on each of {len(crops)} fixed {datamodule.val_crop_size} px "
        f"crops of {len(images)} images ({names}), seeded per crop and op",
    )
