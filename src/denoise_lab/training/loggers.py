"""Experiment loggers built from config: W&B that never prompts or hangs without an account; and what the
loggers receive once the final evaluation is done.

``logger=wandb`` builds its logger here rather than straight from ``WandbLogger`` to decide three things
the config cannot: offline or online (is an API key configured?), the run's name and group inside a Hydra
multirun, and the run id to continue when resuming from a checkpoint.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import Logger, WandbLogger

from denoise_lab.inference.checkpoints import resolve_checkpoint

log = logging.getLogger(__name__)


def wandb_logger(
    save_dir: str,
    project: str = "denoise_lab",
    resume_from: str | None = None,
    runs_dir: str | None = None,
    **kwargs: Any,
) -> WandbLogger:
    """A ``WandbLogger`` writing under ``save_dir``/wandb.

    * Offline unless ``WANDB_MODE`` says otherwise or an API key is configured (``WANDB_API_KEY``,
      ``wandb login``); W&B is never asked to prompt for one.
    * In a multirun, the run is named by the job's overrides and grouped by the sweep dir.
    * ``resume_from`` (the run's ``ckpt_path``: ``last`` or a path) continues the W&B run of the run dir
      the checkpoint belongs to.
    ``kwargs`` go to ``WandbLogger`` and on to ``wandb.init`` (``tags``, ``entity``, ``mode``, ...).
    """
    import wandb

    if (
        "mode" not in kwargs
        and "WANDB_MODE" not in os.environ
        and not wandb.login(prompt=False, verify=False)
    ):
        kwargs["mode"] = "offline"
        log.info("W&B: no API key, logging offline into %s/wandb", save_dir)
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        job = HydraConfig.get().job
        kwargs.setdefault("name", job.override_dirname or f"job {job.num}")
        kwargs.setdefault("group", str(HydraConfig.get().sweep.dir))
    if resume_from is not None and "id" not in kwargs:
        kwargs["id"] = previous_run_id(resume_from, runs_dir, save_dir)
    return WandbLogger(save_dir=save_dir, project=project, **kwargs)


def previous_run_id(ckpt_path: str, runs_dir: str | None, run_dir: str) -> str | None:
    """The W&B run id of the run dir that ``ckpt_path`` (``last`` or a file) belongs to; None if it had none."""
    checkpoint = resolve_checkpoint(ckpt_path, Path(runs_dir or "."), Path(run_dir))  # what the run resumes
    earlier_run = Path(checkpoint).resolve().parents[1]  # <run dir>/checkpoints/<name>.ckpt
    files = sorted(earlier_run.glob("wandb/*run-*/run-*.wandb"), key=lambda p: p.stat().st_mtime)
    return files[-1].stem.removeprefix("run-") if files else None


def log_final_results(
    loggers: list[Logger], metrics: dict[str, float], table: pd.DataFrame, grid: Path
) -> None:
    """After the final evaluation: its metrics (``test/psnr/<op>``, ...) to every logger, and to W&B also
    ``test/per_degradation`` (``per_degradation.csv`` as a table) and ``test/samples`` (the report's
    ``grid.png``)."""
    for logger in loggers:
        logger.log_metrics(metrics)
        logger.save()
        if isinstance(logger, WandbLogger):
            logger.log_table(key="test/per_degradation", dataframe=table.round(4).reset_index())
            if grid.is_file():
                logger.log_image(key="test/samples", images=[str(grid)])
