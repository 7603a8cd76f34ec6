"""Compare the jobs of a sweep: one table row per job, and figures that put the models side by side.

Everything is read from the files each job left in its run dir (``.hydra/overrides.yaml``, ``job.json``,
``failure.json``, ``checkpoints/best.ckpt``), so a sweep can be compared whatever launcher ran it, while it
still runs, or after it failed. Scores are the validation metrics of each job's best epoch (the epoch of
``best.ckpt``): overall, per degradation, and the degraded input's for reference.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml

from denoise_lab.data import build_datamodule
from denoise_lab.evaluation.metrics import ALL_OPS, metric_name, parse_metric_name
from denoise_lab.files import write_text_in_place
from denoise_lab.inference.checkpoints import load_checkpoint
from denoise_lab.reporting import figures
from denoise_lab.reporting.job_record import FAILURE_FILE, JOB_FILE, read_json
from denoise_lab.reporting.search_figures import (
    HISTORY_FIGURE,
    IMPORTANCE_FIGURE,
    STUDY_FILE,
    save_search_figures,
)

BEST_CHECKPOINT = Path("checkpoints") / "best.ckpt"  # each job's best weights (conf/callbacks/default.yaml)

log = logging.getLogger(__name__)

FILES = [
    "comparison.csv",
    "comparison.md",
    "loss_curves.png",
    "ssim_by_model.png",
    "psnr_by_degradation.png",
    "samples_by_model.png",
]


@dataclass
class Job:
    """One job of a sweep, as its run dir tells it."""

    name: str
    path: Path
    overrides: list[str]
    summary: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    label: str = ""

    @property
    def status(self) -> str:
        if self.failure is not None:
            return "failed"
        if self.summary is None:
            return "no result"  # not started, still running its first epoch, or killed
        return "ok" if self.summary.get("fit_seconds") is not None else "running or stopped"

    @property
    def best(self) -> dict[str, float]:
        return (self.summary or {}).get("best") or {}


def _natural_key(path: Path) -> list:
    """Job dirs in number order: 2 before 10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job dir under ``sweep_dir`` (a dir with ``.hydra/overrides.yaml``), in job-number order."""
    dirs = {p.parent.parent for p in sweep_dir.glob("**/.hydra/overrides.yaml")} - {sweep_dir}
    jobs = []
    for path in sorted(dirs, key=lambda p: _natural_key(p.relative_to(sweep_dir))):
        overrides = yaml.safe_load((path / ".hydra" / "overrides.yaml").read_text()) or []
        jobs.append(
            Job(
                name=str(path.relative_to(sweep_dir)),
                path=path,
                overrides=[str(o) for o in overrides],
                summary=read_json(path / JOB_FILE),
                failure=read_json(path / FAILURE_FILE),
            )
        )
    common = common_overrides(jobs)
    for job in jobs:
        varying = [o for o in job.overrides if o not in common]
        job.label = " ".join(rounded(o) for o in varying) or f"job {job.name}"
    return jobs


def rounded(override: str) -> str:
    """``key=value`` with a float value shown to 3 significant digits: an Optuna trial's
    ``optim.optimizer.lr=0.0012873514093351836`` overran every figure label (the overrides keep full precision)."""
    key, _, value = override.partition("=")
    try:
        number = float(value)
    except ValueError:
        return override
    return f"{key}={number:.3g}" if any(c in value for c in ".eE") else override


def common_overrides(jobs: list[Job]) -> list[str]:
    """The overrides every job shares (none for a single job: its overrides are what describes it)."""
    if len(jobs) < 2:
        return []
    return sorted(set.intersection(*(set(j.overrides) for j in jobs)))


def op_names(jobs: list[Job]) -> list[str]:
    """The degradations measured per op, in the order the first job with results logged them."""
    for job in jobs:
        names = [
            op
            for stage, quantity, op in map(parse_metric_name, job.best)
            if (stage, quantity) == ("val", "psnr") and op != ALL_OPS
        ]
        if names:
            return names
    return []


def comparison_table(jobs: list[Job]) -> pd.DataFrame:
    """One row per job: status, what it varied, model size, best validation scores, time and throughput."""
    ops = op_names(jobs)
    rows = []
    for job in jobs:
        summary, best = job.summary or {}, job.best
        row = {
            "job": job.name,
            "status": job.status,
            "overrides": job.label,
            "model": summary.get("model"),
            "params": summary.get("parameters"),
            "epochs": summary.get("epochs"),
            "best_epoch": best.get("epoch"),
            "val_psnr": best.get("val/psnr"),
            "val_ssim": best.get("val/ssim"),
            "input_psnr": best.get("val/psnr_degraded"),
            "input_ssim": best.get("val/ssim_degraded"),
        }
        for op in ops:
            for quantity in ("psnr", "ssim"):
                row[f"{quantity}/{op}"] = best.get(metric_name("val", quantity, op))
                row[f"input_{quantity}/{op}"] = best.get(metric_name("val", f"{quantity}_degraded", op))
        row["fit_seconds"] = summary.get("fit_seconds")
        row["train_images_per_s"] = summary.get("train_images_per_second")
        row["error"] = (job.failure or {}).get("error", "")
        rows.append(row)
    table = pd.DataFrame(rows)
    text = ["job", "status", "overrides", "model", "error"]
    numbers = table.columns.difference(text)
    table[numbers] = table[numbers].apply(pd.to_numeric)  # a column of jobs without results holds None
    return table


def _minutes(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return ""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def markdown_report(table: pd.DataFrame, jobs: list[Job], sweep_dir: Path) -> str:
    """The table for people: the main scores, then PSNR / SSIM per degradation next to the input's."""
    main = pd.DataFrame(
        {
            "job": table["job"],
            "overrides": table["overrides"],
            "status": table["status"],
            "params": table["params"].map(lambda n: "" if pd.isna(n) else f"{int(n):,}"),
            "epochs": table["epochs"].map(lambda n: "" if pd.isna(n) else str(int(n))),
            "val PSNR (dB)": table["val_psnr"].round(2),
            "val SSIM": table["val_ssim"].round(4),
            "input PSNR (dB)": table["input_psnr"].round(2),
            "train time (m:s)": table["fit_seconds"].map(_minutes),
            "train images/s": table["train_images_per_s"],
        }
    )
    common = common_overrides(jobs)
    lines = [
        f"# Sweep comparison: `{sweep_dir}`",
        "",
        f"{len(jobs)} jobs, {int((table['status'] == 'ok').sum())} finished, "
        f"{int((table['status'] == 'failed').sum())} failed."
        + (f" Common overrides: `{' '.join(common)}`." if common else ""),
        "Scores: validation crops at each job's best epoch by val PSNR (its `best.ckpt`); "
        "input = the degraded crops before restoration. Train images/s: training steps only.",
        "",
        main.astype(object).where(main.notna(), "").to_markdown(index=False),
    ]
    ops = op_names(jobs)
    if ops:
        per_op = pd.DataFrame({"job": table["job"], "overrides": table["overrides"]})
        for op in ops:
            per_op[op] = [_pair(p, s) for p, s in zip(table[f"psnr/{op}"], table[f"ssim/{op}"], strict=True)]
        reference = table.dropna(subset=["val_psnr"]).head(1)
        if len(reference):  # every job measures the same degraded crops
            row = reference.iloc[0]
            inputs = {op: _pair(row[f"input_psnr/{op}"], row[f"input_ssim/{op}"]) for op in ops}
            per_op = pd.concat(
                [pd.DataFrame([{"job": "input", "overrides": "(degraded)", **inputs}]), per_op]
            )
        lines += ["", "## Best val PSNR (dB) / SSIM per degradation", "", per_op.to_markdown(index=False)]
    failed = [j for j in jobs if j.failure]
    if failed:
        lines += ["", "## Failed jobs", ""]
        lines += [f"- job {j.name} (`{j.label}`): {j.failure['error']}" for j in failed]
    shown = FILES[2:] + ([HISTORY_FIGURE, IMPORTANCE_FIGURE] if (sweep_dir / STUDY_FILE).is_file() else [])
    lines += ["", "Figures: " + ", ".join(f"`{name}`" for name in shown), ""]
    return "\n".join(lines)


def _pair(psnr_value: float | None, ssim_value: float | None) -> str:
    if psnr_value is None or pd.isna(psnr_value):
        return ""
    return f"{psnr_value:.2f} / {ssim_value:.3f}"


def restore_samples(jobs: list[Job], num_images: int) -> dict[str, Any] | None:
    """The same validation crops, degraded as validation degrades them, restored by every finished job's
    best weights: ``clean``, ``degraded``, ``titles`` (each crop's op) and ``restored`` ((label, images)
    per job). The crops come from the first such job's data and degradation config; None when no job has
    a checkpoint to restore with."""
    finished = [j for j in jobs if j.status == "ok" and (j.path / BEST_CHECKPOINT).is_file()]
    if not finished:
        return None
    models = [(job.label, *load_checkpoint(job.path / BEST_CHECKPOINT)) for job in finished]
    datamodule = build_datamodule(models[0][2])
    datamodule.setup("fit")
    crops = datamodule.val_set
    keys = torch.linspace(0, len(crops) - 1, min(num_images, len(crops))).round().long().unique()
    samples = [crops[int(k)] for k in keys]
    clean = torch.stack([s["clean"] for s in samples])
    if "degraded" in samples[0]:  # paired data: the low-quality image is the input
        degraded, titles = torch.stack([s["degraded"] for s in samples]), datamodule.op_names * len(samples)
    else:  # as validation degrades these crops: the same for every job
        validation = datamodule.validation_degraded(clean, keys)
        degraded = validation.image.clamp(0, 1)
        titles = [datamodule.op_names[k] for k in validation.op_index.tolist()]
    restored = []
    for label, model, _ in models:
        with torch.no_grad():
            restored.append((label, model(degraded).clamp(0, 1)))
    return {"clean": clean, "degraded": degraded, "titles": titles, "restored": restored}


def write_comparison(sweep_dir: Path, num_images: int = 6) -> pd.DataFrame | None:
    """Write the table (csv, md) and the figures into ``sweep_dir``; None when it holds no job."""
    sweep_dir = Path(sweep_dir)
    jobs = find_jobs(sweep_dir)
    if not jobs:
        log.warning("no job dirs (with .hydra/overrides.yaml) under %s: nothing to compare", sweep_dir)
        return None
    table = comparison_table(jobs)
    table.to_csv(sweep_dir / "comparison.csv", index=False)
    write_text_in_place(sweep_dir / "comparison.md", markdown_report(table, jobs, sweep_dir))
    with_results = [j for j in jobs if j.best]
    figures.save_loss_curves(
        sweep_dir / "loss_curves.png", [(j.label, j.summary["history"]) for j in with_results]
    )
    figures.save_ssim_by_model(sweep_dir / "ssim_by_model.png", [(j.label, j.best) for j in with_results])
    figures.save_psnr_by_degradation(
        sweep_dir / "psnr_by_degradation.png", [(j.label, j.best) for j in with_results], op_names(jobs)
    )
    try:
        samples = restore_samples(jobs, num_images)
    except Exception as error:  # the table and other figures stand without the image comparison
        log.warning("samples_by_model.png skipped: could not restore the validation crops (%s)", error)
        samples = None
    if samples is not None:
        figures.save_samples_by_model(sweep_dir / "samples_by_model.png", **samples)
    save_search_figures(sweep_dir, optimized_metric(jobs[0]))
    return table


def optimized_metric(job: Job) -> str:
    """The score a search maximised (``optimized_metric``), as the job's saved config names it."""
    saved = job.path / ".hydra" / "config.yaml"
    config = (yaml.safe_load(saved.read_text()) if saved.is_file() else None) or {}
    return str(config.get("optimized_metric", "objective"))
