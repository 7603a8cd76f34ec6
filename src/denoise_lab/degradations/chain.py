"""Second-order degradation: a random sequence of ops per sample, so a model can be trained blind.

Real-ESRGAN showed that real photos carry several degradations at once; ``Chain`` applies 1 to
``max_length`` distinct ops, in random order, to each sample, all at that sample's severity.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, split_by_label


class Chain(DegradationOp):
    """``ops``: the named ops to draw from (configured like the bank's); ``max_length`` <= their number."""

    def __init__(self, ops: Mapping[str, DegradationOp], max_length: int = 3, clamp: bool = True) -> None:
        super().__init__(clamp)
        if not 1 <= max_length <= len(ops):
            raise ValueError(
                f"chain max_length must be in 1..{len(ops)} (the number of ops), got {max_length}"
            )
        self.ops, self.max_length = dict(ops), max_length

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n, device = images.shape[0], images.device
        ops = list(self.ops.values())
        lengths = torch.randint(1, self.max_length + 1, (n,), generator=generator, device=device)
        order = torch.rand((n, len(ops)), generator=generator, device=device).argsort(dim=1)
        out = images.clone()
        for step in range(self.max_length):
            active = (lengths > step).nonzero().squeeze(1)
            for k, group in split_by_label(order[active, step]):
                idx = active[group]
                out[idx] = ops[k](out[idx], severity[idx], generator)
        return out
