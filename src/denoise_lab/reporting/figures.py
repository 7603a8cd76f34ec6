"""Figures: rows of image crops (clean, degraded, restored, baselines), each titled with its PSNR.

Seed 001's figure is three such rows of ten images; the report's per-degradation figures add a row per
classical baseline. Also the training history, and the sweep comparison's figures (seed 003). The crops are pasted into one canvas drawn on a single axes, with the titles as text:
a grid of separate axes costs matplotlib about a second per figure, which every short run would pay.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from denoise_lab.evaluation.metrics import ALL_OPS, metric_name, psnr

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


def save_examples(path: Path, examples: Sequence, titles: Sequence[str], rows: Sequence[str] = ()) -> None:
    """Report examples (:class:`denoise_lab.evaluation.evaluator.Example`) as columns: clean, then ``rows`` (default:
    every kind of image any example holds, in order of first appearance)."""
    labels = rows or list(dict.fromkeys(k for e in examples for k in e.images if k != "clean"))
    save_rows(
        path,
        [e.images["clean"] for e in examples],
        {"restored" if k == "model" else k: [e.images.get(k) for e in examples] for k in labels},
        titles,
    )


def save_history_figure(path: Path, history: pd.DataFrame) -> None:
    """``history.png``: :func:`history_figure`."""
    fig = history_figure(history)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def history_figure(history: pd.DataFrame) -> plt.Figure:
    """Loss curves (train and validation), validation PSNR (restored, and the degraded input for reference)
    and the stacked evolution of the degradation weights. Epochs count from 1, as the sweep's figures do
    (``history.csv`` keeps Lightning's 0-based ``epoch``)."""
    epochs = history["epoch"] + 1
    fig, (loss_ax, psnr_ax, weight_ax) = plt.subplots(1, 3, figsize=(17, 4.2))
    for column, label in (("train/loss", "train"), ("val/loss", "validation")):
        if column in history:
            loss_ax.plot(epochs, history[column], marker="o", markersize=3, label=label)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    loss_ax.legend()
    for column, label, style in (
        ("val/psnr", "restored", "-"),
        ("val/psnr_degraded", "degraded input", "--"),
    ):
        if column in history:
            psnr_ax.plot(epochs, history[column], style, marker="o", markersize=3, label=label, color="C2")
    psnr_ax.set(xlabel="epoch", ylabel="PSNR (dB)", title="Validation PSNR, all degradations")
    psnr_ax.legend()
    weights = history.filter(like="weights/")
    if not weights.empty:
        labels = [c.removeprefix("weights/") for c in weights.columns]
        weight_ax.stackplot(epochs, weights.T.to_numpy(), labels=labels)
        weight_ax.set(xlabel="epoch", ylabel="sampling weight", ylim=(0, 1), title="Degradation weights")
        weight_ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:
        weight_ax.set_axis_off()
    for ax in (loss_ax, psnr_ax, weight_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def _wrap(label: str, width: int = 24) -> str:
    return textwrap.fill(label, width)


def save_loss_curves(path: Path, runs: Sequence[tuple[str, Sequence[Mapping[str, float]]]]) -> None:
    """Validation loss per epoch of every job on one plot (solid), its training loss dashed in the same colour.
    Each job is measured with its own loss: compare losses only across jobs that share one."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, history) in enumerate(runs):
        colour = f"C{i % 10}"
        for key, style, suffix in (("val/loss", "-", "val"), ("train/loss", "--", "train")):
            points = [(row["epoch"] + 1, row[key]) for row in history if key in row]
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    style,
                    color=colour,
                    marker="o",
                    ms=3,
                    label=f"{label} ({suffix})",
                )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    ax.set_title("Loss per epoch: validation (solid), training (dashed)")
    ax.grid(alpha=0.3)
    if runs:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_ssim_by_model(path: Path, runs: Sequence[tuple[str, Mapping[str, float]]]) -> None:
    """Best validation SSIM of every job as bars, the degraded input's as a dashed line."""
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(runs) + 2), 4.5))
    values = [best.get("val/ssim", float("nan")) for _, best in runs]
    bars = ax.bar([_wrap(label) for label, _ in runs], values, color=[f"C{i % 10}" for i in range(len(runs))])
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    reference = next((best["val/ssim_degraded"] for _, best in runs if "val/ssim_degraded" in best), None)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", label=f"degraded input {reference:.3f}")
        ax.legend(fontsize=8)
    ax.set_ylabel("SSIM (validation, best epoch)")
    ax.set_ylim(min([*values, reference or 1.0]) * 0.95, 1.0)
    ax.set_title("SSIM by model")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_psnr_by_degradation(
    path: Path, runs: Sequence[tuple[str, Mapping[str, float]]], op_names: Sequence[str]
) -> None:
    """Grouped bars: for each degradation (and all together), the degraded input's PSNR and every job's."""
    groups = [*op_names, ALL_OPS]
    series = []
    if runs:
        first = runs[0][1]
        series.append(
            (
                "degraded input",
                [first.get(metric_name("val", "psnr_degraded", g), np.nan) for g in groups],
                "lightgrey",
            )
        )
    for i, (label, best) in enumerate(runs):
        series.append(
            (label, [best.get(metric_name("val", "psnr", g), np.nan) for g in groups], f"C{i % 10}")
        )
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(groups) * max(1, len(series)) * 0.45 + 2), 4.5))
    x = np.arange(len(groups))
    for i, (label, values, colour) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label, color=colour)
    ax.set_xticks(x, [g.replace("_", " ") for g in groups], fontsize=8)
    finite = [v for _, values, _ in series for v in values if np.isfinite(v)]
    if finite:
        ax.set_ylim(min(finite) - 2, max(finite) + 1)
    ax.set_ylabel("PSNR (dB, validation, best epoch)")
    ax.set_title("PSNR by degradation")
    ax.grid(axis="y", alpha=0.3)
    if runs:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_samples_by_model(
    path: Path,
    clean: Tensor,
    degraded: Tensor,
    restored: Sequence[tuple[str, Tensor]],
    titles: Sequence[str],
) -> None:
    """Rows: clean, degraded, then each job's restoration of the same crops; PSNR above each image."""
    rows = [("clean", clean, None), ("degraded", degraded, psnr(degraded, clean))]
    rows += [(label, images, psnr(images, clean)) for label, images in restored]
    n = clean.shape[0]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.9 * n + 1.2, 2.0 * len(rows)), squeeze=False)
    for r, (label, images, scores) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            ax.imshow(images[i].clamp(0, 1).permute(1, 2, 0).cpu().numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(titles[i] if scores is None else f"{scores[i]:.1f} dB", fontsize=8)
            if i == 0:
                ax.set_ylabel(_wrap(label, 16), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
