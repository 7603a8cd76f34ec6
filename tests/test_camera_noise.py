"""Camera noise synthesis (degradation=camera): raw-domain Poisson-Gaussian noise at the drawn levels,
demosaiced into spatially and cross-channel correlated noise, and a round trip that returns the image."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from denoise_lab.degradations import camera
from denoise_lab.degradations.camera import CameraNoise, sensor_noise, sensor_noise_levels
from tests.conftest import compose_config


def photo(n: int = 4) -> torch.Tensor:
    from skimage import data

    image = torch.from_numpy(data.astronaut()[100:196, 150:246]).permute(2, 0, 1).float() / 255
    return image.expand(n, -1, -1, -1).contiguous()


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def test_raw_noise_variance_is_shot_times_signal_plus_read():
    shot, read = torch.tensor([0.01]), torch.tensor([1e-4])
    for level in (0.05, 0.5):
        raw = torch.full((1, 1, 256, 256), level)
        noise = sensor_noise(raw, shot, read, torch.Generator().manual_seed(0))
        assert noise.var() == pytest.approx(0.01 * level + 1e-4, rel=0.03)


def test_noise_levels_follow_severity_and_pair_read_with_shot_as_real_sensors():
    generator = torch.Generator().manual_seed(0)
    shot, read = sensor_noise_levels(torch.tensor([0.0, 1.0]).repeat(500), generator)
    assert shot[0] == pytest.approx(1e-4) and shot[1] == pytest.approx(0.012)
    log_read_fit = 2.18 * shot.log() + 1.20  # Brooks et al.'s line, with N(0, 0.26) around it
    assert (read.log() - log_read_fit).std() == pytest.approx(0.26, rel=0.15)


def test_without_noise_or_jpeg_the_round_trip_returns_the_image(monkeypatch):
    monkeypatch.setattr(
        camera, "sensor_noise_levels", lambda s, g: (torch.zeros_like(s), torch.zeros_like(s))
    )
    monkeypatch.setattr(camera, "jpeg_codec_differentiable", lambda images, quality: images)
    images = photo()[..., :95, :]  # odd height: padded to whole Bayer cells and cropped back
    out = CameraNoise(clamp=False).apply(images, torch.zeros(4), torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    assert (out - images).abs().max() < 1e-4


def test_demosaiced_noise_is_correlated_across_neighbours_and_channels():
    flat = torch.full((8, 3, 64, 64), 0.5)
    out = CameraNoise(quality=(100, 100)).apply(flat, torch.full((8,), 0.8), torch.Generator().manual_seed(0))
    noise = out - flat
    assert correlation(noise[..., :, 1:], noise[..., :, :-1]) > 0.2  # white noise: ~0
    assert correlation(noise[:, 0], noise[:, 1]) > 0.2  # the colour matrix mixes the channels


def test_stronger_severity_is_noisier_and_the_same_seed_gives_the_same_image():
    images, op = photo(), CameraNoise()
    errors = []
    for severity in (0.0, 0.5, 1.0):
        out = op(images, torch.full((4,), severity), torch.Generator().manual_seed(1))
        again = op(images, torch.full((4,), severity), torch.Generator().manual_seed(1))
        assert torch.equal(out, again)
        errors.append(float((out - images).pow(2).mean()))
    assert errors == sorted(errors) and errors[-1] > 10 * errors[0]


def test_gray_images_come_back_gray():
    images = photo().mean(dim=1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
    out = CameraNoise()(images, torch.full((4,), 0.7), torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    assert (out - images).abs().mean() > 0.01


def test_the_camera_preset_is_the_camera_noise_op():
    bank = instantiate(compose_config(["degradation=camera"]).degradation, _convert_="all")
    assert bank.names == ["camera_noise"] and bank.ops["camera_noise"].quality == (95, 70)
