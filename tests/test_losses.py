"""Losses: one value per sample, zero-ish on perfect restorations, differentiable, composable from conf/."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from denoise_lab.config import CONFIG_DIR
from denoise_lab.training.losses import MSELoss, PixelSSIMLoss
from tests.conftest import compose_config

LOSSES = sorted(p.stem for p in (Path(CONFIG_DIR) / "loss").glob("*.yaml"))


def test_every_documented_loss_has_a_config():
    assert LOSSES == ["bce", "charbonnier", "charbonnier_ssim", "l1", "mse", "mse_ssim", "psnr", "ssim"]


@pytest.mark.parametrize("name", LOSSES)
def test_loss_is_per_sample_and_differentiable(name):
    loss = instantiate(compose_config([f"loss={name}"]).loss)
    torch.manual_seed(0)
    clean = torch.rand(4, 3, 24, 24)
    restored = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1).requires_grad_()
    values = loss(restored, clean)
    assert values.shape == (4,)
    values.mean().backward()
    assert restored.grad is not None and restored.grad.abs().sum() > 0
    perfect, noisy = loss(clean, clean), loss(restored.detach(), clean)
    assert (perfect < noisy).all()


def test_per_sample_values_follow_each_sample():
    clean = torch.rand(2, 3, 16, 16)
    restored = clean.clone()
    restored[1] = 1 - restored[1]
    values = instantiate(compose_config(["loss=mse"]).loss)(restored, clean)
    assert values[0] == 0 and values[1] > 0.05


def test_mse_ssim_weight_is_validated():
    with pytest.raises(ValueError, match="ssim_weight must lie in"):
        PixelSSIMLoss(MSELoss(), ssim_weight=1.5)
