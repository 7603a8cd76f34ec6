"""The sweep plugins end to end: Optuna search, joblib and submitit launchers, the Slurm launcher config."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from denoise_lab.compare import main as compare_main
from denoise_lab.training.run import CONFIG_DIR
from tests.conftest import TINY, cli

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")


def only_sweep(tmp_path, task: str = "train"):
    (sweep,) = (tmp_path / "outputs" / task / "multiruns").iterdir()
    return sweep


def test_joblib_runs_jobs_in_parallel_and_a_failed_job_is_listed_with_its_error(tmp_path):
    result = cli(
        "-m", *TINY, "model=cae", "data.patch_size=32,4", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1  # Hydra fails the sweep: one of its jobs failed
    assert "data.patch_size must be >= 8 pixels, got 4" in result.stderr
    sweep = only_sweep(tmp_path)
    table = pd.read_csv(sweep / "comparison.csv").fillna("")
    assert list(table["overrides"]) == ["data.patch_size=32", "data.patch_size=4"]
    assert list(table["status"]) == ["ok", "failed"]
    assert table.loc[1, "error"] == "ConfigError: data.patch_size must be >= 8 pixels, got 4"
    assert table.loc[0, "val_psnr"] > 0
    assert "## Failed jobs" in (sweep / "comparison.md").read_text()
    assert "Traceback" in (sweep / "1" / "failure.json").read_text()


def test_submitit_local_executor_runs_the_jobs_and_compare_reads_them(tmp_path):
    result = cli(
        "-m",
        *TINY,
        "model=cae",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    sweep = only_sweep(tmp_path)
    assert any((sweep / ".submitit").iterdir())  # the jobs went through submitit
    (sweep / "comparison.csv").unlink()
    assert compare_main([str(sweep)]) == 0
    table = pd.read_csv(sweep / "comparison.csv")
    assert list(table["status"]) == ["ok"] and table.loc[0, "model"] == "ConvAutoencoder"


def test_two_trial_optuna_search_writes_its_best_parameters_its_study_and_optunas_figures(tmp_path):
    result = cli(
        "hparams_search=unet_optuna", "hydra.sweeper.n_trials=2", *TINY, "data.patches_per_epoch=16",
        "model.width=choice(4,8)", "model.depth=choice(1,2)",  # a smaller space than the config's
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    sweep = only_sweep(tmp_path, "unet_optuna")
    found = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    params = found["best_params"]
    assert set(params) == {"model.width", "model.depth", "optim.optimizer.lr", "loss.ssim_weight"}
    assert params["model.width"] in (4, 8) and 3e-4 <= params["optim.optimizer.lr"] <= 3e-3
    table = pd.read_csv(sweep / "comparison.csv")
    assert len(table) == 2 and found["best_value"] == pytest.approx(table["val_psnr"].max())
    import matplotlib.pyplot as plt
    import optuna

    study = optuna.load_study(study_name="unet_optuna", storage=f"sqlite:///{sweep / 'optuna.db'}")
    assert sorted(t.value for t in study.trials) == pytest.approx(sorted(table["val_psnr"]))
    for figure in ("optuna_history.png", "optuna_importance.png"):
        assert plt.imread(sweep / figure).shape[0] > 300
        assert f"`{figure}`" in (sweep / "comparison.md").read_text()
    style = dict(plt.rcParams)
    (sweep / "optuna_history.png").unlink()
    assert compare_main([str(sweep)]) == 0 and (sweep / "optuna_history.png").is_file()
    assert dict(plt.rcParams) == style  # Optuna's ggplot style stays inside its own figure


def test_slurm_launcher_takes_partition_time_and_one_task_per_device():
    overrides = ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    launcher = instantiate(cfg.hydra.launcher)
    assert type(launcher).__name__ == "SlurmLauncher"
    assert {
        k: launcher.params[k]
        for k in ("partition", "timeout_min", "gpus_per_node", "tasks_per_node", "nodes")
    } == {
        "partition": "gpu",
        "timeout_min": 240,
        "gpus_per_node": 4,
        "tasks_per_node": 4,
        "nodes": 2,
    }
