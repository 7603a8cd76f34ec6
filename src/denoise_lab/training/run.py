"""Training entry point: ``python -m denoise_lab [overrides]`` composes ``conf/`` and calls :func:`run`.

:func:`run` builds everything from the config through ``_target_``, fits with checkpoints, then evaluates
the best weights once on every degradation (:func:`denoise_lab.evaluation.run.report_after_training`): the
report (``report.md``, ``grid.png`` and friends), ``metrics.json``, ``per_degradation.csv`` and the
loggers' ``test/*`` are all views of that one evaluation's records.
:func:`main` returns the optimized metric to Hydra's sweepers.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.utilities.model_summary import get_human_readable_count
from omegaconf import DictConfig, OmegaConf

from denoise_lab.config import CONFIG_DIR, ConfigError, validate
from denoise_lab.console import fail, quiet_console
from denoise_lab.data import build_datamodule
from denoise_lab.data.sources import limit_megapixels
from denoise_lab.evaluation.run import report_after_training, scoring_note
from denoise_lab.files import DISK_ERRNOS
from denoise_lab.inference.checkpoints import check_resumable, load_checkpoint, resolve_checkpoint
from denoise_lab.reporting.tables import logged_metrics, per_degradation_table, write_test_report
from denoise_lab.training.callbacks import TrainingDiverged
from denoise_lab.training.checkpoint_io import SameFolderCheckpointIO
from denoise_lab.training.loggers import log_final_results
from denoise_lab.training.module import DenoiseModule

log = logging.getLogger(__name__)


def build_module(cfg: DictConfig, op_names: list[str]) -> DenoiseModule:
    """The LightningModule described by ``cfg`` (model, loss, optimizer, scheduler, memory layout,
    compilation when fitting starts)."""
    return DenoiseModule(
        model=instantiate(cfg.model),
        loss=instantiate(cfg.loss),
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.get("scheduler") else None,
        op_names=op_names,
        channels_last=cfg.channels_last,
        compile_network=bool(cfg.get("compile")),
        config=OmegaConf.to_container(cfg, resolve=True),
    )


def example_patch(cfg: DictConfig) -> torch.Tensor:
    """One training patch of zeros, for the model summary to count FLOPs and shapes on. Set once the data
    has accepted the patch size."""
    return torch.zeros(1, cfg.model.get("in_channels", 3), cfg.data.patch_size, cfg.data.patch_size)


def initialise(module: DenoiseModule, source: str) -> None:
    """Fine-tuning: the network's weights from a checkpoint or ``pretrained:<name>``. Every tensor of the
    source must fit the network (else one line naming both); the network may hold more, which keep their
    initialisation: DRUNet with more ``blocks`` grows from a shallower one this way, its extra residual
    blocks starting as the identity, so training resumes from the source's quality rather than from noise."""
    network, config = load_checkpoint(source)
    try:  # with strict=False, torch still refuses a tensor of another shape
        loaded = module.model.load_state_dict(network.state_dict(), strict=False)
    except RuntimeError:
        loaded = None
    if loaded is None or loaded.unexpected_keys:
        sizes = ", ".join(f"model.{key}={value}" for key, value in config.model.items() if key != "_target_")
        raise ConfigError(
            f"init_from '{source}' holds another architecture than model {type(module.model).__name__}: "
            f"it is {config.model._target_.rsplit('.', 1)[-1]} with {sizes}; pick that model and those sizes"
        )
    new = loaded.missing_keys
    log.info(
        "weights initialised from %s%s",
        source,
        f" ({len(new)} new tensors keep their initialisation)" if new else "",
    )


def build(cfg: DictConfig) -> tuple[L.LightningDataModule, DenoiseModule, L.Trainer]:
    """Instantiate the data, the module and the trainer described by ``cfg``."""
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule.op_names)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    if not cfg.trainer.get("enable_progress_bar", True):  # Lightning refuses a bar it was told not to show
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    loggers = [instantiate(lg) for lg in (cfg.get("logger") or {}).values() if lg is not None]
    plugins = [SameFolderCheckpointIO()]
    try:
        trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=plugins)
    except InstantiationException as error:  # Lightning's own sentence, without Hydra's block around it
        raise ConfigError(f"trainer: {error.__cause__ or error}") from None
    return datamodule, module, trainer


def run(cfg: DictConfig) -> dict[str, Any]:
    """Fit, evaluate the best checkpoint, write the run's report; return every logged metric."""
    validate(cfg)
    run_dir = Path(cfg.paths.output_dir)
    ckpt_path = resolve_checkpoint(cfg.get("ckpt_path"), Path(cfg.paths.runs_dir), run_dir)
    L.seed_everything(cfg.seed, workers=True)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    limit_megapixels(cfg.max_megapixels)
    datamodule, module, trainer = build(cfg)
    if cfg.get("init_from"):
        initialise(module, cfg.init_from)
    datamodule.setup("fit")  # decode the images now: bad paths fail before any training
    module.example_input_array = example_patch(cfg)
    log.info(
        "model: %s, %s parameters",
        type(module.model).__name__,
        get_human_readable_count(sum(p.numel() for p in module.parameters())),
    )
    if ckpt_path:
        check_resumable(Path(ckpt_path), module.model, OmegaConf.to_container(cfg, resolve=True))
        log.info("resuming from %s", ckpt_path)

    start = time.perf_counter()
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SystemExit:
        if trainer.interrupted:  # Lightning exits on Ctrl-C after its teardown; main says what was kept
            raise KeyboardInterrupt from None
        raise
    fit_seconds = time.perf_counter() - start
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    checkpoint = next((c for c in trainer.checkpoint_callbacks if c.monitor == cfg.optimized_metric), None)
    best = checkpoint.best_model_path if checkpoint else ""
    if checkpoint and checkpoint.best_model_score is not None:
        metrics[cfg.optimized_metric] = float(checkpoint.best_model_score)  # sweeps compare best, not last
    if cfg.get("test_after_fit", True) and trainer.is_global_zero:
        # the weights best.ckpt holds (with callbacks.ema, the averaged ones), as evaluate and predict load them
        network = load_checkpoint(best)[0] if best else module.model
        table = per_degradation_table(report_after_training(cfg, network, datamodule, best, module.loss))
        facts = {
            "best_checkpoint": best,
            "fit_seconds": round(fit_seconds, 1),
            "epochs": trainer.current_epoch,
        }
        write_test_report(
            run_dir, table, {"scoring": scoring_note(cfg.eval.color, cfg.eval.crop_border), **facts}
        )
        log.info("per-degradation results (best weights):\n%s", table.round(3).to_string())
        tested = logged_metrics(table)
        log_final_results(trainer.loggers, tested, table, run_dir / "grid.png")
        metrics.update(tested)
    log.info("run directory: %s", run_dir)
    return metrics


def what_was_kept(run_dir: Path) -> str:
    """Which checkpoints a stopped run keeps (each written whole, epoch by epoch) and how to go on."""
    kept = sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt"))
    if not kept:
        return f"no epoch had ended, no checkpoint was kept in {run_dir}"
    return (
        f"kept {', '.join(kept)} in {run_dir / 'checkpoints'}; go on with the same command and "
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"
    )


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry: run one job and return the optimized metric (``val/psnr``) for sweepers.

    A config error or a diverged training ends a single run with one line; in a sweep it fails only its job (Hydra records it,
    the other jobs run, and the comparison lists it with its error)."""
    quiet_console()
    try:
        metrics = run(cfg)
    except KeyboardInterrupt:
        fail(f"interrupted (Ctrl-C): {what_was_kept(Path(cfg.paths.output_dir))}")
    except (ConfigError, FileNotFoundError, TrainingDiverged) as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            log.error("%s", error)
            raise
        fail(str(error) if isinstance(error, TrainingDiverged) else f"config error: {error}")
    except OSError as error:  # after FileNotFoundError, an OSError too
        if error.errno not in DISK_ERRNOS:
            raise
        where = f" ({error.filename})" if error.filename else ""
        fail(f"write error: {error.strerror}{where}; {what_was_kept(Path(cfg.paths.output_dir))}")
    return metrics.get(cfg.optimized_metric)


if __name__ == "__main__":
    main()
