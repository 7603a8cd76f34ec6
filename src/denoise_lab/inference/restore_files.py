"""Restore a photo or a folder of photos into an output folder: the work behind ``python -m denoise_lab.predict``
(:mod:`denoise_lab.predict` parses the command line and imports this module only when there is work, so that
``--help`` answers without loading torch).

Any size, tile by tile (:mod:`denoise_lab.inference.tiling`), averaging flips and rotations (self-ensemble): with the
``large`` extra (libvips) a JPEG, PNG, TIFF or WebP photo streams from file to file a strip of tiles at a time
(:mod:`denoise_lab.inference.streaming`, memory independent of its size); any other photo is decoded whole
by Pillow and restored in place in its own 8- or 16-bit array.
Photos keep their file names (and sub-folders), format, channels and bit depth (:mod:`denoise_lab.inference.photos`).
Unreadable files are skipped with a warning and counted, never fatal; folders show a progress bar.
Nothing is overwritten: an output file that already exists is refused, named and counted (the exit status
is then 1) unless ``overwrite=true``, and an output folder inside the input folder is left out of the walk.
"""

from __future__ import annotations

import errno
import logging
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import DictConfig
from rich.progress import MofNCompleteColumn, Progress
from torch import Tensor

from denoise_lab.config import (
    ConfigError,
    WriteFailed,
    check_inference,
    check_predict,
    check_tile,
)
from denoise_lab.data.sources import DECODE_ERRORS, find_images, limit_megapixels, why_unreadable
from denoise_lab.files import DISK_ERRNOS, leftover_partials
from denoise_lab.inference.checkpoints import load_checkpoint
from denoise_lab.inference.photos import Photo, read_photo, write_photo
from denoise_lab.inference.streaming import open_streamable, restore_streaming
from denoise_lab.inference.tiling import Network, device_network, device_of, tile_spans, tiled

log = logging.getLogger(__name__)


def inputs(source: Path, recursive: bool, output: Path) -> tuple[list[Path], Path]:
    """The image files to restore and the folder their output paths are relative to. Files inside
    ``output`` are left out when it lies inside the input folder: predict never reads its own outputs."""
    if source.is_file():
        return [source], source.parent
    if not source.is_dir():
        raise ConfigError(f"input '{source}' is neither an image file nor a folder")
    outside = output.resolve()
    files = [f for f in find_images(source, recursive) if outside not in f.resolve().parents]
    if not files:
        raise ConfigError(f"input '{source}' holds no images outside the output folder '{output}'")
    return files, source


# OS errors that mean the output cannot be written, whatever the input: a full disk or quota, a read-only
# filesystem, a file where a folder should be (EEXIST, ENOTDIR), no permission.
WRITE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EEXIST,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
}


def writing_failed(error: BaseException, output: Path) -> bool:
    """Whether ``error`` came from writing under ``output`` rather than from reading an input: an OS error
    of a kind only writing raises, or one naming a path in the output folder."""
    if not isinstance(error, OSError) or isinstance(error, FileNotFoundError):
        return False
    if error.errno in DISK_ERRNOS:
        return True
    named = error.filename and Path(error.filename).resolve()
    out = output.resolve()
    return bool(named) and error.errno in WRITE_ERRNOS and (named == out or out in named.parents)


def writable(output: Path) -> None:
    """Fail before any work when nothing can be written into ``output``; name the partial files that killed
    writes of an earlier run left there (:func:`denoise_lab.files.leftover_partials`)."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output):
            pass
    except OSError as error:
        raise WriteFailed(f"cannot write into output '{output}' ({error.strerror or error})") from error
    leftovers = leftover_partials(output)
    if leftovers:
        log.warning(
            "%d unfinished file(s) of an interrupted earlier run are in '%s' (%s%s): not photos; delete them",
            len(leftovers),
            output,
            leftovers[0].name,
            ", ..." if len(leftovers) > 1 else "",
        )


def restore_in_place(network: Network, photo: Photo, tile: DictConfig) -> None:
    """Restore ``photo``'s pixels tile by tile, writing them back into its 8- or 16-bit array (memory: the
    photo once, plus one band of tiles in float32, see :func:`denoise_lab.inference.tiling.tiled`)."""
    pixels = photo.pixels
    with torch.inference_mode():
        tiled(
            network,
            pixels,
            tile.size,
            tile.overlap,
            tile.align,
            pixels,
            photo.samples.to_network,
            photo.samples.from_network,
        )


# A photo of more tiles than this gets a progress bar of its own (a 2400² photo ran 81 s without a word).
TILES_SHOWN = 4


def counting_tiles(
    network: Network, progress: Progress, name: str, height: int, width: int, tile: DictConfig
) -> Network:
    """``network``, advancing a progress bar of ``name``'s tiles (when it has more than :data:`TILES_SHOWN`)
    once per tile it restores."""
    tiles = len(tile_spans(height, tile.size, tile.overlap, tile.align)) * len(
        tile_spans(width, tile.size, tile.overlap, tile.align)
    )
    if tiles <= TILES_SHOWN:
        return network
    task = progress.add_task(f"  {name}: tiles", total=tiles)

    def counted(batch: Tensor) -> Tensor:
        restored = network(batch)
        progress.advance(task)
        if progress.tasks[task].finished:
            progress.remove_task(task)
        return restored

    return counted


def restore_file(network: Network, path: Path, target: Path, cfg: DictConfig, progress: Progress) -> None:
    """Restore one photo into ``target``: streamed through libvips where it can be (bounded memory at any
    size, :mod:`denoise_lab.inference.streaming`), else decoded whole by Pillow and restored in place."""
    if (image := open_streamable(path)) is not None:
        network = counting_tiles(network, progress, path.name, image.height, image.width, cfg.tile)
        restore_streaming(network, image, target, cfg.tile, cfg.jpeg_quality)
        return
    photo = read_photo(path)
    network = counting_tiles(network, progress, path.name, *photo.array.shape[:2], cfg.tile)
    restore_in_place(network, photo, cfg.tile)
    write_photo(target, photo, cfg.jpeg_quality)


def restore_files(cfg: DictConfig) -> dict[str, int]:
    """Restore every photo of ``cfg.input`` into ``cfg.output``; return the counts written, skipped
    (unreadable) and refused (an output file already there, kept unless ``overwrite=true``)."""
    check_predict(cfg)
    check_tile(cfg.tile)
    check_inference(cfg)
    limit_megapixels(cfg.max_megapixels)
    source, output = Path(cfg.input).expanduser(), Path(cfg.output).expanduser()
    if output.resolve() == (source if source.is_dir() else source.parent).resolve():
        raise ConfigError(
            f"output '{output}' is the input folder: restored photos keep their names, give another folder"
        )
    files, root = inputs(source, cfg.recursive, output)
    model, _ = load_checkpoint(cfg.ckpt_path)  # first: a bad checkpoint leaves no empty output folder behind
    writable(output)
    network = device_network(model, device_of(cfg.device), cfg.self_ensemble, str(cfg.precision))
    start, counts = time.perf_counter(), {"written": 0, "skipped": 0, "refused": 0}
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), transient=True) as progress:
        photos = progress.add_task("denoising", total=len(files), visible=len(files) > 1)
        for path in progress.track(files, task_id=photos):
            target = output / path.relative_to(root)
            if target.exists() and not cfg.overwrite:
                log.warning("refusing to overwrite %s, which exists (overwrite=true replaces it)", target)
                counts["refused"] += 1
                continue
            try:
                restore_file(network, path, target, cfg, progress)
            except DECODE_ERRORS as error:
                if writing_failed(error, output):
                    raise WriteFailed(
                        f"could not write '{target}' ({error.strerror or error}); stopped after "
                        f"{counts['written']} of {len(files)} photos, each written whole"
                    ) from error
                log.warning("skipping unreadable image %s (%s)", path, why_unreadable(error))
                counts["skipped"] += 1
                continue
            counts["written"] += 1
    log.info(
        "restored %d of %d images into %s with %s in %.1f s; skipped %d unreadable; refused %d existing",
        counts["written"],
        len(files),
        output,
        cfg.ckpt_path,  # which model restored them: predict's default or the one named
        time.perf_counter() - start,
        counts["skipped"],
        counts["refused"],
    )
    return counts
