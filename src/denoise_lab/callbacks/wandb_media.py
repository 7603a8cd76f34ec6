"""WandbMedia: after testing, send the run's sample grid and per-degradation table to W&B."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from denoise_lab.reporting.tables import per_degradation_table


class WandbMedia(L.Callback):
    """On rank zero, once the test metrics are in: ``test/samples`` (``samples.png``, written by
    :class:`SampleGrid` at the end of the test epoch) as an image, and ``test/per_degradation`` (degraded vs
    restored PSNR/SSIM per op, as in ``per_degradation.csv``) as a ``wandb.Table``."""

    def __init__(self, samples_path: str) -> None:
        self.samples_path = Path(samples_path)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        if not trainer.is_global_zero or not loggers:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        table = per_degradation_table(metrics, pl_module.op_names).round(4).reset_index()
        for logger in loggers:
            logger.log_table(key="test/per_degradation", dataframe=table)
            if self.samples_path.is_file():
                logger.log_image(key="test/samples", images=[str(self.samples_path)])
