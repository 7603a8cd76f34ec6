"""One evaluation of a network: its protocol's cases restored once, measured, and written as the report.

:func:`write_evaluation` serves ``python -m denoise_lab.evaluate`` and, through
:func:`report_after_training`, the end of every training run, whose final numbers (``metrics.json``,
``per_degradation.csv``, the loggers' ``test/*``) are read from the same records.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch
from lightning.pytorch.utilities.model_summary import get_human_readable_count
from omegaconf import DictConfig
from torch import nn

from denoise_lab.data import DenoiseDataModule
from denoise_lab.evaluation.baselines import select_baselines
from denoise_lab.evaluation.blind_quality import NIQE_SIZE_NOTE, load_blind_measures
from denoise_lab.evaluation.cases import grid_pairs, protocol_cases
from denoise_lab.evaluation.evaluator import ORIGINAL, Evaluator
from denoise_lab.evaluation.perceptual import load_lpips
from denoise_lab.files import write_text_in_place
from denoise_lab.inference.tiling import device_of, restorer, uses_bf16
from denoise_lab.reporting.report import write_report

log = logging.getLogger(__name__)


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
    device = device_of(settings.device)
    protocol = protocol_cases(datamodule, settings, device)
    header = [*header, protocol.description]
    baselines, notes = select_baselines(list(settings.baselines.methods))
    lpips, lpips_note = load_lpips(device)
    blind, blind_notes = load_blind_measures()
    notes = [*notes, *([lpips_note] if lpips_note else []), *blind_notes]
    tile = settings.tile
    views, precision = settings.self_ensemble, str(settings.precision)
    restore = restorer(model, device, tile.size, tile.overlap, tile.align, views, precision)
    parameters = get_human_readable_count(sum(p.numel() for p in model.parameters()))
    header.append(
        f"model: {type(model).__name__} ({parameters} parameters) on {device}, tiles of {tile.size} px "
        f"(overlap {tile.overlap}), self-ensemble {f'x{views}' if views > 1 else 'off'}, "
        f"{'bfloat16' if uses_bf16(precision, device) else 'float32'}"
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
        grid=grid_pairs(protocol.n_images, protocol.ops, settings.grid_images),
        color=settings.color,
        crop_border=settings.crop_border,
        loss=loss,
    )
    records = evaluator.evaluate(protocol.cases, total=protocol.n_images * len(protocol.ops))
    notes.insert(0, scoring_note(settings.color, settings.crop_border))
    if "niqe" in blind:
        notes.extend(niqe_size_note(records, settings.protocol))
    if (records["scope"] == "baselines").any():
        limit = settings.baselines.max_images
        # paired data has no true sigma: the protocol line says which one the baselines got
        op, given = (
            ("paired", "the sigma the protocol line names")
            if settings.protocol == "paired"
            else ("Gaussian-noise", "the true noise sigma")
        )
        notes.append(
            f"Baselines ({', '.join(baselines)}) ran on {'all the' if limit is None else f'the first {limit}'} images "
            f"of each {op} op, on centre crops of at most {settings.view_size} px (BM3D takes seconds per crop "
            f"on a CPU), given {given}. The rows counted 'first N' compare "
            "every method, the model too, on exactly those crops. Times are wall-clock seconds per image on "
            f"{device} ({torch.get_num_threads()} torch threads; BM3D single-threaded)."
        )
    summary = write_report(out_dir, records, header, notes, evaluator.examples, evaluator.grid_examples)
    write_per_image(out_dir / "per_image.csv", records, protocol.image_names)
    log.info("evaluation report: %s", out_dir / "report.md")
    return records, summary


def write_per_image(path: Path, records: pd.DataFrame, image_names: list[str] | None) -> None:
    """Every measurement, one row per image (or crop), op and method: the worst image, not only the mean,
    is what a user meets (a clean photo repainted at 32 dB hid behind a 45 dB average)."""
    if image_names is not None:
        records = records.assign(image=records["key"].map(dict(enumerate(image_names))))
    write_text_in_place(path, records.to_csv(index=False, float_format="%.6g"))


def scoring_note(color: str, crop_border: int) -> str:
    """The convention PSNR, SSIM and MSE were taken in (``eval.color``, ``eval.crop_border``)."""
    channels = (
        "the Y channel of ITU-R BT.601 (as BasicSR and KAIR: Y in [16, 235])" if color == "y" else "RGB"
    )
    border = f"{crop_border} px cropped from every border" if crop_border else "no border crop"
    return f"PSNR, SSIM and MSE taken on {channels}, {border} (eval.color={color}, eval.crop_border={crop_border})."


def niqe_size_note(records: pd.DataFrame, protocol: str) -> list[str]:
    """Which images NIQE left out for their size, if any: the originals are finite, so NIQE is NaN on one only
    where it is under its minimum size (and then on its degraded and restored versions too)."""
    originals = records[records["method"] == ORIGINAL]
    images = originals.groupby("scope")["key"].nunique()
    small = originals[originals["niqe"].isna()].groupby("scope")["key"].nunique()
    which = []
    if "all" in small and small["all"] < images["all"]:
        which.append(f"{small['all']} of the {images['all']} images, which the NIQE means leave out")
    elif "all" in small:
        which.append(
            "all the images" + ("" if protocol == "standard" else " (eval.protocol=standard: whole images)")
        )
    if "baselines" in small:
        which.append("the baselines' crops (eval.view_size)")
    return [f"{NIQE_SIZE_NOTE}: {'; '.join(which)}."] if which else []


def report_after_training(
    cfg: DictConfig, model: nn.Module, datamodule: DenoiseDataModule, best: str, loss: nn.Module
) -> pd.DataFrame:
    """The report of a training run, into its run dir, from its best weights; the per-image records."""
    header = [f"weights: {best or 'the last epoch'}", f"run config: {Path(cfg.paths.output_dir) / '.hydra'}"]
    log.info(
        "training done; evaluating %s on the held-out images (eval.protocol=%s)",
        best or "the last weights",
        cfg.eval.protocol,
    )
    return write_evaluation(model, datamodule, cfg.eval, Path(cfg.paths.output_dir), header, loss)[0]
