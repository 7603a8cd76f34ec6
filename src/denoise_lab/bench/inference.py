"""Inference vs BM3D: milliseconds per 512² image and PSNR at sigma 25, each model next to the classics.

Every model family is trained here from scratch for the same number of steps on the ``gaussian`` preset
(sigma 25, unclipped: the published-table protocol), then restores the validation photos (never seen in
training; centre crops of up to 512²) through the path ``denoise_lab.predict`` takes
(:func:`denoise_lab.tiling.restorer`, float32, channels-last). BM3D (``bm3d`` package, its default
profile, one thread as its notes advise), non-local means and TV get the true sigma and the same images.

The classics take seconds an image, so each runs once per photo and its time on the 512² one is quoted.
The models' times are medians of repeats on that photo, taken just before and just after the classics
run and averaged, so that a ratio to BM3D compares times measured under the same load.

A model's PSNR here is what ``TRAIN_STEPS`` steps buy, the same for every family and reproducible, not
what the family can reach.
"""

from __future__ import annotations

import time

import pandas as pd
import torch
from omegaconf import DictConfig
from torch import Tensor

from denoise_lab.baselines import denoise_tensor, select_baselines
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
TRAIN_STEPS = 40  # training budget per model, batches of the run's default size (2 in --quick)
SPEEDUP_TARGET = 50.0


def noisy_photos(images, size: int, seed: int) -> list[tuple[Tensor, Tensor]]:
    """(clean, noisy) (1, 3, h, w) pairs: the report's standard protocol (whole photos, Gaussian noise of
    ``SIGMA``, seeded, unclipped), cut to centre crops of up to ``size``²."""
    cases = standard_cases(images, [SIGMA], seed, torch.device("cpu"))
    return [(centre(case.clean, size), centre(case.degraded, size)) for case in cases]


def training_config(model: str, settings: Settings) -> DictConfig:
    quick = ["data.batch_size=2", "data.patch_size=32"] if settings.quick else []
    return run_config(settings, f"model={model}", "degradation=gaussian", *quick)


def steps(settings: Settings) -> int:
    return 2 if settings.quick else TRAIN_STEPS


def trained(model: str, settings: Settings) -> TrainStep:
    """``model`` trained from scratch on the ``gaussian`` preset for ``steps(settings)`` steps."""
    cfg = training_config(model, settings)
    data = datamodule(cfg)
    step, done = TrainStep(cfg, settings), 0
    while done < steps(settings):  # as many epochs of the training loader as it takes
        for batch in data.train_dataloader():
            step(data.on_after_batch_transfer(to_device(batch, settings.device), 0))
            done += 1
            if done == steps(settings):
                break
    return step


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
    """A numpy denoiser (sigma in [0, 1]) as a restore function on (1, 3, H, W) tensors at ``SIGMA``."""
    return lambda noisy: denoise_tensor(denoise, noisy[0], SIGMA / 255.0)[None]


def run(settings: Settings) -> Section:
    cfg = run_config(settings)
    data = datamodule(cfg)
    size = 64 if settings.quick else SIZE
    pairs = noisy_photos(data.val_set.images, size, cfg.seed)
    timed_index = next((i for i, (_, noisy) in enumerate(pairs) if noisy.shape[-2:] == (size, size)), 0)
    timed = pairs[timed_index][1]
    restores = {
        name: restorer(trained(name, settings).model, settings.device, size=4096, overlap=0)
        for name in MODELS
    }
    rows = {name: {"PSNR (dB)": mean_psnr(restore, pairs)} for name, restore in restores.items()}

    def model_seconds() -> dict[str, float]:
        return interleaved_medians({n: lambda r=r: r(timed) for n, r in restores.items()}, settings)

    before = model_seconds()
    baselines, notes = select_baselines(["bm3d", "nlm", "tv"])
    for label, denoise in baselines.items():
        if denoise is None:
            continue
        seconds = []  # each call's time: one pass over the photos gives the PSNR and the time
        rows[label] = {"PSNR (dB)": mean_psnr(timing(as_tensor_denoiser(denoise), seconds), pairs)}
        rows[label]["ms / image"] = 1e3 * seconds[timed_index]
    after = model_seconds()
    for name in MODELS:
        rows[name]["ms / image"] = 1e3 * (before[name] + after[name]) / 2
    table = pd.DataFrame.from_dict(rows, orient="index")[["ms / image", "PSNR (dB)"]]
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
    train = training_config(MODELS[0], settings).data
    noisy_psnr = sum(float(psnr(noisy.clamp(0, 1), clean)) for clean, noisy in pairs) / len(pairs)
    text = (
        f"Validation photos ({', '.join(im.name for im in data.val_set.images)}; centre crops up to {size}²), "
        f"Gaussian noise σ = {SIGMA:g} (noisy input: {noisy_psnr:.2f} dB). Models: each trained from scratch "
        f"for {steps(settings)} steps (batch {train.batch_size} of {train.patch_size}²) on the `gaussian` "
        "preset (σ = 25), then restoring through predict's path (float32, channels-last); their PSNR is what "
        "that budget buys, not the family's ceiling. Their times: the mean of medians taken before and after "
        "the classics ran. "
        "Classics: given the true σ, one thread for BM3D. " + " ".join(notes)
    )
    return Section(KEY, TITLE, text.strip(), {f"σ = {SIGMA:g}, {size}² images": table}, targets)
