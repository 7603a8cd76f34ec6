"""End to end: tiny runs of every model, report files, resume, reproducibility, the CLI and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from denoise_lab.training.run import build_module, run
from tests.conftest import TINY, cli, compose_config, write_image

OPS = ["gaussian_noise", "gaussian_blur", "motion_blur", "illumination_contrast", "color_channels"]


@pytest.mark.parametrize(
    ("model", "loss"),
    [
        ("cae", "bce"),
        ("cae_deep", "mse"),
        ("unet", "mse_ssim"),
        ("unet_tuned", "charbonnier"),
        ("nafnet", "psnr"),
    ],
)
def test_one_epoch_per_model_writes_the_run_report(tiny_cfg, model, loss):
    cfg = tiny_cfg(f"model={model}", f"loss={loss}")
    metrics = run(cfg)
    run_dir = Path(cfg.paths.output_dir)
    assert torch.isfinite(torch.tensor(metrics["val/psnr"]))
    assert {"best.ckpt", "last.ckpt"} <= {p.name for p in (run_dir / "checkpoints").iterdir()}
    report = json.loads((run_dir / "metrics.json").read_text())
    assert set(report["per_degradation"]) == set(OPS)
    assert {"psnr_degraded", "psnr_restored", "ssim_degraded", "ssim_restored"} <= set(report["overall"])
    table = pd.read_csv(run_dir / "per_degradation.csv", index_col=0)
    assert list(table.index) == [*OPS, "all"]
    assert (run_dir / "grid.png").stat().st_size > 10_000
    logged = pd.read_csv(run_dir / "csv" / "metrics.csv")
    assert {"train/loss_step", "val/psnr", "val/psnr/motion_blur", "val/psnr_degraded/motion_blur"} <= set(
        logged
    )
    final = logged.dropna(subset=["test/psnr/motion_blur"])  # the final evaluation reaches the loggers too
    assert final["test/psnr/motion_blur"].tolist() == [pytest.approx(metrics["test/psnr/motion_blur"])]


def test_resume_from_last_checkpoint_continues_the_epoch_count(tiny_cfg):
    first = tiny_cfg("trainer.max_epochs=1", run_name="first")
    run(first)
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=False)
    assert saved["epoch"] == 0

    second = tiny_cfg("trainer.max_epochs=3", "ckpt_path=last", run_name="second")
    second.paths.runs_dir = str(Path(first.paths.output_dir).parent)
    run(second)
    resumed = torch.load(Path(second.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=False)
    assert resumed["epoch"] == 2
    assert resumed["global_step"] == 3 * saved["global_step"]
    bank_state = resumed["DenoiseDataModule"]["bank"]
    assert bank_state["names"] == OPS and "generator" in bank_state
    assert resumed["hyper_parameters"]["config"]["model"]["_target_"] == "denoise_lab.models.unet.UNet"


def test_same_seed_gives_the_same_val_psnr(tiny_cfg):
    a = run(tiny_cfg(run_name="a"))
    b = run(tiny_cfg(run_name="b"))
    c = run(tiny_cfg("seed=7", run_name="c"))
    assert a["val/psnr"] == b["val/psnr"]
    assert a["val/psnr"] != c["val/psnr"]


def test_paired_folders_train_without_degradations(tiny_cfg, tmp_path):
    for i in range(3):
        write_image(tmp_path / "pairs" / "high" / f"{i}.png", 64, 64, seed=i)
        write_image(tmp_path / "pairs" / "low" / f"{i}.png", 64, 64, seed=10 + i)
    cfg = tiny_cfg("data=paired", f"data.dir={tmp_path / 'pairs'}", "data.val_ratio=0.34", "logger=none")
    run(cfg)
    table = pd.read_csv(Path(cfg.paths.output_dir) / "per_degradation.csv", index_col=0)
    assert list(table.index) == ["paired", "all"]


def test_channels_last_module_stores_nhwc_weights_and_gives_the_same_output(tmp_path):
    cfg = compose_config(["model.width=8", "model.depth=2", "channels_last=false"], tmp_path)
    plain = build_module(cfg, ["all"]).eval()
    cfg.channels_last = True
    fast = build_module(cfg, ["all"]).eval()
    fast.load_state_dict(plain.state_dict())
    weight = fast.model.encoders[0][0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    images = torch.rand(2, 3, 24, 40)
    assert torch.allclose(fast(images), plain(images), atol=1e-5)


@pytest.mark.parametrize("compiled", ["compile=false", "compile=true"])
def test_the_model_summary_counts_the_flops_of_one_training_patch(tmp_path, compiled):
    from lightning.pytorch.utilities.model_summary import ModelSummary

    from denoise_lab.training.run import example_patch

    cfg = compose_config(["model.width=8", "model.depth=2", "data.patch_size=32", compiled], tmp_path)
    module = build_module(cfg, ["all"])
    module.example_input_array = example_patch(cfg)
    summary = ModelSummary(module)
    assert summary.total_flops > 1e6 and summary.in_sizes[0] == [1, 3, 32, 32]  # "Total FLOPs: 0" before


def test_a_compiled_run_trains_validates_tests_and_saves_the_plain_networks_weights(tiny_cfg):
    """compile=true on the default U-Net failed at its first training step after validation's other shapes
    (torch 2.13's inductor on dynamic shapes), and testing whole images would have recompiled per size."""
    cfg = tiny_cfg("compile=true")
    metrics = run(cfg)
    assert metrics["test/psnr"] > 0
    state = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt", weights_only=False)[
        "state_dict"
    ]
    assert not any("_orig_mod" in key for key in state)


def test_bf16_mixed_runs_measure_in_float32(tiny_cfg):
    fp32 = run(tiny_cfg("trainer.precision=32-true", run_name="fp32"))
    bf16 = run(tiny_cfg("trainer.precision=bf16-mixed", run_name="bf16"))
    # the degraded inputs are the same: only the metric's own precision could tell them apart
    assert bf16["val/ssim_degraded"] == pytest.approx(fp32["val/ssim_degraded"], abs=1e-5)
    assert bf16["val/ssim"] == pytest.approx(fp32["val/ssim"], abs=0.02)
    assert bf16["val/psnr"] == pytest.approx(fp32["val/psnr"], abs=0.2)


def test_cli_trains_and_writes_into_the_hydra_run_dir(tmp_path):
    result = cli(*TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (tmp_path / "outputs" / "train" / "runs").iterdir()
    assert (run_dir / "metrics.json").is_file() and (run_dir / ".hydra" / "config.yaml").is_file()


def test_cli_multirun_runs_one_job_per_model_and_compares_them(two_model_sweep):
    result, sweep = two_model_sweep
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.parent.name for p in sweep.glob("*/metrics.json")) == ["0", "1"]
    table = pd.read_csv(sweep / "comparison.csv")
    assert list(table["overrides"]) == ["model=cae", "model=cae_deep"]
    assert list(table["status"]) == ["ok", "ok"]
    assert list(table["model"]) == ["ConvAutoencoder", "DeepConvAutoencoder"]
    assert table["params"].iloc[0] < table["params"].iloc[1]
    assert (
        table[["val_psnr", "val_ssim", "psnr/motion_blur", "fit_seconds", "train_images_per_s"]]
        .notna()
        .all(None)
    )
    assert "| model=cae_deep |" in (sweep / "comparison.md").read_text()
    for figure in ("loss_curves", "ssim_by_model", "psnr_by_degradation", "samples_by_model"):
        assert (sweep / f"{figure}.png").stat().st_size > 10_000, figure


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["data=folder", "data.dir=/no/such/dir"],
            "config error: image folder '/no/such/dir' does not exist (expected a folder of .png",
        ),
        (["data.patch_size=4"], "config error: data.patch_size must be >= 8 pixels, got 4"),
        (["ckpt_path=last"], "config error: ckpt_path=last: no earlier run under"),
    ],
)
def test_cli_reports_user_errors_in_one_line(tmp_path, overrides, message):
    result = cli(*TINY, *overrides, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in result.stderr


def test_cli_unknown_model_lists_the_options(tmp_path):
    result = cli("model=transformer", cwd=tmp_path)
    assert result.returncode == 1
    assert "Could not find 'model/transformer'" in result.stderr and "unet_tuned" in result.stderr


def test_turning_the_progress_bar_off_drops_the_rich_bar_instead_of_failing(tmp_path):
    """Lightning refuses `enable_progress_bar=False` beside a progress-bar callback; the default config
    has one, so the flag alone must be enough."""
    from lightning.pytorch.callbacks import ProgressBar

    from denoise_lab.training.run import build

    cfg = compose_config(["trainer.enable_progress_bar=false"], tmp_path)
    assert cfg.callbacks.rich_progress_bar is not None
    _, _, trainer = build(cfg)
    assert not any(isinstance(c, ProgressBar) for c in trainer.callbacks)


def test_the_ema_of_a_short_run_holds_weights_it_trained_not_its_start(tiny_cfg, tmp_path):
    """12 optimizer steps with EMA (the pretraining callbacks): best.ckpt must hold weights moved from the
    start and close to the last ones (a fixed decay 0.999 from step 1000 kept the initial weights)."""
    from denoise_lab.training.callbacks.ema import warming_up

    average = warming_up(0.999)
    assert float(average(torch.zeros(1), torch.ones(1), torch.tensor(1))) == pytest.approx(1 - 2 / 11)
    assert float(average(torch.zeros(1), torch.ones(1), torch.tensor(10**6))) == pytest.approx(
        0.001, rel=1e-4
    )
    cfg = tiny_cfg(
        "callbacks=pretrain", "trainer.max_epochs=3", "data.patches_per_epoch=64", "data.batch_size=16"
    )
    initial = {k: v.clone() for k, v in build_module(cfg, ["all"]).model.state_dict().items()}
    torch.manual_seed(cfg.seed)
    run(cfg)
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    ema = {k.removeprefix("model."): v for k, v in saved["state_dict"].items() if k.startswith("model.")}
    current = {
        k.removeprefix("model."): v for k, v in saved["current_model_state"].items() if k.startswith("model.")
    }
    key = next(k for k, v in ema.items() if v.is_floating_point() and v.dim() == 4)
    moved = (ema[key] - initial[key]).norm()
    assert moved > 0.5 * (current[key] - initial[key]).norm() > 0


@pytest.mark.parametrize("option", ["debug=fast", "experiment=pretrain_gaussian"])
def test_runs_said_to_have_no_progress_bar_have_none(tmp_path, option):
    """A null rich_progress_bar callback let Lightning put its own bar back; these turn the bar off."""
    from denoise_lab.training.run import build

    cfg = compose_config([option, "compile=false"], tmp_path)
    _, _, trainer = build(cfg)
    assert trainer.progress_bar_callback is None
