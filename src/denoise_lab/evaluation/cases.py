"""Evaluation cases, the one place that says what a model is measured on.

A :class:`Case` is a batch of clean images, what the model is given, and the noise sigma where known. Two
protocols produce them:

* ``mixed`` (default, :func:`crop_cases`): every op of the degradation bank on every fixed evaluation crop,
  seeded per crop and op (as validation is), so every run and every checkpoint is measured on the same cases;
* ``standard`` (:func:`standard_cases`): the protocol behind CBSD68/Kodak tables: whole images, Gaussian
  noise added to the float image from a generator seeded with ``seed`` (0) for every image, not clipped;
  the output is rounded to uint8 and PSNR taken on RGB without border crop. Sigma 0 (the clean image
  itself) shows what the model does to a photo with no noise;
* ``paired`` (:func:`paired_cases`): whole images of paired data (a real noisy photo and its clean
  reference, e.g. PolyU's), as they are, nothing synthesised.
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
from denoise_lab.degradations.base import gray_where_gray


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
    """Standard protocol: every whole image under Gaussian noise of each sigma (0-255), seeded per image;
    gray images (BSD68) get gray noise, as a one-channel image does in the gray tables."""
    for sigma in sigmas:
        for key, image in enumerate(images):
            clean = to_tensor(image.clean).unsqueeze(0)
            noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
            noisy = clean + sigma / 255.0 * gray_where_gray(noise, clean)
            yield Case(
                f"gaussian_noise_{sigma:g}",
                [key],
                clean.to(device),
                noisy.to(device),
                torch.tensor([sigma / 255.0]),
            )


def paired_cases(images: Sequence[LoadedImage], sigma: float | None, device: torch.device) -> Iterator[Case]:
    """Paired protocol: every whole noisy image as it is, against its clean reference. The baselines get
    ``sigma`` (0-255), or where it is ``None`` the noise level estimated from the noisy image alone
    (:func:`estimated_sigma`), as a user without the clean image would run them."""
    for key, image in enumerate(images):
        noisy = to_tensor(image.degraded).unsqueeze(0)
        level = estimated_sigma(noisy[0]) if sigma is None else sigma / 255.0
        yield Case(
            PAIRED_OP,
            [key],
            to_tensor(image.clean).unsqueeze(0).to(device),
            noisy.to(device),
            torch.tensor([level]),
        )


def estimated_sigma(noisy: Tensor) -> float:
    """The noise sigma (0-1 units) of a (3, H, W) image from the image alone: scikit-image's wavelet
    estimate (Donoho and Johnstone's median absolute deviation of the finest diagonal band), averaged over
    the channels. It sees white noise; camera noise, smoothed by demosaicing and JPEG, reads much lower."""
    from skimage.restoration import estimate_sigma

    return float(
        estimate_sigma(noisy.permute(1, 2, 0).double().numpy(), channel_axis=-1, average_sigmas=True)
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
    """The cases ``eval.protocol`` asks for: their op names in order, how many images each op covers, one
    line describing them for the report's header, and the image each case key is (whole-image protocols;
    the mixed protocol's keys are crops)."""

    cases: Iterator[Case]
    ops: list[str]
    n_images: int
    description: str
    image_names: list[str] | None = None


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
            [im.name for im in images],
        )
    if settings.protocol == "paired":
        if not datamodule.source.paired:
            raise ValueError("eval.protocol=paired needs paired data (data=paired, data=polyu, ...)")
        sigma = settings.baselines.sigma
        return Protocol(
            paired_cases(images, sigma, device),
            [PAIRED_OP],
            len(images),
            f"protocol: paired, {len(images)} whole noisy images ({names}) against their clean references, "
            "as they are; baselines given "
            + ("the noise sigma estimated from each noisy image" if sigma is None else f"sigma {sigma:g}"),
            [im.name for im in images],
        )
    crops = datamodule.crops(images, "eval")
    return Protocol(
        crop_cases(crops, datamodule.bank, datamodule.eval_batch_size, device),
        datamodule.op_names,
        len(crops),
        f"protocol: mixed, every degradation on each of {len(crops)} fixed {datamodule.val_crop_size} px "
        f"crops of {len(images)} images ({names}), seeded per crop and op",
    )
