"""Config composition and validation: every option composes; bad values fail early, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException, MissingConfigException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from denoise_lab.config import CONFIG_DIR, ConfigError, fast_precision, validate
from tests.conftest import compose_config

CONF = Path(CONFIG_DIR)
GROUPS = [
    "data",
    "degradation",
    "model",
    "loss",
    "optim",
    "trainer",
    "logger",
    "callbacks",
    "eval",
    "paths",
    "hydra",
    "debug",
    "experiment",
    "hparams_search",
]
OPTIONS = [(group, p.stem) for group in GROUPS for p in sorted((CONF / group).glob("*.yaml"))]


def test_config_composes_every_group():
    cfg = compose_config([])
    assert set(GROUPS) - {"hydra", "debug", "experiment", "hparams_search"} <= set(
        cfg
    )  # hydra: not composed into cfg; debug/experiment/hparams_search: null by default
    assert cfg.optimized_metric == "val/psnr"
    assert cfg.callbacks.model_checkpoint.monitor == "val/psnr"


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_and_validates(group, option):
    cfg = compose_config([f"{group}={option}"])
    if OmegaConf.is_missing(cfg.data, "dir"):  # data=folder, data=paired and the experiments using them
        cfg.data.dir = "/tmp"
    if cfg.trainer.accelerator == "gpu" and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"^trainer.accelerator=gpu, but this torch sees no CUDA GPU"):
            validate(cfg)
        return
    validate(cfg)


@pytest.mark.parametrize("group", ["model", "loss", "degradation"])
def test_every_buildable_option_instantiates(group):
    for path in sorted((CONF / group).glob("*.yaml")):
        node = compose_config([f"{group}={path.stem}"])[group]
        assert instantiate(node, _convert_="all") is not None


def test_unknown_option_lists_the_choices():
    with pytest.raises(MissingConfigException, match=r"(?s)model/transformer.*Available options.*unet_tuned"):
        compose_config(["model=transformer"])


def test_unknown_key_is_refused_at_composition():
    with pytest.raises(ConfigCompositionException, match=r"data\.patchsize"):
        compose_config(["data.patchsize=3"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "data.patch_size=abc",
            "data.patch_size: Value 'abc' of type 'str' could not be converted to Integer",
        ),
        ("data.patch_size=4", "data.patch_size must be >= 8 pixels, got 4"),
        ("data.val_ratio=1.5", "data.val_ratio must lie strictly between 0 and 1, got 1.5"),
        ("data.small_images=crop", "data.small_images must be 'pad' or 'skip', got 'crop'"),
        ("data.patches_per_epoch=4", "data.patches_per_epoch (4) must be >= data.batch_size (16)"),
        ("trainer.max_epochs=0", "trainer.max_epochs must be >= 1, got 0"),
        ("data.num_workers=-1", "data.num_workers must be >= 0 or null (auto), got -1"),
        ("threads=0", "threads must be >= 1 or null (one per core), got 0"),
        ("seed=x", "seed: Value 'x' of type 'str' could not be converted to Integer"),
        ("optim.optimizer.lr=-1", "optim.optimizer.lr must be >= 0, got -1"),
        ("data=folder", "this data option reads a folder: give it as data.dir=/path/to/images"),
        (
            "degradation.ops.gaussian_noise.sigma=[-5,10]",
            "degradation.ops.gaussian_noise.sigma must lie in [0, inf], got [-5, 10]",
        ),
    ],
)
def test_bad_values_fail_with_one_line(override, message):
    with pytest.raises(ConfigError) as error:
        validate(compose_config([override]))
    assert str(error.value) == message


def test_experiment_and_search_options_set_the_task_name():
    assert compose_config(["experiment=seed003_gaussian"]).task_name == "seed003_gaussian"
    assert compose_config(["experiment=compare_architectures"]).trainer.max_epochs == 4
    assert compose_config(["hparams_search=unet_optuna"]).task_name == "unet_optuna"


def test_default_precision_is_bf16_only_where_the_device_computes_it_natively(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    assert compose_config(["trainer=cpu"]).trainer.precision == "32-true"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert compose_config(["trainer=cpu"]).trainer.precision == "bf16-mixed"
    assert fast_precision("mps") == "32-true"


def test_a_chains_inner_op_ranges_are_checked_too():
    with pytest.raises(
        ConfigError, match=r"degradation.ops.chain.ops.jpeg.quality must lie in \[1, 100\], got \[95, 0\]"
    ):
        validate(compose_config(["degradation=chain", "degradation.ops.chain.ops.jpeg.quality=[95,0]"]))
    with pytest.raises(ConfigError, match=r"degradation.ops.camera_noise.quality must lie in \[1, 100\]"):
        validate(compose_config(["degradation=camera", "degradation.ops.camera_noise.quality=[95,0]"]))
    for preset in ("all", "chain", "camera", "seed000", "core", "seed002"):
        validate(compose_config([f"degradation={preset}"]))  # every shipped range passes


def test_seed_experiments_compose_as_their_headers_say():
    dense = compose_config(["experiment=seed002_dense"])
    assert (dense.model._target_, dense.loss._target_.rsplit(".", 1)[-1]) == (
        "denoise_lab.models.dense_ae.DenseAutoencoder",
        "MSELoss",
    )
    assert list(instantiate(dense.degradation, _convert_="all").names) == [
        "gaussian_noise",
        "gaussian_blur",
        "brightness",
        "color_channels",
    ]
    paired = compose_config(["experiment=seed004_paired", "data.dir=/somewhere"])
    assert paired.data._target_.endswith("from_pairs") and paired.data.patch_size == 256
    assert paired.model.channels == [32, 64, 128]
    validate(paired)


def test_the_end_of_run_report_runs_baselines_on_2_crops_and_evaluate_on_8():
    """README and conf/eval/after_training.yaml promise 2; eval/default.yaml once overrode it with 8."""
    from hydra import compose, initialize_config_dir

    from denoise_lab.config import CONFIG_DIR

    assert compose_config([]).eval.baselines.max_images == 2
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        assert compose(config_name="evaluate", overrides=["ckpt_path=x"]).eval.baselines.max_images == 8


def test_the_optuna_search_draws_only_the_depths_it_names_and_debug_fast_shrinks_its_trials():
    """Optuna's sweeper reads range(2, 4) with its end included (depth 4 was drawn); debug=fast composes
    after hparams_search, so each trial is a smoke run too."""
    from hydra import compose, initialize_config_dir

    from denoise_lab.config import CONFIG_DIR

    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        search = compose("config", ["hparams_search=unet_optuna", "debug=fast"], return_hydra_config=True)
    params = search.hydra.sweeper.params
    assert params["model.depth"] == "choice(2, 3)" and not any("range(" in str(v) for v in params.values())
    assert search.data.patches_per_epoch == 64 and search.trainer.max_epochs == 2
