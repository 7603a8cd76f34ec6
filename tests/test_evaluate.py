"""The evaluation report: after training, from a checkpoint, both protocols, baselines and LPIPS (or n/a)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir
from skimage.metrics import peak_signal_noise_ratio

from denoise_lab.config import CONFIG_DIR, ConfigError
from denoise_lab.evaluate import evaluate
from denoise_lab.evaluation.blind_quality import NIQE_SIZE_NOTE
from denoise_lab.evaluation.cases import Case, standard_cases
from denoise_lab.evaluation.evaluator import Evaluator
from denoise_lab.evaluation.perceptual import ALEXNET_WEIGHTS, load_lpips
from denoise_lab.training.run import run
from tests.conftest import write_image

OPS = ["gaussian_noise", "gaussian_blur", "motion_blur", "illumination_contrast", "color_channels"]
REPORT_FILES = ["report.md", "metrics.csv", "metrics.xlsx", "grid.png", *(f"figures/{op}.png" for op in OPS)]


def evaluate_config(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=list(overrides))
    cfg.paths.output_dir = str(tmp_path / "report")
    return cfg


def rows(summary: pd.DataFrame, op: str, scope: str = "all") -> pd.DataFrame:
    return summary.xs((op, scope), level=("op", "scope"))


def test_a_training_run_ends_with_one_evaluation_that_the_report_and_metrics_json_both_show(
    tiny_cfg, monkeypatch
):
    restored = []
    add = Evaluator.add
    monkeypatch.setattr(Evaluator, "add", lambda self, case: restored.append(case.op) or add(self, case))
    cfg = tiny_cfg()
    run(cfg)
    assert sorted(restored) == sorted(OPS)  # one restore pass per op over the test crops, once per run
    run_dir = Path(cfg.paths.output_dir)
    assert all((run_dir / name).stat().st_size > 0 for name in REPORT_FILES)
    tested = json.loads((run_dir / "metrics.json").read_text())["per_degradation"]
    table = pd.read_csv(run_dir / "metrics.csv").set_index(["degradation", "scope", "method"])
    for op in OPS:  # the same records: the same numbers (the report rounds PSNR to 0.01 dB, SSIM to 1e-4)
        assert table.loc[(op, "all", "model"), "psnr"] == pytest.approx(
            tested[op]["psnr_restored"], abs=0.0051
        )
        assert table.loc[(op, "all", "degraded"), "ssim"] == pytest.approx(
            tested[op]["ssim_degraded"], abs=1e-4
        )
    sheets = pd.read_excel(run_dir / "metrics.xlsx", sheet_name=None)
    assert set(sheets) == {"reference", "no_reference"}
    assert list(sheets["reference"].columns) == [
        "degradation",
        "images",
        "comparison",
        "PSNR (dB)",
        "SSIM",
        "MSE (0-255)",
        "R shift",
        "G shift",
        "B shift",
        "LPIPS",
        "s/image",
    ]
    report = (run_dir / "report.md").read_text()
    assert "## Reference-based" in report and "## No-reference" in report and "Hasler" in report
    assert "| original vs NLM" in report  # debug=fast: NLM and TV on one noise crop, no BM3D


def test_evaluate_rebuilds_from_the_checkpoint_and_bm3d_beats_the_identity(tmp_path, identity_checkpoint):
    cfg = evaluate_config(tmp_path, f"ckpt_path={identity_checkpoint}", "eval.baselines.max_images=1")
    summary = evaluate(cfg)
    out = Path(cfg.paths.output_dir)
    assert all((out / name).is_file() for name in REPORT_FILES)
    for op in OPS:  # the identity network restores nothing
        table = rows(summary, op)
        assert table.loc["model", "psnr"] == pytest.approx(table.loc["degraded", "psnr"], abs=1e-5)
    noise = rows(summary, "gaussian_noise", "baselines")
    assert list(noise.index) == ["original", "degraded", "model", "BM3D", "NLM", "TV"]
    assert (noise["images"] == 1).all()
    assert noise.loc["BM3D", "psnr"] > noise.loc["model", "psnr"] + 3
    assert noise.loc["BM3D", "seconds"] > 0 and noise.loc["original", "sharpness"] == pytest.approx(100)
    report = (out / "report.md").read_text()
    assert "LPIPS: n/a, the optional `lpips` package is not installed" in report
    assert (
        f"{NIQE_SIZE_NOTE}: all the images (eval.protocol=standard: whole images); the baselines'" in report
    )
    assert f"checkpoint: {identity_checkpoint}" in report


def test_data_and_degradation_can_be_replaced_and_every_image_used(tmp_path, identity_checkpoint):
    for i in range(3):
        write_image(tmp_path / "mine" / f"{i}.png", 64, 80, seed=i)
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "data=folder",
        f"data.dir={tmp_path / 'mine'}",
        "data.val_crop_size=32",
        "data.val_crops_per_image=2",
        "degradation=gaussian",
        "eval.images=all",
        "eval.baselines.methods=[tv]",
    )
    summary = evaluate(cfg)
    assert summary.index.get_level_values("op").unique().tolist() == ["gaussian_noise"]
    assert rows(summary, "gaussian_noise").loc["model", "images"] == 3 * 2


def test_standard_protocol_noise_is_seeded_unclipped_and_scored_on_uint8(tmp_path, identity_checkpoint):
    for i in range(2):
        write_image(tmp_path / "set" / f"{i}.png", 48, 64, seed=i)
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "data=folder",
        f"data.dir={tmp_path / 'set'}",
        "eval.protocol=standard",
        "eval.images=all",
        "eval.sigmas=[25]",
        "eval.baselines.methods=[tv]",
    )
    summary = evaluate(cfg)
    expected = []
    for i in range(2):  # the protocol, written out: float image + sigma * N(0, 1) from seed 0, uint8 output
        clean = np.asarray(__import__("PIL.Image").Image.open(tmp_path / "set" / f"{i}.png"))
        noise = torch.randn((1, 3, 48, 64), generator=torch.Generator().manual_seed(0))[0].permute(1, 2, 0)
        noisy = clean / 255.0 + 25 / 255.0 * noise.numpy()
        assert noisy.min() < 0 and noisy.max() > 1  # not clipped before the model sees it
        restored = (np.clip(noisy, 0, 1) * 255).round().astype(np.uint8)  # the identity's output, as scored
        expected.append(peak_signal_noise_ratio(clean, restored, data_range=255))
    assert rows(summary, "gaussian_noise_25").loc["model", "psnr"] == pytest.approx(
        np.mean(expected), abs=1e-3
    )


def test_y_channel_and_border_crop_are_applied_and_stated_in_the_notes(tmp_path, identity_checkpoint):
    from skimage.color import rgb2ycbcr

    write_image(tmp_path / "set" / "0.png", 48, 64)
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "data=folder",
        f"data.dir={tmp_path / 'set'}",
        "eval.protocol=standard",
        "eval.images=all",
        "eval.sigmas=[25]",
        "eval.baselines.methods=[]",
        "eval.color=y",
        "eval.crop_border=4",
    )
    summary = evaluate(cfg)
    clean = np.asarray(__import__("PIL.Image").Image.open(tmp_path / "set" / "0.png")) / 255.0
    noise = torch.randn((1, 3, 48, 64), generator=torch.Generator().manual_seed(0))[0].permute(1, 2, 0)
    restored = (
        np.clip(clean + 25 / 255.0 * noise.numpy(), 0, 1) * 255
    ).round() / 255  # the identity's output
    y = [rgb2ycbcr(x)[4:-4, 4:-4, 0] for x in (clean, restored)]
    assert rows(summary, "gaussian_noise_25").loc["model", "psnr"] == pytest.approx(
        peak_signal_noise_ratio(*y, data_range=255.0), abs=1e-3
    )
    notes = (tmp_path / "report" / "report.md").read_text()
    assert "PSNR, SSIM and MSE taken on the Y channel of ITU-R BT.601" in notes
    assert "4 px cropped from every border (eval.color=y, eval.crop_border=4)" in notes


def test_standard_cases_hand_the_model_the_unclipped_noisy_float_image():
    image = types.SimpleNamespace(clean=np.full((8, 8, 3), 250, dtype=np.uint8))
    (case,) = standard_cases([image], [50], seed=0, device=torch.device("cpu"))
    assert case.op == "gaussian_noise_50" and case.degraded.max() > 1
    assert case.sigma.item() == pytest.approx(50 / 255)


def test_missing_bm3d_reads_n_a_with_a_note(tmp_path, identity_checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "bm3d", None)  # import bm3d now raises ImportError
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "eval.baselines.methods=[bm3d]",
        "eval.baselines.max_images=1",
    )
    summary = evaluate(cfg)
    assert rows(summary, "gaussian_noise", "baselines").loc["BM3D"].drop("images").isna().all()
    report = (Path(cfg.paths.output_dir) / "report.md").read_text()
    assert "BM3D: n/a, the optional `bm3d` package is not installed" in report
    assert "| original vs BM3D     | n/a" in report


def test_lpips_absent_without_weights_and_present(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lpips", None)
    distance, note = load_lpips(torch.device("cpu"))
    assert distance is None and note.startswith("LPIPS: n/a, the optional `lpips` package is not installed")

    calls = []

    class FakeLPIPS(torch.nn.Module):  # stands in for lpips.LPIPS: the package cannot be installed here
        def __init__(self, net: str, verbose: bool) -> None:
            super().__init__()

        def forward(self, a, b, normalize=False):
            calls.append(normalize)
            return (a - b).abs().mean((1, 2, 3), keepdim=True)

    monkeypatch.setitem(sys.modules, "lpips", types.SimpleNamespace(LPIPS=FakeLPIPS))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    distance, note = load_lpips(torch.device("cpu"))
    assert (
        distance is None
        and note
        == f"LPIPS: n/a, the AlexNet weights are not at {tmp_path / 'checkpoints' / ALEXNET_WEIGHTS} (reports never download)."
    )

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / ALEXNET_WEIGHTS).write_bytes(b"")
    distance, note = load_lpips(torch.device("cpu"))
    a, b = torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)
    assert note == "" and distance(a, b).tolist() == [1.0, 1.0] and calls == [True]


def test_user_errors_in_eval_settings_are_explained(tmp_path, identity_checkpoint):
    for override, message in [
        (
            "eval.protocol=published",
            r"eval.protocol must be one of \['mixed', 'standard', 'paired'\], got 'published'",
        ),
        ("eval.baselines.methods=[bm4d]", r"eval.baselines.methods: unknown \['bm4d'\]; choose from"),
        ("eval.tile.overlap=100", r"eval.tile.size \(512\) and eval.tile.overlap \(100\) must be multiples"),
        ("eval.self_ensemble=6", r"eval.self_ensemble is the number of flips/rotations averaged"),
        ("eval.precision=fp16", r"eval.precision must be one of \['auto', 'bf16', '32'\], got 'fp16'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            evaluate(evaluate_config(tmp_path, f"ckpt_path={identity_checkpoint}", override))


def test_the_cli_reports_a_missing_checkpoint_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "denoise_lab.evaluate", "ckpt_path=missing.ckpt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "config error: ckpt_path 'missing.ckpt' is not a file (give a .ckpt written by a training run, "
            "a shipped model's .safetensors, or pretrained:<name>, one of: "
        )
    )


def test_evaluator_fills_the_lpips_column_when_a_distance_is_given():
    clean = torch.rand(2, 3, 32, 32)
    case = next(
        standard_cases(
            [types.SimpleNamespace(clean=(clean[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))],
            [15],
            0,
            torch.device("cpu"),
        )
    )
    evaluator = Evaluator(lambda x: x, lpips=lambda a, b: (a - b).abs().flatten(1).mean(1))
    records = evaluator.evaluate(iter([case]))
    assert records.loc[records["method"] == "model", "lpips"].notna().all()


def test_model_times_leave_out_the_first_call_on_each_shape():
    """A restorer whose first call on a shape is slow (kernel set-up) is timed on its second call."""
    seen: list[torch.Size] = []

    def restore(images):
        if images.shape not in seen:
            seen.append(images.shape)
            time.sleep(0.5)
        return images

    clean = torch.rand(2, 3, 32, 32)
    cases = [
        Case("gaussian_noise", [0, 1], clean, clean),
        Case("gaussian_noise", [2, 3], clean, clean),
        Case("gaussian_noise", [4], clean[:1, :, :, :16], clean[:1, :, :, :16]),
    ]
    records = Evaluator(restore, baselines={}).evaluate(iter(cases))
    seconds = records.loc[records["method"] == "model", "seconds"]
    assert len(seen) == 2 and len(seconds) == 5 and (seconds < 0.25).all()


def test_paired_protocol_scores_whole_real_pairs_with_baselines_at_the_estimated_sigma(
    tmp_path, identity_checkpoint
):
    rng = np.random.default_rng(0)
    ramp = np.linspace(60, 200, 56)[None, :, None] + np.linspace(0, 30, 40)[:, None, None]
    clean = (ramp + np.array([0, 10, 20])).round()  # smooth: a denoiser has something to keep
    for name in ("a", "b"):
        noisy = np.clip(clean + rng.normal(0, 10, clean.shape), 0, 255).round().astype(np.uint8)
        for folder, array in (("low", noisy), ("high", clean.astype(np.uint8))):
            (tmp_path / "pairs" / folder).mkdir(parents=True, exist_ok=True)
            __import__("PIL.Image").Image.fromarray(array).save(tmp_path / "pairs" / folder / f"{name}.png")
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "data=paired",
        f"data.dir={tmp_path / 'pairs'}",
        "eval.protocol=paired",
        "eval.images=all",
        "eval.baselines.methods=[nlm]",
        "eval.view_size=4096",
    )
    summary = evaluate(cfg)
    table = rows(summary, "paired")
    assert table.loc["model", "images"] == 2  # whole images, each once
    assert table.loc["model", "psnr"] == pytest.approx(table.loc["degraded", "psnr"], abs=1e-6)  # identity
    assert 26 < table.loc["degraded", "psnr"] < 30  # sigma 10 noise, scored as it is
    assert rows(summary, "paired", "baselines").loc["NLM", "psnr"] > table.loc["degraded", "psnr"]
    report = (tmp_path / "report" / "report.md").read_text()
    assert "baselines given the noise sigma estimated from each noisy image" in report
    assert "given the sigma the protocol line names" in report and "true noise sigma" not in report


def test_estimated_sigma_reads_white_noise_from_the_noisy_image_alone():
    from denoise_lab.evaluation.cases import estimated_sigma

    flat = torch.full((3, 128, 128), 0.5)
    noisy = flat + 10 / 255 * torch.randn(flat.shape, generator=torch.Generator().manual_seed(0))
    assert estimated_sigma(noisy) * 255 == pytest.approx(10, rel=0.1)


def test_standard_protocol_sigma_0_gray_noise_and_colour_shift(tmp_path, identity_checkpoint):
    write_image(tmp_path / "set" / "rgb.png", 48, 64)
    write_image(tmp_path / "set" / "gray.png", 48, 64, mode="L")
    from denoise_lab.data.sources import ImageFolder

    cases = list(standard_cases(ImageFolder(tmp_path / "set").load(), [0, 25], 0, torch.device("cpu")))
    assert [c.op for c in cases] == ["gaussian_noise_0"] * 2 + ["gaussian_noise_25"] * 2
    assert torch.equal(cases[0].degraded, cases[0].clean)  # sigma 0: the clean image itself
    gray_noise = cases[2].degraded - cases[2].clean  # gray.png sorts first
    assert torch.equal(gray_noise[:, 0], gray_noise[:, 2]) and gray_noise.abs().mean() > 0.05
    colour_noise = cases[3].degraded - cases[3].clean
    assert not torch.equal(colour_noise[:, 0], colour_noise[:, 2])

    brighter_red = Evaluator(lambda x: x + torch.tensor([2 / 255, 0, 0]).view(1, 3, 1, 1))
    records = brighter_red.evaluate(iter(cases[:2]))
    model = records[records["method"] == "model"]
    assert model["shift_r"].to_numpy() == pytest.approx([2, 2], abs=0.05)  # less where white clips
    assert model["shift_g"].to_numpy() == pytest.approx([0, 0], abs=1e-3)


def test_evaluate_prints_its_summary_and_writes_metrics_json(tmp_path, identity_checkpoint, capsys):
    write_image(tmp_path / "set" / "0.png", 48, 64)
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "data=folder",
        f"data.dir={tmp_path / 'set'}",
        "eval.protocol=standard",
        "eval.images=all",
        "eval.sigmas=[25]",
        "eval.baselines.methods=[]",
    )
    evaluate(cfg)
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["per_degradation"]["gaussian_noise_25"]["psnr_restored"] > 0
    printed = capsys.readouterr().out
    assert "gaussian_noise_25" in printed and "psnr_restored" in printed and "report.md" in printed
    per_image = pd.read_csv(tmp_path / "report" / "per_image.csv")  # the worst image, not only the mean
    model = per_image[per_image["method"] == "model"]
    assert model["image"].tolist() == ["0.png"] and model["psnr"].iloc[0] == pytest.approx(
        metrics["per_degradation"]["gaussian_noise_25"]["psnr_restored"], abs=1e-3
    )


@pytest.mark.parametrize("module", ["evaluate", "predict", "export"])
def test_a_missing_required_value_is_one_usage_line(tmp_path, module):
    result = subprocess.run(
        [sys.executable, "-m", f"denoise_lab.{module}"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("config error: missing value: give ")
    assert "Traceback" not in result.stderr and line not in result.stdout  # printed once


def test_a_sigma_0_row_does_not_make_a_good_model_look_worse(tmp_path):
    from denoise_lab.reporting.tables import write_test_report

    table = pd.DataFrame(
        {"psnr_degraded": [float("inf"), 20.0, float("inf")], "psnr_restored": [45.0, 28.0, 40.0]},
        index=pd.Index(["gaussian_noise_0", "gaussian_noise_25", "all"], name="degradation"),
    )
    write_test_report(tmp_path, table, {})
    assert "warning" not in json.loads((tmp_path / "metrics.json").read_text())
    table.loc["gaussian_noise_25", "psnr_restored"] = float("nan")
    write_test_report(tmp_path, table, {})
    assert "made the images worse" in json.loads((tmp_path / "metrics.json").read_text())["warning"]
