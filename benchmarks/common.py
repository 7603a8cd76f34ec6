"""What every benchmark section shares: settings, configs, timing, a bare training step, results.

Timings are medians of several repeats after a warm-up, each taken by ``torch.utils.benchmark.Timer``, in one
process and, where two things are compared, interleaved (A, B, A, B, ...): the machines these run on are shared, so a ratio of two medians
measured side by side survives the neighbours' load where absolute numbers do not.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.utils.benchmark as benchmark
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from denoise_lab.data import DenoiseDataModule, build_datamodule
from denoise_lab.evaluation.metrics import psnr
from denoise_lab.inference.tiling import uses_bf16
from denoise_lab.training.run import CONFIG_DIR


@dataclass
class Settings:
    """One bench run: the device, and whether it is the CI smoke (``--quick``: tiny sizes, few repeats)."""

    device: torch.device
    quick: bool = False

    @property
    def repeats(self) -> int:
        """Timed repeats per measurement, after the warm-up."""
        return 2 if self.quick else 5

    def sync(self) -> None:
        """Wait for queued device work, so that a timer measures the work and not its launch."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


@dataclass
class Target:
    """One of the issue's targets, next to what was measured."""

    name: str
    goal: str
    measured: str
    met: bool


@dataclass
class Section:
    """What a section hands back: prose, tables (rows = items, columns = measures) and its targets."""

    key: str
    title: str
    text: str
    tables: dict[str, pd.DataFrame]
    targets: list[Target] = field(default_factory=list)


def predict_defaults(device: torch.device) -> tuple[DictConfig, str]:
    """``conf/predict.yaml`` as ``predict`` runs with no overrides, and how it computes on ``device`` in
    words for a section's text (e.g. "self-ensemble x2, bfloat16")."""
    predict = OmegaConf.load(Path(CONFIG_DIR) / "predict.yaml")
    arithmetic = "bfloat16" if uses_bf16(predict.precision, device) else "float32"
    return predict, f"self-ensemble x{predict.self_ensemble}, {arithmetic}"


def run_config(settings: Settings, *overrides: str) -> DictConfig:
    """The training run's composed config (``conf/``), on the bench's device, with ``overrides``."""
    accelerator = "gpu" if settings.device.type == "cuda" else "cpu"
    # paths must resolve outside a Hydra run; nothing is written there (no logger, no checkpoints)
    scratch = Path(tempfile.gettempdir()) / "denoise_lab_bench"
    fixed = [f"trainer.accelerator={accelerator}", f"paths.root_dir={scratch}", f"paths.output_dir={scratch}"]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=[*fixed, *overrides])


def datamodule(cfg: DictConfig) -> DenoiseDataModule:
    """The run's DataModule with its images decoded (the bench attaches no trainer)."""
    data = build_datamodule(cfg)
    data.setup("fit")
    return data


def interleaved_medians(
    steps: dict[str, Callable[[], object]], settings: Settings, repeats: int | None = None, warmup: int = 1
) -> dict[str, float]:
    """Median seconds of each step, the steps taking turns (A, B, A, B, ...) after ``warmup`` untimed
    rounds. Each turn is one ``torch.utils.benchmark.Timer.blocked_autorange`` (it synchronises the
    accelerator and runs at the thread count in force here); without a minimum run time it calls the step
    twice, once to size its block and once timed, so every step is called equally often."""
    repeats = repeats or settings.repeats
    timers = {
        name: benchmark.Timer("step()", globals={"step": step}, num_threads=torch.get_num_threads())
        for name, step in steps.items()
    }
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, timer in timers.items():
            times[name].append(timer.blocked_autorange(min_run_time=0.0).median)
    return {name: statistics.median(t) for name, t in times.items()}


def step_calls(repeats: int, warmup: int = 1) -> int:
    """How often :func:`interleaved_medians` calls each step: the warm-up rounds, then two calls a turn
    (what a step that consumes one prepared batch per call must be given)."""
    return warmup + 2 * repeats


@contextlib.contextmanager
def threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads (``None``: leave torch's setting)."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a Lightning ``trainer.precision`` the bare loop supports (None: float32)."""
    precision = str(precision)
    if precision in ("32-true", "32"):
        return None
    if precision == "bf16-mixed":
        return torch.bfloat16
    raise ValueError(
        f"the bench's bare training step supports precision 32-true and bf16-mixed, got {precision}"
    )


class TrainStep:
    """One optimizer step as :class:`~denoise_lab.training.module.DenoiseModule` takes it, in plain PyTorch.

    Model, loss, AdamW and the cosine schedule come from the run config; so do the memory layout and
    the precision unless given. Batches arrive degraded on the device, by the DataModule's
    ``on_after_batch_transfer`` as under Lightning.
    """

    def __init__(
        self,
        cfg: DictConfig,
        settings: Settings,
        channels_last: bool | None = None,
        precision: str | None = None,
        total_steps: int = 1000,
    ) -> None:
        torch.manual_seed(cfg.seed)
        self.device = settings.device
        self.channels_last = cfg.channels_last if channels_last is None else channels_last
        self.dtype = autocast_dtype(cfg.trainer.precision if precision is None else precision)
        self.model = instantiate(cfg.model).to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.loss = instantiate(cfg.loss)
        self.optimizer = instantiate(cfg.optim.optimizer)(params=self.model.parameters())
        self.scheduler = (
            instantiate(cfg.optim.scheduler)(self.optimizer, T_max=total_steps)
            if cfg.optim.get("scheduler")
            else None
        )

    def forward(self, degraded: Tensor) -> Tensor:
        if self.channels_last:
            degraded = degraded.contiguous(memory_format=torch.channels_last)
        with torch.autocast(
            self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None
        ):
            return self.model(degraded)

    def __call__(self, batch: dict[str, Tensor]) -> Tensor:
        """Train on one degraded batch; return its loss."""
        loss = self.loss(self.forward(batch["degraded"]), batch["clean"]).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return loss.detach()


def to_device(batch: dict[str, Tensor], device: torch.device) -> dict[str, Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def degraded_batches(data: DenoiseDataModule, device: torch.device, count: int) -> list[dict[str, Tensor]]:
    """``count`` training batches, degraded on ``device`` by the bank, to feed every variant alike."""
    batches = []
    while len(batches) < count:
        for batch in data.train_dataloader():
            batches.append(data.on_after_batch_transfer(to_device(batch, device), 0))
            if len(batches) == count:
                break
    return batches


def loader_rates(
    loaders: dict[str, tuple[Iterable[dict[str, Tensor]], Callable[[dict[str, Tensor]], object]]],
    settings: Settings,
    chunk: int,
    repeats: int | None = None,
) -> dict[str, float]:
    """Images/s each loader delivers, counting the device work its batches need (``loaders`` maps a
    name to ``(loader, work)``). One warm-up batch each (it starts the workers), then chunks of ``chunk``
    batches in turns; a loader must hold ``1 + repeats * chunk`` batches."""
    repeats = repeats or settings.repeats
    iterators = {name: iter(loader) for name, (loader, _) in loaders.items()}
    rates: dict[str, list[float]] = {name: [] for name in loaders}
    for name, iterator in iterators.items():
        loaders[name][1](next(iterator))
    for _ in range(repeats):
        for name, iterator in iterators.items():
            settings.sync()
            start, images = time.perf_counter(), 0
            for _ in range(chunk):
                batch = next(iterator)
                images += len(batch["clean"])
                loaders[name][1](batch)
            settings.sync()
            rates[name].append(images / (time.perf_counter() - start))
    return {name: statistics.median(r) for name, r in rates.items()}


def eval_batch(data: DenoiseDataModule, device: torch.device) -> dict[str, Tensor]:
    """The first validation batch with its fixed, keyed degradations (as validation degrades it)."""
    batch = to_device(next(iter(data.val_dataloader())), device)
    return {
        "clean": batch["clean"],
        "degraded": data.validation_degraded(batch["clean"], batch["index"]).image,
    }


@torch.no_grad()
def outputs_and_psnr(step: TrainStep, batch: dict[str, Tensor]) -> tuple[Tensor, float]:
    """The model's restored batch in evaluation mode, and its mean PSNR (dB) against the clean batch."""
    step.model.eval()
    restored = step.forward(batch["degraded"]).float().clamp(0.0, 1.0)
    step.model.train()
    return restored, float(psnr(restored, batch["clean"]).mean())
