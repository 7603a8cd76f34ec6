"""The sweep comparison from files alone: jobs that trained, one that failed, one that left no result."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from denoise_lab.compare import main as compare_main
from denoise_lab.config import ConfigError
from denoise_lab.reporting.comparison import find_jobs, write_comparison
from denoise_lab.reporting.job_record import write_failure
from denoise_lab.training.run import run


def as_job(run_dir: Path, overrides: list[str]) -> None:
    """What Hydra leaves in every job dir, whichever launcher ran it."""
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))


def test_compare_reads_every_job_of_a_sweep_dir(tiny_cfg, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for job, (model, epochs) in enumerate((("cae", 1), ("unet", 2))):
        overrides = [f"model={model}", f"trainer.max_epochs={epochs}", "logger=none", "test_after_fit=false"]
        run(tiny_cfg(*overrides, run_name=f"sweep/{job}"))
        as_job(sweep / str(job), ["debug=fast", f"model={model}"])
    as_job(sweep / "2", ["debug=fast", "model=nafnet"])
    try:
        raise ConfigError("data.patch_size must be >= 8 pixels, got 4")
    except ConfigError as error:
        write_failure(sweep / "2", error)
    as_job(sweep / "10", ["debug=fast", "model=cae_deep"])  # never started: no job.json

    assert compare_main([str(sweep), "--samples", "3"]) == 0

    table = pd.read_csv(sweep / "comparison.csv")
    assert list(table["job"]) == [0, 1, 2, 10]  # job-number order, not text order
    assert list(table["overrides"]) == ["model=cae", "model=unet", "model=nafnet", "model=cae_deep"]
    assert list(table["status"]) == ["ok", "ok", "failed", "no result"]
    assert table.loc[2, "error"] == "ConfigError: data.patch_size must be >= 8 pixels, got 4"
    summary = json.loads((sweep / "1" / "job.json").read_text())
    assert len(summary["history"]) == summary["epochs"] == 2
    history = pd.read_csv(sweep / "1" / "history.csv")  # one per-epoch record: job.json holds its rows
    pd.testing.assert_frame_equal(pd.DataFrame(summary["history"]), history, check_dtype=False)
    assert table.loc[1, "val_psnr"] == max(row["val/psnr"] for row in summary["history"])
    assert table.loc[1, "best_epoch"] == summary["best"]["epoch"]
    assert table.loc[1, "psnr/gaussian_noise"] == summary["best"]["val/psnr/gaussian_noise"]
    report = (sweep / "comparison.md").read_text()
    assert "Common overrides: `debug=fast`" in report
    assert "- job 2 (`model=nafnet`): ConfigError: data.patch_size must be >= 8 pixels, got 4" in report
    assert report in capsys.readouterr().out
    assert (sweep / "samples_by_model.png").stat().st_size > 10_000


def test_find_jobs_labels_a_single_job_by_all_its_overrides(tmp_path):
    as_job(tmp_path / "0", ["model=cae", "seed=3"])
    (job,) = find_jobs(tmp_path)
    assert (job.label, job.status) == ("model=cae seed=3", "no result")


def test_compare_refuses_a_missing_dir(tmp_path, capsys):
    try:
        compare_main([str(tmp_path / "nope")])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "is not a directory" in capsys.readouterr().err


def test_a_sweep_whose_every_job_failed_still_gets_its_table(tmp_path):
    as_job(tmp_path / "0", ["model=cae"])
    write_failure(tmp_path / "0", RuntimeError("out of memory"))
    table = write_comparison(tmp_path)
    assert list(table["status"]) == ["failed"] and table["val_psnr"].isna().all()
    assert "RuntimeError: out of memory" in (tmp_path / "comparison.md").read_text()


def test_figure_labels_round_an_optuna_trials_floats_and_keep_the_rest():
    from denoise_lab.reporting.comparison import rounded

    assert rounded("optim.optimizer.lr=0.0012873514093351836") == "optim.optimizer.lr=0.00129"
    assert rounded("loss.ssim_weight=0.27166461381927845") == "loss.ssim_weight=0.272"
    assert [rounded(o) for o in ("model.width=16", "model=unet", "data.dir=/a.b/c")] == [
        "model.width=16",
        "model=unet",
        "data.dir=/a.b/c",
    ]


def test_the_history_figure_shows_validation_psnr_and_counts_epochs_from_1():
    import pandas as pd

    from denoise_lab.reporting.figures import history_figure

    history = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "train/loss": [0.3, 0.2, 0.1],
            "val/loss": [0.35, 0.25, 0.2],
            "val/psnr": [25.0, 27.0, 28.0],
            "val/psnr_degraded": [20.0, 20.0, 20.0],
            "weights/gaussian_noise": [0.5, 0.6, 0.7],
            "weights/motion_blur": [0.5, 0.4, 0.3],
        }
    )
    loss_ax, psnr_ax, _ = history_figure(history).axes
    assert psnr_ax.get_title() == "Validation PSNR, all degradations"
    restored, degraded = psnr_ax.get_lines()
    assert list(restored.get_xdata()) == [1, 2, 3] and list(restored.get_ydata()) == [25.0, 27.0, 28.0]
    assert list(degraded.get_ydata()) == [20.0, 20.0, 20.0]
    assert all(list(line.get_xdata()) == [1, 2, 3] for line in loss_ax.get_lines())
