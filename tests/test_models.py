"""Model contract: any H x W in, same shape out, finite, trainable; seed-001 CAE reproduced exactly."""

import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from denoise_lab.config import config_options
from denoise_lab.models import (
    ConvAutoencoder,
    DeepConvAutoencoder,
    DenseAutoencoder,
    DnCNN,
    DRUNet,
    NAFNet,
    UNet,
)
from tests.conftest import compose_config

# Small widths keep the suite fast; the knobs exercised are the ones the configs use.
MODELS = {
    "cae": lambda: ConvAutoencoder(),
    "cae_deep": lambda: DeepConvAutoencoder(),
    "unet": lambda: UNet(),
    "unet_group_residual": lambda: UNet(width=16, norm="group", activation="silu", residual=True),
    "unet_batch_residual": lambda: UNet(width=16, norm="batch", activation="silu", residual=True),
    "unet_depth4": lambda: UNet(width=16, depth=4),
    "nafnet": lambda: NAFNet(width=8),
    "dncnn": lambda: DnCNN(channels=8, depth=5),
    "drunet": lambda: DRUNet(widths=(8, 16, 32), blocks=1),
    "dense_ae": lambda: DenseAutoencoder(tile=8, hidden=(64,), latent=16),
}
RESIDUAL = ["unet_group_residual", "unet_batch_residual"]
IDENTITY_AT_START = ["dncnn", "drunet"]  # zero last layer (and, in drunet, zero residual branches)
ZERO_INIT_BLOCKS = [
    *RESIDUAL,
    "nafnet",
    *IDENTITY_AT_START,
]  # start with silent blocks: no gradient inside them at step 0
SIGMOID = ["cae", "cae_deep", "unet", "unet_depth4", "dense_ae"]
SHAPES = [(2, 3, 37, 53), (1, 3, 5, 7), (1, 3, 1, 1), (2, 3, 64, 64)]


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    return MODELS[name]()


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", MODELS)
def test_output_has_input_shape_and_is_finite(name: str, shape: tuple[int, ...]) -> None:
    # Eval mode: BatchNorm cannot *train* on a single value per channel (1x1 input, batch 1).
    model = build(name).eval()
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()


def loss_and_backward(model: nn.Module, x: torch.Tensor) -> None:
    target = torch.rand(x.shape, generator=torch.Generator().manual_seed(2))
    nn.functional.mse_loss(model(x), target).backward()


@pytest.mark.parametrize("name", [n for n in MODELS if n not in ZERO_INIT_BLOCKS])
def test_gradients_reach_every_parameter(name: str) -> None:
    model = build(name).train()
    loss_and_backward(model, torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(1)))
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", RESIDUAL)
def test_residual_unet_starts_as_identity(name: str) -> None:
    model = build(name)
    x = torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(1))
    for mode in (model.train, model.eval):
        mode()
        with torch.no_grad():
            assert torch.equal(model(x), x)


@pytest.mark.parametrize("name", RESIDUAL)
def test_residual_unet_learns_through_zero_head(name: str) -> None:
    """At init only the zero head gets a gradient; one step later every layer does."""
    model = build(name).train()
    x = torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(1))
    loss_and_backward(model, x)
    assert model.head.weight.grad.abs().sum() > 0
    body = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    assert all(p.grad is not None and p.grad.abs().sum() == 0 for p in body)

    torch.optim.SGD(model.parameters(), lr=0.1).step()
    model.zero_grad()
    loss_and_backward(model, x)
    for param_name, param in model.named_parameters():
        assert param.grad.abs().sum() > 0, param_name


def test_cae_is_exactly_the_seed_001_model() -> None:
    model = ConvAutoencoder()
    layers = [*model.encoder, *model.decoder]
    assert [type(m) for m in layers] == [
        nn.Conv2d,
        nn.ReLU,
        nn.Conv2d,
        nn.ReLU,
        nn.ConvTranspose2d,
        nn.ReLU,
        nn.ConvTranspose2d,
        nn.Sigmoid,
    ]
    convs = [m for m in layers if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(3, 8), (8, 8), (8, 8), (8, 3)]
    for conv in convs:
        assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 3), (1, 1), (0, 0))
        assert conv.bias is not None
    expected = (3 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (8 * 3 * 9 + 3)
    assert sum(p.numel() for p in model.parameters()) == expected == 1611


@pytest.mark.parametrize("name", SIGMOID)
def test_sigmoid_outputs_lie_in_unit_interval(name: str) -> None:
    model = build(name).eval()
    x = torch.randn(2, 3, 37, 53, generator=torch.Generator().manual_seed(1)) * 5  # far outside [0, 1]
    with torch.no_grad():
        y = model(x)
    assert y.min() >= 0 and y.max() <= 1


def test_unet_without_out_activation_returns_the_logits() -> None:
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    plain = UNet(width=8, depth=2, out_activation="none").eval()
    torch.manual_seed(0)
    squashed = UNet(width=8, depth=2).eval()
    with torch.no_grad():
        torch.testing.assert_close(torch.sigmoid(plain(x)), squashed(x))


def test_batchnorm_unet_in_eval_mode_handles_batch_of_one() -> None:
    model = build("unet_batch_residual")
    x = torch.rand(4, 3, 37, 53, generator=torch.Generator().manual_seed(1))
    loss_and_backward(model, x)  # one training pass updates the running statistics
    model.eval()
    with torch.no_grad():
        alone, in_batch = model(x[:1]), model(x)[:1]
    assert alone.shape == (1, 3, 37, 53)
    torch.testing.assert_close(alone, in_batch)  # eval output does not depend on the rest of the batch


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "silu", "gelu"])
@pytest.mark.parametrize("norm", ["none", "batch", "group"])
def test_every_norm_and_activation_builds_and_runs(norm: str, activation: str) -> None:
    model = UNet(width=6, depth=2, blocks_per_level=1, norm=norm, activation=activation)
    x = torch.rand(2, 3, 13, 11)
    assert model(x).shape == x.shape


def test_unet_widths_double_per_level() -> None:
    model = UNet(width=8, depth=4, blocks_per_level=3)
    assert [e[0].out_channels for e in model.encoders] == [8, 16, 32, 64]
    assert model.bottleneck[0].out_channels == 128
    assert sum(isinstance(m, nn.Conv2d) for m in model.encoders[0]) == 3
    assert [up.out_channels for up in model.ups] == [64, 32, 16, 8]


@pytest.mark.parametrize(
    "kwargs",
    [{"norm": "layer"}, {"activation": "tanh"}, {"out_activation": "relu"}, {"depth": 0}],
    ids=str,
)
def test_unet_rejects_unknown_options(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        UNet(**kwargs)


def test_residual_unet_needs_matching_channels() -> None:
    with pytest.raises(ValueError, match="in_channels == out_channels"):
        UNet(in_channels=1, out_channels=3, residual=True)


def test_models_build_from_hydra_targets_with_list_arguments() -> None:
    model = instantiate({"_target_": "denoise_lab.models.DeepConvAutoencoder", "channels": [8, 16]})
    x = torch.rand(1, 3, 10, 6)
    assert model(x).shape == x.shape
    unet = instantiate({"_target_": "denoise_lab.models.UNet", "width": 8, "depth": 2, "norm": "group"})
    assert unet(x).shape == x.shape


def test_nafnet_blocks_start_silent_and_all_parameters_learn_after_one_step() -> None:
    model = build("nafnet").train()
    x = torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(1))
    assert all(
        float(p.abs().sum()) == 0 for n, p in model.named_parameters() if n.endswith(("beta", "gamma"))
    )
    loss_and_backward(model, x)
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    model.zero_grad()
    loss_and_backward(model, x)
    silent = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not silent


def test_nafnet_rejects_mismatched_levels() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        NAFNet(encoder_blocks=(1, 1), decoder_blocks=(1,))


@pytest.mark.parametrize("name", IDENTITY_AT_START)
def test_reference_denoisers_start_as_identity_and_every_parameter_learns_within_two_steps(name: str) -> None:
    """The zero last layer makes the untrained network the identity; drunet's zero residual branches need
    a second step before the first conv of each block sees a gradient."""
    model = build(name).train()
    x = torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(x), x)
    learned: set[str] = set()
    for _ in range(3):
        model.zero_grad()
        loss_and_backward(model, x)
        learned |= {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert learned == {n for n, _ in model.named_parameters()}


def test_dncnn_is_the_papers_layout() -> None:
    """Zhang et al. 2017: 17 conv layers of 64 channels, BatchNorm on the 15 middle ones, noise predicted."""
    model = DnCNN()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 17
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert [c.out_channels for c in convs] == [64] * 16 + [3]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 15


def test_drunet_goes_down_by_strided_conv_and_up_by_transposed_conv_with_additive_skips() -> None:
    model = DRUNet(widths=(8, 16, 32, 64), blocks=2)
    downs = [e[-1] for e in model.encoders]
    assert [(d.stride, d.out_channels) for d in downs] == [((2, 2), 16), ((2, 2), 32), ((2, 2), 64)]
    assert [u.out_channels for u in model.ups] == [32, 16, 8]
    assert not any(isinstance(m, nn.BatchNorm2d | nn.GroupNorm) for m in model.modules())


def test_dense_ae_restores_each_tile_on_its_own_with_one_shared_mlp():
    """Seed 002's dense model on tiles: a tile's output depends on that tile alone, wherever it lies."""
    model = DenseAutoencoder(tile=8, hidden=(32,), latent=8).eval()
    image = torch.rand(1, 3, 16, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = model(image)
        alone = model(image[..., 8:16, 16:24])
        changed = image.clone()
        changed[..., :8, :8] = 0.0
        elsewhere = model(changed)
    torch.testing.assert_close(whole[..., 8:16, 16:24], alone)
    torch.testing.assert_close(whole[..., 8:, :], elsewhere[..., 8:, :])
    assert sum(isinstance(m, nn.Linear) for m in model.modules()) == 4


@pytest.mark.parametrize("name", config_options("model"))
def test_every_model_config_builds_a_network_that_keeps_any_shape_and_learns(name: str) -> None:
    """Every ``conf/model/*.yaml`` as shipped (found, not listed: a new model is covered by its yaml alone):
    an odd-sized image keeps its shape, the output is finite, and the loss reaches the first layer's weights
    (within two steps, as zero-initialised residual branches need)."""
    torch.manual_seed(0)
    model = instantiate(compose_config([f"model={name}"]).model).train()
    x = torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(1))
    first = next(p for p in model.parameters() if p.dim() > 1)
    before = first.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        output = model(x)
        assert output.shape == x.shape and torch.isfinite(output).all()
        optimizer.zero_grad()
        (output - x.flip(-1)).pow(2).mean().backward()
        optimizer.step()
    assert not torch.equal(first, before)
