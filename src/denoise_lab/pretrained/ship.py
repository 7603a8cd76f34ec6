"""``python -m denoise_lab.pretrained.ship <run>/checkpoints/best.ckpt <out>.safetensors --table <report>/metrics.csv``.

Writes a shipped model from a training checkpoint (the EMA weights, when the run used ``callbacks.ema``): the
weights as safetensors, the run config, the recipe and the measured table in its metadata (see
:mod:`denoise_lab.inference.checkpoints`); ``ckpt_path=<out>.safetensors`` loads it, and a file written into
``src/denoise_lab/pretrained/`` ships with the package as ``pretrained:<name>``. The weights are stored in float16
when that moves the held-out PSNR at sigma 25 (standard protocol) by less than 0.01 dB, else in float32; the
check's figures go in the file. ``--average-with <earlier .ckpt>`` ships the mean of the two networks' weights, a
fine-tuned run halfway back to the run it started from (WiSE-FT, Wortsman et al. 2022: ``camera`` stage 5 keeps
clean photos intact and stage 4's strength on real noise this way). Refuses to replace an existing file unless
``--overwrite``. ``--data <set>``
(e.g. ``cbsd68``) replaces the run's data in the shipped config, so that ``evaluate`` scores a standard set
rather than a folder of the training machine's; the recipe says what the model trained on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
from omegaconf import OmegaConf
from torch import nn

from denoise_lab.data import build_datamodule
from denoise_lab.evaluation.cases import evaluation_images, standard_cases
from denoise_lab.evaluation.metrics import psnr
from denoise_lab.inference import checkpoints
from denoise_lab.inference.checkpoints import load_checkpoint
from denoise_lab.inference.tiling import restorer

HALF_PRECISION_TOLERANCE_DB = 0.01


def heldout_psnr(model: nn.Module, datamodule, sigma: float = 25.0) -> float:
    """Mean PSNR over the held-out whole images at ``sigma``, as the standard protocol scores it."""
    restore = restorer(model, torch.device("cpu"), size=512, overlap=192)
    scores = [
        psnr((restore(case.degraded).clamp(0, 1) * 255).round() / 255, case.clean).item()
        for case in standard_cases(evaluation_images(datamodule, "heldout"), [sigma], 0, torch.device("cpu"))
    ]
    return sum(scores) / len(scores)


def standard_data(name: str) -> dict:
    """The ``data`` group of ``data=<name>``, as a run config holds it."""
    from hydra import compose, initialize_config_dir

    from denoise_lab.config import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=[f"data={name}"]).data)


def averaged(model: nn.Module, other: nn.Module, other_path: Path) -> None:
    """Set ``model``'s weights to the mean of its own and ``other``'s (the same architecture, else one line)."""
    mine, theirs = model.state_dict(), other.state_dict()
    if {k: v.shape for k, v in mine.items()} != {k: v.shape for k, v in theirs.items()}:
        raise SystemExit(f"--average-with {other_path}: another architecture than {type(model).__name__}'s")
    model.load_state_dict(
        {k: (v + theirs[k].to(v.dtype)) / 2 if v.is_floating_point() else v for k, v in mine.items()}
    )


def ship(
    checkpoint: Path,
    out: Path,
    table: Path | None,
    recipe: str,
    overwrite: bool = False,
    data: str | None = None,
    average_with: Path | None = None,
) -> Path:
    if out.suffix != checkpoints.SHIPPED_SUFFIX:
        raise SystemExit(f"{out}: a shipped model is a {checkpoints.SHIPPED_SUFFIX} file")
    if out.exists() and not overwrite:
        raise SystemExit(f"{out} exists; pass --overwrite to replace it")
    model, config = load_checkpoint(checkpoint)
    if average_with is not None:
        averaged(model, load_checkpoint(average_with)[0], average_with)
    datamodule = build_datamodule(config)
    full = heldout_psnr(model, datamodule)
    half_state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    half = heldout_psnr(checkpoints.build_model(config, half_state, checkpoint), datamodule)
    use_half = abs(full - half) < HALF_PRECISION_TOLERANCE_DB
    shipped_config = OmegaConf.to_container(config, resolve=True)
    if data is not None:
        shipped_config["data"] = standard_data(data)
    precision = {
        "dtype": "float16" if use_half else "float32",
        "heldout_psnr_sigma25_float32": round(full, 4),
        "heldout_psnr_sigma25_float16": round(half, 4),
    }
    info = {
        "config": shipped_config,
        "recipe": recipe,
        "precision": precision,
        "table": pd.read_csv(table).to_dict("records") if table else [],
    }
    checkpoints.write_shipped(out, half_state if use_half else model.state_dict(), info)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {precision['dtype']}; held-out PSNR at "
        f"sigma 25: float32 {full:.4f} dB, float16 {half:.4f} dB)"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a training run's .ckpt")
    parser.add_argument(
        "out",
        type=Path,
        help="the .safetensors to write (src/denoise_lab/pretrained/<name>.safetensors ships it)",
    )
    parser.add_argument("--table", type=Path, help="the evaluate report's metrics.csv to embed")
    parser.add_argument("--recipe", default="", help="the command that trained it, and for how long")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--data", help="a standard set (cbsd68, ...) that evaluate scores by default")
    parser.add_argument(
        "--average-with", type=Path, help="an earlier checkpoint of the same network: ship the mean weights"
    )
    args = parser.parse_args()
    ship(args.checkpoint, args.out, args.table, args.recipe, args.overwrite, args.data, args.average_with)


if __name__ == "__main__":
    main()
