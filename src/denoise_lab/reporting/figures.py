"""Figures: rows of image crops (clean, degraded, restored, baselines), each titled with its PSNR.

Seed 001's figure is three such rows of ten images; the report's per-degradation figures add a row per
classical baseline. The crops are pasted into one canvas drawn on a single axes, with the titles as text:
a grid of separate axes costs matplotlib about a second per figure, which every short run would pay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from torch import Tensor

from denoise_lab.metrics import psnr

CELL = 128  # pixels per image cell; smaller crops are enlarged (nearest neighbour: noise stays visible)
GAP, TITLE, LABEL, DPI = 6, 18, 84, 100  # pixels between cells, above cells, left of rows; dots per inch


def _fit(image: Tensor) -> np.ndarray:
    """(H, W, 3) array of ``image`` scaled (aspect kept, nearest neighbour) to a longer side of CELL px."""
    array = image.detach().clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
    h, w = array.shape[:2]
    scale = CELL / max(h, w)
    rows = (np.arange(max(1, round(h * scale))) / scale).astype(int)
    cols = (np.arange(max(1, round(w * scale))) / scale).astype(int)
    return array[rows][:, cols]


def save_rows(
    path: Path,
    clean: Sequence[Tensor],
    rows: Mapping[str, Sequence[Tensor | None]],
    titles: Sequence[str] = (),
) -> None:
    """A ``clean`` row, then one row per entry of ``rows`` (``None`` leaves a cell empty).

    Clean cells carry ``titles`` (if given), the others their PSNR against the clean image above.
    """
    grid = [("clean", list(clean)), *rows.items()]
    width, height = LABEL + len(clean) * (CELL + GAP), len(grid) * (TITLE + CELL + GAP)
    canvas = np.ones((height, width, 3), dtype=np.float32)
    fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    for r, (label, images) in enumerate(grid):
        top = r * (TITLE + CELL + GAP) + TITLE
        ax.text(LABEL - 8, top + CELL / 2, label, ha="right", va="center", fontsize=10)
        for i, image in enumerate(images):
            if image is None:
                continue
            left = LABEL + i * (CELL + GAP)
            shown = _fit(image)
            canvas[top : top + shown.shape[0], left : left + shown.shape[1]] = shown
            if r > 0:
                title = f"{psnr(image.clamp(0, 1)[None].cpu(), clean[i][None].cpu())[0]:.1f} dB"
            else:
                title = titles[i][:22] if titles else ""
            ax.text(left + CELL / 2, top - 4, title, ha="center", va="bottom", fontsize=8)
    ax.imshow(canvas, interpolation="nearest")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def save_sample_grid(
    path: Path, clean: Tensor, degraded: Tensor, restored: Tensor, titles: Sequence[str]
) -> None:
    """Three rows (clean, degraded, restored) of N images, each degraded/restored titled with its PSNR."""
    save_rows(path, list(clean), {"degraded": list(degraded), "restored": list(restored)}, titles)


def save_examples(path: Path, examples: Sequence, titles: Sequence[str], rows: Sequence[str] = ()) -> None:
    """Report examples (:class:`denoise_lab.evaluation.Example`) as columns: clean, then ``rows`` (default:
    every kind of image any example holds, in order of first appearance)."""
    labels = rows or list(dict.fromkeys(k for e in examples for k in e.images if k != "clean"))
    save_rows(
        path,
        [e.images["clean"] for e in examples],
        {"restored" if k == "model" else k: [e.images.get(k) for e in examples] for k in labels},
        titles,
    )


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
