"""Shipped models: safe loading, the names on the command line, and the errors a user can cause."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

import denoise_lab.pretrained
from denoise_lab.config import ConfigError
from denoise_lab.evaluate import evaluate
from denoise_lab.inference import checkpoints
from denoise_lab.inference.checkpoints import load_checkpoint, read_shipped, shipped_names, write_shipped
from tests.test_evaluate import evaluate_config


@pytest.mark.parametrize("name", shipped_names())
def test_every_shipped_file_is_safetensors_with_its_run_config_and_loads_into_its_model(name):
    info, state = read_shipped(checkpoints.shipped_path(name))  # safetensors: no pickle to run
    assert {"config", "recipe", "precision", "table"} <= info.keys()
    assert all(v.dtype in (torch.float16, torch.float32) for v in state.values())
    model = denoise_lab.pretrained.load(name)
    assert not model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    x = torch.rand(1, 3, 37, 53)
    with torch.no_grad():
        assert model(x).shape == x.shape


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(ConfigError, match="no pretrained model named 'nonesuch'; shipped: ") as error:
        load_checkpoint("pretrained:nonesuch")
    assert all(name in str(error.value) for name in shipped_names())


class WritesAFile:
    """A pickle payload that would create ``marker`` if it ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_tampered_truncated_or_foreign_file_fails_with_one_line_naming_it_and_never_runs_code(
    tmp_path, monkeypatch
):
    from safetensors.torch import save_file

    monkeypatch.setattr(checkpoints, "PRETRAINED_DIR", tmp_path)
    marker = tmp_path / "pwned"
    with open(tmp_path / "pickled.safetensors", "wb") as f:  # a pickle under the shipped suffix
        pickle.dump({"state_dict": {}, "config": WritesAFile(marker)}, f, protocol=2)
    write_shipped(tmp_path / "whole.safetensors", {"w": torch.zeros(3)}, {"config": {"model": {}}})
    (tmp_path / "truncated.safetensors").write_bytes((tmp_path / "whole.safetensors").read_bytes()[:100])
    (tmp_path / "empty.safetensors").write_bytes(b"")
    save_file({"w": torch.zeros(3)}, tmp_path / "foreign.safetensors")  # weights, but no run config
    for name, message in [
        ("pickled", "pickled.safetensors' is not a readable safetensors file"),
        ("truncated", "truncated.safetensors' is not a readable safetensors file"),
        ("empty", "empty.safetensors' is not a readable safetensors file"),
        (
            "foreign",
            "foreign.safetensors' holds no run config in its metadata: not a shipped denoise_lab model",
        ),
    ]:
        with pytest.raises(ConfigError, match=message) as error:
            load_checkpoint(f"pretrained:{name}")
        assert "\n" not in str(error.value)
    assert not marker.exists()


def test_the_recipe_trains_with_ema_ships_and_fine_tunes_from_the_shipped_file(
    tiny_cfg, tmp_path, monkeypatch, identity_checkpoint
):
    """experiment=pretrain_gaussian, shrunk: EMA weights are what best.ckpt holds; ship writes a file that
    ``pretrained:<name>`` loads, or the mean of two checkpoints; ``init_from`` starts a new run from it;
    another architecture is refused."""
    from denoise_lab.pretrained.ship import ship
    from denoise_lab.training.run import build_module, initialise, run

    small = [
        "experiment=pretrain_gaussian",
        "degradation=blind_gaussian",
        "model=drunet",
        "model.widths=[8,16]",
        "model.blocks=1",
    ]
    same_report = ["eval.protocol=standard", "eval.baselines.methods=[]", "eval.sigmas=[25]"]
    cfg = tiny_cfg(*small, "compile=false", *same_report, run_name="pretrain")
    assert list(cfg.data.holdout) == ["coffee", "ihc"] and "ema" in cfg.callbacks
    run(cfg)
    best = tmp_path / "pretrain" / "checkpoints" / "best.ckpt"
    saved = torch.load(best, weights_only=True)
    assert "current_model_state" in saved  # Lightning's EMA callback: state_dict holds the averaged weights
    assert not torch.equal(
        saved["state_dict"]["model.tail.weight"], saved["current_model_state"]["model.tail.weight"]
    )

    # the run's own report judged the EMA weights, as evaluate (and predict) load them from best.ckpt
    evaluate(evaluate_config(tmp_path, f"ckpt_path={best}", *same_report))
    model_rows = [
        pd.read_csv(folder / "metrics.csv").query("method == 'model'")[["degradation", "psnr", "ssim"]]
        for folder in (tmp_path / "pretrain", tmp_path / "report")
    ]
    pd.testing.assert_frame_equal(*(rows.reset_index(drop=True) for rows in model_rows))

    monkeypatch.setattr(checkpoints, "PRETRAINED_DIR", tmp_path / "shipped")
    ship(best, tmp_path / "shipped" / "tiny.safetensors", table=None, recipe="test")
    shipped = denoise_lab.pretrained.load("tiny")
    torch.testing.assert_close(
        load_checkpoint(tmp_path / "shipped" / "tiny.safetensors")[0].state_dict(), shipped.state_dict()
    )
    ema = {k.removeprefix("model."): v for k, v in saved["state_dict"].items()}
    for key, value in shipped.state_dict().items():
        torch.testing.assert_close(
            value, ema[key].float(), atol=2e-3, rtol=1e-2
        )  # float16 when it costs nothing

    # --average-with: the mean of two checkpoints' weights (here best.ckpt and a copy with every weight + 1)
    moved = {
        **saved,
        "state_dict": {k: v + 1 if v.is_floating_point() else v for k, v in saved["state_dict"].items()},
    }
    torch.save(moved, tmp_path / "moved.ckpt")
    ship(best, tmp_path / "mean.safetensors", table=None, recipe="test", average_with=tmp_path / "moved.ckpt")
    mean = load_checkpoint(tmp_path / "mean.safetensors")[0].state_dict()
    for key, value in mean.items():
        torch.testing.assert_close(value, ema[key].float() + 0.5, atol=2e-3, rtol=1e-2)
    with pytest.raises(SystemExit, match=r"--average-with .* another architecture than DRUNet's"):
        ship(best, tmp_path / "refused.safetensors", None, "test", average_with=identity_checkpoint)
    assert not (tmp_path / "refused.safetensors").exists()

    fine = tiny_cfg(*small, "init_from=pretrained:tiny", run_name="fine")
    module = build_module(fine, ["gaussian_noise"])
    initialise(module, fine.init_from)
    torch.testing.assert_close(module.model.state_dict(), shipped.state_dict())
    other = build_module(tiny_cfg("model=unet", run_name="other"), ["gaussian_noise"])
    with pytest.raises(
        ConfigError, match="init_from 'pretrained:tiny' holds another architecture than model UNet"
    ):
        initialise(other, "pretrained:tiny")

    # a deeper DRUNet grows from it: its extra residual blocks start as the identity, so it restores alike
    deeper = build_module(tiny_cfg(*small[:-1], "model.blocks=2", run_name="deeper"), ["gaussian_noise"])
    initialise(deeper, "pretrained:tiny")
    noisy = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(deeper.model.eval()(noisy), shipped(noisy))


# The shipped gaussian model on a fixed held-out crop (coffee, centre 256², sigma 25, noise seeded 0),
# measured when it was shipped; a change that moves it by more than 0.1 dB changed the model or its path.
GAUSSIAN_CROP_PSNR = 32.774  # dB (noisy: 21.07), measured when stage 5 was shipped (stage 4: 32.714)
# The shipped camera model on the same crop under synthesised camera noise (degradation=camera at severity 0.5,
# generator seeded 0, JPEG quality drawn from [95, 70]): 31.33 dB noisy; the Gaussian model leaves it at 31.49.
CAMERA_CROP_PSNR = 33.967  # dB, measured when stage 5 (stage 4 and its fine-tune averaged) was shipped


def test_the_shipped_gaussian_model_keeps_its_quality_on_a_fixed_heldout_crop():
    from skimage import data

    from denoise_lab.evaluation.cases import centre
    from denoise_lab.evaluation.metrics import psnr
    from denoise_lab.inference.tiling import restorer

    clean = centre(torch.from_numpy(data.coffee()).permute(2, 0, 1).float()[None] / 255, 256)
    noisy = clean + 25 / 255 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    restore = restorer(denoise_lab.pretrained.load("gaussian"), torch.device("cpu"), size=512, overlap=192)
    measured = float(psnr(restore(noisy).clamp(0, 1), clean))
    assert measured == pytest.approx(GAUSSIAN_CROP_PSNR, abs=0.1)
    assert measured > float(psnr(noisy.clamp(0, 1), clean)) + 6  # and it denoises: sigma 25 is ~20.5 dB


def test_the_shipped_camera_model_keeps_its_quality_on_a_fixed_crop_of_camera_noise():
    from skimage import data

    from denoise_lab.degradations.camera import CameraNoise
    from denoise_lab.evaluation.cases import centre
    from denoise_lab.evaluation.metrics import psnr
    from denoise_lab.inference.tiling import restorer

    clean = centre(torch.from_numpy(data.coffee()).permute(2, 0, 1).float()[None] / 255, 256)
    noisy = CameraNoise()(clean, torch.tensor([0.5]), torch.Generator().manual_seed(0))
    restore = restorer(denoise_lab.pretrained.load("camera"), torch.device("cpu"), size=512, overlap=192)
    measured = float(psnr(restore(noisy).clamp(0, 1), clean))
    assert measured == pytest.approx(CAMERA_CROP_PSNR, abs=0.1)
    assert measured > float(psnr(noisy, clean)) + 1.5


def test_predict_without_a_checkpoint_restores_camera_noise_with_the_shipped_default(tmp_path):
    """A fresh install: `python -m denoise_lab.predict input=photo output=out/` with no ckpt_path and no
    training restores a held-out photo's camera noise (synthesised through raw, strong) with `camera`."""
    from PIL import Image
    from skimage import data

    from denoise_lab.api import PREDICT_DEFAULTS
    from denoise_lab.degradations.camera import CameraNoise
    from tests.test_predict import predict_cli

    assert PREDICT_DEFAULTS.ckpt_path == "pretrained:camera"
    clean = torch.from_numpy(data.coffee()[100:292, 200:456]).permute(2, 0, 1).float()[None] / 255
    noisy = CameraNoise()(clean, torch.tensor([1.0]), torch.Generator().manual_seed(0))
    noisy = (noisy[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    result = predict_cli("input=noisy.png", "output=out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "restored 1 of 1 images into out with pretrained:camera in" in result.stdout
    restored = np.asarray(Image.open(tmp_path / "out" / "noisy.png"))
    reference = (clean[0].permute(1, 2, 0).numpy() * 255).round()

    def psnr(image):
        return 10 * np.log10(255**2 / np.mean((image.astype(np.float64) - reference) ** 2))

    assert psnr(restored) > psnr(noisy) + 1.5
