"""EMAWeightAveraging: an exponential moving average of the weights whose decay warms up, so that runs of any
length validate, checkpoint and keep weights they trained.

Lightning's own EMA callback keeps a copy of the model from the start and averages into it with a fixed
decay from ``update_starting_at_step`` on. With the recipe's 1000, a fine-tune of 256 steps validated and
saved its *initial* weights; from step 0 with decay 0.999, the average of a short run is still mostly its
start, and BatchNorm's running variance was averaged from its initial 1.0 (a DnCNN candidate's EMA kept 0.28
where the model had 0.002 and restored nothing). Here the decay after ``n`` updates is
``min(decay, (1 + n) / (10 + n))`` (timm's and BasicSR-style warm-up): the average follows the model closely
at first and settles to ``decay`` after a few thousand steps.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.callbacks import WeightAveraging
from torch import Tensor


def warming_up(decay: float):
    """``AveragedModel``'s ``avg_fn``: the EMA step with the warmed-up decay."""

    def average(averaged: Tensor, current: Tensor, num_averaged: Tensor) -> Tensor:
        if not averaged.is_floating_point():  # BatchNorm's batch counter: the model's own
            return current
        step = float(num_averaged)
        weight = min(decay, (1.0 + step) / (10.0 + step))
        return torch.lerp(current, averaged, weight)

    return average


class EMAWeightAveraging(WeightAveraging):
    def __init__(self, decay: float = 0.999, **kwargs: Any) -> None:
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"callbacks.ema.decay must lie in [0, 1], got {decay}")
        super().__init__(avg_fn=warming_up(decay), **kwargs)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        """After every optimizer step."""
        return step_idx is not None
