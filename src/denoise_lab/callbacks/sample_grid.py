"""SampleGrid: after testing, save ``samples.png`` with N clean / degraded / restored crops (seed 001's figure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from denoise_lab.reporting.figures import save_sample_grid


class SampleGrid(L.Callback):
    """Picks ``num_images`` test crops spread evenly over the whole test set, the degradations cycling
    from one to the next, and writes the figure on rank zero."""

    def __init__(self, dirpath: str, num_images: int = 10, filename: str = "samples.png") -> None:
        self.path = Path(dirpath) / filename
        self.num_images = num_images
        self._picked: list[dict[str, torch.Tensor]] = []
        self._wanted = torch.empty(0, 2, dtype=torch.long)  # rows of (crop key, op index)

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._picked = []
        n_crops, n_ops = len(trainer.test_dataloaders.dataset), len(pl_module.op_names)
        keys = torch.linspace(0, n_crops - 1, min(self.num_images, n_crops)).round().long().unique()
        self._wanted = torch.stack([keys, torch.arange(len(keys)) % n_ops], dim=1)

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        pairs = torch.stack([batch["index"], batch["op"]], dim=1).cpu()
        keep = (pairs[:, None, :] == self._wanted[None]).all(-1).any(-1).nonzero().squeeze(1)
        keep = keep.to(batch["clean"].device)
        picked = {k: batch[k][keep].cpu() for k in ("clean", "degraded", "op")}
        self._picked.append({**picked, "restored": outputs["restored"][keep].cpu()})

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or not self._picked:
            return
        rows = {k: torch.cat([p[k] for p in self._picked]) for k in self._picked[0]}
        titles = [pl_module.op_names[k] for k in rows["op"].tolist()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save_sample_grid(self.path, rows["clean"], rows["degraded"], rows["restored"], titles)
