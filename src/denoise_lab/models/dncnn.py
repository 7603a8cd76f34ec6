"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser", IEEE TIP 2017): the field's reference blind denoiser.

Why it is here: every denoising table since 2017 has a DnCNN row, so a user can set this framework's
numbers beside published ones. Layout as in the paper: ``depth`` 3x3 convolutions of ``channels`` features,
the first followed by ReLU, the middle ones by BatchNorm and ReLU, the last one mapping back to the image
channels. The network predicts the *noise* (residual learning) and returns ``input - noise``, which is what
made it train fast and work blind over a range of noise levels. No pooling: the receptive field is
``2 * depth + 1`` pixels, and any H x W works as it is.

The last convolution starts at zero, so the untrained network is the identity and scores as well as its
input from the first step (the paper's orthogonal init gives the same start within noise).

Self-contained (imports only torch) so the file can be copied elsewhere.
"""

import torch
from torch import nn


class DnCNN(nn.Module):
    """``depth`` conv layers (17 as in the paper's DnCNN-S; its blind DnCNN-B has 20), ``channels``
    features (64), BatchNorm in the middle layers."""

    def __init__(self, in_channels: int = 3, channels: int = 64, depth: int = 17) -> None:
        super().__init__()
        if depth < 3:
            raise ValueError(f"DnCNN needs depth >= 3 (first, middle, last layer), got {depth}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        last = nn.Conv2d(channels, in_channels, 3, padding=1, bias=False)
        nn.init.zeros_(last.weight)
        self.noise = nn.Sequential(*layers, last)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image - self.noise(image)
