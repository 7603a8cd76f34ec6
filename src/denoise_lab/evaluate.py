"""``python -m denoise_lab.evaluate ckpt_path=... [data=...] [degradation=...] [eval.protocol=standard]``.

Rebuilds the network from the checkpoint's saved run config (no training overrides to repeat), takes the
data and degradations from that config too unless ``data=``/``degradation=`` replace them, and writes the
report folder of :mod:`denoise_lab.reporting.report` into the Hydra run dir. Training runs call
:func:`report_after_training` after the fit: its records are the run's final numbers too (``metrics.json``,
``per_degradation.csv``, the loggers' ``test/*``), so every run dir holds the same report and the models are
measured once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import pandas as pd
import torch
from omegaconf import DictConfig
from torch import nn

from denoise_lab.baselines import select_baselines
from denoise_lab.blind_quality import load_blind_measures
from denoise_lab.checkpoints import load_checkpoint
from denoise_lab.config import CONFIG_DIR, check_eval, user_errors_in_one_line
from denoise_lab.data import DenoiseDataModule, build_datamodule
from denoise_lab.data.sources import LoadedImage, limit_megapixels
from denoise_lab.evaluation import Evaluator, crop_cases, grid_pairs, standard_cases
from denoise_lab.perceptual import load_lpips
from denoise_lab.reporting.report import write_report
from denoise_lab.tiling import device_of, restorer

log = logging.getLogger(__name__)


def evaluation_images(datamodule: DenoiseDataModule, which: str) -> list[LoadedImage]:
    """The held-out images, which the run never trained on (the validation split, or the source's own test
    split), or every image of the source; unpadded, since the standard protocol scores whole images as they
    are."""
    if which == "heldout":
        return datamodule.splits()[2]
    load_test = getattr(datamodule.source, "load_test", None)
    return datamodule.source.load() + (load_test() if load_test else [])


def write_evaluation(
    model: nn.Module,
    datamodule: DenoiseDataModule,
    settings: DictConfig,
    out_dir: Path,
    header: list[str],
    loss: nn.Module | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate ``model`` on ``datamodule``'s images as ``settings`` (the ``eval`` config) say; write the
    report folder into ``out_dir``; return the per-image records and the report's summary table.
    ``loss`` (the training loss) adds the model's loss to the records."""
    header, device = list(header), device_of(settings.device)
    images = evaluation_images(datamodule, settings.images)
    names = ", ".join(im.name for im in images[:8]) + (", ..." if len(images) > 8 else "")
    if settings.protocol == "standard":
        ops = [f"gaussian_noise_{s:g}" for s in settings.sigmas]
        cases = standard_cases(images, list(settings.sigmas), settings.noise_seed, device)
        n_images = len(images)
        header.append(
            f"protocol: standard, {n_images} whole images ({names}); Gaussian noise of sigma "
            f"{list(settings.sigmas)} added to the float image from a generator seeded {settings.noise_seed} "
            "for every image, not clipped; output rounded to uint8; PSNR on RGB without border crop"
        )
    else:
        crops = datamodule.crops(images, "eval")
        ops, n_images = datamodule.op_names, len(crops)
        cases = crop_cases(crops, datamodule.bank, datamodule.eval_batch_size, device)
        header.append(
            f"protocol: mixed, every degradation on each of {n_images} fixed {datamodule.val_crop_size} px "
            f"crops of {len(images)} images ({names}), seeded per crop and op"
        )
    baselines, notes = select_baselines(list(settings.baselines.methods))
    lpips, lpips_note = load_lpips(device)
    blind, blind_notes = load_blind_measures()
    notes = [*notes, *([lpips_note] if lpips_note else []), *blind_notes]
    tile = settings.tile
    restore = restorer(model, device, tile.size, tile.overlap, tile.align, settings.self_ensemble)
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    header.append(
        f"model: {type(model).__name__} ({parameters:.2f}M parameters) on {device}, tiles of {tile.size} px "
        f"(overlap {tile.overlap}), self-ensemble {'x8' if settings.self_ensemble else 'off'}"
    )
    evaluator = Evaluator(
        restore,
        quantize=settings.protocol == "standard",
        lpips=lpips,
        blind=blind,
        baselines=baselines,
        baseline_images=settings.baselines.max_images,
        view_size=settings.view_size,
        figure_examples=settings.figure_examples,
        grid=grid_pairs(n_images, ops, settings.grid_images),
        color=settings.color,
        crop_border=settings.crop_border,
        loss=loss,
    )
    records = evaluator.evaluate(cases)
    notes.insert(0, scoring_note(settings.color, settings.crop_border))
    if (records["scope"] == "baselines").any():
        limit = settings.baselines.max_images
        notes.append(
            f"Baselines ({', '.join(baselines)}) ran on the first {'all' if limit is None else limit} images "
            f"of each Gaussian-noise op, on centre crops of at most {settings.view_size} px (BM3D takes "
            "seconds per crop on a CPU), given the true noise sigma. The rows counted 'first N' compare "
            "every method, the model too, on exactly those crops. Times are wall-clock seconds per image on "
            f"{device} ({torch.get_num_threads()} torch threads; BM3D single-threaded)."
        )
    summary = write_report(out_dir, records, header, notes, evaluator.examples, evaluator.grid_examples)
    log.info("evaluation report: %s", out_dir / "report.md")
    return records, summary


def scoring_note(color: str, crop_border: int) -> str:
    """The convention PSNR, SSIM and MSE were taken in (``eval.color``, ``eval.crop_border``)."""
    channels = (
        "the Y channel of ITU-R BT.601 (as BasicSR and KAIR: Y in [16, 235])" if color == "y" else "RGB"
    )
    border = f"{crop_border} px cropped from every border" if crop_border else "no border crop"
    return f"PSNR, SSIM and MSE taken on {channels}, {border} (eval.color={color}, eval.crop_border={crop_border})."


def report_after_training(
    cfg: DictConfig, model: nn.Module, datamodule: DenoiseDataModule, best: str, loss: nn.Module
) -> pd.DataFrame:
    """The report of a training run, into its run dir, from its best weights; the per-image records."""
    header = [f"weights: {best or 'the last epoch'}", f"run config: {Path(cfg.paths.output_dir) / '.hydra'}"]
    return write_evaluation(model, datamodule, cfg.eval, Path(cfg.paths.output_dir), header, loss)[0]


def evaluate(cfg: DictConfig) -> pd.DataFrame:
    """The ``evaluate`` task: rebuild from the checkpoint, replace data/degradation if asked, report."""
    check_eval(cfg.eval)
    limit_megapixels(cfg.max_megapixels)
    model, run_cfg = load_checkpoint(cfg.ckpt_path)
    for group in ("data", "degradation"):
        if cfg.get(group) is not None:
            run_cfg[group] = cfg[group]  # its ${seed} now resolves against the checkpoint's run config
    datamodule = build_datamodule(run_cfg)
    header = [f"checkpoint: {cfg.ckpt_path}"]
    return write_evaluation(model, datamodule, cfg.eval, Path(cfg.paths.output_dir), header)[1]


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Hydra entry: one-line messages for errors a user can cause."""
    with user_errors_in_one_line():
        evaluate(cfg)


if __name__ == "__main__":
    main()
