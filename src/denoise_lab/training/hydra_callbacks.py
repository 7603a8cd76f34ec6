"""Hydra callbacks (``hydra.callbacks`` in ``conf/hydra/default.yaml``): what happens around every job and at
the end of a sweep, whatever the launcher (basic, joblib, submitit) or sweeper (basic, Optuna).

Job callbacks run in the job's own process, after the task function returned or raised.
"""

from __future__ import annotations

import atexit
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from denoise_lab.reporting.job_record import write_failure

log = logging.getLogger(__name__)


class RecordFailure(Callback):
    """A job that raised leaves ``failure.json`` (its error and traceback) in its run dir."""

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status == JobStatus.FAILED:
            # the public `return_value` re-raises the error; the field holds it
            write_failure(Path(config.hydra.runtime.output_dir), job_return._return_value)


def finish_wandb(exit_code: int = 0) -> None:
    """End the open W&B run, if any, and wait until its files are written: W&B's service writes them in the
    background, and its exit hook may never run in a launcher's worker process."""
    wandb = sys.modules.get("wandb")  # only a job that logged to W&B has imported it
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=exit_code)
        wandb.teardown()


class FinishWandb(Callback):
    """Close the job's W&B run: the next job of a sweep (same process under the basic launcher) gets its own
    run instead of Lightning attaching it to the open one. A failed job's run is marked failed."""

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        finish_wandb(exit_code=0 if job_return.status == JobStatus.COMPLETED else 1)


class CompareSweep(Callback):
    """At the end of a sweep, write ``comparison.csv/.md`` and the comparison figures into the sweep dir.

    Hydra's sweepers raise when a job failed, and then never call ``on_multirun_end``; the comparison is
    then written when the process exits, so the failed job shows in it with its error.
    """

    def __init__(self, num_images: int = 6) -> None:
        self.num_images = num_images
        self.sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(config.hydra.sweep.dir)
        # made now, not by the launcher: the Optuna sweeper opens its study (<sweep dir>/optuna.db) before
        # launching the first job
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self._write)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.unregister(self._write)
        self._write()

    def _write(self) -> None:
        if self.sweep_dir is None or not self.sweep_dir.is_dir():
            return
        # imported here: Hydra builds these callbacks for every command, and the comparison's imports
        # (Lightning, matplotlib) would make `predict` wait seconds before its first word
        from denoise_lab.reporting.comparison import write_comparison

        if write_comparison(self.sweep_dir, self.num_images) is not None:
            log.info("sweep comparison: %s", self.sweep_dir / "comparison.md")
