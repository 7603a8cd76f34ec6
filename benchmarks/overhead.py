"""Framework overhead: a ``Trainer.fit`` epoch of DenoiseModule vs a bare PyTorch loop doing the same work.

Both run the run config's model, loss, AdamW with its per-step cosine schedule, data (the same
``PatchKeys`` patches per epoch) and bank degradations on the device, in the same precision and memory
layout. Lightning runs without validation, checkpoints, logger and progress bar, which the bare loop
does not have either; the module's own bookkeeping (per-op loss tallies, ``self.log``) counts against it.

Both record when every batch ends. A step is the time from one batch end to the next, so fetching,
transfer, degradation, the step itself and every hook are inside it; the first step of an epoch also
holds the epoch's own work (iterator, epoch-end hooks and metrics), so an epoch's cost is
``steps x step + boundary``. Medians over many steps hold up on a busy machine where a few epoch times
do not. Fits and bare runs alternate (Lightning, bare, bare, Lightning, ...), each with a warm-up epoch.
"""

from __future__ import annotations

import statistics
import time
from itertools import pairwise

import lightning as L
import pandas as pd
from hydra.utils import instantiate

from benchmarks.common import Section, Settings, Target, TrainStep, datamodule, run_config, to_device
from denoise_lab.data import DenoiseDataModule
from denoise_lab.training.run import build_module

KEY = "overhead"
TITLE = "Framework overhead"
RATIO_TARGET = 0.95


class BatchEnds(L.Callback):
    """Records (epoch, time) whenever a training batch ends."""

    def __init__(self) -> None:
        self.ends: list[tuple[int, float]] = []

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        self.ends.append((trainer.current_epoch, time.perf_counter()))


def lightning_ends(cfg, data: DenoiseDataModule, epochs: int) -> list[tuple[int, float]]:
    module = build_module(cfg, data.op_names)
    clock = BatchEnds()
    trainer = instantiate(
        cfg.trainer,
        max_epochs=epochs,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        callbacks=[clock],
    )
    trainer.fit(module, datamodule=data)
    return clock.ends


def bare_ends(cfg, data: DenoiseDataModule, settings: Settings, epochs: int) -> list[tuple[int, float]]:
    loader = data.train_dataloader()
    step = TrainStep(cfg, settings, total_steps=epochs * len(loader))
    ends = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        for batch in loader:
            step(data.on_after_batch_transfer(to_device(batch, settings.device), 0))
            settings.sync()
            ends.append((epoch, time.perf_counter()))
    return ends


def periods(ends: list[tuple[int, float]]) -> tuple[list[float], list[float]]:
    """Step periods within epochs and the extra time at epoch boundaries, leaving out epoch 0 (warm-up)."""
    steps, boundaries = [], []
    for (epoch_a, a), (epoch_b, b) in pairwise(ends):
        if epoch_a >= 1 and epoch_a == epoch_b:
            steps.append(b - a)
        elif epoch_b >= 1 and epoch_a != epoch_b:
            boundaries.append(b - a)
    return steps, boundaries


def run(settings: Settings) -> Section:
    sizes = ["data.batch_size=4", "data.patch_size=32", "data.patches_per_epoch=8"] if settings.quick else []
    epochs, rounds = (2, 1) if settings.quick else (2, 4)
    cfg = run_config(settings, *(sizes or ["data.patches_per_epoch=128"]))
    # decoded once per loop; the bare loop's DataModule never has a trainer (it degrades as in training)
    lightning_data, bare_data = datamodule(cfg), datamodule(cfg)
    loops = {
        "Lightning": lambda: lightning_ends(cfg, lightning_data, epochs + 1),
        "bare": lambda: bare_ends(cfg, bare_data, settings, epochs + 1),
    }
    steps: dict[str, list[float]] = {name: [] for name in loops}
    boundaries: dict[str, list[float]] = {name: [] for name in loops}
    for round_ in range(rounds):
        for name in loops if round_ % 2 == 0 else reversed(loops):
            s, b = periods(loops[name]())
            steps[name] += s
            boundaries[name] += b
    n = cfg.data.patches_per_epoch // cfg.data.batch_size
    step = {name: statistics.median(t) for name, t in steps.items()}
    boundary = {name: statistics.median(t) - step[name] for name, t in boundaries.items()}
    epoch = {name: n * step[name] + boundary[name] for name in loops}
    table = pd.DataFrame(
        {
            "step (ms)": {k: 1e3 * v for k, v in step.items()},
            "epoch boundary extra (ms)": {k: 1e3 * v for k, v in boundary.items()},
            f"epoch of {n} steps (s)": epoch,
            "steps timed": {k: len(v) for k, v in steps.items()},
        }
    )
    ratio = epoch["bare"] / epoch["Lightning"]
    text = (
        f"Batch {cfg.data.batch_size} of {cfg.data.patch_size}², default model, precision "
        f"{cfg.trainer.precision}, channels_last {cfg.channels_last}. Throughput ratio = bare epoch time / "
        f"Lightning epoch time = **{ratio:.3f}** (step medians: {step['bare'] / step['Lightning']:.3f})."
    )
    target = Target(
        "Lightning throughput / bare loop", f"≥ {RATIO_TARGET}", f"{ratio:.3f}", ratio >= RATIO_TARGET
    )
    return Section(KEY, TITLE, text, {"epoch times": table}, [target])
