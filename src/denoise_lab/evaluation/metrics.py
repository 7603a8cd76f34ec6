"""Per-sample image quality and its aggregation per degradation.

PSNR and SSIM come from torchmetrics with ``reduction="none"`` (torchmetrics' PSNR otherwise pools the
whole batch into one number). SSIM follows scikit-image and Wang et al.'s reference code: the map is
averaged over the windows that lie inside the image, not over torchmetrics' reflect-padded border
(which moves the score by up to ~2e-3 on real photos). :class:`PerOpMeans` keeps one torchmetrics
``MeanMetric`` per quantity, overall and per op, weighted by op membership: no host syncs per batch, and
DDP reduction for free.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn
from torchmetrics import MeanMetric
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

SSIM_BORDER = 5  # half the 11-pixel window: map entries closer to the edge saw padding
ALL_OPS = "all"  # the op of a metric averaged over every degradation


def metric_name(stage: str, quantity: str, op: str = ALL_OPS) -> str:
    """The one spelling of a logged metric, which history files, checkpoints' monitors, reports and W&B
    share: ``val/psnr`` over every op, ``val/psnr/gaussian_noise`` for one."""
    return f"{stage}/{quantity}" if op == ALL_OPS else f"{stage}/{quantity}/{op}"


def parse_metric_name(name: str) -> tuple[str, str, str]:
    """``(stage, quantity, op)`` of a :func:`metric_name` (op :data:`ALL_OPS` for the overall mean); a
    name without a stage (``epoch``) gives an empty stage."""
    parts = name.split("/", 2)
    if len(parts) == 1:
        return "", name, ALL_OPS
    stage, quantity, op = (*parts, ALL_OPS)[:3]
    return stage, quantity, op


def psnr(restored: Tensor, clean: Tensor) -> Tensor:
    """PSNR in dB per sample, images in [0, 1]."""
    return peak_signal_noise_ratio(restored, clean, data_range=1.0, reduction="none", dim=(1, 2, 3))


def ssim(restored: Tensor, clean: Tensor) -> Tensor:
    """SSIM per sample (11x11 Gaussian window, sigma 1.5), images in [0, 1], over the inner windows.

    Images narrower than a window keep at least their central row/column of the map.
    """
    _, full = structural_similarity_index_measure(
        restored, clean, data_range=1.0, reduction="none", return_full_image=True
    )
    h, w = full.shape[-2:]
    bh, bw = min(SSIM_BORDER, (h - 1) // 2), min(SSIM_BORDER, (w - 1) // 2)
    return full[..., bh : h - bh, bw : w - bw].flatten(1).mean(1)


def rgb_to_y(images: Tensor) -> Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 1, H, W) luma Y of ITU-R BT.601 in [16/255, 235/255]: the channel
    BasicSR's and KAIR's ``test_y_channel`` scores (scikit-image's ``rgb2ycbcr``), so a report can stand
    beside the half of the literature that reports on Y."""
    weights = images.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)
    return ((images * weights).sum(1, keepdim=True) + 16.0) / 255.0


def scored_view(images: Tensor, color: str = "rgb", crop_border: int = 0) -> Tensor:
    """What PSNR and SSIM are taken on: RGB or Y (``color``), less ``crop_border`` pixels on every side
    (the papers' convention for super-resolution and for scores comparable across borders)."""
    if crop_border:
        images = images[..., crop_border:-crop_border, crop_border:-crop_border]
    return rgb_to_y(images) if color == "y" else images


def mse_255(restored: Tensor, clean: Tensor) -> Tensor:
    """Mean squared error per sample on the 0-255 scale (seed 000's MSE column)."""
    return ((restored - clean) * 255.0).pow(2).flatten(1).mean(1)


def channel_shifts_255(restored: Tensor, clean: Tensor) -> dict[str, Tensor]:
    """Per sample, each RGB channel's mean minus the clean image's, on the 0-255 scale: a colour bias.
    Noise averages out of a whole image's mean, so a shift is what the restorer did to the colours (a
    network that never saw a colour repaints it: up to 7.6 levels on single CBSD68 photos)."""
    shift = (restored.mean(dim=(2, 3)) - clean.mean(dim=(2, 3))) * 255.0
    return {f"shift_{c}": shift[:, i] for i, c in enumerate("rgb")}


class PerOpMeans(nn.Module):
    """Means of per-sample quantities of one stage, overall (``val/psnr``) and per op (``val/psnr/<op>``),
    keyed by :func:`metric_name`."""

    def __init__(self, stage: str, quantities: list[str], op_names: list[str]) -> None:
        super().__init__()
        self.stage, self.op_names = stage, list(op_names)
        keys = [metric_name(stage, q, op) for q in quantities for op in [ALL_OPS, *self.op_names]]
        self.means = nn.ModuleDict({key: MeanMetric() for key in keys})

    def update(self, values: Mapping[str, Tensor], op_index: Tensor) -> None:
        for quantity, per_sample in values.items():
            per_sample = per_sample.detach().float()
            self.means[metric_name(self.stage, quantity)].update(per_sample)
            for k, op in enumerate(self.op_names):
                weight = (op_index == k).float()
                self.means[metric_name(self.stage, quantity, op)].update(per_sample, weight=weight)

    def items(self):
        return self.means.items()
