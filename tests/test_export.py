"""``python -m denoise_lab.export``: dynamic H x W, the exported file run by its own runtime, and refusals."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir

from denoise_lab.config import CONFIG_DIR, ConfigError
from denoise_lab.export import export, run_exported
from tests.conftest import write_trained_like_checkpoint


def export_config(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="export", overrides=list(overrides))


@pytest.mark.parametrize(
    ("model", "fmt"), [("drunet", "onnx"), ("unet", "onnx"), ("nafnet", "onnx"), ("dncnn", "torchscript")]
)
def test_the_exported_file_matches_pytorch_on_any_height_and_width(tmp_path, model, fmt):
    pytest.importorskip("onnxruntime")
    checkpoint, network = write_trained_like_checkpoint(tmp_path, model)
    path = export(export_config(f"ckpt_path={checkpoint}", f"format={fmt}", f"output={tmp_path / 'model'}"))
    for shape in [(1, 3, 97, 131), (1, 3, 64, 80), (1, 3, 211, 37)]:
        image = torch.rand(shape, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            expected = network(image)
        assert (expected - image).abs().max() > 1e-2  # a model that changes its input
        torch.testing.assert_close(run_exported(fmt, path, image), expected, atol=1e-4, rtol=0)


def test_a_model_the_exporter_refuses_is_one_line_naming_it_and_an_existing_output_is_kept(tmp_path):
    checkpoint, _ = write_trained_like_checkpoint(tmp_path, "drunet")
    with pytest.raises(ConfigError, match=r"^DRUNet cannot be exported as torchscript: ") as error:
        export(export_config(f"ckpt_path={checkpoint}", "format=torchscript", f"output={tmp_path / 'm.pt'}"))
    assert "\n" not in str(error.value)
    existing = tmp_path / "keep.onnx"
    existing.write_bytes(b"mine")
    with pytest.raises(ConfigError, match="exists; overwrite=true replaces it"):
        export(export_config(f"ckpt_path={checkpoint}", f"output={existing}"))
    assert existing.read_bytes() == b"mine"
