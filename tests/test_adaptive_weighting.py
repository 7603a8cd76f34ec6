"""The adaptive degradation weighting callback and the training history it feeds."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from PIL import Image

from denoise_lab.training.callbacks import AdaptiveDegradationWeighting
from denoise_lab.training.run import run
from tests.conftest import SEED000_OPS, SMALL_UNET, TINY, compose_config

# An identity model that cannot learn (residual U-Net, zero-initialised head, lr 0): each op's training loss
# is its degraded input's loss, so strong noise is clearly harder than a slight blur.
FROZEN_HARD_AND_EASY = [
    "degradation=gaussian",
    "degradation.ops.gaussian_noise.sigma=[50,50]",
    "degradation.ops.gaussian_noise.clamp=true",
    "+degradation/op@degradation.ops.gaussian_blur=gaussian_blur",
    "degradation.ops.gaussian_blur.sigma=[0.5,0.5]",
    "model=unet",
    "optim.optimizer.lr=0",
    "optim.scheduler=null",
    "data.patches_per_epoch=32",
    "test_after_fit=false",
]


BY_LOSS = ["callbacks.adaptive.difficulty=loss"]  # seed 000's rule; the default (relative) sees no difference


def history(cfg) -> pd.DataFrame:
    return pd.read_csv(f"{cfg.paths.output_dir}/history.csv")


@pytest.fixture(scope="module")
def three_epochs(tmp_path_factory):
    """One uninterrupted 3-epoch run of the frozen model, shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp("straight")
    cfg = compose_config(
        [*TINY, *SMALL_UNET, *FROZEN_HARD_AND_EASY, *BY_LOSS, "trainer.max_epochs=3"], tmp_path
    )
    run(cfg)
    return cfg


def test_harder_op_gains_weight_within_a_few_epochs(three_epochs):
    rows = history(three_epochs)
    noise, blur = rows["weights/gaussian_noise"], rows["weights/gaussian_blur"]
    assert noise[0] == blur[0] == 0.5  # uniform start
    assert (noise[1:] > blur[1:] + 0.3).all()
    assert torch.allclose(torch.tensor((noise + blur).to_numpy()), torch.ones(3, dtype=torch.float64))
    assert (blur >= 0.05 - 1e-12).all()  # the floor


@pytest.mark.parametrize(
    "setting",
    [
        "callbacks.adaptive.enabled=false",
        # a frozen identity removes nothing of either op: relative difficulty is 1 for both
        "callbacks.adaptive.difficulty=relative",
    ],
)
def test_weights_stay_uniform_when_disabled_or_when_no_op_is_relatively_harder(tiny_cfg, setting):
    cfg = tiny_cfg(*FROZEN_HARD_AND_EASY, "trainer.max_epochs=2", setting)
    run(cfg)
    rows = history(cfg)
    assert rows["weights/gaussian_noise"].tolist() == pytest.approx([0.5, 0.5])
    assert rows["weights/gaussian_blur"].tolist() == pytest.approx([0.5, 0.5])


def test_resume_restores_weights_and_history_exactly(tiny_cfg, three_epochs):
    first = tiny_cfg(*FROZEN_HARD_AND_EASY, *BY_LOSS, "trainer.max_epochs=2", run_name="first")
    run(first)
    resumed = tiny_cfg(
        *FROZEN_HARD_AND_EASY,
        *BY_LOSS,
        "trainer.max_epochs=3",
        f"ckpt_path={first.paths.output_dir}/checkpoints/last.ckpt",
        run_name="resumed",
    )
    run(resumed)
    checkpoint = torch.load(f"{first.paths.output_dir}/checkpoints/last.ckpt", weights_only=False)
    saved_weights = checkpoint["DenoiseDataModule"]["bank"]["weights"]
    resumed_rows = history(resumed)
    assert resumed_rows["epoch"].tolist() == [0, 1, 2]
    last = resumed_rows.iloc[2]
    assert [last["weights/gaussian_noise"], last["weights/gaussian_blur"]] == saved_weights.tolist()
    first_rows = history(first)
    assert resumed_rows["fit_hours"][:2].tolist() == first_rows["fit_hours"].tolist()
    assert resumed_rows["fit_hours"].is_monotonic_increasing  # the training clock goes on across the resume
    # as if never interrupted (but for the wall clock)
    pd.testing.assert_frame_equal(
        resumed_rows.drop(columns="fit_hours"), history(three_epochs).drop(columns="fit_hours")
    )


def test_weights_respect_the_floor_and_sum_to_one():
    callback = AdaptiveDegradationWeighting(floor=0.05, temperature=0.5)
    weights = callback.weights_for(torch.tensor([1e-9, 1.0, 100.0, float("nan")], dtype=torch.float64))
    assert weights.sum().item() == pytest.approx(1.0)
    assert weights.min().item() == pytest.approx(0.05)
    assert weights[2] > weights[3] > weights[1]  # an unseen op counts as the mean difficulty


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="difficulty"):
        AdaptiveDegradationWeighting(difficulty="psnr")
    with pytest.raises(ValueError, match="temperature"):
        AdaptiveDegradationWeighting(temperature=0)


def test_seed000_run_reports_its_eight_transformations_and_writes_the_history(tiny_cfg):
    cfg = tiny_cfg(
        "degradation=seed000", "trainer.max_epochs=2", "data.val_crops_per_image=4"
    )  # 8 crops: one per op
    run(cfg)
    table = pd.read_csv(f"{cfg.paths.output_dir}/per_degradation.csv", index_col=0)
    assert table.index.tolist() == [*SEED000_OPS, "all"]

    rows = history(cfg)
    assert rows["epoch"].tolist() == [0, 1]
    always = ["train/loss", "val/loss", "val/psnr", "val/ssim"]
    always += [f"{q}/{op}" for op in SEED000_OPS for q in ("val/psnr", "weights")]
    assert rows[always].notna().all().all()
    # an op that 16 patches per epoch happen not to draw has no training loss that epoch
    assert {f"train/loss/{op}" for op in SEED000_OPS} <= set(rows.columns)
    excel = pd.read_excel(f"{cfg.paths.output_dir}/history.xlsx")
    pd.testing.assert_frame_equal(excel, rows, check_dtype=False)
    assert Image.open(f"{cfg.paths.output_dir}/history.png").size[0] > 800
