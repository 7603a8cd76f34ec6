"""Shallow convolutional autoencoder: the seed-001 CIFAR-10 baseline.

Reproduced layer for layer so that its numbers can be compared with the seed
run: two valid (unpadded) 3x3 convolutions shrink the image by 4 pixels, two
valid 3x3 transposed convolutions grow it back by 4. There is no pooling, so
the "bottleneck" is only 8 channels wide, not spatially smaller: the model is
a deliberately weak, fast reference point for everything else.

Self-contained (imports only torch) so the file can be copied elsewhere.
"""

import torch
import torch.nn.functional as F
from torch import nn

# Two valid 3x3 convolutions need at least 5x5 pixels (5 -> 3 -> 1).
_MIN_SIZE = 5


def _pad_to_min_size(x: torch.Tensor, size: int) -> torch.Tensor:
    """Pad bottom/right up to `size` pixels; reflect if the image allows it."""
    h, w = x.shape[-2:]
    pad = (0, max(size - w, 0), 0, max(size - h, 0))
    mode = "reflect" if pad[1] < w and pad[3] < h else "replicate"
    return F.pad(x, pad, mode=mode)


class ConvAutoencoder(nn.Module):
    """Seed-001 autoencoder: conv(3->8) conv(8->8) | convT(8->8) convT(8->3).

    All kernels are 3x3 with stride 1 and padding 0, ReLU between layers and a
    sigmoid at the end because targets are images in [0, 1]. Any H x W works:
    the valid convolutions and transposed convolutions cancel exactly, and
    images smaller than 5x5 are padded first and cropped back afterwards.

    Args:
        in_channels: image channels (3 for RGB); the output has the same number.
        hidden_channels: width of both hidden feature maps (8 in the seed).
    """

    def __init__(self, in_channels: int = 3, hidden_channels: int = 8) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, kernel_size=3),
            nn.ReLU(),
            nn.Conv2d(hidden_channels, hidden_channels, kernel_size=3),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(hidden_channels, hidden_channels, kernel_size=3),
            nn.ReLU(),
            nn.ConvTranspose2d(hidden_channels, in_channels, kernel_size=3),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        out = self.decoder(self.encoder(_pad_to_min_size(x, _MIN_SIZE)))
        return out[..., :h, :w]
