"""The contract every degradation op follows, and the small helpers they share.

Every op receives ``severity`` in [0, 1] (one value per sample) and maps it linearly onto its own
strength range, written in the op's natural units (noise sigma in 0-255 as in published tables, blur
sigma in pixels, ...). All other randomness (noise fields, directions, signs) comes from the
``generator`` the bank hands in, never from the global RNG: that is what makes validation degradations
reproducible and keeps them from disturbing the training random stream.
"""

from __future__ import annotations

import torch
from torch import Tensor


def lerp(bounds: tuple[float, float], severity: Tensor) -> Tensor:
    """Map severities in [0, 1] onto ``bounds`` = (weakest, strongest)."""
    low, high = bounds
    return low + (high - low) * severity


def uniform(
    shape: int | tuple[int, ...], low: float, high: float, generator: torch.Generator, like: Tensor
) -> Tensor:
    """Samples of U(low, high) of the given shape on ``like``'s device, drawn from ``generator``."""
    rand = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    return low + (high - low) * rand


def pixel_grid(like: Tensor) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates ``(y, x)`` in [0, 1], shaped (1, 1, H, W) to broadcast over a batch."""
    h, w = like.shape[-2:]
    y = (torch.arange(h, device=like.device, dtype=like.dtype) + 0.5) / h
    x = (torch.arange(w, device=like.device, dtype=like.dtype) + 0.5) / w
    return y.view(1, 1, h, 1), x.view(1, 1, 1, w)


def is_gray(images: Tensor) -> Tensor:
    """Per sample: whether its three channels are equal, i.e. a gray photo repeated over RGB."""
    return (images[:, 1:] == images[:, :1]).flatten(1).all(dim=1)


def gray_where_gray(noise: Tensor, images: Tensor) -> Tensor:
    """``noise`` with its first channel copied to all three on gray samples: a gray photo's noise is gray
    (one sensor value per pixel). With independent noise per channel, a network trained on colour noise
    learns nothing about it and left gray noise in place (+0.1 dB on gray photos)."""
    return torch.where(is_gray(images).view(-1, 1, 1, 1), noise[:, :1].expand_as(noise), noise)


def split_by_label(labels: Tensor) -> list[tuple[int, Tensor]]:
    """``(label, sample indices)`` for each distinct label, so work runs once per group, not per sample."""
    values, counts = labels.unique(return_counts=True)
    order = labels.argsort(stable=True)
    return list(zip(values.tolist(), order.split(counts.tolist()), strict=True))


class DegradationOp:
    """Base class: ``op(images, severity, generator) -> degraded images`` (same shape, float in [0,1]).

    Subclasses implement :meth:`apply`; the base class clamps the result to [0, 1] unless the op was
    configured with ``clamp=False`` (the published Gaussian-noise protocol keeps unclipped noise).
    """

    def __init__(self, clamp: bool = True) -> None:
        self.clamp = clamp

    def __call__(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        out = self.apply(images, severity.to(images.dtype), generator)
        return out.clamp(0.0, 1.0) if self.clamp else out

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def noise_sigma(self, severity: Tensor) -> Tensor | None:
        """The standard deviation (0-1 units) of the additive white Gaussian noise this op adds at each
        ``severity``, where that is all it does; ``None`` otherwise. Reports hand it to the classical
        denoisers (BM3D, NLM, TV), so an op that declares it gets their rows."""
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"
