"""Clean-image sources: find image files, decode each once into a uint8 RGB array, report what was skipped.

A source's :meth:`load` returns :class:`LoadedImage` items; paired sources also fill ``degraded`` with the
low-quality image of the same name, so the DataModule crops both at the same place and skips the bank.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
# What decoding a file that is not a usable image raises: Pillow's and tifffile's errors, and Pillow's
# decompression-bomb guard (an image over ``max_megapixels``), all skipped and counted, never fatal.
DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError)


def why_unreadable(error: Exception) -> str:
    """The reason a file was skipped, with the setting that lifts Pillow's size limit where that was it."""
    if isinstance(error, Image.DecompressionBombError):
        return f"{error} Set max_megapixels higher to read it"
    return str(error)


def limit_megapixels(megapixels: float) -> None:
    """Pillow refuses images over ``megapixels`` (its decompression-bomb guard, 179 by default: a 23 KB
    PNG can claim 16000 x 12000 pixels); the ``max_megapixels`` setting of train, evaluate and predict."""
    Image.MAX_IMAGE_PIXELS = int(megapixels * 1e6 / 2)  # Pillow raises above twice this, warns above it


@dataclass
class LoadedImage:
    """One decoded image (H, W, 3) uint8; ``degraded`` is its low-quality twin for paired data."""

    name: str
    clean: np.ndarray
    degraded: np.ndarray | None = None


def read_rgb(path: Path) -> np.ndarray:
    """Decode any common image to (H, W, 3) uint8 RGB.

    Grayscale is repeated over three channels, transparency is composited onto white, and 16-bit
    images keep their top 8 bits (training works in 8-bit; conversion happens here, at the edge).
    Pillow's 32-bit mode "I" is read as 16-bit too: that is what 16-bit PNG and TIFF files decode to.
    """
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.clip(np.asarray(image, dtype=np.int64), 0, 65535) >> 8
            return np.repeat(array.astype(np.uint8)[..., None], 3, axis=2)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
        return np.asarray(image.convert("RGB"))


def find_images(directory: str | Path, recursive: bool = True) -> list[Path]:
    """All image files under ``directory``; a missing or empty folder is a one-sentence error."""
    root = Path(directory).expanduser()
    accepted = ", ".join(IMAGE_EXTENSIONS)
    if not root.is_dir():
        raise FileNotFoundError(
            f"image folder '{root}' does not exist (expected a folder of {accepted} files)"
        )
    pattern = "**/*" if recursive else "*"
    files = sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"image folder '{root}' holds no images (accepted formats: {accepted})")
    return files


def try_read_rgb(path: Path) -> np.ndarray | None:
    """:func:`read_rgb`, or ``None`` with a warning when the file cannot be decoded."""
    try:
        return read_rgb(path)
    except DECODE_ERRORS as error:
        log.warning("skipping unreadable image %s (%s)", path, why_unreadable(error))
        return None


def decode_all(files: list[Path], root: Path) -> list[LoadedImage]:
    """Decode every file once; unreadable ones are skipped and counted, never fatal."""
    images = [LoadedImage(str(p.relative_to(root)), a) for p in files if (a := try_read_rgb(p)) is not None]
    if len(images) < len(files):
        log.warning(
            "skipped %d unreadable of %d image files under %s", len(files) - len(images), len(files), root
        )
    if not images:
        raise FileNotFoundError(f"none of the {len(files)} image files under '{root}' could be decoded")
    return images


class SampleImages:
    """The colour photos bundled inside scikit-image (``skimage/data``): the embedded default data."""

    paired = False

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)

    def load(self) -> list[LoadedImage]:
        import skimage.data

        root = Path(skimage.data.__file__).parent
        files = []
        for name in self.names:
            matches = sorted(root.glob(f"{name}.*"))
            if not matches:
                available = sorted(p.stem for p in root.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
                raise FileNotFoundError(
                    f"no bundled scikit-image photo named '{name}'; available: {available}"
                )
            files.append(matches[0])
        return decode_all(files, root)


class ImageFolder:
    """Every image under ``dir`` (recursive by default), in any common format."""

    paired = False

    def __init__(self, dir: str, recursive: bool = True) -> None:
        self.dir = Path(dir).expanduser()
        self.recursive = recursive

    def load(self) -> list[LoadedImage]:
        return decode_all(find_images(self.dir, self.recursive), self.dir)


def decode_pairs(pairs: list[tuple[str, Path, Path]]) -> list[LoadedImage]:
    """Decode each ``(name, low, high)`` in order; pairs that cannot be read or whose sizes differ are
    skipped (they cannot be cropped at one place) and counted."""
    images = []
    for name, low_path, high_path in pairs:
        low, high = try_read_rgb(low_path), try_read_rgb(high_path)
        if low is not None and high is not None and low.shape == high.shape:
            images.append(LoadedImage(name, clean=high, degraded=low))
    if len(images) < len(pairs):
        log.warning(
            "skipped %d of %d pairs: unreadable, or low/high sizes differ",
            len(pairs) - len(images),
            len(pairs),
        )
    return images


def pair_by_suffix(files: list[Path], low: str, high: str) -> list[tuple[str, Path, Path]]:
    """Pairs kept side by side in one folder, told apart by the end of the name: ``<key><low>.<ext>`` (the
    degraded input) with ``<key><high>.<ext>`` (the target), as PolyU's ``<scene>_real.JPG`` and
    ``<scene>_mean.JPG``. Files without a partner are counted and reported."""
    halves: dict[str, dict[str, Path]] = {low: {}, high: {}}
    for path in files:
        for suffix, half in halves.items():
            if path.stem.endswith(suffix):
                half[path.stem.removesuffix(suffix)] = path
    common = sorted(halves[low].keys() & halves[high].keys())
    if unmatched := len(files) - 2 * len(common):
        log.warning("%d files have no partner (names ending %s / %s)", unmatched, low, high)
    return [(key, halves[low][key], halves[high][key]) for key in common]


class PairedFolders:
    """Seed-004 style pairs: ``dir/<low>/x.png`` (degraded input) matched to ``dir/<high>/x.png`` (target).

    Files are matched by their path relative to each folder, without extension; unmatched files are
    counted and reported; pairs whose sizes differ are skipped (they cannot be cropped at one place).
    """

    paired = True

    def __init__(self, dir: str, low: str = "low", high: str = "high") -> None:
        self.dir = Path(dir).expanduser()
        self.low, self.high = low, high

    def load(self) -> list[LoadedImage]:
        low_root, high_root = self.dir / self.low, self.dir / self.high
        lows = {p.relative_to(low_root).with_suffix(""): p for p in find_images(low_root)}
        highs = {p.relative_to(high_root).with_suffix(""): p for p in find_images(high_root)}
        common = sorted(lows.keys() & highs.keys())
        unmatched = len(lows) + len(highs) - 2 * len(common)
        if unmatched:
            log.warning("%d files in %s/%s have no partner of the same name", unmatched, self.low, self.high)
        if not common:
            raise FileNotFoundError(f"no file names in '{low_root}' match any in '{high_root}'")
        pairs = decode_pairs([(str(key), lows[key], highs[key]) for key in common])
        if not pairs:
            raise FileNotFoundError(f"no usable low/high pairs under '{self.dir}'")
        return pairs
