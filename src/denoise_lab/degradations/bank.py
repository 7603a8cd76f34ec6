"""The degradation bank: named ops, sampled per sample with public weights, applied batch-wise on the device.

Training batches draw an op (by ``weights``) and a severity for every sample from the bank's own
generator, group the samples by op and degrade each group in one call. Validation and test batches use
:meth:`DegradationBank.apply_fixed`: each sample's severity and randomness come from a generator seeded
by ``(seed, sample key, op)``, so they are identical in every epoch, every run, on any rank and with any
batch size, and the training stream is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, split_by_label
from denoise_lab.seeding import EVAL_DEGRADATIONS, TRAIN_DEGRADATIONS, derive_seed


@dataclass
class Degraded:
    """What the bank did to a batch: the images, and each sample's op index and severity in [0, 1]."""

    image: Tensor
    op_index: Tensor
    severity: Tensor


class DegradationBank:
    """Named degradation ops with sampling ``weights`` (a public tensor that sums to 1).

    The weights are the one feedback edge of the design: a callback may replace them between epochs
    through :meth:`set_weights`; they travel in checkpoints with the training generator's state.
    """

    def __init__(self, ops: Mapping[str, DegradationOp], seed: int = 0) -> None:
        if not ops:
            raise ValueError("the degradation bank needs at least one op (degradation.ops is empty)")
        self.ops = dict(ops)
        self.names = list(self.ops)
        self.seed = seed
        self.stream = 0  # set to the process rank under DDP so every rank draws different degradations
        self.weights = torch.full((len(self.ops),), 1.0 / len(self.ops), dtype=torch.float64)
        self._generator: torch.Generator | None = None
        self._pending_generator_state: Tensor | None = None

    def __len__(self) -> int:
        return len(self.ops)

    def set_weights(self, weights: Tensor) -> None:
        """Replace the sampling weights (any non-negative vector with a positive sum; it is normalised)."""
        weights = self._checked(weights)
        self.weights = weights / weights.sum()

    def _checked(self, weights: Tensor) -> Tensor:
        weights = torch.as_tensor(weights, dtype=torch.float64).detach().cpu().clone()
        if weights.shape != self.weights.shape or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(
                f"weights must be {len(self)} non-negative values with a positive sum, got {weights}"
            )
        return weights

    def sample(self, clean: Tensor) -> Degraded:
        """Training: draw an op by weight and a severity per sample, then degrade each op's group at once."""
        generator = self._training_generator(clean.device)
        n = clean.shape[0]
        op_index = torch.multinomial(self.weights.to(clean.device), n, replacement=True, generator=generator)
        severity = torch.rand(n, generator=generator, device=clean.device)
        image = torch.empty_like(clean)
        for k, idx in split_by_label(op_index):
            image[idx] = self.ops[self.names[k]](clean[idx], severity[idx], generator)
        return Degraded(image, op_index, severity)

    def apply_fixed(self, clean: Tensor, keys: Tensor, op_index: Tensor) -> Degraded:
        """Evaluation: apply the given op to each sample, seeded by ``(seed, key, op)`` of that sample."""
        image = torch.empty_like(clean)
        severity = torch.empty(clean.shape[0], device=clean.device)
        for i, (key, k) in enumerate(zip(keys.tolist(), op_index.tolist(), strict=True)):
            generator = torch.Generator(device=clean.device).manual_seed(
                derive_seed(EVAL_DEGRADATIONS, self.seed, key, k)
            )
            severity[i : i + 1] = torch.rand(1, generator=generator, device=clean.device)
            image[i : i + 1] = self.ops[self.names[k]](clean[i : i + 1], severity[i : i + 1], generator)
        return Degraded(image, op_index.to(clean.device), severity)

    def _training_generator(self, device: torch.device) -> torch.Generator:
        """The training stream: seeded once, continued across epochs, restored from checkpoints."""
        if self._generator is None or self._generator.device != device:
            # ints only: a str in the tuple would hash differently in every process (PYTHONHASHSEED), so
            # the same seed would not give the same training degradations in two runs or two sweep jobs
            self._generator = torch.Generator(device=device).manual_seed(
                derive_seed(TRAIN_DEGRADATIONS, self.seed, self.stream)
            )
            if self._pending_generator_state is not None:
                self._generator.set_state(self._pending_generator_state)
                self._pending_generator_state = None
        return self._generator

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"names": self.names, "weights": self.weights.clone()}
        if self._generator is not None:
            state["generator"] = self._generator.get_state()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if list(state["names"]) != self.names:
            raise ValueError(f"checkpoint has degradation ops {state['names']}, this run has {self.names}")
        self.weights = self._checked(state["weights"])  # exactly as saved: no renormalisation drift
        self._generator = None
        self._pending_generator_state = state.get("generator")

    def __repr__(self) -> str:
        ops = ", ".join(f"{name}: {op!r}" for name, op in self.ops.items())
        return f"DegradationBank(seed={self.seed}, ops={{{ops}}})"
