"""notebooks/quickstart.ipynb runs top to bottom (with smaller settings), so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "quickstart.ipynb"

SMALL = """from pathlib import Path

TRAIN_OVERRIDES = {train!r}
EVAL_OVERRIDES = ["eval.baselines.methods=[tv]", "eval.baselines.max_images=1", "eval.figure_examples=1"]
OUTPUT_DIR = Path({out!r})
"""
TRAIN = [
    "debug=fast",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "data.patches_per_epoch=16",
    "data.val_crops_per_image=2",
    "model.width=8",
    "model.depth=2",
]


def test_quickstart_notebook_restores_a_photo_trains_evaluates_and_compares(tmp_path):
    """Top to bottom, with smaller settings; an earlier run's folder is there already (a notebook run twice):
    the new run trains into a folder of its own and evaluates its own checkpoint; nothing is written into the
    package."""
    package = Path(__file__).parents[1] / "src" / "denoise_lab"
    before = set(package.rglob("*"))
    earlier = tmp_path / "train" / "2020-01-01_00-00-00" / "checkpoints"
    earlier.mkdir(parents=True)
    (earlier / "best.ckpt").write_bytes(b"an earlier run's")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = SMALL.format(train=TRAIN, out=str(tmp_path))
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the shipped model's before/after, and the run's grid
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "this run's model" in printed and "pretrained:gaussian" in printed
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("gaussian_noise" in t and "gain" in t for t in tables)  # the per-degradation table
    runs = sorted((tmp_path / "train").iterdir())
    assert (
        len(runs) == 2
        and (runs[1] / "report.md").is_file()
        and (runs[1] / "evaluate" / "report.md").is_file()
    )
    assert (earlier / "best.ckpt").read_bytes() == b"an earlier run's"
    assert not list(tmp_path.rglob("best-v1.ckpt"))
    assert set(package.rglob("*")) - before <= {p for p in package.rglob("__pycache__*")} | {
        p for p in package.rglob("*.pyc")
    }
