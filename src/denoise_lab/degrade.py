"""``python -m denoise_lab.degrade input=<folder> output=<folder>``: the degradation bank applied to a folder of
photos, written as low/high pairs (``conf/degrade.yaml``).

Training degrades on the fly; a fixed degraded copy is what a test set for others, a mix of synthetic and
real pairs (``data=paired``), or a look at what an op does needs. Each photo's op and randomness are seeded by
``seed`` and the CRC-32 of its relative path (:meth:`DegradationBank.apply_fixed`), so adding photos to the
folder changes none of the others. Files are written whole or not at all (:mod:`denoise_lab.files`).
"""

from __future__ import annotations

import logging
import sys
import zlib
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image
from rich.progress import track

from denoise_lab.config import CONFIG_DIR, ConfigError, check_op_ranges, user_errors_in_one_line
from denoise_lab.console import quiet_console
from denoise_lab.data.datasets import to_tensor
from denoise_lab.data.sources import find_images, try_read_rgb
from denoise_lab.files import written_in_place

log = logging.getLogger(__name__)


def write_png(path: Path, image: np.ndarray) -> None:
    with written_in_place(path) as partial:
        Image.fromarray(image).save(partial, format="PNG")


def degrade(cfg: DictConfig) -> dict[str, int]:
    """Write ``low/`` and ``high/`` under ``cfg.output``; return the counts written, skipped, refused."""
    check_op_ranges(cfg.degradation.ops)
    source, output = Path(cfg.input).expanduser(), Path(cfg.output).expanduser()
    if output.resolve() == source.resolve() or source.resolve() in output.resolve().parents:
        raise ConfigError(f"output '{output}' lies in the input folder: give a folder outside it")
    bank = instantiate(cfg.degradation)
    counts = {"written": 0, "skipped": 0, "refused": 0}
    files = find_images(source, cfg.recursive)
    for path in track(files, description="degrading", disable=len(files) == 1):
        name = path.relative_to(source).with_suffix(".png")
        targets = [output / "low" / name, output / "high" / name]
        if not cfg.overwrite and any(t.exists() for t in targets):
            log.warning("refusing to overwrite %s, which exists (overwrite=true replaces it)", name)
            counts["refused"] += 1
            continue
        clean = try_read_rgb(path)
        if clean is None:
            counts["skipped"] += 1
            continue
        key = zlib.crc32(str(path.relative_to(source)).encode())
        op = torch.tensor([key % len(bank)])
        degraded = bank.apply_fixed(to_tensor(clean)[None], torch.tensor([key]), op).image.clamp(0, 1)
        low = (degraded[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        write_png(targets[0], low)
        write_png(targets[1], clean)
        counts["written"] += 1
    log.info(
        "wrote %d pairs (%s) into %s/low and %s/high; skipped %d unreadable; refused %d existing",
        counts["written"],
        ", ".join(bank.names),
        output,
        output,
        counts["skipped"],
        counts["refused"],
    )
    return counts


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="degrade")
def main(cfg: DictConfig) -> None:
    quiet_console()
    with user_errors_in_one_line():
        counts = degrade(cfg)
    if counts["refused"]:
        sys.exit(
            f"refused to overwrite {counts['refused']} existing pair(s) in '{cfg.output}' (overwrite=true)"
        )


if __name__ == "__main__":
    main()
