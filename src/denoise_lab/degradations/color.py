"""Colour op: independent per-channel gains (seed 002's colour-channel perturbation)."""

from __future__ import annotations

import torch
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, uniform


class ChannelGains(DegradationOp):
    """Colour-channel perturbation (seed 002): each RGB channel scaled by its own random gain.

    Gains are ``1 + max_deviation * severity * u`` with ``u ~ U(-1, 1)`` drawn per sample and channel;
    ``linked=True`` draws one gain for all channels, i.e. seed 002's global brightness scaling.
    """

    def __init__(self, max_deviation: float = 0.3, linked: bool = False, clamp: bool = True) -> None:
        super().__init__(clamp)
        self.max_deviation, self.linked = max_deviation, linked

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n, c = images.shape[:2]
        u = uniform((n, 1 if self.linked else c), -1.0, 1.0, generator, images)
        gains = 1.0 + self.max_deviation * severity.view(n, 1) * u
        return images * gains.view(n, -1, 1, 1)
