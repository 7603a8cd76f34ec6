"""Resampling and coding losses: JPEG compression and low resolution (downsample, then upsample)."""

from __future__ import annotations

import torch
from kornia.enhance import jpeg_codec_differentiable
from kornia.geometry.transform import resize
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, lerp, split_by_label


class JPEGCompression(DegradationOp):
    """JPEG artefacts (8x8 blocks, ringing, chroma loss) from Kornia's differentiable codec.

    ``quality: [60, 10]`` is the (weakest, strongest) JPEG quality; Kornia takes one per sample.
    """

    def __init__(self, quality: tuple[float, float] = (60.0, 10.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.quality = tuple(quality)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        return jpeg_codec_differentiable(images.clamp(0.0, 1.0), lerp(self.quality, severity))


class Downsample(DegradationOp):
    """Low resolution: shrink by ``factor`` (antialiased) and enlarge back to the input size (bicubic).

    Factors are rounded to quarter steps so that samples share one resize call per factor.
    """

    def __init__(self, factor: tuple[float, float] = (1.5, 4.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.factor = tuple(factor)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        h, w = images.shape[-2:]
        quarters = (lerp(self.factor, severity) * 4).round().long()
        out = torch.empty_like(images)
        for q, idx in split_by_label(quarters):
            small = (max(1, round(h * 4 / q)), max(1, round(w * 4 / q)))
            shrunk = resize(images[idx], small, interpolation="bilinear", antialias=True)
            out[idx] = resize(shrunk, (h, w), interpolation="bicubic")
        return out
