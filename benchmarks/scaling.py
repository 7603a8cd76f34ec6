"""Scaling: training-step time vs batch size and vs patch size, and a straight line through it.

Convolutional models do work in proportion to the pixels they see, so a step should cost a fixed part
(launches, the optimizer, Python) plus a part linear in batch x patch². The fit of all points gives both
parts; a point far off the line (cache spills, too small a batch to fill the cores) shows up in the
residual column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch.utils.data import default_collate

from benchmarks.common import (
    Section,
    Settings,
    TrainStep,
    datamodule,
    interleaved_medians,
    run_config,
    to_device,
)
from denoise_lab.data.datasets import RandomPatches

KEY = "scaling"
TITLE = "Scaling: step time vs batch size and patch size"


def sweep(settings: Settings) -> list[tuple[int, int]]:
    """(batch, patch) points: batches at the default patch, then patches at the default batch."""
    if settings.quick:
        return [(2, 32), (4, 32), (2, 48)]
    return [(b, 64) for b in (4, 8, 16, 32, 64)] + [(16, p) for p in (32, 96, 128)]


def run(settings: Settings) -> Section:
    cfg = run_config(settings)
    data = datamodule(cfg)
    step = TrainStep(cfg, settings)
    rows = []
    for batch_size, patch in sweep(settings):
        patches = RandomPatches(data.train_set.images, patch, batch_size)
        clean = to_device(default_collate([patches[k] for k in range(batch_size)]), settings.device)
        seconds = interleaved_medians(
            {"step": lambda c=clean: step(data.on_after_batch_transfer(c, 0))}, settings
        )
        rows.append({"batch": batch_size, "patch": patch, "seconds": seconds["step"]})
    frame = pd.DataFrame(rows, index=[f"batch {r['batch']}, {r['patch']}²" for r in rows])
    pixels = frame["batch"] * frame["patch"] ** 2
    slope, intercept = np.polyfit(pixels, frame["seconds"], 1)
    table = pd.DataFrame(
        {
            "step (ms)": 1e3 * frame["seconds"],
            "images/s": frame["batch"] / frame["seconds"],
            "Mpixel/s": pixels / frame["seconds"] / 1e6,
            "linear fit (ms)": 1e3 * (intercept + slope * pixels),
        }
    )
    table["off the fit (%)"] = 100 * (table["step (ms)"] / table["linear fit (ms)"] - 1)
    text = (
        f"Default model and settings ({cfg.model._target_.rsplit('.', 1)[-1]}, precision {cfg.trainer.precision}, "
        f"channels_last {cfg.channels_last}), one training step including the bank. Least-squares line over "
        f"all points: step ≈ **{1e3 * intercept:.1f} ms + {1e9 * slope:.1f} ns × pixels** "
        "(pixels = batch × patch²)."
    )
    return Section(KEY, TITLE, text, {"step time": table})
