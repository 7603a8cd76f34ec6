"""Per-sample image quality and its aggregation per degradation.

PSNR and SSIM come from torchmetrics with ``reduction="none"`` (torchmetrics' PSNR otherwise pools the
whole batch into one number). :class:`PerOpMeans` keeps one torchmetrics ``MeanMetric`` per quantity,
overall and per op, weighted by op membership: no host syncs per batch, and DDP reduction for free.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn
from torchmetrics import MeanMetric
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure


def psnr(restored: Tensor, clean: Tensor) -> Tensor:
    """PSNR in dB per sample, images in [0, 1]."""
    return peak_signal_noise_ratio(restored, clean, data_range=1.0, reduction="none", dim=(1, 2, 3))


def ssim(restored: Tensor, clean: Tensor) -> Tensor:
    """SSIM per sample (11x11 Gaussian window, sigma 1.5), images in [0, 1]."""
    return structural_similarity_index_measure(restored, clean, data_range=1.0, reduction="none")


class PerOpMeans(nn.Module):
    """Means of per-sample quantities, overall (``psnr``) and per degradation (``psnr/<op>``)."""

    def __init__(self, quantities: list[str], op_names: list[str]) -> None:
        super().__init__()
        self.op_names = list(op_names)
        keys = [*quantities] + [f"{q}/{op}" for q in quantities for op in self.op_names]
        self.means = nn.ModuleDict({key: MeanMetric() for key in keys})

    def update(self, values: Mapping[str, Tensor], op_index: Tensor) -> None:
        for quantity, per_sample in values.items():
            per_sample = per_sample.detach().float()
            self.means[quantity].update(per_sample)
            for k, op in enumerate(self.op_names):
                self.means[f"{quantity}/{op}"].update(per_sample, weight=(op_index == k).float())

    def items(self):
        return self.means.items()
