"""Reconstruction losses, each returning one value per sample (shape ``(B,)``).

Per-sample values let the module average them for backward *and* group them by degradation for free
(per-op statistics, adaptive weighting). SSIM comes from Kornia; nothing here re-implements a metric.
"""

from __future__ import annotations

import torch.nn.functional as F
from kornia.metrics import ssim
from torch import Tensor, nn


def per_sample_mean(values: Tensor) -> Tensor:
    """Mean over every dimension but the batch."""
    return values.flatten(1).mean(1)


class MSELoss(nn.Module):
    def forward(self, restored: Tensor, clean: Tensor) -> Tensor:
        return per_sample_mean(F.mse_loss(restored, clean, reduction="none"))


class L1Loss(nn.Module):
    def forward(self, restored: Tensor, clean: Tensor) -> Tensor:
        return per_sample_mean(F.l1_loss(restored, clean, reduction="none"))


class PSNRLoss(nn.Module):
    """-PSNR per sample, i.e. 10 * log10(MSE + eps) (the loss NAFNet trains with).

    Its gradient is the MSE gradient divided by the sample's own error, so every sample pulls with the
    same relative force: mild degradations (blur, colour gains) are not drowned out by ambiguous global
    ones (illumination), and training maximises exactly the mean per-sample PSNR that is reported.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, restored: Tensor, clean: Tensor) -> Tensor:
        return 10.0 * (per_sample_mean((restored - clean) ** 2) + self.eps).log10()


class CharbonnierLoss(nn.Module):
    """sqrt((x - y)^2 + eps^2): L1 that stays smooth at zero (the usual restoration loss, e.g. MPRNet)."""

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, restored: Tensor, clean: Tensor) -> Tensor:
        return per_sample_mean(((restored - clean) ** 2 + self.eps**2).sqrt())


class SSIMLoss(nn.Module):
    """1 - SSIM (Gaussian window, Kornia), averaged per sample."""

    def __init__(self, window_size: int = 11) -> None:
        super().__init__()
        self.window_size = window_size

    def forward(self, restored: Tensor, clean: Tensor) -> Tensor:
        return 1.0 - per_sample_mean(ssim(restored, clean, self.window_size))


class PixelSSIMLoss(nn.Module):
    """(1 - w) * pixel loss + w * (1 - SSIM): seed 000's combined loss (with MSE), pixel accuracy plus structure.

    The SSIM term rewards restored edges (it lifts deblurring); the pixel term keeps global brightness and
    colour honest, which SSIM barely sees.
    """

    def __init__(self, pixel: nn.Module, ssim_weight: float = 0.5, window_size: int = 11) -> None:
        super().__init__()
        if not 0.0 <= ssim_weight <= 1.0:
            raise ValueError(f"loss.ssim_weight must lie in [0, 1], got {ssim_weight}")
        self.ssim_weight = ssim_weight
        self.pixel, self.ssim = pixel, SSIMLoss(window_size)

    def forward(self, restored: Tensor, clean: Tensor) -> Tensor:
        return (1 - self.ssim_weight) * self.pixel(restored, clean) + self.ssim_weight * self.ssim(
            restored, clean
        )


class BCELoss(nn.Module):
    """Binary cross-entropy on pixel intensities (seed 003). The prediction is clamped into (0, 1),
    so it suits models with a sigmoid output; residual models outside [0, 1] get no gradient there.
    Written out because ``F.binary_cross_entropy`` refuses to run under CUDA autocast."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, restored: Tensor, clean: Tensor) -> Tensor:
        p = restored.float().clamp(self.eps, 1 - self.eps)
        return per_sample_mean(-(clean * p.log() + (1 - clean) * (1 - p).log()))
