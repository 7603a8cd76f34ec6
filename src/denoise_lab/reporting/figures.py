"""Figures: the clean / degraded / restored grid of seed 001."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt
import pandas as pd
from torch import Tensor

from denoise_lab.metrics import psnr


def save_sample_grid(
    path: Path, clean: Tensor, degraded: Tensor, restored: Tensor, titles: Sequence[str]
) -> None:
    """Three rows (clean, degraded, restored) of N images, each degraded/restored titled with its PSNR."""
    n = clean.shape[0]
    scores_in, scores_out = psnr(degraded.clamp(0, 1), clean), psnr(restored, clean)
    fig, axes = plt.subplots(3, n, figsize=(1.9 * n, 6.3), squeeze=False)
    rows = [("clean", clean, None), ("degraded", degraded, scores_in), ("restored", restored, scores_out)]
    for r, (label, images, scores) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            ax.imshow(images[i].clamp(0, 1).permute(1, 2, 0).cpu().numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if scores is not None:
                ax.set_title(f"{scores[i]:.1f} dB", fontsize=8)
            elif titles:
                ax.set_title(titles[i], fontsize=8)
            if i == 0:
                ax.set_ylabel(label, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_history_figure(path: Path, history: pd.DataFrame) -> None:
    """Loss curves (train and validation) beside the stacked evolution of the degradation weights."""
    fig, (loss_ax, weight_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for column, label in (("train/loss", "train"), ("val/loss", "validation")):
        if column in history:
            loss_ax.plot(history["epoch"], history[column], marker="o", markersize=3, label=label)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    loss_ax.legend()
    weights = history.filter(like="weights/")
    if not weights.empty:
        labels = [c.removeprefix("weights/") for c in weights.columns]
        weight_ax.stackplot(history["epoch"], weights.T.to_numpy(), labels=labels)
        weight_ax.set(xlabel="epoch", ylabel="sampling weight", ylim=(0, 1), title="Degradation weights")
        weight_ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
