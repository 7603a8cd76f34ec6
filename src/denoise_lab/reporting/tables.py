"""Per-degradation tables built from the metrics a test run logged (``test/psnr/<op>`` and friends)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from denoise_lab.metrics import ALL_OPS, metric_name

log = logging.getLogger(__name__)

COLUMNS = {  # logged quantity -> table column
    "psnr_degraded": "psnr_degraded",
    "psnr": "psnr_restored",
    "ssim_degraded": "ssim_degraded",
    "ssim": "ssim_restored",
    "loss": "loss",
}


def per_degradation_table(
    metrics: Mapping[str, float], op_names: Sequence[str], stage: str = "test"
) -> pd.DataFrame:
    """One row per op plus an ``all`` row: degraded vs restored PSNR/SSIM, and the PSNR gain."""
    rows = {}
    for op in [*op_names, ALL_OPS]:
        rows[op] = {column: float(metrics[metric_name(stage, q, op)]) for q, column in COLUMNS.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "degradation"
    table["psnr_gain"] = table["psnr_restored"] - table["psnr_degraded"]
    return table


def write_test_report(
    run_dir: Path, metrics: Mapping[str, float], op_names: Sequence[str], extra: Mapping[str, object]
) -> pd.DataFrame:
    """Write ``per_degradation.csv`` and ``metrics.json`` (overall, per op, and run facts in ``extra``)."""
    table = per_degradation_table(metrics, op_names)
    table.round(4).to_csv(run_dir / "per_degradation.csv")
    report = {
        "overall": table.loc["all"].to_dict(),
        "per_degradation": table.drop(index="all").to_dict(orient="index"),
        **extra,
    }
    overall = table.loc["all"]
    if not overall["psnr_restored"] >= overall["psnr_degraded"]:  # NaN counts as worse
        report["warning"] = (
            f"the model made the images worse: restored PSNR {overall['psnr_restored']:.2f} dB is below the "
            f"degraded input's {overall['psnr_degraded']:.2f} dB (try a lower optim.optimizer.lr or a longer run)"
        )
        log.warning(report["warning"])
    (run_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    return table
