"""AdaptiveDegradationWeighting: sample the degradations the model handles worst more often.

Seed 000 re-weighted its transformations by their loss during training. The callback keeps its own
per-op tally of the per-sample losses the module's ``training_step`` hands back (and, for the relative
difficulty, of the degraded input's loss); at every training epoch's end it sums the tally over DDP ranks
(so every rank computes the same weights), smooths each op's difficulty with an exponential moving
average and sets

    w_k = floor + (1 - K * floor) * d_k ** (1 / temperature) / sum_j d_j ** (1 / temperature)

on the bank: the only feedback edge of the design. ``floor`` keeps every op sampled; a high
``temperature`` flattens the weights towards uniform, a low one concentrates them.

Difficulty ``d_k`` is either the mean training loss of op k (``difficulty: loss``, seed 000's rule),
or that loss divided by the loss of the unrestored degraded input (``difficulty: relative``): the
share of the degradation the model has not removed yet. The relative form does not favour ops that
are merely large (a strong but easy noise) over ones the model has not learned at all (a mild blur).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

DIFFICULTIES = ("loss", "relative")


class AdaptiveDegradationWeighting(L.Callback):
    def __init__(
        self,
        enabled: bool = True,
        difficulty: str = "loss",
        temperature: float = 1.0,
        ema: float = 0.5,
        floor: float = 0.05,
    ) -> None:
        """``ema``: weight of the previous average (0 = use this epoch only). ``floor``: the least
        weight of any op (so ``floor * number of ops`` must not exceed 1)."""
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty={difficulty!r}; expected one of {DIFFICULTIES}")
        if temperature <= 0 or not 0 <= ema < 1 or floor < 0:
            raise ValueError(
                f"need temperature > 0, 0 <= ema < 1, floor >= 0; got {temperature}, {ema}, {floor}"
            )
        self.enabled, self.difficulty = enabled, difficulty
        self.temperature, self.ema, self.floor = temperature, ema, floor
        self.average: Tensor | None = None  # smoothed difficulty per op; NaN until an op is seen
        self.tally: Tensor | None = None  # this epoch: rows loss sum, input loss sum, count; a column per op

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.tally = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self.enabled or trainer.datamodule.bank is None:
            return
        loss = outputs["per_sample_loss"]
        input_loss = torch.zeros_like(loss)
        if self.difficulty == "relative":  # how far the unrestored input is from the clean image
            with torch.no_grad(), torch.autocast(pl_module.device.type, enabled=False):
                input_loss = pl_module.loss(batch["degraded"], batch["clean"])
        if self.tally is None:
            self.tally = loss.new_zeros(3, len(trainer.datamodule.bank), dtype=torch.float32)
        rows = torch.stack([loss, input_loss, torch.ones_like(loss)]).to(self.tally.dtype)
        self.tally.index_add_(1, batch["op"], rows)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        bank = trainer.datamodule.bank
        if bank is None:  # paired data: no synthetic degradations to weight
            return
        for name, weight in zip(bank.names, bank.weights.tolist(), strict=True):
            pl_module.log(f"weights/{name}", weight, on_epoch=True)  # the weights this epoch trained with
        if not self.enabled:
            return
        if self.floor * len(bank) > 1:
            raise ValueError(f"floor {self.floor} x {len(bank)} ops exceeds 1: no weights can respect it")
        if self.tally is None:  # no training batch this epoch
            return
        total = trainer.strategy.reduce(self.tally, reduce_op="sum")
        loss_sum, input_loss_sum, count = (t.double().cpu() for t in total)
        difficulty = loss_sum / (input_loss_sum if self.difficulty == "relative" else count)
        difficulty = torch.where(count > 0, difficulty, torch.nan)
        self.average = self._smoothed(difficulty)
        bank.set_weights(self.weights_for(self.average))

    def _smoothed(self, difficulty: Tensor) -> Tensor:
        if self.average is None:
            return difficulty
        updated = self.ema * self.average + (1 - self.ema) * difficulty
        fresh = torch.where(self.average.isnan(), difficulty, updated)
        return torch.where(difficulty.isnan(), self.average, fresh)  # an op unseen this epoch keeps its value

    def weights_for(self, difficulty: Tensor) -> Tensor:
        """Weights from difficulties; an op never seen yet counts as the mean difficulty of the others."""
        known = difficulty[~difficulty.isnan()]
        fill = known.mean() if len(known) else torch.tensor(1.0, dtype=difficulty.dtype)
        d = torch.where(difficulty.isnan(), fill, difficulty).clamp(min=1e-12)
        share = d ** (1 / self.temperature)
        return self.floor + (1 - len(d) * self.floor) * share / share.sum()

    def state_dict(self) -> dict[str, Any]:
        return {"average": self.average}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.average = state_dict["average"]
