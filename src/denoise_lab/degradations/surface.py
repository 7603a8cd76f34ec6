"""Surface defects on the photographed object (seed 000's product-defect transformation).

Spots (small dark or light discs), scratches (thin light lines) and smudges (soft blurred patches) are
painted over the image; their number grows with severity. Sizes are fractions of the shorter image
side, so a defect covers the same share of a crop at any resolution.
"""

from __future__ import annotations

import torch
from kornia.filters import gaussian_blur2d
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, lerp, pixel_grid, uniform


def _counts_present(counts: tuple[int, int], severity: Tensor, generator: torch.Generator) -> Tensor:
    """(N, max count) mask: which of the possible defects of one kind each sample gets."""
    most = max(counts)
    wanted = lerp(counts, severity) + torch.rand(severity.shape, generator=generator, device=severity.device)
    return torch.arange(most, device=severity.device) < wanted.floor().view(-1, 1)


def _paint(images: Tensor, alpha: Tensor, colour: Tensor) -> Tensor:
    """Composite ``colour`` over ``images`` with per-pixel opacity ``alpha`` (N, 1, H, W)."""
    return images * (1 - alpha) + colour * alpha


class SurfaceDefects(DegradationOp):
    """Spots, scratches and smudges; ``spots: [1, 6]`` is the (weakest, strongest) number of spots."""

    def __init__(
        self,
        spots: tuple[int, int] = (1, 6),
        scratches: tuple[int, int] = (0, 3),
        smudges: tuple[int, int] = (0, 2),
        clamp: bool = True,
    ) -> None:
        super().__init__(clamp)
        self.spots, self.scratches, self.smudges = tuple(spots), tuple(scratches), tuple(smudges)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        h, w = images.shape[-2:]
        y, x = pixel_grid(images)
        y, x = y * h, x * w  # pixel units, so discs stay round on non-square images
        side = min(h, w)

        def draw(*shape: int, low: float = 0.0, high: float = 1.0) -> Tensor:
            return uniform(shape, low, high, generator, images)

        out = images
        present = _counts_present(self.spots, severity, generator)
        n, m = present.shape
        for j in range(m):
            cy, cx = draw(n, 1, 1, 1, high=h), draw(n, 1, 1, 1, high=w)
            radius = (draw(n, 1, 1, 1, low=0.005, high=0.02) * side).clamp(min=1.0)
            disc = (radius + 0.5 - ((y - cy).square() + (x - cx).square()).sqrt()).clamp(0, 1)
            tone = torch.where(draw(n, 1, 1, 1) < 0.7, draw(n, 1, 1, 1, high=0.3), draw(n, 1, 1, 1, low=0.7))
            out = _paint(out, disc * present[:, j].view(n, 1, 1, 1), tone)

        present = _counts_present(self.scratches, severity, generator)
        for j in range(present.shape[1]):
            start_y, start_x = draw(n, 1, 1, 1, high=h), draw(n, 1, 1, 1, high=w)
            angle = draw(n, 1, 1, 1, high=torch.pi)
            length = draw(n, 1, 1, 1, low=0.2, high=0.6) * side
            dy, dx = angle.sin() * length, angle.cos() * length
            t = (((y - start_y) * dy + (x - start_x) * dx) / length.square()).clamp(0, 1)
            distance = ((y - start_y - t * dy).square() + (x - start_x - t * dx).square()).sqrt()
            half_width = draw(n, 1, 1, 1, low=0.3, high=0.8)
            line = (half_width + 0.5 - distance).clamp(0, 1) * draw(n, 1, 1, 1, low=0.6, high=0.9)
            out = _paint(out, line * present[:, j].view(n, 1, 1, 1), draw(n, 1, 1, 1, low=0.8))

        present = _counts_present(self.smudges, severity, generator)
        if present.shape[1]:
            smeared = 0.85 * gaussian_blur2d(out, 9, (3.0, 3.0))
        for j in range(present.shape[1]):
            cy, cx = draw(n, 1, 1, 1, high=h), draw(n, 1, 1, 1, high=w)
            radius = draw(n, 1, 1, 1, low=0.05, high=0.15) * side
            blob = torch.exp(-((y - cy).square() + (x - cx).square()) / (2 * radius.square()))
            opacity = draw(n, 1, 1, 1, low=0.4, high=0.8)
            out = _paint(out, blob * opacity * present[:, j].view(n, 1, 1, 1), smeared)
        return out
