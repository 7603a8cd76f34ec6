"""scripts/rebuild_shipped_models.sh: the one-go recipe of both shipped models (a GPU's, with the CPU as fallback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

from denoise_lab.datasets.store import cache_root

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "rebuild_shipped_models.sh"
TRAINING_SETS = ("cbsd432", "bsd400", "polyu", "polyu_canon_full", "cbsd68")


def run_script(work: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        ["bash", str(SCRIPT), str(work)], capture_output=True, text=True, env=environment, timeout=3600
    )


def test_the_script_parses_and_refuses_a_folder_of_someone_elses_files(tmp_path):
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0
    (tmp_path / "notes.txt").write_text("the user's")
    result = run_script(tmp_path, SMOKE="1", TRAINER="cpu")
    assert result.returncode == 2
    assert f"{tmp_path} holds files this script did not make" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.slow
@pytest.mark.skipif(
    not all((cache_root() / name).is_dir() for name in TRAINING_SETS),
    reason="needs the training and test sets in the dataset cache (python -m denoise_lab.datasets fetch ...)",
)
def test_a_smoke_run_trains_and_ships_both_models_and_a_second_start_resumes(tmp_path):
    """Every step with tiny sizes (39 min on 2 float32 cores beside three other jobs): data folders, four
    trainings, the clean photos mined, two reports, two shipped files that load; started again, each training
    resumes from its last.ckpt and nothing shipped is replaced."""
    first = run_script(tmp_path / "work", SMOKE="1", TRAINER="cpu")
    assert first.returncode == 0, first.stderr[-3000:]
    work = tmp_path / "work"
    for name in ("gaussian", "camera"):
        with safe_open(work / f"{name}.safetensors", "pt") as shipped:
            assert "rebuild_shipped_models.sh" in shipped.metadata()["recipe"] and shipped.keys()
        assert (work / "reports" / name / "metrics.csv").is_file()
    pairs = {p.name for p in (work / "pairs" / "low").iterdir()}
    assert not any(name.startswith(("a_NikonD800", "a_Sony", "b_NikonD800", "b_Sony")) for name in pairs)
    mined = {p.name for p in (work / "pairs_clean" / "low").iterdir()} - pairs
    assert len(mined) == 2 and all(name.startswith("clean3_") for name in mined)
    shipped_before = (work / "camera.safetensors").stat().st_mtime_ns
    second = run_script(work, SMOKE="1", TRAINER="cpu")
    assert second.returncode == 0, second.stderr[-3000:]
    said = second.stdout + second.stderr  # the log's INFO lines go to stdout
    assert said.count("keeping") == 2 and "resuming from runs/camera_clean/checkpoints/last.ckpt" in said
    assert (work / "camera.safetensors").stat().st_mtime_ns == shipped_before
