"""Shared fixtures: compose the real ``conf/`` with overrides that shrink a run to seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from denoise_lab.config import CONFIG_DIR

TINY = [
    "debug=fast",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "data.patches_per_epoch=16",
    "data.val_crops_per_image=3",
]
SMALL_UNET = ["model.width=8", "model.depth=2"]
# degradation=seed000: its eight transformations, named after its tables
SEED000_OPS = [
    "gaussian_blur",
    "gaussian_noise",
    "involuntary_movement",
    "illumination_contrast",
    "uneven_illumination",
    "random_shadows",
    "specular_reflections",
    "product_defects",
]


def compose_config(overrides: list[str], tmp_path: Path | None = None):
    """The composed run config; with ``tmp_path``, every output goes below it."""
    paths = []
    if tmp_path is not None:
        paths = [f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path / 'run'}"]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=[*overrides, *paths])


@pytest.fixture
def tiny_cfg(tmp_path):
    """``tiny_cfg(*overrides)``: a run config that trains for about a second, writing under tmp_path."""

    def make(*overrides: str, run_name: str = "run"):
        model = next((o.split("=")[1] for o in overrides if o.startswith("model=")), "unet")
        shrink = SMALL_UNET if model.startswith("unet") else []
        # the five core ops unless a test picks its own: they cover every kind of default op
        mix = [] if any(o.startswith("degradation=") for o in overrides) else ["degradation=core"]
        cfg = compose_config([*TINY, *shrink, *mix, *overrides], tmp_path)
        cfg.paths.output_dir = str(tmp_path / run_name)
        return cfg

    return make


@pytest.fixture
def identity_checkpoint(tmp_path) -> Path:
    """A checkpoint laid out as training writes it, of an untrained residual U-Net: its head is zero, so
    the network is exactly the identity, and what comes out is what the file handling made of the input."""
    cfg = compose_config([*TINY, *SMALL_UNET, "degradation=core"], tmp_path)
    model = instantiate(cfg.model)
    path = tmp_path / "identity.ckpt"
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"config": OmegaConf.to_container(cfg, resolve=True)}, "state_dict": state}, path
    )
    return path


def cli(*overrides: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m denoise_lab *overrides`` in ``cwd``, with no standard input (a prompt fails, never hangs)."""
    return subprocess.run(
        [sys.executable, "-m", "denoise_lab", *overrides],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def without_wandb_account(home: Path) -> dict[str, str]:
    """The environment less every place W&B looks for an API key (variables, netrc, settings)."""
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR")}
    return {**env, "NETRC": str(home / "no.netrc"), "WANDB_CONFIG_DIR": str(home / "wandb_config")}


@pytest.fixture(scope="session")
def two_model_sweep(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """``python -m denoise_lab -m model=cae,cae_deep logger=wandb`` (tiny, no W&B account), run once for the
    tests that read its comparison and its W&B runs; returns the process and the sweep dir."""
    cwd = tmp_path_factory.mktemp("two_model_sweep")
    result = cli("-m", *TINY, "model=cae,cae_deep", "logger=wandb", cwd=cwd, env=without_wandb_account(cwd))
    sweeps = list((cwd / "outputs" / "train" / "multiruns").glob("*"))
    return result, sweeps[0] if sweeps else cwd


def write_image(path: Path, height: int = 40, width: int = 56, mode: str = "RGB", seed: int = 0) -> Path:
    """Write a random image of the given PIL mode (RGB, L, RGBA, I;16) and return its path."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "I;16":
        Image.fromarray(rng.integers(0, 65535, (height, width), dtype=np.uint16)).save(path)
    else:
        channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
        array = rng.integers(0, 256, (height, width, channels), dtype=np.uint8).squeeze(
            -1 if channels == 1 else ()
        )
        Image.fromarray(array, mode=None).save(path)
    return path


def write_trained_like_checkpoint(tmp_path: Path, model: str) -> tuple[Path, torch.nn.Module]:
    """A checkpoint laid out as training writes it, of ``model`` with every weight random (its zero-initialised
    output layers too, so the network really changes its input); returns its path and the network."""
    cfg = compose_config([*TINY, f"model={model}", "degradation=gaussian"], tmp_path)
    network = instantiate(cfg.model)
    torch.manual_seed(0)
    with torch.no_grad():
        for param in network.parameters():
            param.add_(0.05 * torch.randn_like(param))
    path = tmp_path / f"{model}.ckpt"
    state = {f"model.{k}": v for k, v in network.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"config": OmegaConf.to_container(cfg, resolve=True)}, "state_dict": state}, path
    )
    return path, network.eval()
