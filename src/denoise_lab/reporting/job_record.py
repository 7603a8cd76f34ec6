"""What each job leaves in its run dir for sweep comparisons: ``job.json`` when it trained, ``failure.json``
when it raised.

The comparison (:mod:`denoise_lab.reporting.comparison`) reads only files, so it works on any sweep dir,
whatever launcher ran the jobs and whether or not the sweep itself finished.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

from denoise_lab.files import write_text_in_place

JOB_FILE = "job.json"
FAILURE_FILE = "failure.json"


def write_job_summary(run_dir: Path, **facts: Any) -> None:
    """``job.json``: the model, its size, the fit's timing and throughput, the best score and checkpoint."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_in_place(run_dir / JOB_FILE, json.dumps(facts, indent=2) + "\n")


def write_failure(run_dir: Path, error: BaseException) -> None:
    """``failure.json``: the error in one line (type and message) and its traceback."""
    run_dir.mkdir(parents=True, exist_ok=True)
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    record = {
        "error": f"{type(error).__name__}: {message}" if message else type(error).__name__,
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }
    write_text_in_place(run_dir / FAILURE_FILE, json.dumps(record, indent=2) + "\n")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when the file is absent."""
    return json.loads(path.read_text()) if path.is_file() else None
