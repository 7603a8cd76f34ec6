"""Read a user's photo at full precision and write the restored one back in the same form.

Training decodes to 8-bit RGB (:func:`denoise_lab.data.sources.read_rgb`); a photo to denoise keeps what
it came with instead: grayscale stays grayscale (the network sees it repeated over RGB, and the mean of
the three restored channels is written), an alpha channel is passed through untouched, 16-bit stays
16-bit (Pillow for 16-bit grayscale, tifffile for 16-bit colour TIFFs, which Pillow reads as 8-bit), and
the file format, ICC profile and EXIF are kept; CMYK and palette images are written back as CMYK and as a
palette. An animated or multi-page image is refused with its frame count (restoring its first frame alone would
lose the others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import torch
from PIL import Image
from torch import Tensor

SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")


@dataclass
class Photo:
    """An image as float32 (1, 3, H, W) RGB in [0, 1], plus what is needed to write it back as it came."""

    rgb: Tensor
    gray: bool
    bits: int
    alpha: np.ndarray | None = None
    format: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    mode: str | None = None  # "CMYK" or "P" (palette): written back in that mode, not as RGB


def _to_tensor(array: np.ndarray, scale: float) -> Tensor:
    """(H, W) or (H, W, 3) integers -> (1, 3, H, W) float32 in [0, 1]."""
    array = np.atleast_3d(array)
    tensor = torch.from_numpy(array.transpose(2, 0, 1).copy()).float().div_(scale)  # copy: PIL's is read-only
    return tensor.repeat(3, 1, 1).unsqueeze(0) if tensor.shape[0] == 1 else tensor.unsqueeze(0)


def _read_tiff16(path: Path) -> Photo | None:
    """16-bit colour TIFFs through tifffile; ``None`` for any other TIFF (Pillow reads those fully)."""
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        if page.bitspersample != 16 or page.samplesperpixel < 3:
            return None
        array = page.asarray()
    alpha = array[..., 3] if array.shape[-1] == 4 else None
    return Photo(_to_tensor(array[..., :3], 65535.0), gray=False, bits=16, alpha=alpha, format="TIFF")


def read_photo(path: Path) -> Photo:
    """Decode ``path``; raises ``OSError``/``ValueError`` (Pillow's, tifffile's) when it cannot."""
    if path.suffix.lower() in (".tif", ".tiff") and (photo := _read_tiff16(path)) is not None:
        return photo
    with Image.open(path) as image:
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            raise ValueError(
                f"an image of {frames} frames (animated or multi-page); restore them as separate files"
            )
        info = {k: image.info[k] for k in ("icc_profile", "exif", "dpi") if k in image.info}
        if image.mode in SIXTEEN_BIT_MODES:
            array = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
            return Photo(_to_tensor(array, 65535.0), gray=True, bits=16, format=image.format, info=info)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        gray = image.mode in ("1", "L", "LA")
        converted = image.convert(("LA" if gray else "RGBA") if has_alpha else ("L" if gray else "RGB"))
        array = np.asarray(converted)
    alpha = array[..., -1] if has_alpha else None
    if has_alpha:
        array = array[..., 0] if gray else array[..., :3]
    mode = image.mode if image.mode in ("CMYK", "P") and not has_alpha else None
    return Photo(_to_tensor(array, 255.0), gray, 8, alpha, image.format, info, mode)


def write_photo(path: Path, photo: Photo, restored: Tensor, jpeg_quality: int = 95) -> None:
    """Write ``restored`` (1, 3, H, W) in [0, 1] to ``path`` with ``photo``'s channels, depth and format."""
    scale, dtype = (65535.0, np.uint16) if photo.bits == 16 else (255.0, np.uint8)
    image = restored[0].clamp(0, 1)  # a new tensor: the in-place steps below leave `restored` alone
    image = image.mean(0, keepdim=True) if photo.gray else image
    array = image.mul_(scale).round_().permute(1, 2, 0).numpy().astype(dtype)
    if photo.alpha is not None:
        array = np.concatenate([array, photo.alpha[..., None].astype(dtype)], axis=-1)
    array = array.squeeze(-1) if array.shape[-1] == 1 else array
    path.parent.mkdir(parents=True, exist_ok=True)
    if photo.bits == 16 and not photo.gray:
        tifffile.imwrite(path, array, photometric="rgb")
        return
    options: dict[str, Any] = dict(photo.info)
    if photo.format in ("JPEG", "WEBP"):
        options["quality"] = jpeg_quality
    image = Image.fromarray(array)
    if photo.mode == "P":  # a palette image gets a palette again (256 colours, chosen for the restored image)
        image = image.quantize(256)
    elif photo.mode == "CMYK":
        image = image.convert("CMYK")
    image.save(path, format=photo.format, **options)
