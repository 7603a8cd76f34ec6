"""Data loading: decoded once and cached, the training loader outruns the model.

Three figures: what decoding costs against cutting a crop from the cached arrays (why images are
decoded once, in ``setup``); the training loader's throughput at the default data settings, for the
CPU default (no workers) and the GPU default (``auto_workers``), against the images/s a training step
consumes; and what ``num_workers``/``pin_memory``/``persistent_workers`` left at ``null`` resolve to.
"""

from __future__ import annotations

import time

import pandas as pd

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
from denoise_lab.data.datamodule import auto_workers

KEY = "data_loading"
TITLE = "Data loading"


def caching(data, settings: Settings) -> pd.DataFrame:
    start = time.perf_counter()
    images = data.source.load()
    decode = (time.perf_counter() - start) / len(images)
    crop = interleaved_medians({"crop": lambda: data.train_set[0]}, settings)["crop"]
    return pd.DataFrame(
        {"ms": [1e3 * decode, 1e3 * crop], "× a cached crop": [decode / crop, 1.0]},
        index=["decode one image (done once, in setup)", f"cut a {data.patch_size}² crop from the cache"],
    )


def defaults() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "num_workers": [auto_workers(on_cuda=False), auto_workers(on_cuda=True)],
            "pin_memory": [False, True],
            "persistent_workers": [False, True],
        },
        index=["CPU run", "CUDA run (this machine's cores)"],
    )


def run(settings: Settings) -> Section:
    chunk = 2 if settings.quick else 4
    quick = ["data.batch_size=4", "data.patch_size=32"] if settings.quick else []
    base = run_config(settings, *quick)
    batches = 1 + settings.repeats * chunk
    cfg = run_config(settings, *quick, f"data.patches_per_epoch={base.data.batch_size * batches}")
    data = datamodule(cfg)
    step = TrainStep(cfg, settings)
    batch = data.on_after_batch_transfer(to_device(next(iter(data.train_dataloader())), settings.device), 0)
    model_rate = cfg.data.batch_size / interleaved_medians({"step": lambda: step(batch)}, settings)["step"]
    rows = {"training step (model + bank)": {"images/s": model_rate}}
    default_workers = auto_workers(settings.device.type == "cuda")
    for workers in sorted({0, auto_workers(on_cuda=True)}):
        data.num_workers = workers
        rate = loader_rates(
            {"loader": (data.train_dataloader(), lambda b: to_device(b, settings.device))}, settings, chunk
        )["loader"]
        label = f"loader, {workers} worker{'s' * (workers != 1)}"
        rows[label + (" (default here)" if workers == default_workers else "")] = {"images/s": rate}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["× model consumption"] = table["images/s"] / model_rate
    serial = table.index.str.startswith("loader, 0 workers")  # loading between steps: the step waits for it
    table["wait per step (%)"] = (100 * model_rate / (table["images/s"] + model_rate)).where(serial)
    margin = next(v for k, v in table["× model consumption"].items() if k.endswith("(default here)"))
    text = (
        f"Training loader at the default data settings (batch {cfg.data.batch_size} of {cfg.data.patch_size}² "
        f"random crops, flips and rotations) delivering clean batches to `{settings.device}`, vs the images/s "
        "the default training step consumes. Without workers, loading happens between steps and the step waits "
        "for it (the wait column); with workers it overlaps the step."
    )
    target = Target(
        "loader images/s ÷ training images/s (default workers)", "≥ 1×", f"{margin:.1f}×", margin >= 1
    )
    tables = {
        "throughput": table,
        "decoded once": caching(data, settings),
        "loader defaults (null = auto)": defaults(),
    }
    return Section(KEY, TITLE, text, tables, [target])
