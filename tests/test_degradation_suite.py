"""Every op of the suite: its own signature on the image, range, determinism, per-sample severity; presets."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

import denoise_lab.degradations as D
from denoise_lab.config import config_options
from tests.conftest import SEED000_OPS, compose_config
from tests.test_degradations import Fill, high_frequency_energy

ALL_OPS = config_options("degradation/op")  # every op file; the `all` preset must list each one


@pytest.fixture(scope="module")
def suite() -> D.DegradationBank:
    """The ``all`` preset plus the ``chain`` op, so every op is checked with its shipped config."""
    bank = instantiate(compose_config(["degradation=all"]).degradation, _convert_="all")
    chain = instantiate(compose_config(["degradation=chain"]).degradation, _convert_="all")
    return D.DegradationBank({**bank.ops, **chain.ops}, seed=3)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """Eight 64x64 crops of a real photo (textured, mid-tones, away from 0 and 1)."""
    from skimage import data

    image = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255
    crops = [image[:, 60 + 40 * i : 124 + 40 * i, 180:244] for i in range(8)]
    return (0.1 + 0.8 * torch.stack(crops)).contiguous()


def apply(op, images, severity, seed=0):
    return op(
        images,
        torch.as_tensor(severity, dtype=torch.float32).expand(len(images)),
        torch.Generator().manual_seed(seed),
    )


def test_all_preset_lists_every_single_op(suite):
    assert sorted(suite.names[:-1]) == ALL_OPS and suite.names[-1] == "chain"
    assert len(set(suite.names)) == len(suite.names)


@pytest.mark.parametrize("name", [*ALL_OPS, "chain"])
def test_op_changes_the_image_within_range_and_more_at_higher_severity(suite, photo, name):
    op = suite.ops[name]
    weak, strong = apply(op, photo, 0.05), apply(op, photo, 1.0)
    assert strong.shape == photo.shape and strong.dtype == photo.dtype
    assert strong.min() >= 0.0 and strong.max() <= 1.0
    weak_change, strong_change = (weak - photo).abs().mean(), (strong - photo).abs().mean()
    assert strong_change > 2e-3
    assert strong_change > weak_change


@pytest.mark.parametrize("name", [*ALL_OPS, "chain"])
def test_op_is_deterministic_under_evaluation_seeding_with_per_sample_severities(suite, photo, name):
    k = suite.names.index(name)
    keys, ops = torch.arange(8), torch.full((8,), k)
    first, second = suite.apply_fixed(photo, keys, ops), suite.apply_fixed(photo, keys, ops)
    assert torch.equal(first.image, second.image)
    assert len(set(first.severity.tolist())) == 8
    changes = (first.image - photo).abs().flatten(1).mean(1)
    assert len(set(changes.tolist())) == 8  # every sample degraded in its own way


def test_poisson_noise_is_stronger_where_the_image_is_brighter():
    image = torch.cat([torch.full((1, 3, 32, 32), 0.1), torch.full((1, 3, 32, 32), 0.5)], dim=-1)
    noisy = apply(D.PoissonNoise(peak=(20.0, 20.0), clamp=False), image.repeat(4, 1, 1, 1), 0.0)
    residual = noisy - image
    dark, bright = residual[..., :32].std(), residual[..., 32:].std()
    assert bright > 1.8 * dark  # std = sqrt(x / peak) grows with the signal: sqrt(0.5 / 0.1) ~ 2.2
    assert bright == pytest.approx((0.5 / 20) ** 0.5, rel=0.1)


def test_poisson_gaussian_noise_has_the_sensor_variance_gain_x_plus_read_squared():
    image = torch.cat([torch.full((1, 3, 32, 32), 0.0), torch.full((1, 3, 32, 32), 0.8)], dim=-1)
    op = D.PoissonGaussianNoise(gain=(4.0, 4.0), read=(5.0, 5.0), clamp=False)
    residual = apply(op, image.repeat(8, 1, 1, 1), 0.5) - image
    dark, bright = residual[..., :32].std(), residual[..., 32:].std()
    assert dark == pytest.approx(5 / 255, rel=0.05)  # black: the read-out floor alone
    assert bright == pytest.approx((4 / 255 * 0.8 + (5 / 255) ** 2) ** 0.5, rel=0.05)


def test_salt_and_pepper_sets_the_asked_fraction_of_whole_pixels_to_black_or_white(photo):
    out = apply(D.SaltAndPepper(amount=(0.1, 0.1)), photo, 0.0)
    hit = (out != photo).any(dim=1)
    assert hit.float().mean() == pytest.approx(0.1, abs=0.02)
    values = out.permute(0, 2, 3, 1)[hit]
    assert ((values == 0).all(dim=1) | (values == 1).all(dim=1)).all()


def test_uneven_illumination_is_a_smooth_low_frequency_gain(photo):
    out = apply(D.UnevenIllumination(strength=(0.4, 0.4)), photo, 0.0, seed=1)
    gain = (out / photo).mean(dim=1)  # per-pixel gain field (photo is inside (0.1, 0.9): no clipping)
    assert gain.flatten(1).std(1).min() > 0.03  # it varies across the image ...
    assert high_frequency_energy(gain) < 0.02 * gain.var()  # ... smoothly (white noise: ~4 x var)
    assert gain.min() >= 0.6 - 1e-4 and gain.max() <= 1.4 + 1e-4


def test_shadows_only_darken_and_cover_part_of_the_image(photo):
    out = apply(D.RandomShadows(darkness=(0.5, 0.5), coverage=(0.5, 0.5)), photo, 0.0)
    assert (out <= photo + 1e-6).all()
    shaded = (out < 0.75 * photo).all(dim=1).flatten(1).float().mean(1)
    assert (shaded > 0.02).all() and (shaded < 0.98).all()


def test_specular_highlights_add_light_that_saturates(photo):
    out = apply(D.SpecularHighlights(intensity=(1.0, 1.0)), photo, 1.0)
    assert (out >= photo - 1e-6).all()
    saturated = (out == 1.0).all(dim=1).flatten(1).any(1)
    assert saturated.all()


def test_surface_defects_are_local(photo):
    out = apply(D.SurfaceDefects(), photo, 1.0)
    changed = ((out - photo).abs() > 0.02).any(dim=1).flatten(1).float().mean(1)
    assert (changed > 0.001).all() and (changed < 0.4).all()


def test_color_channels_scale_each_channel_by_its_own_gain(photo):
    out = apply(D.ChannelGains(max_deviation=0.1), photo, 1.0)  # gains up to 1.1: no clipping below 0.9
    gains = (out / photo).flatten(2)
    assert torch.allclose(gains, gains[..., :1].expand_as(gains), atol=1e-5)  # one gain per channel
    assert (gains[:, :, 0].std(dim=1) > 1e-3).all()  # that differs between channels
    linked = apply(D.ChannelGains(max_deviation=0.1, linked=True), photo, 1.0) / photo
    assert torch.allclose(linked, linked[:, :1].expand_as(linked), atol=1e-5)


def test_jpeg_creates_8x8_block_edges():
    y, x = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    smooth = torch.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.3 * x * y]).expand(4, 3, 64, 64)
    out = apply(D.JPEGCompression(quality=(10.0, 10.0)), smooth.contiguous(), 0.0)
    column_steps = (out[..., 1:] - out[..., :-1]).abs().mean(dim=(0, 1, 2))  # step between column j and j+1
    at_block_edges = column_steps[7::8].mean()
    inside_blocks = column_steps[[j for j in range(63) if j % 8 != 7]].mean()
    assert at_block_edges > 2 * inside_blocks


def test_downsample_loses_fine_detail(photo):
    out = apply(D.Downsample(factor=(3.0, 3.0)), photo, 0.0)
    assert high_frequency_energy(out) < 0.6 * high_frequency_energy(photo)


def test_chain_applies_one_to_max_length_distinct_ops_per_sample():
    markers = {f"add{k}": AddConstant(10.0**-k) for k in range(1, 4)}  # 0.1, 0.01, 0.001: sums are unique
    chain = D.Chain(markers, max_length=3, clamp=False)
    images = torch.zeros(64, 1, 2, 2)
    out = apply(chain, images, 0.5)[:, 0, 0, 0]
    digits = torch.stack([(out * 10**k).round().long() % 10 for k in (1, 2, 3)], dim=1)
    assert digits.max() <= 1  # no op twice on one sample
    lengths = digits.sum(dim=1)
    assert set(lengths.tolist()) == {1, 2, 3}
    with pytest.raises(ValueError, match="max_length"):
        D.Chain(markers, max_length=4)


class AddConstant(Fill):
    """Marker op for the chain: adds its value, so the sum of a chain's output tells which ops ran."""

    def apply(self, images, severity, generator):
        return images + self.value


@pytest.mark.parametrize(
    ("preset", "names"),
    [
        ("seed000", SEED000_OPS),
        ("seed002", ["gaussian_noise", "gaussian_blur", "brightness", "color_channels"]),
        ("gaussian", ["gaussian_noise"]),
        ("chain", ["chain"]),
        ("camera", ["camera_noise"]),
    ],
)
def test_presets_name_their_ops(preset, names):
    bank = instantiate(compose_config([f"degradation={preset}"]).degradation, _convert_="all")
    assert bank.names == names
