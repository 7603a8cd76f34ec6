"""Degradation ops: batch-wise, on the batch's device, a severity per sample.

Every op receives ``severity`` in [0, 1] (one value per sample) and maps it linearly onto its own
strength range, written in the op's natural units (noise sigma in 0-255 as in published tables, blur
sigma in pixels, ...). All other randomness (noise fields, directions, signs) comes from the
``generator`` the bank hands in, never from the global RNG: that is what makes validation degradations
reproducible and keeps them from disturbing the training random stream.
"""

from __future__ import annotations

import math

import torch
from kornia.enhance import adjust_brightness, adjust_contrast_with_mean_subtraction, adjust_gamma
from kornia.filters import gaussian_blur2d, motion_blur
from torch import Tensor


def _lerp(bounds: tuple[float, float], severity: Tensor) -> Tensor:
    """Map severities in [0, 1] onto ``bounds`` = (weakest, strongest)."""
    low, high = bounds
    return low + (high - low) * severity


def _uniform(n: int, low: float, high: float, generator: torch.Generator, like: Tensor) -> Tensor:
    """``n`` samples of U(low, high) on ``like``'s device, drawn from ``generator``."""
    return low + (high - low) * torch.rand(n, generator=generator, device=like.device, dtype=like.dtype)


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

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class GaussianNoise(DegradationOp):
    """Additive white Gaussian noise with a per-sample sigma in 0-255 units (``sigma: [5, 50]``).

    Written by hand because Kornia's ``RandomGaussianNoise`` draws one std per batch from the global RNG.
    """

    def __init__(self, sigma: tuple[float, float] = (5.0, 50.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.sigma = tuple(sigma)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        sigma = _lerp(self.sigma, severity) / 255.0
        noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
        return images + sigma.view(-1, 1, 1, 1) * noise


class GaussianBlur(DegradationOp):
    """Isotropic Gaussian blur with a per-sample sigma in pixels (Kornia accepts a sigma per sample)."""

    def __init__(self, sigma: tuple[float, float] = (0.5, 2.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.sigma = tuple(sigma)
        self.kernel_size = 2 * math.ceil(3 * max(self.sigma)) + 1  # covers +-3 sigma of the widest blur

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        sigma = _lerp(self.sigma, severity)
        return gaussian_blur2d(images, self.kernel_size, torch.stack([sigma, sigma], dim=1))


class MotionBlur(DegradationOp):
    """Linear motion blur ("involuntary movement"): per-sample length, angle and asymmetry.

    Kornia's ``motion_blur`` takes one kernel size per call, so samples are grouped by their length;
    angle (degrees) and direction (how the weight is spread along the streak, up to +-``asymmetry``)
    are per sample. The default ``asymmetry: 0`` keeps the kernel centred: an uneven kernel also
    shifts the image, and a shift of unknown sign cannot be undone from the blurred image alone.
    """

    def __init__(
        self, kernel_size: tuple[int, int] = (3, 11), asymmetry: float = 0.0, clamp: bool = True
    ) -> None:
        super().__init__(clamp)
        self.kernel_size = tuple(kernel_size)
        self.asymmetry = asymmetry

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n = images.shape[0]
        lengths = (_lerp(self.kernel_size, severity) / 2).round().long() * 2 + 1  # odd kernel sizes
        angle = _uniform(n, 0.0, 180.0, generator, images)
        direction = _uniform(n, -self.asymmetry, self.asymmetry, generator, images)
        out = torch.empty_like(images)
        for length, idx in split_by_label(lengths):
            out[idx] = motion_blur(images[idx], length, angle[idx], direction[idx])
        return out


class IlluminationContrast(DegradationOp):
    """Global illumination change: gamma, contrast (around the mean) and brightness, each with a random sign.

    ``gamma: 1.8`` means gamma in [1/1.8, 1.8] at full severity; ``contrast: 0.5`` a factor in
    [1/1.5, 1.5]; ``brightness: 0.25`` an additive shift in [-0.25, 0.25].
    """

    def __init__(
        self, brightness: float = 0.25, contrast: float = 0.5, gamma: float = 1.8, clamp: bool = True
    ) -> None:
        super().__init__(clamp)
        self.brightness, self.contrast, self.gamma = brightness, contrast, gamma

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        signs = torch.randint(0, 2, (3, images.shape[0]), generator=generator, device=images.device) * 2 - 1
        gamma = self.gamma ** (signs[0] * severity)
        contrast = (1.0 + self.contrast) ** (signs[1] * severity)
        shift = signs[2] * severity * self.brightness
        out = adjust_gamma(images, gamma)
        out = adjust_contrast_with_mean_subtraction(out, contrast)
        return adjust_brightness(out, shift, clip_output=False)


class ChannelGains(DegradationOp):
    """Colour-channel perturbation (seed 002): each RGB channel scaled by its own random gain.

    Gains are ``1 + max_deviation * severity * u`` with ``u ~ U(-1, 1)`` drawn per sample and channel.
    """

    def __init__(self, max_deviation: float = 0.3, clamp: bool = True) -> None:
        super().__init__(clamp)
        self.max_deviation = max_deviation

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n, c = images.shape[:2]
        u = _uniform(n * c, -1.0, 1.0, generator, images).view(n, c)
        gains = 1.0 + self.max_deviation * severity.view(n, 1) * u
        return images * gains.view(n, c, 1, 1)
