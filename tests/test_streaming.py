"""Large photos stream through libvips (the ``large`` extra): same pixels as Pillow's path, metadata kept,
rows read once and only one strip of them held, nothing left behind when a photo fails half-way."""

from __future__ import annotations

import threading
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from omegaconf import OmegaConf
from PIL import Image, ImageCms

from denoise_lab.data.sources import limit_megapixels
from denoise_lab.inference import streaming
from denoise_lab.inference.photos import read_photo, write_photo
from denoise_lab.inference.restore_files import restore_in_place
from tests.conftest import write_image

pytest.importorskip("pyvips")
TILE = OmegaConf.create({"size": 64, "overlap": 16, "align": 16})


def network(batch: torch.Tensor) -> torch.Tensor:
    """A stand-in denoiser that mixes neighbours and channels, so tiles, blending and rounding all show."""
    blurred = torch.nn.functional.avg_pool2d(batch, 3, stride=1, padding=1, count_include_pad=False)
    return 0.6 * blurred + 0.4 * batch.mean(1, keepdim=True)


def through_pillow(source: Path, target: Path) -> None:
    photo = read_photo(source)
    restore_in_place(network, photo, TILE)
    write_photo(target, photo)


def through_vips(source: Path, target: Path) -> None:
    image = streaming.open_streamable(source)
    assert image is not None, f"{source.name} should stream"
    streaming.restore_streaming(network, image, target, TILE, jpeg_quality=95)


@pytest.mark.parametrize(
    ("mode", "name"), [("RGB", "rgb.png"), ("L", "gray.png"), ("RGBA", "alpha.png"), ("I;16", "deep.png")]
)
def test_a_streamed_photo_has_the_pixels_of_pillows_path(tmp_path, mode, name):
    source = write_image(tmp_path / name, height=150, width=130, mode=mode)
    through_vips(source, tmp_path / "vips" / name)
    through_pillow(source, tmp_path / "pillow" / name)
    streamed, whole = (Image.open(tmp_path / path / name) for path in ("vips", "pillow"))
    assert streamed.mode == whole.mode == Image.open(source).mode
    assert np.array_equal(np.asarray(streamed), np.asarray(whole))
    assert not np.array_equal(np.asarray(streamed), np.asarray(Image.open(source)))  # it was restored


def test_sixteen_bit_colour_tiff_and_metadata_stream_too(tmp_path):
    values = np.random.default_rng(0).integers(0, 65536, (90, 70, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "deep.tif", values, photometric="rgb")
    through_vips(tmp_path / "deep.tif", tmp_path / "vips.tif")
    through_pillow(tmp_path / "deep.tif", tmp_path / "pillow.tif")
    assert np.array_equal(tifffile.imread(tmp_path / "vips.tif"), tifffile.imread(tmp_path / "pillow.tif"))

    rgb = Image.open(write_image(tmp_path / "rgb.png", 90, 70))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated 90° clockwise
    exif[0x010F] = "denoise_lab camera"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgb.save(tmp_path / "tagged.jpg", exif=exif, icc_profile=profile, dpi=(300, 300))
    through_vips(tmp_path / "tagged.jpg", tmp_path / "out.jpg")
    out = Image.open(tmp_path / "out.jpg")
    assert out.format == "JPEG" and out.size == (70, 90)
    assert out.info["icc_profile"] == profile
    assert out.getexif()[0x0112] == 6 and out.getexif()[0x010F] == "denoise_lab camera"
    assert tuple(round(v) for v in out.info["dpi"]) == (300, 300)


def test_only_what_keeps_its_form_streams_and_the_pixel_limit_holds(tmp_path):
    rgb = Image.open(write_image(tmp_path / "rgb.png", 64, 64))
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgb.quantize(16).save(tmp_path / "palette.png")
    rgb.save(tmp_path / "photo.gif")
    frames = [rgb.rotate(90 * k) for k in range(3)]
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:])
    (tmp_path / "text.jpg").write_text("not an image")
    for name in ("cmyk.jpg", "palette.png", "photo.gif", "pages.tif", "text.jpg"):
        assert streaming.open_streamable(tmp_path / name) is None, name  # Pillow's path handles them
    try:
        limit_megapixels(64 * 64 / 1e6 / 2)  # half this photo's pixels
        with pytest.raises(Image.DecompressionBombError, match="exceeds limit"):
            streaming.open_streamable(tmp_path / "rgb.png")
    finally:
        limit_megapixels(179)


def test_rows_are_read_once_in_order_and_one_strip_is_held(tmp_path, monkeypatch):
    """Memory does not grow with the photo: the window of rows held never exceeds one strip of tiles (plus
    the rows read ahead for it), and each row is read from the file exactly once, top to bottom."""
    source = write_image(tmp_path / "tall.png", height=1000, width=80)
    reads, held = [], []
    rows = streaming.RowWindow.rows

    def watched(window, top, bottom):
        before = window.first + len(window.kept)
        result = rows(window, top, bottom)
        if bottom > before:
            reads.append((before, bottom))
        held.append(len(window.kept))
        return result

    monkeypatch.setattr(streaming.RowWindow, "rows", watched)
    through_vips(source, tmp_path / "out.png")
    assert reads[0][0] == 0 and reads[-1][1] == 1000
    assert all(stop == start for (_, stop), (start, _) in pairwise(reads))
    assert max(held) <= TILE.size + TILE.align  # the last strip may run up to align - 1 rows longer
    through_pillow(source, tmp_path / "pillow.png")
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "out.png")), np.asarray(Image.open(tmp_path / "pillow.png"))
    )


def test_a_photo_truncated_half_way_fails_as_unreadable_and_leaves_no_file(tmp_path):
    source = write_image(tmp_path / "rgb.png", 400, 300)
    Image.open(source).save(tmp_path / "photo.jpg", quality=95)
    data = (tmp_path / "photo.jpg").read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    with pytest.raises(OSError, match="unreadable part-way"):
        through_vips(tmp_path / "half.jpg", out / "half.jpg")
    assert list(out.iterdir()) == []  # no partial file, no temporary one


def test_a_network_that_fails_half_way_raises_its_error_and_leaves_no_file(tmp_path):
    source = write_image(tmp_path / "rgb.png", 400, 300)
    calls = []

    def failing(batch: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("out of memory in tile 5")
        return batch

    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="tile 5"):
        streaming.restore_streaming(failing, streaming.open_streamable(source), out / "rgb.png", TILE, 95)
    assert list(out.iterdir()) == []


def test_a_sixteen_bit_colour_png_keeps_its_sixteen_bits(tmp_path):
    """Pillow reads 16-bit colour PNGs as 8-bit; streamed, they stay 16-bit."""
    import pyvips

    values = np.random.default_rng(0).integers(0, 65536, (100, 80, 3), dtype=np.uint16)
    pyvips.Image.new_from_array(values, interpretation="rgb16").write_to_file(str(tmp_path / "deep.png"))
    image = streaming.open_streamable(tmp_path / "deep.png")
    streaming.restore_streaming(lambda batch: batch, image, tmp_path / "out.png", TILE, 95)
    restored = pyvips.Image.new_from_file(str(tmp_path / "out.png"))
    assert restored.format == "ushort" and np.array_equal(restored.numpy(), values)


def test_an_encoder_that_fails_stops_the_restoring_and_leaves_no_file(tmp_path, monkeypatch):
    def failing(pipe, image, path, options, errors):
        errors.append(OSError("no space left on device"))

    monkeypatch.setattr(streaming, "encode", failing)
    calls = []

    def counting(batch: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return batch

    source = write_image(tmp_path / "rgb.png", 400, 300)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="no space left"):
        streaming.restore_streaming(counting, streaming.open_streamable(source), out / "rgb.png", TILE, 95)
    assert calls == [] and list(out.iterdir()) == []  # no tile restored in vain, no file left


def test_an_encoder_done_before_the_pngs_last_bytes_still_writes_the_photo(tmp_path, monkeypatch):
    """libvips finishes once it has every row, without waiting for the PNG's last bytes: the restored photo
    was then thrown away with no error whenever the encoder thread won that race (seen on a loaded machine).
    Here the last piece waits until the encoder has ended. The encoder thread is caught when it is made,
    not looked up among the live threads: under load it may already have ended by then."""
    complete_stream, finished, encoders = streaming.png_stream, [], []

    class RecordedThread(threading.Thread):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            encoders.append(self)

    def late_ending(*args):
        *pieces, last = complete_stream(*args)
        yield from pieces
        (encoder,) = (t for t in encoders if t.name == "libvips-encoder")
        encoder.join(timeout=10)
        finished.append(not encoder.is_alive())
        yield last

    monkeypatch.setattr(streaming, "png_stream", late_ending)
    monkeypatch.setattr(streaming.threading, "Thread", RecordedThread)
    source = write_image(tmp_path / "rgb.png", 150, 130)
    through_vips(source, tmp_path / "vips.png")
    through_pillow(source, tmp_path / "pillow.png")
    assert finished == [True]
    streamed, whole = (np.asarray(Image.open(tmp_path / name)) for name in ("vips.png", "pillow.png"))
    assert np.array_equal(streamed, whole)
