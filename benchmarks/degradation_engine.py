"""Degradation engine: the bank on the batch's device vs the seeds' per-image CPU pipeline.

Both degrade the same random 128x128 training patches (batch 32) with the same five default ops, a
random op per sample. Measured three ways: the ops alone; each where it runs in training, i.e. the
seeds' ops inside ``Dataset.__getitem__`` behind a DataLoader, and the bank in the DataModule's
``on_after_batch_transfer`` after the clean batch reached the device; and the bank's share of a whole
training step at the run's default settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from benchmarks.common import (
    Section,
    Settings,
    Target,
    TrainStep,
    datamodule,
    interleaved_medians,
    loader_rates,
    run_config,
    to_device,
)
from benchmarks.cpu_pipeline import SeedsDegradedPatches, degrade_one_by_one
from denoise_lab.data.datamodule import auto_workers
from denoise_lab.data.datasets import PatchKeys

KEY = "degradation_engine"
TITLE = "Degradation engine"
RATIO_TARGET, SHARE_TARGET = 10.0, 0.05


def run(settings: Settings) -> Section:
    batch, size, chunk = (8, 64, 2) if settings.quick else (32, 128, 3)
    patches = batch * (1 + settings.repeats * chunk)
    cfg = run_config(
        settings, f"data.patch_size={size}", f"data.batch_size={batch}", f"data.patches_per_epoch={patches}"
    )
    data = datamodule(cfg)
    device = settings.device
    clean = next(iter(data.train_dataloader()))["clean"]
    crops = clean.permute(0, 2, 3, 1).numpy()
    on_device = clean.to(device)
    rng = np.random.default_rng(0)
    ops_alone = interleaved_medians(
        {
            "bank": lambda: data.bank.sample(on_device),
            "seeds": lambda: degrade_one_by_one(crops, rng),
        },
        settings,
    )
    rows = {"ops alone": {"bank": batch / ops_alone["bank"], "seeds": batch / ops_alone["seeds"]}}

    seeds_set = SeedsDegradedPatches(data.train_set)
    for workers in sorted({0, auto_workers(on_cuda=True)}):
        data.num_workers = workers
        seeds_loader = DataLoader(
            seeds_set,
            batch_size=batch,
            sampler=PatchKeys(len(seeds_set), data.seed),
            drop_last=True,
            **data.loader_settings(),
        )
        rates = loader_rates(
            {
                "bank": (
                    data.train_dataloader(),
                    lambda b: data.on_after_batch_transfer(to_device(b, device), 0),
                ),
                "seeds": (seeds_loader, lambda b: to_device(b, device)),
            },
            settings,
            chunk,
        )
        rows[f"DataLoader, {workers} worker{'s' * (workers != 1)}"] = rates
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["ratio"] = table["bank"] / table["seeds"]
    table = table.rename(columns={"bank": "bank (images/s)", "seeds": "seeds' pipeline (images/s)"})

    default = run_config(settings)
    share_sizes = (
        [(4, 32)] if settings.quick else [(default.data.batch_size, default.data.patch_size), (batch, size)]
    )
    share = bank_share(settings, share_sizes)
    targets = [
        Target(
            f"bank vs seeds' pipeline, {name} ({size}², batch {batch})",
            f"≥ {RATIO_TARGET:.0f}×",
            f"{ratio:.2f}×",
            ratio >= RATIO_TARGET,
        )
        for name, ratio in table["ratio"].items()
        if name.startswith("DataLoader")
    ]
    targets += [
        Target(
            f"bank's share of a training step ({name})",
            f"≤ {SHARE_TARGET:.0%}",
            f"{percent:.1f} %",
            percent <= 100 * SHARE_TARGET,
        )
        for name, percent in share["share (%)"].items()
    ]
    text = (
        f"Images/s degrading random {size}×{size} training patches, batch {batch}, a random default op per "
        "sample. *ops alone*: `DegradationBank.sample` on a batch already on the device vs the seeds' "
        "numpy/PIL ops image by image. *DataLoader*: each where it runs in training — the seeds' ops inside "
        "`Dataset.__getitem__` (so workers share the work), the bank in `on_after_batch_transfer` after the "
        f"clean batch reached `{device}`; the worker counts are 0 (the CPU default) and the GPU default."
    )
    if device.type == "cpu":
        text += (
            " On a CPU both engines run on the same cores, and the seeds' numpy/PIL ops are already "
            f"vectorised over each image's {size}² pixels, so batching buys little, while the bank splits a "
            "batch into one group per op. With a worker, the seeds' ops run beside the main process, on the "
            "core the bank would use. The ≥ 10× target assumes the bank on a GPU while the seeds' pipeline "
            "stays on CPU workers. The bank's time is mostly per call, not per pixel (a batch of 16 leaves "
            "about 3 images per op, and each blur convolution or Kornia kernel construction costs a few "
            "tenths of a millisecond whatever the size), so its share of a step falls as batch and patch grow."
        )
    return Section(KEY, TITLE, text, {"throughput": table, "share of a training step": share}, targets)


def bank_share(settings: Settings, sizes: list[tuple[int, int]]) -> pd.DataFrame:
    """Bank time over whole-step time (degrade + forward + backward + AdamW), default model and
    settings, at each (batch, patch) of ``sizes``."""
    rows = {}
    for batch_size, patch in sizes:
        cfg = run_config(settings, f"data.batch_size={batch_size}", f"data.patch_size={patch}")
        data = datamodule(cfg)
        batch = to_device(next(iter(data.train_dataloader())), settings.device)
        step = TrainStep(cfg, settings)
        times = interleaved_medians(
            {
                "bank": lambda d=data, b=batch: d.on_after_batch_transfer(b, 0),
                "step": lambda d=data, b=batch, s=step: s(d.on_after_batch_transfer(b, 0)),
            },
            settings,
        )
        rows[f"{cfg.model._target_.rsplit('.', 1)[-1]}, batch {batch_size} of {patch}²"] = {
            "bank (ms)": 1e3 * times["bank"],
            "training step (ms)": 1e3 * times["step"],
            "share (%)": 100 * times["bank"] / times["step"],
        }
    return pd.DataFrame.from_dict(rows, orient="index")
