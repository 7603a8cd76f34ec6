"""``python -m denoise_lab.predict ckpt_path=... input=<file|dir> output=<dir>``: denoise the user's photos.

Any size with bounded memory (tiles, :mod:`denoise_lab.tiling`), optionally with the x8 self-ensemble.
Photos keep their file names (and sub-folders), format, channels and bit depth (:mod:`denoise_lab.photos`).
Unreadable files are skipped with a warning and counted, never fatal; folders show a progress bar.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig
from rich.progress import track

from denoise_lab.checkpoints import load_checkpoint
from denoise_lab.config import CONFIG_DIR, ConfigError, check_tile
from denoise_lab.data.sources import find_images
from denoise_lab.photos import read_photo, write_photo
from denoise_lab.tiling import device_of, restorer

log = logging.getLogger(__name__)


def inputs(source: Path, recursive: bool) -> tuple[list[Path], Path]:
    """The image files to restore and the folder their output paths are relative to."""
    if source.is_file():
        return [source], source.parent
    if not source.is_dir():
        raise ConfigError(f"input '{source}' is neither an image file nor a folder")
    return find_images(source, recursive), source


def predict(cfg: DictConfig) -> dict[str, int]:
    """Restore every photo of ``cfg.input`` into ``cfg.output``; return the counts written and skipped."""
    check_tile(cfg.tile)
    files, root = inputs(Path(cfg.input).expanduser(), cfg.recursive)
    output = Path(cfg.output).expanduser()
    if output.resolve() == root.resolve():
        raise ConfigError(
            f"output '{output}' is the input folder: restored photos keep their names, give another folder"
        )
    model, _ = load_checkpoint(cfg.ckpt_path)
    device = device_of(cfg.device)
    restore = restorer(model, device, cfg.tile.size, cfg.tile.overlap, cfg.tile.align, cfg.self_ensemble)
    start, written, skipped = time.perf_counter(), 0, 0
    for path in track(files, description="denoising", disable=len(files) == 1):
        try:
            photo = read_photo(path)
        except (OSError, ValueError) as error:  # Pillow's and tifffile's ways of saying "not an image"
            log.warning("skipping unreadable image %s (%s)", path, error)
            skipped += 1
            continue
        write_photo(output / path.relative_to(root), photo, restore(photo.rgb), cfg.jpeg_quality)
        written += 1
    log.info(
        "restored %d of %d images into %s in %.1f s; skipped %d unreadable",
        written,
        len(files),
        output,
        time.perf_counter() - start,
        skipped,
    )
    return {"written": written, "skipped": skipped}


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="predict")
def main(cfg: DictConfig) -> None:
    """Hydra entry: one-line messages for errors a user can cause."""
    try:
        predict(cfg)
    except (ConfigError, FileNotFoundError) as error:
        log.error("config error: %s", error)
        sys.exit(f"config error: {error}")


if __name__ == "__main__":
    main()
