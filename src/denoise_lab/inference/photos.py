"""Read a user's photo at full precision and write the restored one back in the same form.

Training decodes to 8-bit RGB (:func:`denoise_lab.data.sources.read_rgb`); a photo to denoise keeps what
it came with instead: grayscale stays grayscale (the network sees it repeated over RGB, and the mean of
the three restored channels is written), an alpha channel is passed through untouched, 16-bit stays
16-bit (Pillow for 16-bit grayscale, tifffile for 16-bit colour TIFFs, which Pillow reads as 8-bit), and
the file format, ICC profile and EXIF are kept; CMYK and palette images are written back as CMYK and as a
palette. A float32 TIFF stays float32 (gray or RGB), provided its values are finite and within [0, 1]: NaN,
Inf or an HDR range are refused with a line saying so, never clipped or converted silently. An animated or
multi-page image is refused with its frame count (restoring its first frame alone would lose the others).

Memory: a photo stays in its 8- or 16-bit form (3 or 6 bytes a pixel, not the 12 of float32) and is restored
in place, tile by tile (:func:`denoise_lab.inference.tiling.tiled`); decoding copies Pillow's image out in strips, so a
108-megapixel JPEG never exists as float32 or twice as bytes. Still, Pillow decodes and encodes whole images:
where libvips is installed, predict streams the photos it can instead (:mod:`denoise_lab.inference.streaming`).
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

from denoise_lab.files import written_in_place

SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
STRIP_ROWS = 256  # rows copied out of Pillow's decoded image at a time


@dataclass(frozen=True)
class Samples:
    """How a photo's samples map to the network's float RGB in [0, 1] and back: ``bits`` per sample
    (8 or 16: integers; 32: float32 already in [0, 1]); ``gray``: one channel, repeated over RGB for the
    network, the mean of its three outputs written back."""

    bits: int
    gray: bool

    @property
    def scale(self) -> float:
        return {8: 255.0, 16: 65535.0, 32: 1.0}[self.bits]

    def to_network(self, tile: Tensor) -> Tensor:
        """A (1, C, h, w) integer tile as float32 RGB in [0, 1]."""
        tile = tile.to(torch.float32, copy=True).div_(self.scale)
        return tile.expand(-1, 3, -1, -1) if self.gray else tile

    def from_network(self, rows: Tensor) -> Tensor:
        """Restored float RGB rows as integers of this depth, one channel for gray."""
        rows = rows.mean(1, keepdim=True) if self.gray else rows
        if self.bits == 32:
            return rows.clamp(0, 1).float()
        return rows.clamp(0, 1).mul_(self.scale).round_().to(torch.uint16 if self.bits == 16 else torch.uint8)


@dataclass
class Photo:
    """An image as integers, (H, W, 1) gray or (H, W, 3) RGB, plus what is needed to write it back as it
    came. :attr:`samples` converts tiles to and from the network's float RGB."""

    array: np.ndarray
    bits: int
    alpha: np.ndarray | None = None
    format: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    mode: str | None = None  # "CMYK" or "P" (palette): written back in that mode, not as RGB

    @property
    def gray(self) -> bool:
        return self.array.shape[-1] == 1

    @property
    def samples(self) -> Samples:
        return Samples(self.bits, self.gray)

    @property
    def pixels(self) -> Tensor:
        """The image as a (1, C, H, W) tensor sharing ``array``'s memory: writing to it changes the photo."""
        return torch.from_numpy(self.array).permute(2, 0, 1).unsqueeze(0)

    @property
    def rgb(self) -> Tensor:
        """The whole image as float32 (1, 3, H, W) RGB in [0, 1] (a copy)."""
        return self.samples.to_network(self.pixels)


def _copy_out(image: Image.Image, channels: int) -> np.ndarray:
    """Pillow's decoded 8-bit image as a writable (H, W, channels) array, copied in strips of rows."""
    array = np.empty((image.height, image.width, channels), dtype=np.uint8)
    for top in range(0, image.height, STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, image.height)
        strip = np.asarray(image.crop((0, top, image.width, bottom)))
        array[top:bottom] = strip.reshape(bottom - top, image.width, channels)
    return array


def _read_tiff(path: Path) -> Photo | None:
    """16-bit colour and float32 TIFFs through tifffile; ``None`` for any other TIFF (Pillow reads those
    fully). Raises ``ValueError`` for float samples a restored photo could not keep: NaN, Inf, or values
    outside [0, 1]."""
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        is_float = page.dtype == np.float32
        if not is_float and (page.bitspersample != 16 or page.samplesperpixel < 3):
            return None
        array = page.asarray()
    if is_float:
        check_float_samples(array)
        array = array[..., None] if array.ndim == 2 else array
    alpha = array[..., 3].copy() if array.shape[-1] == 4 else None
    colour = array if array.shape[-1] == 1 else array[..., :3]
    return Photo(np.ascontiguousarray(colour), bits=32 if is_float else 16, alpha=alpha, format="TIFF")


def check_float_samples(array: np.ndarray) -> None:
    """Float samples predict can restore and write back as they came: finite, within [0, 1]."""
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ValueError(f"{bad} NaN or infinite float samples; predict restores finite images only")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"float samples from {low:g} to {high:g}; predict restores float images in [0, 1] (scale it first)"
        )


def read_photo(path: Path) -> Photo:
    """Decode ``path``; raises ``OSError``/``ValueError`` (Pillow's, tifffile's) when it cannot."""
    if path.suffix.lower() in (".tif", ".tiff") and (photo := _read_tiff(path)) is not None:
        return photo
    with Image.open(path) as image:
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            raise ValueError(
                f"an image of {frames} frames (animated or multi-page); restore them as separate files"
            )
        info = {k: image.info[k] for k in ("icc_profile", "exif", "dpi") if k in image.info}
        if image.mode in SIXTEEN_BIT_MODES:
            array = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)[..., None]
            return Photo(array, bits=16, format=image.format, info=info)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        gray = image.mode in ("1", "L", "LA")
        target = ("LA" if gray else "RGBA") if has_alpha else ("L" if gray else "RGB")
        decoded = image if image.mode == target else image.convert(target)
        array = _copy_out(decoded, len(target))
        mode = image.mode if image.mode in ("CMYK", "P") and not has_alpha else None
        image_format = image.format
    alpha = array[..., -1].copy() if has_alpha else None
    if has_alpha:
        array = np.ascontiguousarray(array[..., :-1])
    return Photo(array, 8, alpha, image_format, info, mode)


def write_photo(path: Path, photo: Photo, jpeg_quality: int = 95) -> None:
    """Write ``photo``'s pixels (restored in place) to ``path`` with its channels, depth and format, under a
    temporary name renamed when complete (:func:`denoise_lab.files.written_in_place`)."""
    array = photo.array
    if photo.alpha is not None:
        array = np.concatenate([array, photo.alpha[..., None].astype(array.dtype)], axis=-1)
    array = array.squeeze(-1) if array.shape[-1] == 1 else array
    with written_in_place(path) as partial:
        if photo.bits == 32 or (photo.bits == 16 and not photo.gray):
            tifffile.imwrite(partial, array, photometric="minisblack" if photo.gray else "rgb")
            return
        options: dict[str, Any] = dict(photo.info)
        if photo.format in ("JPEG", "WEBP"):
            options["quality"] = jpeg_quality
        image = Image.fromarray(array)
        if (
            photo.mode == "P"
        ):  # a palette image gets a palette again (256 colours, chosen for the restored image)
            image = image.quantize(256)
        elif photo.mode == "CMYK":
            image = image.convert("CMYK")
        image.save(partial, format=photo.format, **options)
