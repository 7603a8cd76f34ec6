"""Deeper convolutional autoencoder with pooling: the seed-004 model.

Unlike the seed-001 autoencoder this one has a real spatial bottleneck: each
encoder stage is a padded 3x3 convolution followed by 2x2 max-pooling, so the
code is 8x smaller per side (with the default three stages). There are no skip
connections, so every detail must pass through the bottleneck -- which is
exactly what makes it an autoencoder rather than a U-Net, and why it blurs.

Decoder upsampling uses ConvTranspose2d(kernel 3, stride 2, padding 1,
output_padding 1): it exactly doubles H and W like a 2x2/stride-2 transposed
convolution would, but each output pixel sees a 3x3 neighbourhood of the code
(mirroring the encoder's 3x3 kernels and the Keras-style `Conv2DTranspose(...,
3, strides=2, padding="same")` the seed was written in), instead of each 2x2
output block being painted from a single code pixel.

Self-contained (imports only torch) so the file can be copied elsewhere.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad bottom/right so H and W divide by `multiple` (reflect when possible)."""
    h, w = x.shape[-2:]
    pad = (0, -w % multiple, 0, -h % multiple)
    mode = "reflect" if pad[1] < w and pad[3] < h else "replicate"
    return F.pad(x, pad, mode=mode)


class DeepConvAutoencoder(nn.Module):
    """Seed-004 autoencoder: [conv3x3 + ReLU + maxpool] x 3, then mirrored.

    Encoder widths are `channels` (32, 64, 128 by default). The decoder runs
    transposed convolutions to 128, 64, 32 channels (ReLU after each), then a
    3x3 convolution back to image channels and a sigmoid for [0, 1] output.

    Every pooling halves the size, so H and W must be multiples of
    2 ** len(channels); other sizes are padded up and the output cropped back.

    Args:
        in_channels: image channels (3 for RGB); the output has the same number.
        channels: encoder widths, one pooling stage per entry.
    """

    def __init__(self, in_channels: int = 3, channels: Sequence[int] = (32, 64, 128)) -> None:
        super().__init__()
        channels = list(channels)
        self.multiple = 2 ** len(channels)

        encoder: list[nn.Module] = []
        for c_in, c_out in zip([in_channels, *channels[:-1]], channels, strict=True):
            encoder += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.encoder = nn.Sequential(*encoder)

        decoder: list[nn.Module] = []
        widths = channels[::-1]  # 128, 64, 32: the first stage keeps the code width
        for c_in, c_out in zip([widths[0], *widths[:-1]], widths, strict=True):
            up = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
            decoder += [up, nn.ReLU()]
        decoder += [nn.Conv2d(channels[0], in_channels, 3, padding=1), nn.Sigmoid()]
        self.decoder = nn.Sequential(*decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        out = self.decoder(self.encoder(_pad_to_multiple(x, self.multiple)))
        return out[..., :h, :w]
