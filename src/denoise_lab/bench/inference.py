"""Inference vs BM3D: milliseconds per 512² image and PSNR at sigma 25, each model next to the classics.

Every model family is trained here on the ``gaussian`` preset (sigma 25, unclipped: the published-table
protocol) for the same wall-clock budget from scratch, then restores the validation photos (never seen
in training; centre crops of up to 512²) through the path ``denoise_lab.predict`` takes
(:func:`denoise_lab.tiling.restorer`, float32, channels-last). BM3D (``bm3d`` package, its default profile, one
thread as its notes advise), non-local means and TV get the true sigma and the same noisy images.
Model times are medians over repeats after a warm-up on the 512² photo; the classics take seconds an
image, so each runs once per photo and its time on the 512² one is quoted.

The PSNR of a model here says what ``TRAIN_SECONDS`` of training on this device buys, not what the model
can reach: a GPU trains many times more steps in the same budget.
"""

from __future__ import annotations

import math
import time

import pandas as pd
import torch
from torch import Tensor

from denoise_lab.baselines import select_baselines
from denoise_lab.bench.common import (
    Section,
    Settings,
    Target,
    TrainStep,
    datamodule,
    interleaved_medians,
    run_config,
    to_device,
)
from denoise_lab.bench.compute import MODELS
from denoise_lab.evaluation import centre, standard_cases
from denoise_lab.metrics import psnr
from denoise_lab.tiling import restorer

KEY = "inference"
TITLE = "Inference vs BM3D"
SIGMA = 25.0  # 0-255 units
SIZE = 512  # the image side times are quoted at
TRAIN_SECONDS = 20.0  # training budget per model (a few steps in --quick)
SPEEDUP_TARGET = 50.0


def noisy_photos(images, size: int, seed: int) -> list[tuple[Tensor, Tensor]]:
    """(clean, noisy) (1, 3, h, w) pairs: the report's standard protocol (whole photos, Gaussian noise of
    ``SIGMA``, seeded, unclipped), cut to centre crops of up to ``size``²."""
    cases = standard_cases(images, [SIGMA], seed, torch.device("cpu"))
    return [(centre(case.clean, size), centre(case.degraded, size)) for case in cases]


def train_for(model: str, settings: Settings) -> tuple[TrainStep, int]:
    """``model`` trained from scratch on the ``gaussian`` preset for ``TRAIN_SECONDS`` (2 steps in
    --quick); the trained step and its number of steps."""
    overrides = [f"model={model}", "degradation=gaussian"]
    seconds, max_steps = TRAIN_SECONDS, math.inf
    if settings.quick:
        overrides += ["data.batch_size=2", "data.patch_size=32"]
        seconds, max_steps = math.inf, 2
    cfg = run_config(settings, *overrides)
    data = datamodule(cfg)
    step, steps, start = TrainStep(cfg, settings), 0, time.perf_counter()
    while time.perf_counter() - start < seconds and steps < max_steps:
        for batch in data.train_dataloader():
            step(data.on_after_batch_transfer(to_device(batch, settings.device), 0))
            steps += 1
            if time.perf_counter() - start >= seconds or steps == max_steps:
                break
    settings.sync()
    return step, steps


def mean_psnr(restore, pairs: list[tuple[Tensor, Tensor]]) -> float:
    return sum(float(psnr(restore(noisy).clamp(0, 1), clean)) for clean, noisy in pairs) / len(pairs)


def timing(restore, seconds: list[float]):
    """``restore`` that appends the seconds of every call to ``seconds``."""

    def timed(noisy: Tensor) -> Tensor:
        start = time.perf_counter()
        restored = restore(noisy)
        seconds.append(time.perf_counter() - start)
        return restored

    return timed


def as_tensor_denoiser(denoise):
    """A numpy (H, W, 3) denoiser taking sigma in [0, 1], as a restore function on (1, 3, H, W) tensors."""

    def restore(noisy: Tensor) -> Tensor:
        array = noisy[0].permute(1, 2, 0).double().numpy()
        return torch.from_numpy(denoise(array, SIGMA / 255.0)).permute(2, 0, 1)[None].float()

    return restore


def run(settings: Settings) -> Section:
    cfg = run_config(settings)
    data = datamodule(cfg)
    size = 64 if settings.quick else SIZE
    pairs = noisy_photos(data.val_set.images, size, cfg.seed)
    timed_index = next((i for i, (_, noisy) in enumerate(pairs) if noisy.shape[-2:] == (size, size)), 0)
    timed = pairs[timed_index][1]
    rows = {}
    for name in MODELS:
        step, steps = train_for(name, settings)
        restore = restorer(step.model, settings.device, size=4096, overlap=0)
        seconds = interleaved_medians({"restore": lambda r=restore: r(timed)}, settings)["restore"]
        rows[name] = {
            "ms / image": 1e3 * seconds,
            "PSNR (dB)": mean_psnr(restore, pairs),
            "training steps": str(steps),  # a label: the classics have none
        }
    baselines, notes = select_baselines(["bm3d", "nlm", "tv"])
    for label, denoise in baselines.items():
        if denoise is None:
            continue
        seconds = []  # each call's time; the classics take seconds an image, so one pass does both
        rows[label] = {
            "PSNR (dB)": mean_psnr(timing(as_tensor_denoiser(denoise), seconds), pairs),
            "ms / image": 1e3 * seconds[timed_index],
            "training steps": "–",
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.insert(1, "images/s", 1e3 / table["ms / image"])
    targets = []
    if "BM3D" in table.index:
        table["× faster than BM3D"] = table.loc["BM3D", "ms / image"] / table["ms / image"]
        targets = [
            Target(
                f"{name} vs BM3D, ms per {size}² image",
                f"≥ {SPEEDUP_TARGET:.0f}× faster",
                f"{table.loc[name, '× faster than BM3D']:.0f}×",
                table.loc[name, "× faster than BM3D"] >= SPEEDUP_TARGET,
            )
            for name in MODELS
        ]
    budget = "2 steps" if settings.quick else f"{TRAIN_SECONDS:g} s"
    noisy_psnr = sum(float(psnr(noisy.clamp(0, 1), clean)) for clean, noisy in pairs) / len(pairs)
    text = (
        f"Validation photos ({', '.join(im.name for im in data.val_set.images)}; centre crops up to {size}²), "
        f"Gaussian noise σ = {SIGMA:g} (noisy input: {noisy_psnr:.2f} dB). Models: each trained from scratch "
        f"for {budget} on this device on the `gaussian` preset (σ = 25), then restoring through "
        "predict's path (float32, channels-last); their PSNR is what that budget buys, not the family's ceiling. "
        "Classics: given the true σ, one thread for BM3D. " + " ".join(notes)
    )
    return Section(KEY, TITLE, text.strip(), {f"σ = {SIGMA:g}, {size}² images": table}, targets)
