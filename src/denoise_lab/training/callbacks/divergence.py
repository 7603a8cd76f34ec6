"""DivergenceGuard: a run whose loss or weights stop being finite ends at once, with one line saying so.

Without it a NaN loss trains on for every epoch, ``best.ckpt`` is saved full of NaN and the report fails far
from the cause. The loss is checked after every step (one scalar); the weights at the end of each training
epoch and before validation, which Lightning runs before any checkpoint callback, so no checkpoint is ever
written from non-finite weights: the good ``best.ckpt`` and ``last.ckpt`` of earlier epochs stay as they were.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss or non-finite weights."""


class DivergenceGuard(L.Callback):
    def __init__(self) -> None:
        self.last_finite_loss: float | None = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch, batch_idx
    ) -> None:
        loss = float(outputs["loss"] if isinstance(outputs, dict) else outputs)
        if math.isfinite(loss):
            self.last_finite_loss = loss
            return
        self._stop(trainer, f"the training loss is {loss}")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check_weights(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.training:  # validation inside fit: weights just updated
            self._check_weights(trainer, pl_module)

    def _check_weights(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        bad = [name for name, p in pl_module.named_parameters() if not torch.isfinite(p).all()]
        if bad:
            self._stop(trainer, f"{len(bad)} weight tensors are not finite (first: {bad[0]})")

    def _stop(self, trainer: L.Trainer, what: str) -> None:
        last = "none" if self.last_finite_loss is None else f"{self.last_finite_loss:.4g}"
        group = trainer.optimizers[0].param_groups[0] if trainer.optimizers else {"lr": float("nan")}
        lr = group.get("initial_lr", group["lr"])  # the configured rate, before the schedule changed it
        raise TrainingDiverged(
            f"training diverged at epoch {trainer.current_epoch}, step {trainer.global_step}: {what} "
            f"(last finite loss {last}); no checkpoint was written from it. Try a lower "
            f"optim.optimizer.lr (now {lr:.3g}) or trainer.gradient_clip_val=1.0"
        )
