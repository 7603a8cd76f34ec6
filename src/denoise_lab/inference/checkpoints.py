"""Rebuild a trained network from a checkpoint alone: its run config travels inside it.

:class:`~denoise_lab.training.module.DenoiseModule` stores the resolved run config in its hyper-parameters, so
``evaluate`` and ``predict`` need only the ``.ckpt`` path, never the training overrides.

``pretrained:<name>`` names a model shipped in ``denoise_lab/pretrained/<name>.safetensors`` instead (any
``.safetensors`` path written by ``python -m denoise_lab.pretrained.ship`` loads the same way): the network's
tensors (float16 where that moved held-out PSNR by less than 0.01 dB), and in the file's metadata, as JSON,

* ``config``: the resolved run config of the training run (model, data, degradations);
* ``recipe``: the command that trained it and how long it ran;
* ``precision``: the float16 check's figures;
* ``table``: what it measured when it was shipped.

safetensors holds no pickle at all; training checkpoints (``.ckpt``, Lightning's pickles) are read with
``weights_only=True``: a checkpoint from elsewhere, or a tampered one, can fail but never run code.
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from denoise_lab.config import ConfigError
from denoise_lab.files import written_in_place

log = logging.getLogger(__name__)

PRETRAINED_PREFIX = "pretrained:"
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
SHIPPED_SUFFIX = ".safetensors"
SHIPPED_FORMAT = "denoise_lab shipped model 1"  # the metadata's "format": what reads it knows the layout


def shipped_names() -> list[str]:
    """The names of the models shipped in the package."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob(f"*{SHIPPED_SUFFIX}"))


def shipped_path(name: str) -> Path:
    """The file of the shipped model ``name``; an unknown name lists the shipped ones."""
    path = PRETRAINED_DIR / f"{name}{SHIPPED_SUFFIX}"
    if not path.is_file():
        shipped = ", ".join(shipped_names()) or "none"
        raise ConfigError(f"no pretrained model named '{name}'; shipped: {shipped}")
    return path


def write_shipped(path: Path, state: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    """A shipped model's file: ``state``'s tensors, and ``info`` (config, recipe, precision, table) as JSON
    in the metadata; written whole or not at all."""
    metadata = {"format": SHIPPED_FORMAT, **{key: json.dumps(value) for key, value in info.items()}}
    with written_in_place(path) as partial:
        save_file({k: v.contiguous() for k, v in state.items()}, str(partial), metadata=metadata)


def read_shipped(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The ``info`` and tensors of a file :func:`write_shipped` wrote; else one line saying what it is not."""
    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
            state = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118 (not a dict)
    except Exception as error:  # safetensors' own error types, or an OSError
        reason = next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
        raise ConfigError(f"'{path}' is not a readable safetensors file ({reason})") from None
    if metadata.get("format") != SHIPPED_FORMAT or "config" not in metadata:
        raise ConfigError(f"'{path}' holds no run config in its metadata: not a shipped denoise_lab model")
    return {key: json.loads(value) for key, value in metadata.items() if key != "format"}, state


def read_safely(path: Path) -> Any:
    """``torch.load`` with ``weights_only=True``; a file it refuses is a one-line :class:`ConfigError`
    that says why (never torch's advice to retry with ``weights_only=False``, which would run the code)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" not in str(error):  # a broken stream, not a refused object
            raise ConfigError(
                f"'{path}' is not a readable checkpoint: truncated or not a PyTorch file"
            ) from None
        raise ConfigError(
            f"'{path}' was refused for safety: it holds pickled objects other than weights, which loading "
            "would run as code"
        ) from None
    except Exception as error:  # truncated, empty, or not a torch file at all
        raise ConfigError(
            f"'{path}' is not a readable checkpoint: truncated or not a PyTorch file ({type(error).__name__})"
        ) from None


def network_state(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The network's weights in a :class:`~denoise_lab.training.module.DenoiseModule` state dict (its
    ``model.`` entries, without the prefix)."""
    return {k.removeprefix("model."): v for k, v in state_dict.items() if k.startswith("model.")}


# The settings a resumed run must share with the run that wrote the checkpoint (loader settings such as
# the number of workers may change between the two).
RESUME_SECTIONS = ("model", "data", "degradation")
LOADER_KEYS = ("num_workers", "pin_memory", "persistent_workers", "eval_batch_size")


def flat(node: Any, prefix: str) -> dict[str, Any]:
    """A nested config as ``{"model.width": 16, ...}``."""
    if not isinstance(node, dict):
        return {prefix: node}
    return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}.{key}").items()}


def settings_differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Where the run config in a checkpoint and this run's differ, in :data:`RESUME_SECTIONS`."""
    old, new = ({k: v for s in RESUME_SECTIONS for k, v in flat(c.get(s), s).items()} for c in (saved, now))
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    keys = [k for k in keys if k.removeprefix("data.") not in LOADER_KEYS]
    return [f"{k}={old.get(k)!r} there, {new.get(k)!r} here" for k in keys]


def check_resumable(path: Path, model: nn.Module, config: dict[str, Any]) -> None:
    """Before ``trainer.fit(ckpt_path=...)``: the file loads safely, was written with this run's model, data
    and degradation settings (``config``, resolved), and its weights fit ``model``; else one line naming the
    first difference (Lightning would fail after loading, with a page of tensor names)."""
    checkpoint = read_safely(path)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"ckpt_path '{path}' holds no state_dict: it is not a training checkpoint")
    saved_config = checkpoint.get("hyper_parameters", {}).get("config")
    differences = settings_differences(saved_config, config) if saved_config else []
    if differences:
        more = f" (and {len(differences) - 3} more)" if len(differences) > 3 else ""
        raise ConfigError(
            f"ckpt_path '{path}' was written by a run with other settings: {'; '.join(differences[:3])}{more}; "
            "resume with the same settings, or start anew with init_from= to reuse only its weights"
        )
    saved = network_state(checkpoint["state_dict"])
    expected = model.state_dict()
    for key, value in expected.items():
        if key not in saved:
            raise ConfigError(
                f"ckpt_path '{path}' lacks the weight '{key}' of {type(model).__name__}: another model"
            )
        if tuple(saved[key].shape) != tuple(value.shape):
            raise ConfigError(
                f"ckpt_path '{path}' holds '{key}' of shape {tuple(saved[key].shape)} where "
                f"{type(model).__name__} has {tuple(value.shape)}: another model size (give the run's model settings)"
            )
    extra = sorted(set(saved) - set(expected))
    if extra:
        raise ConfigError(
            f"ckpt_path '{path}' holds '{extra[0]}', which {type(model).__name__} lacks: another model"
        )


def build_model(config: dict[str, Any], state: dict[str, torch.Tensor], source: Path) -> nn.Module:
    """The network of a run ``config`` with weights ``state`` (any float dtype), float32 in eval mode."""
    model = instantiate(config["model"])
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as error:
        detail = next((line.strip() for line in str(error).splitlines()[1:] if line.strip()), str(error))
        raise ConfigError(f"'{source}' does not fit its own model config ({detail})") from None
    return model.eval()


def load_checkpoint(path: str | Path) -> tuple[nn.Module, DictConfig]:
    """The network (float32, eval mode, on the CPU) and the run config saved in a training checkpoint,
    or in a shipped model (``pretrained:<name>``, or a ``.safetensors`` path)."""
    if str(path).startswith(PRETRAINED_PREFIX):
        path = shipped_path(str(path)[len(PRETRAINED_PREFIX) :])
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"ckpt_path '{path}' is not a file (give a .ckpt written by a training run, a shipped model's "
            f".safetensors, or pretrained:<name>, one of: {', '.join(shipped_names()) or 'none shipped'})"
        )
    if path.suffix == SHIPPED_SUFFIX:
        info, state = read_shipped(path)
        config = info["config"]
    else:
        checkpoint = read_safely(path)
        config = (
            checkpoint.get("hyper_parameters", {}).get("config") if isinstance(checkpoint, dict) else None
        )
        if config is None or "state_dict" not in checkpoint:
            raise ConfigError(f"ckpt_path '{path}' holds no run config: it was not written by denoise_lab")
        state = network_state(checkpoint["state_dict"])
    return build_model(config, state, path), OmegaConf.create(config)


def resolve_checkpoint(ckpt_path: str | None, runs_dir: Path, run_dir: Path) -> str | None:
    """``last`` means the newest checkpoint that loads among the earlier runs of this task (or this run
    dir's, when a fixed ``hydra.run.dir`` is resumed into itself): each run's ``last.ckpt``, then its
    ``best.ckpt``, newest first; a file that does not load (a write cut short) is skipped with a warning
    naming it. Else a path."""
    if ckpt_path is None:
        return None
    if ckpt_path == "last":
        runs = {p.parent for p in runs_dir.glob("**/checkpoints/*.ckpt") if run_dir not in p.parents}
        if not runs and (run_dir / "checkpoints").is_dir():  # resumed into its own run dir
            runs = {run_dir / "checkpoints"}
        candidates = [c for d in runs for c in (d / "last.ckpt", d / "best.ckpt") if c.is_file()]
        for candidate in sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True):
            try:
                read_safely(candidate)
            except ConfigError as error:
                log.warning("ckpt_path=last: skipped, %s", error)
                continue
            return str(candidate)
        raise ConfigError(f"ckpt_path=last: no earlier run under '{runs_dir}' has a checkpoint that loads")
    if not Path(ckpt_path).is_file():
        raise ConfigError(f"ckpt_path '{ckpt_path}' is not a file (give a .ckpt path or 'last')")
    return ckpt_path
