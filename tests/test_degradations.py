"""The degradation ops and the bank: what each op does, determinism, and per-sample op mixing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from hydra.utils import instantiate

from denoise_lab.degradations import DegradationBank, DegradationOp, GaussianBlur, GaussianNoise
from tests.conftest import compose_config

CORE_OPS = ["gaussian_noise", "gaussian_blur", "motion_blur", "illumination_contrast", "color_channels"]


@pytest.fixture(scope="module")
def bank() -> DegradationBank:
    return instantiate(compose_config(["degradation=core"]).degradation, _convert_="all")


@pytest.fixture(scope="module")
def clean() -> torch.Tensor:
    """Smooth images with texture: gradients plus a sinusoid, inside (0.1, 0.9)."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 40), indexing="ij")
    base = 0.5 + 0.2 * torch.sin(12 * x) * torch.cos(9 * y)
    return torch.stack([base, base * 0.8 + 0.1 * x, 0.3 + 0.4 * y], 0).expand(6, 3, 48, 40).contiguous()


def high_frequency_energy(images: torch.Tensor) -> torch.Tensor:
    return (images[..., 1:, :] - images[..., :-1, :]).pow(2).mean() + (
        images[..., 1:] - images[..., :-1]
    ).pow(2).mean()


def test_core_bank_has_the_five_ops_with_uniform_weights(bank):
    assert bank.names == CORE_OPS
    assert torch.allclose(bank.weights, torch.full((5,), 0.2, dtype=torch.float64))


@pytest.mark.parametrize("name", CORE_OPS)
def test_every_op_changes_the_image_and_stays_in_range(bank, clean, name):
    generator = torch.Generator().manual_seed(0)
    out = bank.ops[name](clean, torch.full((6,), 0.8), generator)
    assert out.shape == clean.shape
    assert (out - clean).abs().mean() > 1e-3
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("name", CORE_OPS)
def test_every_op_is_deterministic_under_evaluation_seeding(bank, clean, name):
    k = bank.names.index(name)
    keys, ops = torch.arange(6), torch.full((6,), k)
    first, second = bank.apply_fixed(clean, keys, ops), bank.apply_fixed(clean, keys, ops)
    assert torch.equal(first.image, second.image)
    assert torch.equal(first.severity, second.severity)
    assert len(set(first.severity.tolist())) == 6  # every sample its own severity


def test_evaluation_degradation_does_not_depend_on_batch_composition(bank, clean):
    keys, ops = torch.arange(6), torch.arange(6) % len(bank)
    whole = bank.apply_fixed(clean, keys, ops)
    part = bank.apply_fixed(clean[3:], keys[3:], ops[3:])
    assert torch.equal(whole.image[3:], part.image)


def test_evaluation_does_not_disturb_the_training_stream(clean):
    plain = instantiate(compose_config(["degradation=core"]).degradation, _convert_="all")
    interleaved = instantiate(compose_config(["degradation=core"]).degradation, _convert_="all")
    expected = [plain.sample(clean).image for _ in range(2)]
    got = [interleaved.sample(clean).image]
    interleaved.apply_fixed(clean, torch.arange(6), torch.zeros(6, dtype=torch.long))
    torch.manual_seed(123)  # nor does the global RNG matter
    got.append(interleaved.sample(clean).image)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_noise_raises_variance_and_blur_lowers_high_frequencies(clean):
    generator = torch.Generator().manual_seed(0)
    noisy = GaussianNoise(sigma=(25, 25))(clean, torch.zeros(6), generator)
    assert (noisy - clean).std() == pytest.approx(25 / 255, rel=0.05)
    blurred = GaussianBlur(sigma=(2.0, 2.0))(clean + (noisy - clean), torch.zeros(6), generator)
    assert high_frequency_energy(blurred) < 0.2 * high_frequency_energy(noisy)


def test_noise_sigma_is_per_sample_and_unclipped_when_asked(clean):
    op = GaussianNoise(sigma=(0, 50), clamp=False)
    out = op(clean, torch.tensor([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), torch.Generator().manual_seed(0))
    stds = (out - clean).flatten(1).std(1) * 255
    assert torch.allclose(stds, torch.tensor([0.0, 10, 20, 30, 40, 50]), rtol=0.06, atol=0.01)
    strong = op(clean, torch.ones(6), torch.Generator().manual_seed(0))
    assert strong.min() < 0 and strong.max() > 1


class Fill(DegradationOp):
    """Test op that marks its samples: fills them with a constant."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def apply(self, images, severity, generator):
        return torch.full_like(images, self.value)


def test_training_mixes_ops_per_sample_and_records_which(clean):
    bank = DegradationBank({f"fill{k}": Fill(k / 10) for k in range(4)}, seed=1)
    batch = clean.repeat(8, 1, 1, 1)  # 48 samples
    degraded = bank.sample(batch)
    assert len(degraded.op_index.unique()) == 4  # a mixed batch
    applied = degraded.image[:, 0, 0, 0]
    assert torch.allclose(applied, degraded.op_index.float() / 10)
    assert degraded.severity.unique().numel() == 48


def test_sampling_follows_the_public_weights(clean):
    bank = DegradationBank({f"fill{k}": Fill(k / 10) for k in range(3)}, seed=0)
    bank.set_weights(torch.tensor([0.0, 3.0, 1.0]))
    assert torch.allclose(bank.weights, torch.tensor([0.0, 0.75, 0.25], dtype=torch.float64))
    ops = torch.cat([bank.sample(clean).op_index for _ in range(200)])
    assert (ops != 0).all()
    assert 0.68 < (ops == 1).float().mean() < 0.82
    with pytest.raises(ValueError, match="non-negative"):
        bank.set_weights(torch.tensor([-1.0, 1.0, 1.0]))


def test_bank_state_round_trip_continues_the_training_stream(bank, clean):
    bank = DegradationBank(bank.ops, seed=5)
    bank.sample(clean)
    bank.set_weights(torch.tensor([5.0, 1, 1, 1, 1]))
    state = bank.state_dict()
    expected = bank.sample(clean)
    restored = DegradationBank(bank.ops, seed=5)
    restored.load_state_dict(state)
    got = restored.sample(clean)
    assert torch.equal(restored.weights, bank.weights)
    assert torch.equal(got.image, expected.image) and torch.equal(got.op_index, expected.op_index)


def test_training_stream_is_the_same_in_every_process():
    """Seeds must not come from Python's hash() of strings, which is salted per process."""

    script = (
        "import torch; from denoise_lab.degradations import DegradationBank, GaussianNoise;"
        "bank = DegradationBank({'noise': GaussianNoise()}, seed=4);"
        "print(bank.sample(torch.full((2, 3, 8, 8), 0.5)).image.sum().item())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": salt},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for salt in ("1", "2")
    }
    assert len(outputs) == 1


def test_an_op_declares_its_gaussian_noise_level_for_the_classical_baselines():
    """Reports give BM3D, NLM and TV the sigma an op declares (none for ops that add anything else)."""
    from denoise_lab.degradations import GaussianNoise, PoissonNoise

    severity = torch.tensor([0.0, 0.5, 1.0])
    torch.testing.assert_close(GaussianNoise((10.0, 30.0)).noise_sigma(severity) * 255, severity * 20 + 10)
    assert PoissonNoise().noise_sigma(severity) is None
