"""Framework overhead: a ``Trainer.fit`` epoch of DenoiseModule vs a bare PyTorch loop doing the same work.

Both run the run config's model, loss, AdamW with its per-step cosine schedule, data (the same
``PatchKeys`` patches per epoch) and bank degradations on the device, in the same precision and memory
layout. Lightning runs without validation, checkpoints, logger and progress bar, which the bare loop
does not have either; the module's own bookkeeping (per-op loss tallies, ``self.log``) counts against it.
The measure is the period between epoch ends, so Lightning's per-epoch work is inside it; fits and bare
runs alternate (ABBA), and the first epoch of each is a warm-up.
"""

from __future__ import annotations

import statistics
import time
from itertools import pairwise

import lightning as L
import pandas as pd
from hydra.utils import instantiate

from denoise_lab.bench.common import Section, Settings, Target, TrainStep, datamodule, run_config, to_device
from denoise_lab.train import build_module

KEY = "overhead"
TITLE = "Framework overhead"
RATIO_TARGET = 0.95


class EpochEnds(L.Callback):
    """Records when every training epoch ends."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.times.append(time.perf_counter())


def lightning_periods(cfg, epochs: int) -> list[float]:
    data = datamodule(cfg)
    module = build_module(cfg, data.op_names)
    clock = EpochEnds()
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
    return [b - a for a, b in pairwise(clock.times)]


def bare_periods(cfg, settings: Settings, epochs: int) -> list[float]:
    data = datamodule(cfg)
    loader = data.train_dataloader()
    step = TrainStep(cfg, settings, total_steps=epochs * len(loader))
    ends = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        for batch in loader:
            step(data.on_after_batch_transfer(to_device(batch, settings.device), 0))
        settings.sync()
        ends.append(time.perf_counter())
    return [b - a for a, b in pairwise(ends)]


def run(settings: Settings) -> Section:
    sizes = ["data.batch_size=4", "data.patch_size=32", "data.patches_per_epoch=8"] if settings.quick else []
    epochs, rounds = (2, 1) if settings.quick else (3, 2)
    cfg = run_config(settings, *(sizes or ["data.patches_per_epoch=96"]))
    periods: dict[str, list[float]] = {"Lightning": [], "bare": []}
    loops = {
        "Lightning": lambda: lightning_periods(cfg, epochs + 1),
        "bare": lambda: bare_periods(cfg, settings, epochs + 1),
    }
    for round_ in range(rounds):  # Lightning, bare, bare, Lightning, ...: a steady load drift cancels
        for name in loops if round_ % 2 == 0 else reversed(loops):
            periods[name] += loops[name]()
    steps = cfg.data.patches_per_epoch // cfg.data.batch_size
    seconds = {name: statistics.median(p) for name, p in periods.items()}
    table = pd.DataFrame(
        {
            "epoch (s)": seconds,
            "step (ms)": {n: 1e3 * s / steps for n, s in seconds.items()},
            "epochs timed": {n: len(p) for n, p in periods.items()},
        }
    )
    ratio = seconds["bare"] / seconds["Lightning"]
    text = (
        f"Epochs of {steps} steps (batch {cfg.data.batch_size} of {cfg.data.patch_size}², default model, "
        f"precision {cfg.trainer.precision}, channels_last {cfg.channels_last}). Throughput ratio = bare "
        f"epoch time / Lightning epoch time = **{ratio:.3f}**."
    )
    target = Target(
        "Lightning throughput / bare loop", f"≥ {RATIO_TARGET}", f"{ratio:.3f}", ratio >= RATIO_TARGET
    )
    return Section(KEY, TITLE, text, {"epoch times": table}, [target])
