"""Image-quality measures against scikit-image on real photo pairs, and the no-reference formulas."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from skimage.filters import gaussian
from skimage.measure import shannon_entropy
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from denoise_lab.evaluation.metrics import mse_255, psnr, ssim
from denoise_lab.evaluation.no_reference import colourfulness, entropy, laplacian_variance, rms_contrast


def as_batch(*images: np.ndarray) -> torch.Tensor:
    """(H, W, 3) arrays in [0, 1] -> (N, 3, H, W) float32."""
    return torch.stack([torch.from_numpy(np.asarray(a, dtype=np.float32)).permute(2, 0, 1) for a in images])


def photo_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """(clean, distorted) pairs from bundled photos: noise, blur and a colour shift, at two sizes."""
    rng = np.random.default_rng(0)
    pairs = []
    for name, size in (("astronaut", 256), ("coffee", 128), ("chelsea", 200)):
        clean = (getattr(skimage.data, name)()[:size, :size] / 255.0).astype(np.float32)
        noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1)
        blurred = gaussian(clean, sigma=1.2, channel_axis=-1)
        tinted = np.clip(clean * np.array([1.1, 0.95, 0.9]), 0, 1)
        pairs += [(clean, noisy.astype(np.float32)), (clean, blurred.astype(np.float32)), (clean, tinted)]
    return pairs


PAIRS = photo_pairs()


@pytest.mark.parametrize("k", range(len(PAIRS)))
def test_psnr_and_ssim_match_scikit_image_on_photo_pairs(k):
    clean, distorted = PAIRS[k]
    ours_psnr = psnr(as_batch(distorted), as_batch(clean)).item()
    assert ours_psnr == pytest.approx(peak_signal_noise_ratio(clean, distorted, data_range=1.0), abs=1e-4)
    # Convention: scikit-image's gaussian_weights=True, sigma=1.5, use_sample_covariance=False is Wang et
    # al.'s SSIM (torchmetrics computes exactly that), and both average the map over the windows inside the
    # image. torchmetrics on its own averages over its reflect-padded border as well, which is up to ~2e-3
    # off on these pairs; metrics.ssim drops that border, and then the two agree to float rounding.
    reference = structural_similarity(
        clean,
        distorted,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
        channel_axis=-1,
    )
    assert ssim(as_batch(distorted), as_batch(clean)).item() == pytest.approx(reference, abs=1e-4)


def test_psnr_on_uint8_rounded_images_matches_scikit_image_on_uint8():
    """The standard protocol rounds outputs to uint8 and takes PSNR on them, no border crop."""
    clean, noisy = PAIRS[0]
    to_u8 = lambda a: (np.clip(a, 0, 1) * 255).round().astype(np.uint8)  # noqa: E731
    expected = peak_signal_noise_ratio(to_u8(clean), to_u8(noisy), data_range=255)
    ours = psnr(as_batch(to_u8(noisy) / 255.0), as_batch(to_u8(clean) / 255.0)).item()
    assert ours == pytest.approx(expected, abs=1e-3)


def test_measures_are_per_sample_and_mse_is_on_the_0_255_scale():
    (clean_a, noisy_a), (clean_b, blur_b) = PAIRS[0], PAIRS[4]
    both = psnr(as_batch(noisy_a[:128, :128], blur_b), as_batch(clean_a[:128, :128], clean_b))
    alone = psnr(as_batch(blur_b), as_batch(clean_b))
    assert both.shape == (2,) and both[1].item() == pytest.approx(alone.item(), abs=1e-5)
    mse = mse_255(as_batch(noisy_a), as_batch(clean_a)).item()
    assert mse == pytest.approx(255**2 * np.mean((noisy_a - clean_a) ** 2), rel=1e-4)


def test_entropy_and_colourfulness_follow_their_textbook_formulas():
    rgb = skimage.data.astronaut()
    image = as_batch(rgb / 255.0)
    luminance = (rgb @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)
    assert entropy(image).item() == pytest.approx(shannon_entropy(luminance), abs=1e-3)
    r, g, b = (rgb[..., i].astype(float) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    hasler = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())  # on 0-255
    assert colourfulness(image).item() == pytest.approx(hasler / 2.55, rel=1e-4)
    assert rms_contrast(image).item() == pytest.approx(100 * luminance.std() / 255, abs=0.1)


def test_sharpness_falls_with_blur_and_rises_with_noise():
    clean, noisy = PAIRS[0]
    _, blurred = PAIRS[1]
    values = laplacian_variance(as_batch(blurred, clean, noisy))
    assert values[0] < values[1] < values[2]


@pytest.mark.parametrize("k", range(0, len(PAIRS), 2))
def test_y_channel_scores_match_scikit_image_on_bt601_luma_with_a_border_crop(k):
    """eval.color=y eval.crop_border=4: BasicSR's and KAIR's convention, checked against scikit-image."""
    from skimage.color import rgb2ycbcr

    from denoise_lab.evaluation.metrics import scored_view

    clean, distorted = PAIRS[k]
    y_clean, y_distorted = (rgb2ycbcr(x)[4:-4, 4:-4, 0] for x in (clean, distorted))  # Y in [16, 235]
    ours = [scored_view(as_batch(x), "y", 4) for x in (distorted, clean)]
    assert ours[0].shape[1] == 1
    assert psnr(*ours).item() == pytest.approx(
        peak_signal_noise_ratio(y_clean, y_distorted, data_range=255.0), abs=1e-3
    )
    reference = structural_similarity(
        y_clean, y_distorted, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0
    )
    assert ssim(*ours).item() == pytest.approx(reference, abs=1e-4)


def test_metric_names_are_built_and_parsed_in_one_place():
    from denoise_lab.evaluation.metrics import ALL_OPS, metric_name, parse_metric_name

    assert metric_name("val", "psnr") == "val/psnr"
    assert metric_name("test", "ssim_degraded", "motion_blur") == "test/ssim_degraded/motion_blur"
    for name in ("val/psnr", "test/ssim_degraded/motion_blur", "train/loss/gaussian_noise"):
        assert metric_name(*parse_metric_name(name)) == name
    assert parse_metric_name("val/psnr") == ("val", "psnr", ALL_OPS)
    assert parse_metric_name("epoch") == ("", "epoch", ALL_OPS)
