"""Rebuild a trained network from a checkpoint alone: its run config travels inside it.

:class:`~denoise_lab.module.DenoiseModule` stores the resolved run config in its hyper-parameters, so
``evaluate`` and ``predict`` need only the ``.ckpt`` path, never the training overrides. Loading uses
``weights_only=True``: a checkpoint from elsewhere cannot run code.
"""

from __future__ import annotations

from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from denoise_lab.config import ConfigError


def load_checkpoint(path: str | Path) -> tuple[nn.Module, DictConfig]:
    """The network (eval mode, on the CPU) and the run config saved in a training checkpoint."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"ckpt_path '{path}' is not a file (give a .ckpt written by a training run)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a file that is not a checkpoint
        raise ConfigError(
            f"ckpt_path '{path}' is not a readable checkpoint ({type(error).__name__})"
        ) from None
    config = checkpoint.get("hyper_parameters", {}).get("config") if isinstance(checkpoint, dict) else None
    if config is None:
        raise ConfigError(f"ckpt_path '{path}' holds no run config: it was not written by denoise_lab")
    model = instantiate(config["model"])
    prefix = "model."
    state = {k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    model.load_state_dict(state)
    return model.eval(), OmegaConf.create(config)
