"""Tiled inference: tile layout, equality with untiled inference, self-ensemble."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from denoise_lab.inference.tiling import restorer, self_ensemble, tile_spans, tiled
from denoise_lab.models import UNet


@pytest.mark.parametrize(
    ("length", "size", "overlap"),
    [(1100, 512, 192), (1500, 512, 192), (700, 256, 64), (512, 512, 64), (90, 512, 192)],
)
def test_tiles_cover_the_axis_overlap_enough_and_start_aligned(length, size, overlap):
    spans = tile_spans(length, size, overlap, align=32)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(start % 32 == 0 for start, _ in spans)
    assert all(stop - start <= size + 31 for start, stop in spans)
    for (_, stop), (start, _) in itertools.pairwise(spans):
        assert stop - start >= overlap


def default_unet_with_live_weights() -> nn.Module:
    """The default U-Net's layout (depth 3, 2 blocks per level, BatchNorm: receptive-field radius 46 px) at
    half its width for speed, with He-initialised convolutions and a non-zero head: signals keep their size
    through all layers, so the whole receptive field matters (PyTorch's default init shrinks them so much
    that tiles would match even with no overlap)."""
    torch.manual_seed(0)
    model = UNet(width=8, depth=3, norm="batch", residual=True).eval()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    nn.init.normal_(model.head.weight, std=0.05)
    return model


def test_tiled_prediction_of_a_1500x1100_image_equals_the_untiled_one():
    model = default_unet_with_live_weights()
    image = torch.rand(1, 3, 1100, 1500)
    with torch.inference_mode():
        whole = model(image)
        difference = (tiled(model, image, size=512, overlap=192) - whole).abs()
    assert (whole - image).abs().mean() > 0.05  # the network really changes the image
    # overlap / 4 = 48 px >= the 46 px receptive-field radius: equal up to float rounding, borders included
    assert difference[..., 64:-64, 64:-64].max() < 1e-4
    assert difference.max() < 1e-5


def test_too_small_an_overlap_shows_seams():
    model = default_unet_with_live_weights()
    image = torch.rand(1, 3, 300, 400)
    with torch.inference_mode():
        difference = (tiled(model, image, size=128, overlap=32) - model(image)).abs()
    assert difference.max() > 1e-2


def test_restorer_batches_small_images_and_tiles_large_ones():
    model = default_unet_with_live_weights()
    restore = restorer(model, torch.device("cpu"), size=128, overlap=64)
    small, large = torch.rand(4, 3, 64, 96), torch.rand(2, 3, 200, 300)
    with torch.inference_mode():
        assert torch.allclose(restore(small), model(small), atol=1e-6)
        assert restore(large).shape == large.shape


def lopsided(x: torch.Tensor) -> torch.Tensor:
    """Not equivariant to any flip or rotation: shifts right, brightens row 0."""
    out = x.roll(1, -1).clone()
    out[..., 0, :] += 1
    return out


def test_self_ensemble_averages_the_eight_flips_and_rotations():
    image = torch.rand(1, 3, 20, 20)
    expected = torch.zeros_like(image)
    for flip in (False, True):
        source = image.flip(-1) if flip else image
        for turns in range(4):
            out = lopsided(source.rot90(turns, (-2, -1))).rot90(-turns, (-2, -1))
            expected += (out.flip(-1) if flip else out) / 8
    assert torch.allclose(self_ensemble(lopsided)(image), expected, atol=1e-6)
    assert torch.allclose(self_ensemble(lambda x: x)(image), image, atol=1e-6)


def test_smaller_self_ensembles_treat_both_axes_alike():
    """2 views: the image and its mirror; 4: also both turned half-way. Each is a group, so mirroring
    (and, for 4, turning half-way) the input mirrors the output: no direction is favoured."""
    image = torch.rand(1, 3, 20, 20)
    two, four = self_ensemble(lopsided, 2), self_ensemble(lopsided, 4)
    assert torch.allclose(two(image), (lopsided(image) + lopsided(image.flip(-1)).flip(-1)) / 2, atol=1e-6)
    assert torch.allclose(two(image.flip(-1)), two(image).flip(-1), atol=1e-6)
    half_turn = (-2, -1)
    assert torch.allclose(four(image.rot90(2, half_turn)), four(image).rot90(2, half_turn), atol=1e-6)
    assert torch.allclose(four(image.flip(-2)), four(image).flip(-2), atol=1e-6)
    with pytest.raises(ValueError, match="views"):
        self_ensemble(lopsided, 3)


def test_bfloat16_inference_stays_close_to_float32_and_returns_float32():
    """precision=bf16 (what ``auto`` picks on a CPU or GPU with native bfloat16) runs the convolutions in
    bfloat16 under autocast: the result comes back in float32, within bfloat16's rounding of float32's."""
    model = default_unet_with_live_weights()
    image = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        full = restorer(model, torch.device("cpu"), 128, 64, precision="32")(image)
        half = restorer(model, torch.device("cpu"), 128, 64, precision="bf16")(image)
    assert half.dtype == torch.float32
    assert not torch.equal(half, full)
    assert (half - full).abs().max() < 0.05


def test_restoring_8_bit_pixels_in_place_matches_the_float_path_to_the_last_bit():
    """predict restores a photo inside its own uint8 array, band by band: the same result as restoring
    float32 copies, rounded (rows are finished only after the last tile that reads them)."""
    model = default_unet_with_live_weights()
    pixels = torch.randint(0, 256, (1, 3, 300, 400), dtype=torch.uint8)
    with torch.inference_mode():
        expected = tiled(model, pixels.float() / 255, size=128, overlap=64).clamp(0, 1).mul(255).round()
        result = tiled(
            model,
            pixels,
            size=128,
            overlap=64,
            output=pixels,
            to_float=lambda tile: tile.float() / 255,
            from_float=lambda rows: rows.clamp(0, 1).mul(255).round().to(torch.uint8),
        )
    assert result is pixels
    assert (pixels.float() - expected).abs().max() <= 1  # float rounding may move a value by one level
    assert (pixels.float() - expected).abs().mean() < 1e-3
