"""Throughput of the device-side degradation bank vs the seeds' per-image CPU pipeline.

``python -m denoise_lab.bench.degradation_engine [--device cuda] [--repeats 7]`` prints images/s
for both on the same clean 128x128 crops (batch 32) and their ratio: median of repeats after a
warm-up, measured in one process so the machine's load affects both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from hydra.utils import instantiate

from denoise_lab.bench.cpu_pipeline import degrade_one_by_one
from denoise_lab.data.sources import SampleImages
from denoise_lab.train import CONFIG_DIR


def clean_crops(batch_size: int, size: int) -> np.ndarray:
    """Crops of the bundled photos, (N, H, W, 3) float32 in [0, 1]."""
    images = [im.clean for im in SampleImages(["astronaut", "chelsea", "coffee", "rocket"]).load()]
    rng = np.random.default_rng(0)
    crops = []
    for i in range(batch_size):
        image = images[i % len(images)]
        top, left = (int(rng.integers(n - size + 1)) for n in image.shape[:2])
        crops.append(image[top : top + size, left : left + size])
    return np.stack(crops).astype(np.float32) / 255


def default_bank(device: str):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config")
    return instantiate(cfg.degradation, _convert_="all")


def images_per_second(
    step: Callable[[], object], images: int, repeats: int, sync: Callable[[], None]
) -> float:
    step()  # warm-up: allocations, kernel selection
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return images / statistics.median(times)


def measure(device: str = "cpu", batch_size: int = 32, size: int = 128, repeats: int = 7) -> dict[str, float]:
    crops = clean_crops(batch_size, size)
    bank = default_bank(device)
    batch = torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous().to(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else lambda: None
    rng = np.random.default_rng(0)
    bank_rate = images_per_second(lambda: bank.sample(batch), batch_size, repeats, sync)
    cpu_rate = images_per_second(lambda: degrade_one_by_one(crops, rng), batch_size, repeats, lambda: None)
    return {
        "bank_images_per_s": bank_rate,
        "cpu_pipeline_images_per_s": cpu_rate,
        "ratio": bank_rate / cpu_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.device, repeats=args.repeats)
    print(
        f"device {args.device}, batch 32 of 128x128: bank {result['bank_images_per_s']:.0f} images/s, "
        f"per-image CPU pipeline {result['cpu_pipeline_images_per_s']:.0f} images/s, "
        f"ratio {result['ratio']:.1f}x"
    )


if __name__ == "__main__":
    main()
