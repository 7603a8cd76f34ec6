"""``denoise_lab.denoise``: numpy, PIL and torch in, the same kind out, restored as predict restores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import denoise_lab
from denoise_lab.config import ConfigError


@pytest.fixture(scope="module")
def noisy_and_clean() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    clean = data.coffee()[100:228, 200:328].astype(np.float64)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 20, clean.shape), 0, 255).round()
    return noisy.astype(np.uint8), clean


def psnr(image: np.ndarray, clean: np.ndarray) -> float:
    return 10 * np.log10(255**2 / np.mean((image.astype(np.float64) - clean) ** 2))


def test_a_uint8_rgb_array_comes_back_uint8_and_restored(noisy_and_clean):
    noisy, clean = noisy_and_clean
    out = denoise_lab.denoise(noisy, model="gaussian", self_ensemble=1)
    assert out.dtype == np.uint8 and out.shape == noisy.shape
    assert psnr(out, clean) > psnr(noisy, clean) + 5


def test_gray_16_bit_and_float_arrays_keep_their_kind(noisy_and_clean):
    noisy, _ = noisy_and_clean
    gray = noisy.mean(axis=2).astype(np.uint8)
    out = denoise_lab.denoise(gray, model="gaussian", self_ensemble=1)
    assert out.shape == gray.shape and out.dtype == np.uint8
    deep = noisy.astype(np.uint16) * 257
    out16 = denoise_lab.denoise(deep, model="gaussian", self_ensemble=1)
    assert out16.dtype == np.uint16 and out16.max() > 255
    floats = noisy.astype(np.float32) / 255
    out_float = denoise_lab.denoise(floats, model="gaussian", self_ensemble=1)
    assert out_float.dtype == np.float32 and out_float.min() >= 0 and out_float.max() <= 1
    np.testing.assert_allclose(
        out_float * 255, denoise_lab.denoise(noisy, model="gaussian", self_ensemble=1), atol=1
    )


def test_pil_images_and_tensors_come_back_as_such(noisy_and_clean):
    noisy, _ = noisy_and_clean
    out = denoise_lab.denoise(Image.fromarray(noisy), model="gaussian", self_ensemble=1)
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (128, 128)
    tensor = torch.from_numpy(noisy).permute(2, 0, 1).float() / 255
    restored = denoise_lab.denoise(tensor, model="gaussian", self_ensemble=1)
    assert restored.shape == tensor.shape and restored.min() >= 0 and restored.max() <= 1
    batch = denoise_lab.denoise(tensor[None].repeat(2, 1, 1, 1), model="gaussian", self_ensemble=1)
    torch.testing.assert_close(batch[0], restored, atol=1e-4, rtol=0)


def test_the_default_is_predicts_model_and_bad_input_is_one_line():
    from denoise_lab.api import PREDICT_DEFAULTS, checkpoint_of

    assert checkpoint_of(None) == PREDICT_DEFAULTS.ckpt_path
    with pytest.raises(ConfigError, match="NaN"):
        denoise_lab.denoise(np.full((8, 8, 3), np.nan, dtype=np.float32), model="gaussian")
    with pytest.raises(ConfigError, match=r"\(H, W, 3\)"):
        denoise_lab.denoise(np.zeros((8, 8, 4), dtype=np.uint8), model="gaussian")
    with pytest.raises(TypeError, match="numpy array, a PIL image or a torch tensor"):
        denoise_lab.denoise([[0, 1]], model="gaussian")
