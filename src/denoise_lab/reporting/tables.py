"""``per_degradation.csv`` and ``metrics.json``: the run's final numbers, a view of the evaluation's records.

The records are those of :class:`denoise_lab.evaluation.evaluator.Evaluator` (one row per image, op and method), the
same rows the report summarises, so the two can never disagree.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from denoise_lab.evaluation.evaluator import DEGRADED, MODEL
from denoise_lab.evaluation.metrics import ALL_OPS, metric_name
from denoise_lab.files import write_text_in_place

log = logging.getLogger(__name__)

COLUMNS = {  # table column -> (method, measure, logged quantity)
    "psnr_degraded": (DEGRADED, "psnr", "psnr_degraded"),
    "psnr_restored": (MODEL, "psnr", "psnr"),
    "ssim_degraded": (DEGRADED, "ssim", "ssim_degraded"),
    "ssim_restored": (MODEL, "ssim", "ssim"),
    "loss": (MODEL, "loss", "loss"),
}


def _mean(values: pd.Series) -> float:
    """A mean that stays NaN when any image's value is: a model that output NaN must not look fine."""
    return values.mean(skipna=False)


def per_degradation_table(records: pd.DataFrame) -> pd.DataFrame:
    """One row per op plus an ``all`` row (every image of every op): degraded vs restored PSNR/SSIM, the
    model's loss and the PSNR gain, over the records of scope ``all``."""
    scored = records[records["scope"] == "all"]
    table = pd.DataFrame()
    for column, (method, measure, _) in COLUMNS.items():
        rows = scored[scored["method"] == method]
        if measure not in rows:  # the loss is only known where the evaluation was given one
            continue
        means = rows.groupby("op", sort=False)[measure].agg(_mean)
        table[column] = pd.concat([means, pd.Series({ALL_OPS: _mean(rows[measure])})])
    table.index.name = "degradation"
    table["psnr_gain"] = table["psnr_restored"] - table["psnr_degraded"]
    return table


def logged_metrics(table: pd.DataFrame, stage: str = "test") -> dict[str, float]:
    """The table as metric names (``test/psnr``, ``test/psnr/<op>``, ...), for loggers and sweepers."""
    return {
        metric_name(stage, quantity, op): float(table.loc[op, column])
        for column, (_, _, quantity) in COLUMNS.items()
        if column in table
        for op in table.index
    }


def write_test_report(run_dir: Path, table: pd.DataFrame, extra: Mapping[str, object]) -> None:
    """Write ``per_degradation.csv`` and ``metrics.json`` (overall, per op, and run facts in ``extra``)."""
    table.round(4).to_csv(run_dir / "per_degradation.csv")
    report = {
        "overall": table.loc[ALL_OPS].to_dict(),
        "per_degradation": table.drop(index=ALL_OPS).to_dict(orient="index"),
        **extra,
    }
    # the ops with noise: a clean input (sigma 0, PSNR inf) cannot be improved on, and would make every run look worse
    scored = table.drop(index=ALL_OPS)
    scored = scored[scored["psnr_degraded"] != float("inf")]
    overall = scored.mean(skipna=False) if len(scored) < len(table) - 1 else table.loc[ALL_OPS]
    if len(scored) and not overall["psnr_restored"] >= overall["psnr_degraded"]:  # NaN counts as worse
        report["warning"] = (
            f"the model made the images worse: restored PSNR {overall['psnr_restored']:.3f} dB is below the "
            f"degraded input's {overall['psnr_degraded']:.3f} dB (try a lower optim.optimizer.lr or a longer run)"
        )
        log.warning(report["warning"])
    write_text_in_place(run_dir / "metrics.json", json.dumps(report, indent=2) + "\n")
