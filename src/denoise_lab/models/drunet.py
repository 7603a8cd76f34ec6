"""A DRUNet-style residual U-Net (Zhang et al., "Plug-and-Play Image Restoration with Deep Denoiser Prior",
TPAMI 2021), without the noise-level input map: a blind denoiser.

Why it is here: DRUNet is the strongest published purely convolutional denoiser, and its recipe suits a CPU:
no normalisation (nothing to recompute between training and inference, batch size 1 behaves as in
training), residual blocks at every level, a strided 2x2 convolution to go down and a 2x2 transposed
convolution to come up, with encoder features *added* (not concatenated) to the decoder's. The paper's
model has widths 64-512 and 4 blocks per level (32 M parameters); the default here is a quarter of the
width so that hours of CPU training see enough steps.

Layout: 3x3 head -> per level: ``blocks`` residual blocks, 2x2/2 strided conv (channels x2) -> ``blocks``
residual blocks at the bottom -> per level up: 2x2/2 transposed conv (channels /2), + skip, ``blocks``
residual blocks -> 3x3 tail, added to the input. The tail starts at zero, so the untrained network is the
identity. Any H x W: padded to a multiple of ``2 ** levels`` and cropped back.

Self-contained (imports only torch) so the file can be copied elsewhere.
"""

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


class ResBlock(nn.Module):
    """x + conv(relu(conv(x))): DRUNet's block, no normalisation and no bias."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        )
        # Each block starts as the identity: with no normalisation, default-initialised residual branches
        # add up their variance block after block, and the first trial diverged at lr 1e-3.
        nn.init.zeros_(self.body[-1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _blocks(channels: int, n: int) -> nn.Sequential:
    return nn.Sequential(*(ResBlock(channels) for _ in range(n)))


class DRUNet(nn.Module):
    """``widths``: channels per level, top to bottom (the paper: 64, 128, 256, 512); ``blocks``: residual
    blocks per level and at the bottom (the paper: 4)."""

    def __init__(
        self, in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 64, 128), blocks: int = 2
    ) -> None:
        super().__init__()
        widths = tuple(widths)
        if len(widths) < 2 or blocks < 1:
            raise ValueError(f"DRUNet needs >= 2 widths and >= 1 block, got {widths}, {blocks}")
        self.levels = len(widths) - 1
        self.head = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.encoders = nn.ModuleList(
            nn.Sequential(_blocks(c, blocks), nn.Conv2d(c, c_next, 2, stride=2, bias=False))
            for c, c_next in pairwise(widths)
        )
        self.bottom = _blocks(widths[-1], blocks)
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(c_next, c, 2, stride=2, bias=False)
            for c, c_next in reversed(list(pairwise(widths)))
        )
        self.decoders = nn.ModuleList(_blocks(c, blocks) for c in reversed(widths[:-1]))
        self.tail = nn.Conv2d(widths[0], in_channels, 3, padding=1, bias=False)
        nn.init.zeros_(self.tail.weight)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        multiple = 2**self.levels
        pad = (0, -w % multiple, 0, -h % multiple)
        x = F.pad(image, pad, mode="reflect" if pad[1] < w and pad[3] < h else "replicate")
        x = self.head(x)
        skips = []
        for encoder in self.encoders:
            skips.append(x)
            x = encoder(x)
        x = self.bottom(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            x = decoder(up(x) + skip)
        return image + self.tail(x)[..., :h, :w]
