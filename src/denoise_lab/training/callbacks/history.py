"""TrainingHistory: one row per epoch of losses, quality and degradation weights (seed 000's records).

Writes ``history.csv`` after every epoch (a crashed run keeps what it learned so far), and
``history.xlsx`` plus ``history.png`` (loss curves and the stacked evolution of the weights) when fit
ends or fails. The rows travel in checkpoints, so a resumed run's history starts at epoch 0, and its
``fit_hours`` column (wall-clock hours of fitting up to the end of each epoch, validation included) goes on
counting from where the resumed run stopped: the training curve of a run spread over several sessions.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd

from denoise_lab.reporting.figures import save_history_figure

SKIPPED_PREFIXES = ("lr-",)  # the learning rate has its own logger


class TrainingHistory(L.Callback):
    def __init__(self, dirpath: str, filename: str = "history") -> None:
        self.base = Path(dirpath) / filename
        self.rows: list[dict[str, float]] = []
        self._weights: dict[str, float] = {}
        self._started: float | None = None  # this fit's start, and the hours fitted before it
        self._hours_before = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is None:  # first epoch of this fit: a resumed run's rows are loaded by now
            self._started = time.perf_counter()
            self._hours_before = self.rows[-1].get("fit_hours", 0.0) if self.rows else 0.0
        bank = trainer.datamodule.bank  # None for paired data, which has no degradation weights
        names, weights = (bank.names, bank.weights.tolist()) if bank is not None else ([], [])
        self._weights = {f"weights/{n}": w for n, w in zip(names, weights, strict=True)}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Runs after the epoch's validation, so train and val metrics of the same epoch share a row."""
        row: dict[str, float] = {"epoch": trainer.current_epoch}
        for name, value in sorted(trainer.callback_metrics.items()):
            if not name.startswith(SKIPPED_PREFIXES) and not name.endswith("_step"):
                row[name] = float(value)
        row.update(self._weights)
        row["fit_hours"] = self._hours_before + (time.perf_counter() - self._started) / 3600
        self.rows = [r for r in self.rows if r["epoch"] != row["epoch"]] + [row]
        if trainer.is_global_zero:
            self.base.parent.mkdir(parents=True, exist_ok=True)
            self.table().to_csv(self.base.with_suffix(".csv"), index=False)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write_summary(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._write_summary(trainer)

    def _write_summary(self, trainer: L.Trainer) -> None:
        if not trainer.is_global_zero or not self.rows:
            return
        table = self.table()
        table.to_excel(self.base.with_suffix(".xlsx"), index=False, sheet_name="history")
        save_history_figure(self.base.with_suffix(".png"), table)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict["rows"])
