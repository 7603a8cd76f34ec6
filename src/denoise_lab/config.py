"""Structured-config schema: the composed config is checked against it before any work starts.

Types come from the dataclasses (``data.patch_size=abc`` fails to merge), which hold no values of their
own: every default lives once, in the yaml under ``conf/``. Value ranges come from
:func:`check_ranges`. Either way the user gets one line naming the key, the bad value and what is accepted.
Sections built by ``_target_`` with free-form arguments (model, loss, optim, callbacks) are checked by
their constructors, which run before training starts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from denoise_lab.console import fail
from denoise_lab.evaluation.baselines import BASELINES

CONFIG_DIR = str(
    Path(__file__).resolve().parent / "conf"
)  # inside the package: a wheel install composes it too


def config_options(group: str) -> list[str]:
    """The options of a config group as its files name them (``model``, ``degradation/op``): what a
    test or benchmark that covers every option iterates, so a new option needs no list edited."""
    return sorted(path.stem for path in (Path(CONFIG_DIR) / group).glob("*.yaml"))


class ConfigError(ValueError):
    """A bad config value, explained in one sentence."""


class WriteFailed(OSError):
    """An output that could not be written (a full disk, a read-only folder, a file where a folder should
    be), explained in one sentence: it stops the run, since every later output would fail the same way."""


@contextmanager
def user_errors_in_one_line() -> Iterator[None]:
    """Around a command's work (``evaluate``, ``predict``, ``export``): a config error or a missing file
    ends it with one line, logged and on stderr, instead of a traceback."""
    try:
        yield
    except MissingMandatoryValue as error:
        fail(f"config error: missing value: give {error.full_key}=...")
    except WriteFailed as error:
        fail(f"write error: {error}")
    except (ConfigError, FileNotFoundError) as error:
        fail(f"config error: {error}")


# torch is imported inside the two functions that ask it about the hardware, not at the top: every command loads
# this module, and `predict --help` should not wait the 1.3 s torch takes to import.
def cuda_available() -> bool:
    """Whether this torch sees a CUDA GPU."""
    import torch

    return torch.cuda.is_available()


def native_bf16(accelerator: str) -> bool:
    """Whether ``accelerator`` computes bfloat16 in hardware: a CUDA GPU with bf16 support, or a CPU
    with AMX or AVX512-BF16 (elsewhere oneDNN emulates bf16, which is slower than float32)."""
    import torch

    if accelerator == "auto":
        accelerator = "cuda" if cuda_available() else "cpu"
    if accelerator in ("cuda", "gpu"):
        return cuda_available() and torch.cuda.is_bf16_supported()
    if accelerator == "cpu":
        return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    return False


def fast_precision(accelerator: str) -> str:
    """``trainer.precision: ${fast_precision:${.accelerator}}``: ``bf16-mixed`` where bf16 is native,
    else ``32-true``. On an AMX CPU bf16 autocast trained the default U-Net 1.8x faster for the same
    PSNR (``make bench``, BENCHMARKS.md "Compute efficiency")."""
    return "bf16-mixed" if native_bf16(str(accelerator)) else "32-true"


OmegaConf.register_new_resolver("fast_precision", fast_precision, replace=True)
# ${pid:} in run and sweep dirs (conf/hydra/default.yaml): runs started in the same second stay apart.
# Cached like Hydra's ${now:}: the value travels with the config into a launcher's worker processes, so
# every job of a sweep resolves the same sweep dir.
OmegaConf.register_new_resolver("pid", os.getpid, replace=True, use_cache=True)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass
class DataSchema:
    """Types of the loader settings shared by every ``data`` option (source-specific keys are free-form).
    The values, and their explanations, live in one place: ``conf/data/loader/default.yaml``."""

    patch_size: int = MISSING
    patches_per_epoch: int = MISSING
    batch_size: int = MISSING
    eval_batch_size: int = MISSING
    val_ratio: float = MISSING
    holdout: list[str] | None = MISSING
    val_crop_size: int = MISSING
    val_crops_per_image: int = MISSING
    small_images: str = MISSING
    augment: bool = MISSING
    num_workers: int | None = MISSING
    pin_memory: bool | None = MISSING
    persistent_workers: bool = MISSING
    seed: int = MISSING


def check_ranges(cfg: DictConfig) -> None:
    """Value checks the types cannot express."""
    data, trainer = cfg.data, cfg.trainer
    for key in ("patch_size", "val_crop_size"):
        _require(data[key] >= 8, f"data.{key} must be >= 8 pixels, got {data[key]}")
    for key in ("batch_size", "eval_batch_size", "val_crops_per_image"):
        _require(data[key] >= 1, f"data.{key} must be >= 1, got {data[key]}")
    _require(
        data.patches_per_epoch >= data.batch_size,
        f"data.patches_per_epoch ({data.patches_per_epoch}) must be >= data.batch_size ({data.batch_size})",
    )
    _require(
        0.0 < data.val_ratio < 1.0, f"data.val_ratio must lie strictly between 0 and 1, got {data.val_ratio}"
    )
    _require(
        data.small_images in ("pad", "skip"),
        f"data.small_images must be 'pad' or 'skip', got '{data.small_images}'",
    )
    _require(
        data.num_workers is None or data.num_workers >= 0,
        f"data.num_workers must be >= 0 or null (auto), got {data.num_workers}",
    )
    _require(
        cfg.threads is None or cfg.threads >= 1,
        f"threads must be >= 1 or null (one per core), got {cfg.threads}",
    )
    _require(trainer.max_epochs >= 1, f"trainer.max_epochs must be >= 1, got {trainer.max_epochs}")
    _require(
        trainer.accelerator not in ("gpu", "cuda") or cuda_available(),
        f"trainer.accelerator={trainer.accelerator}, but this torch sees no CUDA GPU; use trainer=cpu "
        "or trainer.accelerator=auto",
    )
    _require(cfg.max_megapixels > 0, f"max_megapixels must be > 0, got {cfg.max_megapixels}")
    lr = OmegaConf.select(cfg, "optim.optimizer.lr")
    _require(lr is None or lr >= 0, f"optim.optimizer.lr must be >= 0, got {lr}")  # 0: frozen weights
    _require(
        "dir" not in data.keys() or not OmegaConf.is_missing(data, "dir"),  # noqa: SIM118 (`in` skips ??? values)
        "this data option reads a folder: give it as data.dir=/path/to/images",
    )
    if cfg.get("degradation") is not None and cfg.degradation.get("ops") is not None:
        check_op_ranges(cfg.degradation.ops)
    if cfg.get("eval") is not None:
        check_eval(cfg.eval)


# Severity ranges ``[weakest, strongest]`` of the degradation ops, by key: the values each may take.
OP_RANGE_LIMITS = {
    "sigma": (0.0, math.inf),
    "gain": (0.0, math.inf),
    "read": (0.0, math.inf),
    "peak": (1e-6, math.inf),
    "amount": (0.0, 1.0),
    "coverage": (0.0, 1.0),
    "darkness": (0.0, 1.0),
    "quality": (1.0, 100.0),
    "kernel_size": (1.0, math.inf),
    "factor": (1.0, math.inf),
    "size": (0.0, 1.0),
    "spots": (0.0, math.inf),
    "scratches": (0.0, math.inf),
    "smudges": (0.0, math.inf),
}
# Keys whose degradation weakens as the value grows (a higher JPEG quality, a higher photon peak): their
# ranges run downwards; every other key's run upwards.
WEAKER_WHEN_LARGER = ("peak", "quality")


def check_op_range(key: str, bounds: object, name: str) -> None:
    """One op range: a pair ``[weakest, strongest]`` within :data:`OP_RANGE_LIMITS`, in the key's direction
    (``sigma: [50, 10]`` would scale severities backwards without a word)."""
    low, high = OP_RANGE_LIMITS[key]
    _require(
        not isinstance(bounds, int | float | str),
        f"{name} is a range [weakest, strongest], e.g. [{bounds}, {bounds}] for one level; got {bounds}",
    )
    values = list(bounds)
    _require(len(values) == 2, f"{name} is a pair [weakest, strongest], got {values}")
    _require(
        all(isinstance(v, int | float) and low <= v <= high for v in values),
        f"{name} must lie in [{low:g}, {high:g}], got {values}",
    )
    weakest, strongest = values
    upwards = key not in WEAKER_WHEN_LARGER
    _require(
        weakest <= strongest if upwards else weakest >= strongest,
        f"{name} runs from weakest to strongest, so its first value must be the "
        f"{'smaller' if upwards else 'larger'}: got {values}, did you mean {values[::-1]}?",
    )


def check_op_ranges(ops: DictConfig, prefix: str = "degradation.ops") -> None:
    """Every op's ranges by :func:`check_op_range` (a chain's inner ops too)."""
    for name, op in ops.items():
        if not isinstance(op, DictConfig):
            continue
        for key in OP_RANGE_LIMITS:
            if op.get(key) is not None and not OmegaConf.is_missing(op, key):
                check_op_range(key, op[key], f"{prefix}.{name}.{key}")
        if isinstance(op.get("ops"), DictConfig):
            check_op_ranges(op.ops, f"{prefix}.{name}.ops")


def check_tile(tile: DictConfig, name: str = "tile") -> None:
    """Tile settings that :mod:`denoise_lab.inference.tiling` can work with."""
    _require(
        tile.align >= 1 and tile.size % tile.align == 0 and tile.overlap % tile.align == 0,
        f"{name}.size ({tile.size}) and {name}.overlap ({tile.overlap}) must be multiples of "
        f"{name}.align ({tile.align})",
    )
    _require(
        0 <= tile.overlap < tile.size,
        f"{name}.overlap must lie in [0, {name}.size={tile.size}), got {tile.overlap}",
    )


# How predict and evaluate may run a model: views averaged by the self-ensemble (1: the model alone), and
# the arithmetic (denoise_lab.inference.tiling.uses_bf16).
ENSEMBLE_SIZES = (1, 2, 4, 8)
PRECISIONS = ("auto", "bf16", "32")


def check_inference(settings: DictConfig, prefix: str = "") -> None:
    """``self_ensemble`` and ``precision`` of predict (``prefix`` "") or evaluate ("eval.")."""
    views = settings.self_ensemble
    _require(
        not isinstance(views, bool) and views in ENSEMBLE_SIZES,
        f"{prefix}self_ensemble is the number of flips/rotations averaged, one of {list(ENSEMBLE_SIZES)} "
        f"(1: off), got {views}",
    )
    _require(
        str(settings.precision) in PRECISIONS,
        f"{prefix}precision must be one of {list(PRECISIONS)}, got '{settings.precision}'",
    )
    device = str(settings.device)
    _require(
        device in ("auto", "cpu") or not device.startswith("cuda") or cuda_available(),
        f"{prefix}device={device}, but this torch sees no CUDA GPU; use device=cpu or device=auto",
    )


def check_predict(cfg: DictConfig) -> None:
    """predict's own settings, before any work: input and output given (reading a missing one raises
    OmegaConf's MissingMandatoryValue, one usage line in :func:`user_errors_in_one_line`), booleans are
    booleans (the string "no" would read as true), ranges are ranges."""
    for key in ("input", "output"):
        _require(str(cfg[key]).strip() != "", f"{key} must name a file or folder, got an empty value")
    for key in ("overwrite", "recursive"):
        _require(isinstance(cfg[key], bool), f"{key} must be true or false, got '{cfg[key]}'")
    quality = cfg.jpeg_quality
    _require(
        isinstance(quality, int) and not isinstance(quality, bool) and 1 <= quality <= 100,
        f"jpeg_quality must be a whole number from 1 to 100, got {quality}",
    )
    _require(
        isinstance(cfg.max_megapixels, int | float) and cfg.max_megapixels > 0,
        f"max_megapixels must be a number above 0, got {cfg.max_megapixels}",
    )


def check_eval(settings: DictConfig) -> None:
    """The evaluation report's settings (``eval``: conf/eval/default.yaml)."""
    choices = {
        "protocol": ("mixed", "standard", "paired"),
        "images": ("heldout", "all"),
        "color": ("rgb", "y"),
    }
    for key, allowed in choices.items():
        _require(
            settings[key] in allowed, f"eval.{key} must be one of {list(allowed)}, got '{settings[key]}'"
        )
    unknown = sorted(set(settings.baselines.methods) - set(BASELINES))
    _require(not unknown, f"eval.baselines.methods: unknown {unknown}; choose from {sorted(BASELINES)}")
    limit = settings.baselines.max_images
    _require(
        limit is None or limit >= 0, f"eval.baselines.max_images must be >= 0 or null (all), got {limit}"
    )
    _require(settings.view_size >= 16, f"eval.view_size must be >= 16 pixels, got {settings.view_size}")
    _require(settings.crop_border >= 0, f"eval.crop_border must be >= 0 pixels, got {settings.crop_border}")
    _require(all(s >= 0 for s in settings.sigmas), f"eval.sigmas must be >= 0, got {list(settings.sigmas)}")
    sigma = settings.baselines.sigma
    _require(sigma is None or sigma > 0, f"eval.baselines.sigma must be > 0 or null (estimated), got {sigma}")
    check_tile(settings.tile, "eval.tile")
    check_inference(settings, "eval.")


@dataclass
class TrainerSchema:
    max_epochs: int = MISSING
    accelerator: str = MISSING


@dataclass
class RunSchema:
    """Types of the run config's own keys; their values live in ``conf/config.yaml`` (and the trainer's in
    ``conf/trainer/``): the schema checks, the yaml decides."""

    task_name: str = MISSING
    seed: int = MISSING
    optimized_metric: str = MISSING
    ckpt_path: str | None = MISSING
    init_from: str | None = MISSING
    channels_last: bool = MISSING
    compile: bool = MISSING
    max_megapixels: float = MISSING
    threads: int | None = MISSING
    data: DataSchema = field(default_factory=DataSchema)
    trainer: TrainerSchema = field(default_factory=TrainerSchema)


def validate(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` (one line) if ``cfg`` breaks the schema's types or value ranges."""
    schema = OmegaConf.structured(RunSchema)
    for node in (schema, schema.data, schema.trainer):
        OmegaConf.set_struct(node, False)  # keys the schema does not name stay free-form
    try:
        merged = OmegaConf.merge(schema, cfg)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)
        message = str(error).splitlines()[0]
        raise ConfigError(f"{key}: {message}" if key else message) from None
    check_ranges(merged)
