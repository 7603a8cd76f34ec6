"""NAFNet: a nonlinear-activation-free U-shaped restoration network (Chen et al., ECCV 2022).

Why it is here: blind restoration of a *mix* of degradations needs the network to decide per image
what to do (remove noise? sharpen? undo a colour cast?). NAFNet's blocks make that cheap to learn:
the SimpleGate multiplies two feature halves (a learned, content-dependent gate instead of ReLU), and
Simplified Channel Attention rescales channels by a global average of the whole image, which is the
per-image statistic that noise level, blur and illumination decisions hang on. Each block starts as
the identity (its two residual scales ``beta``/``gamma`` are zero), and the network adds its output to
the input image, so training starts from "change nothing" and every step is an improvement on it.

Layout: 3x3 intro conv -> encoder levels (NAFBlocks, then a 2x2 stride-2 conv doubling channels) ->
middle blocks -> decoder levels (1x1 conv + PixelShuffle halving channels, *added* to the encoder
skip, NAFBlocks) -> 3x3 ending conv -> + input. Any H x W: padded to a multiple of 2 ** levels, cropped.

Self-contained (imports only torch) so the file can be copied elsewhere.
"""

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.Module):
    """LayerNorm over channels at every pixel (NCHW), with a per-channel scale and shift."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias


def simple_gate(x: torch.Tensor) -> torch.Tensor:
    """Split the channels in two halves and multiply them: the activation NAFNet uses instead of ReLU."""
    a, b = x.chunk(2, dim=1)
    return a * b


class NAFBlock(nn.Module):
    """norm -> 1x1 -> depthwise 3x3 -> gate -> channel attention -> 1x1, then a gated 1x1 feed-forward."""

    def __init__(self, channels: int, expand: int = 2) -> None:
        super().__init__()
        hidden = channels * expand
        self.norm1 = LayerNorm2d(channels)
        self.expand = nn.Conv2d(channels, hidden, 1)
        self.depthwise = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(hidden // 2, hidden // 2, 1))
        self.project = nn.Conv2d(hidden // 2, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.ffn_in = nn.Conv2d(channels, hidden, 1)
        self.ffn_out = nn.Conv2d(hidden // 2, channels, 1)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = simple_gate(self.depthwise(self.expand(self.norm1(x))))
        x = x + self.project(y * self.attention(y)) * self.beta
        return x + self.ffn_out(simple_gate(self.ffn_in(self.norm2(x)))) * self.gamma


class NAFNet(nn.Module):
    """U-shaped NAFNet. ``encoder_blocks``/``decoder_blocks`` give the blocks per level (one entry per
    level, equal lengths); channels start at ``width`` and double per level down."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 16,
        encoder_blocks: tuple[int, ...] = (1, 1, 2),
        middle_blocks: int = 2,
        decoder_blocks: tuple[int, ...] = (1, 1, 1),
    ) -> None:
        super().__init__()
        if len(encoder_blocks) != len(decoder_blocks):
            raise ValueError(
                f"encoder_blocks {encoder_blocks} and decoder_blocks {decoder_blocks} differ in length"
            )
        self.levels = len(encoder_blocks)
        self.intro = nn.Conv2d(in_channels, width, 3, padding=1)
        self.ending = nn.Conv2d(width, in_channels, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        channels = width
        for n in encoder_blocks:
            self.encoders.append(nn.Sequential(*(NAFBlock(channels) for _ in range(n))))
            self.downs.append(nn.Conv2d(channels, 2 * channels, 2, stride=2))
            channels *= 2
        self.middle = nn.Sequential(*(NAFBlock(channels) for _ in range(middle_blocks)))
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for n in decoder_blocks:
            self.ups.append(
                nn.Sequential(nn.Conv2d(channels, 2 * channels, 1, bias=False), nn.PixelShuffle(2))
            )
            channels //= 2
            self.decoders.append(nn.Sequential(*(NAFBlock(channels) for _ in range(n))))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        multiple = 2**self.levels
        pad = (0, -w % multiple, 0, -h % multiple)
        x = F.pad(image, pad, mode="reflect" if pad[1] < w and pad[3] < h else "replicate")
        x = self.intro(x)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            x = decoder(up(x) + skip)
        return image + self.ending(x)[..., :h, :w]
