"""Compute efficiency: FLOPs per model, the FLOP/s a training step achieves, and what speeds it up.

The machine's fp32 (and bf16) matmul rate is the yardstick. FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls, forward and backward). The
speed variants - memory layout, bf16 autocast, thread count and OpenMP wait policy, ``torch.compile`` -
are raced on the default model over the same batches from the same initial weights, which also checks
that each keeps accuracy: its losses and its restored PSNR after those steps are compared with fp32.
"""

from __future__ import annotations

import os
import tempfile
import time

import pandas as pd
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import (
    Section,
    Settings,
    TrainStep,
    autocast_dtype,
    datamodule,
    degraded_batches,
    eval_batch,
    interleaved_medians,
    outputs_and_psnr,
    run_config,
    step_calls,
    threads,
)
from benchmarks.isolated import in_subprocess
from denoise_lab.config import config_options
from denoise_lab.evaluation.metrics import psnr

KEY = "compute"
TITLE = "Compute efficiency"
FLOPS_SIZE = 128  # the image side FLOPs per image are counted at (32 in --quick)
PSNR_TOLERANCE = 0.1  # dB: a variant keeps accuracy if its restored PSNR is within this of fp32's
PROBE_REPEATS, PROBE_TIMEOUT = 3, 120.0  # the wait-policy probes: timed steps, and the bound on each
COMPILE_TIMEOUT = 240.0  # s: the bound on torch.compile's cost (a cold inductor compile on 2 cores)


def quick_overrides(settings: Settings) -> list[str]:
    return ["data.batch_size=2", "data.patch_size=16", "data.val_crop_size=16"] if settings.quick else []


def flops_size(settings: Settings) -> int:
    return 32 if settings.quick else FLOPS_SIZE


def describe(channels_last: bool, precision: str, thread_count: int | None = None) -> str:
    dtype = "bf16 autocast" if autocast_dtype(precision) is not None else "fp32"
    label = f"{dtype}, {'channels_last' if channels_last else 'NCHW'}"
    return label if thread_count is None else f"{label}, {thread_count} thread{'s' * (thread_count > 1)}"


def matmul_rate(settings: Settings, dtype: torch.dtype) -> float:
    """GFLOP/s of a square matmul (2048², or 512² in --quick): what this device's cores can do."""
    n = 512 if settings.quick else 2048
    a = torch.rand(n, n, device=settings.device, dtype=dtype)
    seconds = interleaved_medians({"mm": lambda: torch.mm(a, a)}, settings)["mm"]
    return 2 * n**3 / seconds / 1e9


def forward_flops(cfg: DictConfig, settings: Settings) -> int:
    model, size = instantiate(cfg.model).to(settings.device), flops_size(settings)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, size, size, device=settings.device))
    return counter.get_total_flops()


def step_flops(cfg: DictConfig, settings: Settings, batch: dict) -> int:
    """Forward + backward FLOPs of one training step on ``batch`` (AdamW's elementwise work is not counted)."""
    model, loss = instantiate(cfg.model).to(settings.device), instantiate(cfg.loss)
    with FlopCounterMode(display=False) as counter:
        loss(model(batch["degraded"]), batch["clean"]).mean().backward()
    return counter.get_total_flops()


def trains(step: TrainStep, batches: list, losses: list[float]):
    """A closure that trains ``step`` on the next of ``batches`` per call, recording its loss."""
    remaining = iter(batches)
    return lambda: losses.append(float(step(next(remaining))))


def per_model(settings: Settings, peak: dict[str, float]) -> pd.DataFrame:
    """Every model: FLOPs per image, and its training step at the run's default settings vs fp32 NCHW
    (3 repeats: the big models' steps take seconds on a CPU, and the bench has 10 minutes)."""
    rows, repeats = {}, min(3, settings.repeats)
    data = datamodule(run_config(settings, *quick_overrides(settings)))
    batches = degraded_batches(data, settings.device, step_calls(repeats))  # the same for every model
    for name in config_options("model"):  # every conf/model/*.yaml
        cfg = run_config(settings, f"model={name}", *quick_overrides(settings))
        default, plain = (
            TrainStep(cfg, settings),
            TrainStep(cfg, settings, channels_last=False, precision="32-true"),
        )
        times = interleaved_medians(
            {"default": trains(default, batches, []), "plain": trains(plain, batches, [])}, settings, repeats
        )
        flops = step_flops(cfg, settings, batches[0])
        precision = "bf16" if default.dtype is not None else "fp32"
        rows[name] = {
            "parameters (k)": sum(p.numel() for p in default.model.parameters()) / 1e3,
            f"GFLOP per {flops_size(settings)}² image": forward_flops(cfg, settings) / 1e9,
            "step GFLOP": flops / 1e9,
            "fp32 NCHW step (ms)": 1e3 * times["plain"],
            "default step (ms)": 1e3 * times["default"],
            "speedup": times["plain"] / times["default"],
            "achieved GFLOP/s": flops / times["default"] / 1e9,
            "% of peak": 100 * flops / times["default"] / 1e9 / peak[precision],
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def variants(settings: Settings) -> tuple[pd.DataFrame, str]:
    """Layout x precision (x 1 thread on a multi-core CPU) on the default model: speed, and accuracy
    against fp32 NCHW, trained in turns on the same batches from the same weights."""
    cfg = run_config(settings, *quick_overrides(settings))
    data = datamodule(cfg)
    batches = degraded_batches(data, settings.device, step_calls(settings.repeats))
    evaluation = eval_batch(data, settings.device)
    combos = [(cl, precision, None) for precision in ("32-true", "bf16-mixed") for cl in (False, True)]
    if settings.device.type == "cpu" and torch.get_num_threads() > 1:
        combos += [(True, "32-true", 1), (True, "bf16-mixed", 1)]
    steps, thread_counts = {}, {}
    for cl, precision, count in combos:
        name = describe(cl, precision, count)
        steps[name] = TrainStep(cfg, settings, channels_last=cl, precision=precision)
        thread_counts[name] = count
    losses = {name: [] for name in steps}

    def timed(name: str):
        train = trains(steps[name], batches, losses[name])

        def step() -> None:
            with threads(thread_counts[name]):
                train()

        return step

    times = interleaved_medians({name: timed(name) for name in steps}, settings)
    reference = describe(False, "32-true")
    reference_out, reference_psnr = outputs_and_psnr(steps[reference], evaluation)
    rows = {}
    for name, step in steps.items():
        out, restored_psnr = outputs_and_psnr(step, evaluation)
        rows[name] = {
            "step (ms)": 1e3 * times[name],
            "speedup": times[reference] / times[name],
            "last loss": losses[name][-1],
            "max loss change (%)": 100
            * max(abs(a - b) / b for a, b in zip(losses[name], losses[reference], strict=True)),
            "restored PSNR (dB)": restored_psnr,
            "Δ PSNR vs fp32 (dB)": restored_psnr - reference_psnr,
            "agreement with fp32 (dB)": float(psnr(out, reference_out).mean())
            if name != reference
            else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index"), describe(
        cfg.channels_last, cfg.trainer.precision, cfg.threads
    )


def policy_probe(settings: Settings) -> float:
    """In a fresh process: ms per default training step at torch's default thread count."""
    cfg = run_config(settings)
    data = datamodule(cfg)
    batches = degraded_batches(data, settings.device, step_calls(PROBE_REPEATS))
    step = TrainStep(cfg, settings)
    return 1e3 * interleaved_medians({"step": trains(step, batches, [])}, settings, PROBE_REPEATS)["step"]


def wait_policy_table(settings: Settings) -> pd.DataFrame:
    """The default step with OpenMP threads waiting passively (the package default) or spinning, each in
    a process of its own (OpenMP reads the policy once), run passive, active, passive so that a steady
    drift in the machine's load cancels out of the comparison."""
    runs: dict[str, list[float]] = {"PASSIVE": [], "ACTIVE": []}
    for policy in ("PASSIVE", "ACTIVE", "PASSIVE"):
        result = in_subprocess(policy_probe, settings, env={"OMP_WAIT_POLICY": policy}, timeout=PROBE_TIMEOUT)
        runs[policy].append(float("nan") if result is None else result)
    table = pd.DataFrame(
        {
            "step (ms)": [sum(runs[p]) / len(runs[p]) for p in runs],
            "runs (ms)": [", ".join(f"{t:.0f}" for t in runs[p]) for p in runs],
        },
        index=["passive (default)", "active (spinning)"],
    )
    table["× passive"] = table["step (ms)"] / table.loc["passive (default)", "step (ms)"]
    return table


def compile_probe(settings: Settings) -> dict[str, float]:
    """In a fresh process with an empty inductor cache (a fresh machine's cost): eager vs compiled
    default step on the same batches from the same weights, the first compiled call timed on its own."""
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="denoise_lab_inductor_")
    cfg = run_config(settings)
    data = datamodule(cfg)
    batches = degraded_batches(data, settings.device, 1 + step_calls(settings.repeats))
    evaluation = eval_batch(data, settings.device)
    eager, compiled = TrainStep(cfg, settings), TrainStep(cfg, settings)
    module = compiled.model
    compiled.model = torch.compile(module)
    eager(batches[0])
    start = time.perf_counter()
    compiled(batches[0])
    settings.sync()
    compile_seconds = time.perf_counter() - start
    times = interleaved_medians(
        {"eager": trains(eager, batches[1:], []), "compiled": trains(compiled, batches[1:], [])}, settings
    )
    compiled.model = module  # evaluate the weights eagerly: evaluation mode would compile a second graph
    return {
        "compile (s)": compile_seconds,
        "eager step (ms)": 1e3 * times["eager"],
        "compiled step (ms)": 1e3 * times["compiled"],
        "speedup": times["eager"] / times["compiled"],
        "Δ PSNR vs eager (dB)": outputs_and_psnr(compiled, evaluation)[1]
        - outputs_and_psnr(eager, evaluation)[1],
    }


def run(settings: Settings) -> Section:
    peak = {"fp32": matmul_rate(settings, torch.float32), "bf16": matmul_rate(settings, torch.bfloat16)}
    peaks = pd.DataFrame(
        {"GFLOP/s": [peak["fp32"], peak["bf16"]]},
        index=[f"fp32 matmul ({torch.get_num_threads()} threads)", "bf16 matmul"],
    )
    models = per_model(settings, peak)
    layout, default = variants(settings)
    tables = {"matmul peak": peaks, "models (training step at the run's default sizes)": models}
    tables[f"variants on the default model (default: {default})"] = layout
    if settings.device.type == "cpu" and torch.get_num_threads() > 1 and not settings.quick:
        tables[f"OpenMP wait policy (default step, {torch.get_num_threads()} threads)"] = wait_policy_table(
            settings
        )
    if not settings.quick:
        result = in_subprocess(compile_probe, settings, timeout=COMPILE_TIMEOUT)
        tables["torch.compile (default step, cold cache, bounded)"] = pd.DataFrame(
            [result or {"note": f"compile did not finish in {COMPILE_TIMEOUT:.0f} s"}],
            index=["default model"],
        )
    kept = layout["Δ PSNR vs fp32 (dB)"].abs() <= PSNR_TOLERANCE
    best = layout.loc[kept, "speedup"].idxmax()
    return Section(KEY, TITLE, text(settings, layout, best, default), tables)


def text(settings: Settings, layout: pd.DataFrame, best: str, default: str) -> str:
    paragraph = (
        f"FLOPs per {flops_size(settings)}² image (forward) and per training step (forward + backward) are counted by "
        "`FlopCounterMode`; achieved GFLOP/s = step FLOPs / step time, next to the matmul peak of the precision "
        f"the step runs in. The variants train the default model on the same {settings.repeats + 1} batches "
        "from the same weights, in turns; a variant keeps accuracy when its restored PSNR on fixed validation "
        f"crops stays within {PSNR_TOLERANCE} dB of fp32's (the loss columns show the trajectories agree too). "
        f"Fastest variant that keeps accuracy in this run: **{best}** ({layout.loc[best, 'speedup']:.2f}× fp32 "
        f"NCHW); the run's default: **{default}** ({layout.loc[default, 'speedup']:.2f}×), from "
        "`channels_last: true` and `trainer.precision: ${fast_precision:...}` (bf16-mixed where the device "
        "computes bf16 natively). `torch.compile` is measured on its own: its compile time is part of the cost."
    )
    if best != default and "1 thread" in best and os.getloadavg()[0] > len(os.sched_getaffinity(0)):
        paragraph += (
            " One thread won because other processes kept more threads busy than the machine has cores (see "
            "the load average above): a second thread then waits for a free core at every parallel region. "
            "The defaults are for a machine the run has to itself; `threads=1` is the override for a shared one."
        )
    return paragraph
