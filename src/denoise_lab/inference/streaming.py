"""Restore a photo of any size in bounded memory by streaming it through libvips (the ``large`` extra).

Pillow decodes and encodes whole images, so a 108-megapixel photo costs its size in memory several times
over (:mod:`denoise_lab.inference.photos`). libvips reads and writes rows: here the photo is read from the
top down, each row once (sequential access), restored a strip of tiles at a time
(:func:`denoise_lab.inference.tiling.restored_bands`), and its finished rows flow into libvips's encoder
as they come. Memory holds the rows of one strip of tiles, whatever the photo's height.

The encoder is fed a PNG stream that is built here on the fly: stored (uncompressed) deflate blocks and
no row filters. PNG is only the lossless container libvips can read from a stream for 8- or 16-bit gray or
RGB, with or without alpha. The target is written in the input's format (by its suffix) with the input's
ICC profile, EXIF, XMP, IPTC and resolution; alpha passes through untouched, gray stays gray, 16-bit stays
16-bit, as on Pillow's path. It is written under a temporary name beside the target and renamed when
complete, so a photo that fails half-way (a truncated file) leaves nothing behind.

What streams: single-page JPEG, PNG, TIFF and WebP photos with 8- or 16-bit gray or RGB samples (alpha or
not). The rest (CMYK, palettes, other formats, or no pyvips installed) goes through Pillow.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from denoise_lab.files import written_in_place
from denoise_lab.inference.photos import Samples
from denoise_lab.inference.tiling import Network, restored_bands

try:
    import pyvips
except (ImportError, OSError):  # not installed, or its libvips is missing: Pillow's path only
    pyvips = None
logging.getLogger("pyvips").setLevel(logging.WARNING)  # libvips's progress notes are not the user's business

# Rows per libvips fetch: its buffers grow with the request (320 rows of a 12000-pixel-wide JPEG held 234 MB,
# 16 rows 104 MB), so a strip is fetched in small pieces.
FETCH_ROWS = 16
LOADERS = ("jpegload", "pngload", "tiffload", "webpload")
DEPTHS = {"uchar": (8, np.uint8), "ushort": (16, np.uint16)}
GRAY, COLOUR = ("b-w", "grey16"), ("srgb", "rgb16")
METADATA = ("icc-profile-data", "exif-data", "xmp-data", "iptc-data")
# libvips's savers as Pillow's path writes: lossy formats at ``jpeg_quality``, PNG with adaptive row
# filters (libvips's default, none, makes files ~1.7x larger), TIFF uncompressed.
SAVE_OPTIONS = {"pngload": {"filter": "all"}, "tiffload": {}}
PNG_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> gray, gray + alpha, RGB, RGBA


def open_streamable(path: Path) -> pyvips.Image | None:
    """``path`` opened for sequential reading when it can stream (see the module docstring), else
    ``None``. A photo over Pillow's pixel limit (the ``max_megapixels`` setting) raises Pillow's error, as
    Pillow's path would."""
    if pyvips is None:
        return None
    try:
        image = pyvips.Image.new_from_file(str(path), access="sequential", fail_on="error")
    except pyvips.Error:
        return None  # not a format libvips reads: Pillow's path says what is wrong with it
    fields = image.get_fields()
    if (
        image.get("vips-loader") not in LOADERS
        or image.format not in DEPTHS
        or image.interpretation not in (GRAY if image.bands <= 2 else COLOUR)
        or image.bands > 4
        or ("n-pages" in fields and image.get("n-pages") > 1)
        or "palette" in fields  # a palette PNG: Pillow's path writes a palette back
    ):
        return None
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and image.width * image.height > 2 * limit:
        raise Image.DecompressionBombError(
            f"Image size ({image.width * image.height} pixels) exceeds limit of {2 * limit} pixels, "
            "could be decompression bomb DOS attack."
        )
    return image


class RowWindow:
    """The photo's rows, read once each from the top down; only the rows still needed are kept."""

    def __init__(self, image: pyvips.Image) -> None:
        self.image = image
        self.region = pyvips.Region.new(image)  # one region fetched top-down: what sequential access allows
        self.dtype = DEPTHS[image.format][1]
        self.first = 0  # the image row that kept[0] holds
        self.kept = np.empty((0, image.width, image.bands), self.dtype)

    def rows(self, top: int, bottom: int) -> np.ndarray:
        """Rows ``[top, bottom)`` as (rows, W, bands); ``top`` must not lie above a dropped row."""
        read_to = self.first + len(self.kept)
        if bottom > read_to:
            strip = np.empty((bottom - read_to, self.image.width, self.image.bands), self.dtype)
            for start in range(0, len(strip), FETCH_ROWS):
                rows = strip[start : start + FETCH_ROWS]
                fetched = self.region.fetch(0, read_to + start, self.image.width, len(rows))
                rows[:] = np.frombuffer(fetched, self.dtype).reshape(rows.shape)
            self.kept = np.concatenate([self.kept, strip])
        return self.kept[top - self.first : bottom - self.first]

    def drop_before(self, row: int) -> None:
        self.kept = self.kept[row - self.first :]
        self.first = row


def restored_rows(network: Network, image: pyvips.Image, tile: Any) -> Iterator[np.ndarray]:
    """The restored photo as consecutive bands of integer rows (rows, W, bands), alpha passed through."""
    window = RowWindow(image)
    colours = 1 if image.bands <= 2 else 3
    samples = Samples(DEPTHS[image.format][0], gray=colours == 1)

    def read(top: int, bottom: int) -> Tensor:
        return torch.from_numpy(window.rows(top, bottom)[..., :colours]).permute(2, 0, 1)[None]

    def restore(batch: Tensor) -> Tensor:
        with torch.inference_mode():
            return network(batch)

    strips = restored_bands(
        restore, read, image.height, image.width, tile.size, tile.overlap, tile.align, samples.to_network
    )
    for top, band in strips:
        rows = samples.from_network(band)[0].permute(1, 2, 0).numpy()
        if image.bands > colours:  # alpha, untouched
            rows = np.concatenate([rows, window.rows(top, top + len(rows))[..., colours:]], axis=-1)
        window.drop_before(top + len(rows))
        yield rows


def _chunk(kind: bytes, data: bytes | np.ndarray) -> Iterator[bytes | np.ndarray]:
    """One PNG chunk in three pieces, so that a band's data is never copied to frame it."""
    yield struct.pack(">I", len(memoryview(data).cast("B"))) + kind
    yield data
    yield struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png_stream(
    width: int, height: int, bands: int, bits: int, rows: Iterator[np.ndarray]
) -> Iterator[bytes | np.ndarray]:
    """A PNG file's bytes, produced as ``rows`` (bands of (rows, W, bands) integers) come."""
    yield b"\x89PNG\r\n\x1a\n"
    yield from _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, PNG_COLOUR_TYPE[bands], 0, 0, 0))
    deflate = zlib.compressobj(level=0)  # stored blocks: a container, not compression
    for band in rows:
        samples = band.astype(">u2", copy=False) if bits == 16 else band  # PNG is big-endian
        lines = samples.reshape(len(band), -1).view(np.uint8)
        filtered = np.concatenate([np.zeros((len(band), 1), np.uint8), lines], axis=1)  # filter "none"
        yield from _chunk(b"IDAT", deflate.compress(filtered))
    yield from _chunk(b"IDAT", deflate.flush())
    yield from _chunk(b"IEND", b"")


class Pipe:
    """The PNG's pieces, from the thread that restores the photo to the thread where libvips encodes it:
    a bounded queue, so at most a few bands wait between them. The network runs in the caller's thread:
    run from libvips's worker threads, its large activations went to new malloc arenas that kept them,
    and the process peaked 250 MB higher on a 12-megapixel photo."""

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes | np.ndarray | None] = queue.Queue(maxsize=4)
        self.pending, self.ended = memoryview(b""), False

    def put(self, piece: bytes | np.ndarray | None, encoder: threading.Thread) -> bool:
        """Queue ``piece`` (``None`` ends the stream), waiting while the queue is full; ``False`` when the
        encoder has stopped (it failed: nothing more is worth restoring)."""
        while encoder.is_alive():
            try:
                self.queue.put(piece, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(self, size: int) -> bytes:
        """libvips's read: at most ``size`` bytes (fewer is fine, as for a file), none at the end."""
        while not self.pending and not self.ended:
            piece = self.queue.get()
            self.ended = piece is None
            self.pending = memoryview(b"" if piece is None else piece).cast("B")
        data, self.pending = self.pending[:size], self.pending[size:]
        return bytes(data)


def encode(
    pipe: Pipe, image: pyvips.Image, path: str, options: dict[str, Any], errors: list[Exception]
) -> None:
    """Read the PNG from ``pipe`` and write it to ``path`` with ``image``'s metadata (in its own thread:
    libvips pulls the bytes as it encodes)."""
    try:
        source = pyvips.SourceCustom()
        source.on_read(pipe.read)
        restored = pyvips.Image.new_from_source(source, "", access="sequential", fail_on="truncated")
        restored = restored.copy(xres=image.xres, yres=image.yres)
        for name in METADATA:
            if name in image.get_fields():
                restored.set_type(image.get_typeof(name), name, image.get(name))
        restored.write_to_file(path, **options)
    except Exception as error:  # raised again by the caller, in its own thread
        errors.append(error)


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def restore_streaming(
    network: Network, image: pyvips.Image, target: Path, tile: Any, jpeg_quality: int
) -> None:
    """Restore ``image`` (from :func:`open_streamable`) into ``target``, row band by row band.
    Raises ``OSError`` when the input turns out unreadable half-way; ``target`` is then not written."""
    with written_in_place(target) as partial:
        pipe, errors = Pipe(), []
        options = SAVE_OPTIONS.get(image.get("vips-loader"), {"Q": jpeg_quality})
        encoder = threading.Thread(
            target=encode,
            args=(pipe, image, str(partial), options, errors),
            name="libvips-encoder",
            daemon=True,
        )
        encoder.start()
        rows = restored_rows(network, image, tile)
        try:
            for piece in png_stream(image.width, image.height, image.bands, DEPTHS[image.format][0], rows):
                # The encoder stops early when it fails (``errors`` says why), and may stop before the PNG's
                # last chunk once it has every row: neither needs more pieces.
                if not pipe.put(piece, encoder):
                    break
        except pyvips.Error as error:  # the input, decoded as it streams
            errors.insert(0, OSError(f"unreadable part-way: {first_line(error)}"))
        finally:  # also on Ctrl-C: the encoder is ended (written_in_place removes its partial file)
            pipe.put(None, encoder)
            encoder.join()
        if errors:
            raise OSError(first_line(errors[0])) from None
