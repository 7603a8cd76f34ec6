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


def test_the_cli_writes_one_onnx_file_that_runs_alone_quietly_and_keeps_one_log_for_every_call(tmp_path):
    """No ``model.onnx.data`` beside it (a copy of model.onnx alone failed in onnxruntime), none of the
    exporter's ~27 INFO lines, and no run folder per call: outputs/export/export.log, appended."""
    import shutil
    import subprocess
    import sys

    pytest.importorskip("onnxruntime")
    checkpoint, network = write_trained_like_checkpoint(tmp_path, "unet")
    for name in ("a.onnx", "b.onnx"):
        result = subprocess.run(
            [sys.executable, "-m", "denoise_lab.export", f"ckpt_path={checkpoint}", f"output=made/{name}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        printed = (result.stdout + result.stderr).strip().splitlines()
        assert len(printed) == 1 and f"to made/{name}; max difference to PyTorch" in printed[0], printed
    assert sorted(p.name for p in (tmp_path / "made").iterdir()) == ["a.onnx", "b.onnx"]
    (tmp_path / "elsewhere").mkdir()
    alone = shutil.copy(tmp_path / "made" / "a.onnx", tmp_path / "elsewhere")
    image = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        torch.testing.assert_close(run_exported("onnx", alone, image), network(image), atol=1e-4, rtol=0)
    assert [str(p.relative_to(tmp_path)) for p in sorted((tmp_path / "outputs").rglob("*"))] == [
        "outputs/export",
        "outputs/export/export.log",
    ]
    assert (tmp_path / "outputs" / "export" / "export.log").read_text().count("exported UNet") == 2
