"""Scaling of prediction: time and peak memory vs image size, up to a 12-megapixel photo (4000x3000).

``denoise_lab.predict`` restores a photo tile by tile (:mod:`denoise_lab.inference.tiling`), so its memory should
stay flat while its time grows linearly with the pixels; restoring the whole image in one pass (no
tiling) is measured beside it up to 2048x1536 to show what the tiles save. Two fresh processes restore
every size in turn, one for the times and one for memory (see ``EXACT_RSS``). Memory is the peak
resident set (CPU) or the peak of ``torch.cuda.max_memory_allocated`` (GPU) above what the process held
once the model, the input and a warm-up were in place; the output image (12 bytes a pixel) is part of
it. Weights are the default model's initial ones: time and memory do not depend on their values.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from benchmarks.common import Section, Settings, Target, run_config
from benchmarks.isolated import in_subprocess
from denoise_lab.config import CONFIG_DIR
from denoise_lab.inference.tiling import restorer, tile_spans

KEY = "predict_scaling"
TITLE = "Scaling: predict time and peak memory vs image size"
UNTILED_LIMIT = 2048 * 1536  # pixels: the whole-image pass is measured up to this size
PROBE_TIMEOUT = 300.0  # s for all sizes in one process
# glibc's malloc keeps freed blocks for reuse, so resident memory also counts its caches and varied by
# 60 MB between runs; mapping every allocation above 64 KiB on its own (and unmapping it when freed)
# makes resident memory follow the live tensors, repeatably, at the cost of page faults: memory is
# measured in a process with this setting, time in one without.
EXACT_RSS = {"MALLOC_MMAP_THRESHOLD_": "65536"}
MEMORY_GROWTH, TIME_GROWTH = 1.5, 1.25  # targets: largest vs smallest multi-tile image


def sizes(settings: Settings) -> list[tuple[int, int]]:
    """(width, height) of the images restored."""
    if settings.quick:
        return [(96, 64), (192, 128)]
    return [(512, 512), (1024, 768), (2048, 1536), (4000, 3000)]


def resident_megabytes(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 2**10
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak(device: torch.device) -> float:
    """Start a new peak-memory measurement; the memory in use now, in MB."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM to the current VmRSS
    return resident_megabytes("VmRSS")


def peak(device: torch.device) -> float:
    """Peak memory in MB since :func:`reset_peak`."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resident_megabytes("VmHWM")


def probe(settings: Settings, jobs: list[tuple[int, int, bool]]) -> list[dict[str, float]]:
    """In a fresh process: for each ``(width, height, tiles)``, the seconds and the peak MB above the
    start to restore one such image, by tiles (``conf/tile/default.yaml``) or in one pass."""
    tile = tile_settings(settings)
    model = instantiate(run_config(settings).model)
    results = []
    for width, height, tiles in jobs:
        restore = restorer(
            model, settings.device, tile.size if tiles else max(width, height), tile.overlap, tile.align
        )
        restore(
            torch.rand(1, 3, 2 * tile.size, 2 * tile.size)
        )  # warm-up: one-off allocations, kernel choices
        image = torch.rand(1, 3, height, width)
        settings.sync()
        before = reset_peak(settings.device)
        start = time.perf_counter()
        restore(image)
        settings.sync()
        results.append({"seconds": time.perf_counter() - start, "peak MB": peak(settings.device) - before})
        del image
    return results


def tile_settings(settings: Settings) -> DictConfig:
    """The tile settings predict uses; in --quick a small tile, so that the small images are tiled."""
    tile = OmegaConf.load(Path(CONFIG_DIR) / "tile" / "default.yaml")
    if settings.quick:
        tile.size, tile.overlap = 64, 32
    return tile


def image_buffers(pixels: int, tiles: bool, device: torch.device) -> float:
    """MB of the image-sized buffers a restore must hold on ``device``: the float32 RGB output, and for
    tiles the blend-weight map beside it; tiled output stays with the input (CPU), never on a GPU."""
    if tiles:
        return 0.0 if device.type == "cuda" else 16 * pixels / 2**20
    return 12 * pixels / 2**20


def run(settings: Settings) -> Section:
    tile = tile_settings(settings)
    jobs = [
        (w, h, tiles)
        for w, h in sizes(settings)
        for tiles in (True, False)
        if tiles or w * h <= UNTILED_LIMIT
    ]
    timed = in_subprocess(probe, settings, jobs, timeout=PROBE_TIMEOUT)
    measured = in_subprocess(probe, settings, jobs, env=EXACT_RSS, timeout=PROBE_TIMEOUT)
    if timed is None or measured is None:
        return Section(KEY, TITLE, f"Did not finish in {PROBE_TIMEOUT:g} s.", {})
    rows = {}
    for (width, height, tiles), timing, memory in zip(jobs, timed, measured, strict=True):
        pixels, seconds, peak_mb = width * height, timing["seconds"], memory["peak MB"]
        rows_, cols = (tile_spans(n, tile.size, tile.overlap, tile.align) for n in (height, width))
        count = len(rows_) * len(cols)
        processed = sum(b - a for a, b in rows_) * sum(b - a for a, b in cols)  # pixels the tiles cover
        buffers = image_buffers(pixels, tiles, settings.device)
        how = (f"{count} tiles" if count > 1 else "1 tile") if tiles else "one pass"
        rows[f"{width}×{height}, {how}"] = {
            "megapixels": pixels / 1e6,
            "seconds": seconds,
            "ms / megapixel": 1e3 * seconds / (pixels / 1e6),
            "overlap factor": processed / pixels if tiles else 1.0,
            "ms / megapixel computed": 1e3 * seconds / ((processed if tiles else pixels) / 1e6),
            "peak memory (MB)": peak_mb,
            "image buffers (MB)": buffers,
            "working memory (MB)": peak_mb - buffers,
            "tiled": tiles and count > 1,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    model = run_config(settings).model._target_.rsplit(".", 1)[-1]
    text = (
        f"Default model ({model}), float32, one image per call through `denoise_lab.inference.tiling.restorer` as "
        f"`denoise_lab.predict` runs it: tiles of {tile.size}² overlapping by {tile.overlap} px, or the whole "
        "image in one pass. Peak memory is the peak resident set (CPU) or peak CUDA allocation above what "
        "the process held before the call, measured with `MALLOC_MMAP_THRESHOLD_=65536` so that freed "
        "memory leaves the resident set (times come from a second process without it); working memory is "
        "that less the image-sized buffers every method needs (the output, and the tiles' blend weights). Overlapping "
        "tiles compute some pixels more than once (the overlap factor, which tends to (size / (size - "
        "overlap))² on large images); time per pixel computed is what should stay constant."
    )
    return Section(KEY, TITLE, text, {"predict time and memory": table.drop(columns="tiled")}, targets(table))


def targets(table: pd.DataFrame) -> list[Target]:
    """Tiling keeps working memory flat and time linear in the pixels computed: the largest tiled image
    against the smallest one that needs more than one tile."""
    tiled = table[table["tiled"]].sort_values("megapixels")
    if len(tiled) < 2:
        return []
    small, large = tiled.iloc[0], tiled.iloc[-1]
    memory = large["working memory (MB)"] / max(small["working memory (MB)"], 1.0)
    time_ratio = large["ms / megapixel computed"] / small["ms / megapixel computed"]
    return [
        Target(
            f"tiled predict working memory, {tiled.index[-1]} vs {tiled.index[0]}",
            f"≤ {MEMORY_GROWTH}× (flat)",
            f"{memory:.2f}×",
            memory <= MEMORY_GROWTH,
        ),
        Target(
            f"tiled predict time per pixel computed, {tiled.index[-1]} vs {tiled.index[0]}",
            f"≤ {TIME_GROWTH}× (linear)",
            f"{time_ratio:.2f}×",
            time_ratio <= TIME_GROWTH,
        ),
    ]
