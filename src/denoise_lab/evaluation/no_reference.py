"""No-reference image measures, per sample, for images in [0, 1] (seed 000's NR table).

They describe an image without its clean original, so the report can show what a user would notice in a
degraded and a restored photo. Each is a named textbook formula on the BT.601 luminance Y (Kornia):

* entropy: Shannon entropy in bits of the 256-bin histogram of 8-bit Y (0 to 8);
* contrast: RMS contrast, the standard deviation of Y, in % of full scale;
* sharpness: variance of the 3x3 (8-neighbour) Laplacian of Y; the report states it in % of the clean
  original's, because the raw value has no natural scale (blur < 100 %, noise far above);
* colourfulness: Hasler and Suesstrunk's M = std(rg, yb) + 0.3 * mean(rg, yb) (2003) with
  rg = R - G, yb = (R + G) / 2 - B, on RGB in % of full scale (their thresholds divided by 2.55).
"""

from __future__ import annotations

import torch
from kornia.color import rgb_to_grayscale
from kornia.filters import laplacian
from torch import Tensor


def entropy(images: Tensor) -> Tensor:
    """Bits per pixel of each image's 8-bit luminance histogram; NaN for an image with non-finite pixels."""
    finite = images.flatten(1).isfinite().all(1)
    levels = (rgb_to_grayscale(images.nan_to_num().clamp(0, 1)) * 255).round().long().flatten(1)
    offsets = torch.arange(len(levels), device=images.device).unsqueeze(1) * 256
    counts = torch.bincount((levels + offsets).flatten(), minlength=256 * len(levels)).view(-1, 256)
    p = counts / counts.sum(1, keepdim=True)
    bits = -(p * p.clamp_min(1e-12).log2()).sum(1)
    return bits.where(finite, torch.nan)


def rms_contrast(images: Tensor) -> Tensor:
    """Standard deviation of the luminance, in % of full scale."""
    return 100.0 * rgb_to_grayscale(images).flatten(1).std(1)


def laplacian_variance(images: Tensor) -> Tensor:
    """Variance of the 8-neighbour Laplacian of the luminance (reflect border), in [0, 1]^2 units."""
    edges = laplacian(rgb_to_grayscale(images), kernel_size=3, normalized=False)
    return edges.flatten(1).var(1)


def colourfulness(images: Tensor) -> Tensor:
    """Hasler-Suesstrunk colourfulness M, with RGB in % of full scale."""
    r, g, b = (100.0 * images).unbind(1)
    rg, yb = (r - g).flatten(1), (0.5 * (r + g) - b).flatten(1)
    spread = (rg.var(1, correction=0) + yb.var(1, correction=0)).sqrt()
    return spread + 0.3 * (rg.mean(1).pow(2) + yb.mean(1).pow(2)).sqrt()


MEASURES = {
    "entropy": entropy,
    "contrast": rms_contrast,
    "sharpness": laplacian_variance,
    "colourfulness": colourfulness,
}
