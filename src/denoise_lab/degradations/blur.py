"""Blur ops: defocus (Gaussian) and camera shake (linear motion), both with Kornia's filters."""

from __future__ import annotations

import math

import torch
from kornia.filters import gaussian_blur2d, motion_blur
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, lerp, split_by_label, uniform


class GaussianBlur(DegradationOp):
    """Isotropic Gaussian blur with a per-sample sigma in pixels (Kornia accepts a sigma per sample)."""

    def __init__(self, sigma: tuple[float, float] = (0.5, 2.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.sigma = tuple(sigma)
        self.kernel_size = 2 * math.ceil(3 * max(self.sigma)) + 1  # covers +-3 sigma of the widest blur

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        sigma = lerp(self.sigma, severity)
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
        lengths = (lerp(self.kernel_size, severity) / 2).round().long() * 2 + 1  # odd kernel sizes
        angle = uniform(n, 0.0, 180.0, generator, images)
        direction = uniform(n, -self.asymmetry, self.asymmetry, generator, images)
        out = torch.empty_like(images)
        for length, idx in split_by_label(lengths):
            out[idx] = motion_blur(images[idx], length, angle[idx], direction[idx])
        return out
