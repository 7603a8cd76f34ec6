"""Dense (fully connected) autoencoder: seed 002's "fully connected layers" model, on fixed-size tiles.

Why it is here: seed 002 reports what a fully connected autoencoder does (it denoises, corrects colour and
brightness, and blurs fine texture, since a dense layer keeps no notion of neighbouring pixels). A dense layer
needs a fixed input size, so the image is cut into ``tile`` x ``tile`` squares (padded at the bottom and right
by replication), every square goes through the same MLP (3 x tile² -> hidden... -> latent -> ...hidden ->
3 x tile², ReLU, sigmoid output in [0, 1]), and the squares are put back: any H x W works, and the tile grid
shows as seams where the model is weak, which is seed 002's observation.

Self-contained (imports only torch) so the file can be copied elsewhere.
"""

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


class DenseAutoencoder(nn.Module):
    """``tile``: the square side the MLP sees; ``hidden``: encoder widths (the decoder mirrors them);
    ``latent``: the bottleneck width."""

    def __init__(
        self, in_channels: int = 3, tile: int = 16, hidden: tuple[int, ...] = (512,), latent: int = 128
    ) -> None:
        super().__init__()
        if tile < 1 or latent < 1:
            raise ValueError(f"tile ({tile}) and latent ({latent}) must be >= 1")
        self.tile, self.in_channels = tile, in_channels
        sizes = [in_channels * tile * tile, *hidden, latent]
        layers: list[nn.Module] = []
        for a, b in pairwise(sizes):  # encoder
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        back = sizes[::-1]
        for i, (a, b) in enumerate(pairwise(back)):  # decoder, sigmoid at the end
            layers += [nn.Linear(a, b), nn.Sigmoid() if i == len(back) - 2 else nn.ReLU(inplace=True)]
        self.mlp = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        t = self.tile
        padded = F.pad(image, (0, -w % t, 0, -h % t), mode="replicate")
        ph, pw = padded.shape[-2:]
        tiles = F.unfold(padded, kernel_size=t, stride=t)  # (n, c*t*t, number of tiles)
        restored = self.mlp(tiles.transpose(1, 2)).transpose(1, 2)
        return F.fold(restored, (ph, pw), kernel_size=t, stride=t)[..., :h, :w]
