"""U-Net with concatenated skip connections, from plain to tuned.

One class covers two model families:

* the seed-003 "modified U-Net" (defaults: width 32, depth 3, no
  normalisation, ReLU, sigmoid output), and
* a tuned variant (wider and/or deeper, GroupNorm, SiLU, residual output),

so both are selected purely by constructor arguments.

Layout: `depth` encoder levels, each `blocks_per_level` x (3x3 conv -> norm ->
activation) followed by 2x2 max-pooling; a bottleneck block; `depth` decoder
levels, each a 2x2/stride-2 transposed convolution, concatenation with the
encoder features of the same resolution, and a conv block; a 1x1 head.
Channels are `width` at full resolution and double at every level down.

Choices:

* Downsampling is MaxPool2d(2), as in the original U-Net: it costs no
  parameters and little time (this project also trains on CPU), and the
  strongest response survives pooling, so the learned convolutions around it
  do the work a strided convolution would.
* Upsampling is ConvTranspose2d(kernel 2, stride 2): the learned "up-conv" of
  the original U-Net. Its kernels do not overlap, so it cannot produce the
  uneven-overlap checkerboard of 3x3/stride-2 transposed convolutions, and the
  conv block after the concatenation smooths block edges using the skip.
* GroupNorm uses gcd(channels, 8) groups: 8 groups for every usual width, and
  still a valid divisor for odd widths. Unlike BatchNorm it does not depend on
  the batch, so small batches and batch-size-1 inference behave the same.
  BatchNorm is offered for comparison; in training it needs more than one
  value per channel at the bottleneck (batch size x bottleneck pixels > 1).
* `residual=True` makes the network predict a correction that is added to the
  input, with the last convolution zero-initialised: the untrained model is
  exactly the identity, i.e. it already scores as well as the degraded input,
  and training can only start from there and improve on it instead of first
  having to learn to reproduce the image.

Any H x W works: the input is padded to a multiple of 2 ** depth (reflect
where the image is large enough, else replicate) and the output cropped back.

Self-contained (imports only torch) so the file can be copied elsewhere.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "silu": nn.SiLU,
    "gelu": nn.GELU,
}

_NORMS = {
    "none": lambda channels: nn.Identity(),
    "batch": nn.BatchNorm2d,
    "group": lambda channels: nn.GroupNorm(math.gcd(channels, 8), channels),
}

_OUT_ACTIVATIONS = ("sigmoid", "none")


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad bottom/right so that every pooling level sees an even size."""
    h, w = x.shape[-2:]
    pad = (0, -w % multiple, 0, -h % multiple)
    mode = "reflect" if pad[1] < w and pad[3] < h else "replicate"
    return F.pad(x, pad, mode=mode)


class _ConvBlock(nn.Sequential):
    """`blocks` x (3x3 conv -> norm -> activation): the work done at one level.

    Convolutions drop their bias when a normalisation follows, since the
    norm's own shift makes it redundant.
    """

    def __init__(self, in_channels: int, out_channels: int, blocks: int, norm: str, activation: str) -> None:
        layers: list[nn.Module] = []
        for i in range(blocks):
            conv_in = in_channels if i == 0 else out_channels
            layers.append(nn.Conv2d(conv_in, out_channels, 3, padding=1, bias=norm == "none"))
            layers += [_NORMS[norm](out_channels), _ACTIVATIONS[activation]()]
        super().__init__(*layers)


class UNet(nn.Module):
    """U-Net denoiser; see the module docstring for the layout and choices.

    Args:
        in_channels: image channels of the input (3 for RGB).
        out_channels: image channels of the output; must equal `in_channels`
            when `residual` is True.
        width: channels at full resolution, doubled at every level down.
        depth: number of 2x downsamplings (H, W are padded to 2 ** depth).
        blocks_per_level: 3x3 convolutions in each encoder/decoder block.
        norm: "none", "batch" or "group" normalisation after each conv.
        activation: "relu", "leaky_relu" (slope 0.2), "silu" or "gelu".
        residual: predict a correction added to the input, starting as the
            identity (zero-initialised head).
        out_activation: "sigmoid" to map the output into [0, 1], or "none".
            Ignored when `residual` is True: a sigmoid around `x + correction`
            would stop the untrained model from being the identity and would
            squash corrections near 0 and 1; clamp at evaluation instead.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 32,
        depth: int = 3,
        blocks_per_level: int = 2,
        norm: str = "none",
        activation: str = "relu",
        residual: bool = False,
        out_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        for name, value, choices in (
            ("norm", norm, _NORMS),
            ("activation", activation, _ACTIVATIONS),
            ("out_activation", out_activation, _OUT_ACTIVATIONS),
        ):
            if value not in choices:
                raise ValueError(f"{name}={value!r}; expected one of {sorted(choices)}")
        if depth < 1 or blocks_per_level < 1:
            raise ValueError(f"depth ({depth}) and blocks_per_level ({blocks_per_level}) must be >= 1")
        if residual and in_channels != out_channels:
            raise ValueError(
                f"residual=True needs in_channels == out_channels, got {in_channels}, {out_channels}"
            )

        self.depth = depth
        self.residual = residual
        widths = [width * 2**level for level in range(depth + 1)]

        def block(c_in: int, c_out: int) -> _ConvBlock:
            return _ConvBlock(c_in, c_out, blocks_per_level, norm, activation)

        encoder_inputs = [in_channels, *widths[:-2]]
        self.encoders = nn.ModuleList(
            block(c_in, c) for c_in, c in zip(encoder_inputs, widths[:-1], strict=True)
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = block(widths[-2], widths[-1])
        # Decoder modules are stored deepest level first, the order they run in.
        levels = range(depth - 1, -1, -1)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in levels)
        self.decoders = nn.ModuleList(block(2 * widths[i], widths[i]) for i in levels)
        self.head = nn.Conv2d(width, out_channels, kernel_size=1)
        if residual:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        use_sigmoid = out_activation == "sigmoid" and not residual
        self.out_activation = nn.Sigmoid() if use_sigmoid else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        features = _pad_to_multiple(x, 2**self.depth)
        skips = []
        for encoder in self.encoders:
            features = encoder(features)
            skips.append(features)
            features = self.pool(features)
        features = self.bottleneck(features)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            features = decoder(torch.cat([up(features), skip], dim=1))
        out = self.out_activation(self.head(features)[..., :h, :w])
        return x + out if self.residual else out
