"""Peak memory of ``python -m denoise_lab.predict`` on a 12- and a 108-megapixel JPEG, as a user runs it.

Each photo goes through a fresh ``predict`` process with its defaults (the shipped model, tiles of
``conf/tile/default.yaml``); the peak resident set of that process is the kernel's own count, read by the
process itself as it exits (``VmHWM``), so decoding, restoring and encoding are all in it. (Not the
parent's ``ru_maxrss`` of the child: Linux carries the parent's peak at fork across ``exec``, which read
4.5 GB for a run that peaked at 1.4 GB.) Photos are
scikit-image's astronaut enlarged and made noisy (sigma 15), written as JPEG quality 90 in a temporary
folder. The target is issue 13's: memory bounded whatever the size, the larger photo's peak at most 1.3x
the smaller one's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from skimage import data

from benchmarks.common import Section, Settings, Target, predict_defaults
from denoise_lab.inference import streaming

KEY = "predict_memory"
TITLE = "Predict: peak memory of the whole process on large photos"
MEMORY_GROWTH = 1.3  # target: peak of the largest photo vs the smallest
# Runs ``python -m denoise_lab.predict <args>`` and, at exit, prints the process's peak resident set.
PEAK_REPORTING_PREDICT = """
import atexit, runpy, sys
def report_peak():
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(peak.strip(), file=sys.stderr)
atexit.register(report_peak)
sys.argv[0] = "denoise_lab.predict"
runpy.run_module("denoise_lab.predict", run_name="__main__")
"""


def sizes(settings: Settings) -> list[tuple[int, int]]:
    """(width, height) of the photos restored."""
    return [(400, 300), (1200, 900)] if settings.quick else [(4000, 3000), (12000, 9000)]


def noisy_photo(path: Path, width: int, height: int) -> Path:
    """scikit-image's astronaut at ``width`` x ``height`` with Gaussian noise (sigma 15), as a JPEG."""
    image = np.asarray(Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.BICUBIC))
    noise = np.random.default_rng(0).normal(0, 15, image.shape).astype(np.float32)
    Image.fromarray(np.clip(image + noise, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def peak_of_predict(photo: Path, output: Path, *overrides: str) -> dict[str, float]:
    """Seconds and peak resident MB of one ``predict`` process restoring ``photo``."""
    command = [sys.executable, "-c", PEAK_REPORTING_PREDICT, f"input={photo}", f"output={output}"]
    command += [f"hydra.run.dir={output / 'logs'}", *overrides]
    start = time.perf_counter()
    finished = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if finished.returncode != 0:
        raise RuntimeError(f"predict failed on {photo}: {finished.stderr[-500:]}")
    peak = next(line for line in reversed(finished.stderr.splitlines()) if line.startswith("VmHWM:"))
    return {"seconds": seconds, "peak memory (MB)": int(peak.split()[1]) / 2**10}  # VmHWM is in kB


def run(settings: Settings) -> Section:
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for width, height in sizes(settings):
            photo = noisy_photo(Path(folder) / f"photo_{width}x{height}.jpg", width, height)
            measured = peak_of_predict(
                photo, Path(folder) / f"restored_{width}", f"device={settings.device.type}"
            )
            photo.unlink()
            megapixels = width * height / 1e6
            rows[f"{width}×{height}"] = {
                "megapixels": megapixels,
                **measured,
                "ms / megapixel": 1e3 * measured["seconds"] / megapixels,
                "bytes / pixel": measured["peak memory (MB)"] * 2**20 / (width * height),
            }
    table = pd.DataFrame.from_dict(rows, orient="index")
    small, large = table.iloc[0], table.iloc[-1]
    growth = large["peak memory (MB)"] / small["peak memory (MB)"]
    text = (
        "One fresh `python -m denoise_lab.predict input=photo.jpg output=...` per photo, defaults otherwise "
        f"(shipped model, {predict_defaults(settings.device)[1]}, tiles); "
        "peak memory is the process's peak resident set (`VmHWM`), "
        "time its wall time including start-up. "
        + (
            "The JPEG streams from file to file through libvips (the `large` extra), a strip of tiles at a time."
            if streaming.pyvips is not None
            else "Without the `large` extra (libvips) Pillow decodes and encodes the whole image at once "
            "(4 bytes a pixel), which is what grows; the photo is held as 8-bit pixels and restored in place."
        )
    )
    target = Target(
        f"predict peak memory, {table.index[-1]} vs {table.index[0]}",
        f"≤ {MEMORY_GROWTH}×",
        f"{growth:.2f}×",
        growth <= MEMORY_GROWTH,
    )
    return Section(KEY, TITLE, text, {"predict peak memory": table}, [target])
