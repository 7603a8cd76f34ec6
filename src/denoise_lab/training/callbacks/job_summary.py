"""JobSummary: keep ``job.json`` in the run dir, the facts a sweep comparison needs from one job.

Written on rank zero after every epoch and at the end of the fit, from inside the training
processes: under ``ddp_spawn`` the launching process never sees the epoch count, the step count or the
best score, and a job that dies half-way still leaves its curves. The per-epoch rows are the run's one
record, :class:`~denoise_lab.training.callbacks.history.TrainingHistory`'s (the rows of ``history.csv``), not a
copy. The image count and the fitting time travel in checkpoints, so a resumed run continues them: its
images/s and fit time cover the whole run, not only the resumed part.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import lightning as L

from denoise_lab.reporting.job_record import write_job_summary
from denoise_lab.training.callbacks.history import TrainingHistory


class JobSummary(L.Callback):
    """The run's per-epoch rows (the training history's), the row of the best epoch by ``monitor``, the
    model's size, the fit's wall time, and training throughput: images per second of training steps
    (forward, backward, optimizer; data loading and validation excluded)."""

    def __init__(self, dirpath: str, monitor: str = "val/psnr", mode: str = "max") -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"JobSummary mode must be 'max' or 'min', got '{mode}'")
        self.dirpath, self.monitor, self.mode = Path(dirpath), monitor, mode
        self.train_images = 0
        self.train_step_seconds = 0.0
        self.fit_seconds_before = 0.0  # a resumed run's fitting time before this fit
        self._fit_start = self._step_start = 0.0

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._fit_start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch: Any, batch_idx: int) -> None:
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.train_step_seconds += time.perf_counter() - self._step_start
        self.train_images += len(batch["clean"]) * trainer.world_size

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Runs after the epoch's validation and after the history has taken the epoch's row."""
        self._write(trainer, pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, pl_module, fit_seconds=self._fit_seconds())

    def _fit_seconds(self) -> float:
        return self.fit_seconds_before + time.perf_counter() - self._fit_start

    @staticmethod
    def _rows(trainer: L.Trainer) -> list[dict[str, float]]:
        """The training history's rows (none when the run has no history callback)."""
        history = next((c for c in trainer.callbacks if isinstance(c, TrainingHistory)), None)
        return history.rows if history is not None else []

    def _best(self, rows: list[dict[str, float]]) -> dict[str, float] | None:
        scored = [r for r in rows if math.isfinite(r.get(self.monitor, math.nan))]
        if not scored:
            return None
        pick = max if self.mode == "max" else min
        return pick(scored, key=lambda r: r[self.monitor])

    def _write(
        self, trainer: L.Trainer, pl_module: L.LightningModule, fit_seconds: float | None = None
    ) -> None:
        if not trainer.is_global_zero:
            return
        model = getattr(pl_module, "model", pl_module)
        rows = self._rows(trainer)
        facts: dict[str, Any] = {
            "model": type(model).__name__,
            "parameters": sum(p.numel() for p in model.parameters()),
            "devices": trainer.world_size,
            "epochs": len(rows),
            "train_images": self.train_images,
            "train_images_per_second": round(self.train_images / self.train_step_seconds, 1)
            if self.train_step_seconds
            else None,
            "fit_seconds": round(fit_seconds, 1) if fit_seconds is not None else None,
            "monitor": self.monitor,
            "best": self._best(rows),
            "history": rows,
        }
        write_job_summary(self.dirpath, **facts)

    def state_dict(self) -> dict[str, Any]:
        return {
            "train_images": self.train_images,
            "train_step_seconds": self.train_step_seconds,
            "fit_seconds": self._fit_seconds(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.train_images = int(state_dict["train_images"])
        self.train_step_seconds = float(state_dict["train_step_seconds"])
        self.fit_seconds_before = float(state_dict.get("fit_seconds", 0.0))
