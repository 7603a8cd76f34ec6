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


def test_quickstart_notebook_trains_evaluates_and_shows_the_grid_and_table(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = SMALL.format(train=TRAIN, out=str(tmp_path))
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the grid
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("gaussian_noise" in t and "gain" in t for t in tables)  # the per-degradation table
    assert (tmp_path / "evaluate" / "report.md").is_file() and (tmp_path / "train" / "report.md").is_file()
