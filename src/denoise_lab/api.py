"""``denoise_lab.denoise(image)``: restore one image in Python, as ``python -m denoise_lab.predict`` does.

    import denoise_lab
    restored = denoise_lab.denoise(photo)                  # the model predict uses by default
    restored = denoise_lab.denoise(photo, model="gaussian") # a shipped model by name, or a run's .ckpt path

``photo`` is a numpy array ((H, W) gray or (H, W, 3) RGB; uint8, uint16 or float in [0, 1]), a PIL image
(L, RGB, I;16) or a torch tensor ((3, H, W) or (N, 3, H, W), float in [0, 1]); the result is the same kind,
shape and type, clamped to the type's range. Any size: tiled, self-ensembled and in the precision that
predict uses (``conf/predict.yaml``, the one place those defaults live).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from torch import Tensor

from denoise_lab.config import CONFIG_DIR, ConfigError
from denoise_lab.inference.checkpoints import PRETRAINED_PREFIX, load_checkpoint, shipped_names
from denoise_lab.inference.tiling import Network, device_of, restorer

PREDICT_DEFAULTS = OmegaConf.load(Path(CONFIG_DIR) / "predict.yaml")
TILE_DEFAULTS = OmegaConf.load(Path(CONFIG_DIR) / "tile" / "default.yaml")


@lru_cache(maxsize=4)
def _restorer(checkpoint: str, self_ensemble: int, precision: str, device: str) -> Network:
    model, _ = load_checkpoint(checkpoint)
    tile = TILE_DEFAULTS
    return restorer(model, device_of(device), tile.size, tile.overlap, tile.align, self_ensemble, precision)


def checkpoint_of(model: str | Path | None) -> str:
    """``None``: predict's default; a shipped name (``"camera"``); else a checkpoint path as given."""
    if model is None:
        return str(PREDICT_DEFAULTS.ckpt_path)
    if str(model) in shipped_names():
        return PRETRAINED_PREFIX + str(model)
    return str(model)


def denoise(
    image: Any,
    model: str | Path | None = None,
    *,
    self_ensemble: int | None = None,
    precision: str | None = None,
    device: str | None = None,
) -> Any:
    """The restored ``image``, of the same kind, shape and type (see the module doc)."""
    restore = _restorer(
        checkpoint_of(model),
        PREDICT_DEFAULTS.self_ensemble if self_ensemble is None else self_ensemble,
        str(PREDICT_DEFAULTS.precision if precision is None else precision),
        str(PREDICT_DEFAULTS.device if device is None else device),
    )
    if isinstance(image, Tensor):
        return _denoise_tensor(restore, image)
    if isinstance(image, np.ndarray):
        return _denoise_array(restore, image)
    from PIL import Image

    if isinstance(image, Image.Image):
        return _denoise_pil(restore, image)
    raise TypeError(f"denoise takes a numpy array, a PIL image or a torch tensor, got {type(image).__name__}")


def _denoise_tensor(restore: Network, image: Tensor) -> Tensor:
    batch = image if image.dim() == 4 else image[None]
    if batch.dim() != 4 or batch.shape[1] not in (1, 3) or not batch.is_floating_point():
        raise ConfigError(
            f"a tensor must be float (3, H, W) or (N, 3, H, W) in [0, 1], got {tuple(image.shape)}"
        )
    gray = batch.shape[1] == 1
    out = restore(batch.expand(-1, 3, -1, -1).float() if gray else batch.float()).clamp(0.0, 1.0)
    out = out.mean(dim=1, keepdim=True) if gray else out
    return out.to(image.dtype).reshape(image.shape)


def _denoise_array(restore: Network, image: np.ndarray) -> np.ndarray:
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ConfigError(f"an array must be (H, W) gray or (H, W, 3) RGB, got shape {image.shape}")
    if np.issubdtype(image.dtype, np.integer):
        if image.dtype not in (np.uint8, np.uint16):
            raise ConfigError(f"integer arrays must be uint8 or uint16, got {image.dtype}")
        scale = float(np.iinfo(image.dtype).max)
    else:
        scale = 1.0
        if not np.isfinite(image).all():
            raise ConfigError("the image holds NaN or infinite values")
    pixels = torch.from_numpy(image.astype(np.float32) / scale)
    pixels = pixels[None] if image.ndim == 2 else pixels.permute(2, 0, 1)
    out = _denoise_tensor(restore, pixels)
    out = out[0] if image.ndim == 2 else out.permute(1, 2, 0)
    out = out.numpy() * scale
    return (out.round() if scale > 1 else out).astype(image.dtype)


def _denoise_pil(restore: Network, image: Any) -> Any:
    from PIL import Image

    modes = {"L": np.uint8, "RGB": np.uint8, "I;16": np.uint16}
    if image.mode not in modes:
        raise ConfigError(f"PIL images must be L, RGB or I;16, got mode {image.mode}; convert it first")
    restored = _denoise_array(restore, np.asarray(image).astype(modes[image.mode]))
    return Image.fromarray(restored, mode=None if image.mode != "I;16" else "I;16")
