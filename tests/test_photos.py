"""Photos are read at full precision and written back as they came: channels, depth, format, metadata."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from denoise_lab.inference.photos import read_photo, write_photo
from tests.conftest import write_image


def round_trip(source, target):
    """Read ``source``, write its image unchanged to ``target``, return both as arrays (and the photo)."""
    photo = read_photo(source)
    write_photo(target, photo)
    return photo


@pytest.mark.parametrize(
    ("mode", "name"), [("RGB", "rgb.png"), ("L", "gray.png"), ("RGBA", "alpha.png"), ("I;16", "deep.png")]
)
def test_lossless_formats_come_back_identical(tmp_path, mode, name):
    source = write_image(tmp_path / "in" / name, mode=mode)
    photo = round_trip(source, tmp_path / "out" / name)
    assert photo.rgb.shape == (1, 3, 40, 56) and photo.rgb.dtype == torch.float32
    before, after = Image.open(source), Image.open(tmp_path / "out" / name)
    assert after.mode == before.mode and after.format == "PNG"
    assert np.array_equal(np.asarray(after), np.asarray(before))


def test_sixteen_bit_grayscale_keeps_all_sixteen_bits(tmp_path):
    values = (np.arange(40 * 56).reshape(40, 56) * 29 + 1).astype(np.uint16)  # odd low bytes
    Image.fromarray(values).save(tmp_path / "deep.tif")
    photo = read_photo(tmp_path / "deep.tif")
    assert photo.bits == 16 and photo.gray
    assert torch.allclose(photo.rgb[0, 0], torch.from_numpy(values.astype(np.float32) / 65535))


@pytest.mark.parametrize("channels", [3, 4])
def test_sixteen_bit_colour_tiff_keeps_its_depth_and_alpha(tmp_path, channels):
    values = np.random.default_rng(0).integers(0, 65536, (30, 20, channels), dtype=np.uint16)
    extra = {"extrasamples": ["unassalpha"]} if channels == 4 else {}
    tifffile.imwrite(tmp_path / "in.tiff", values, photometric="rgb", **extra)
    round_trip(tmp_path / "in.tiff", tmp_path / "out.tiff")
    assert np.array_equal(tifffile.imread(tmp_path / "out.tiff"), values)


def test_jpeg_stays_jpeg_with_its_metadata(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "denoise_lab camera"  # Make
    rgb = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "in.jpg", exif=exif, icc_profile=b"fake icc profile")
    round_trip(tmp_path / "in.jpg", tmp_path / "out.jpg")
    out = Image.open(tmp_path / "out.jpg")
    assert out.format == "JPEG" and out.mode == "RGB" and out.size == (48, 32)
    assert out.getexif()[0x010F] == "denoise_lab camera" and out.info["icc_profile"] == b"fake icc profile"


def test_grayscale_output_is_the_mean_of_the_restored_channels(tmp_path):
    photo = read_photo(write_image(tmp_path / "g.png", mode="L"))
    restored = torch.stack([torch.zeros(40, 56), torch.full((40, 56), 0.5), torch.ones(40, 56)])[None]
    photo.pixels[:] = photo.samples.from_network(restored)
    write_photo(tmp_path / "out.png", photo)
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.dtype == np.uint8 and (out == 128).all()
