"""``python -m denoise_lab.compare <sweep dir>``: (re)write a sweep's comparison from its jobs' files.

Sweeps write it by themselves when they end (see :mod:`denoise_lab.training.hydra_callbacks`); this command is for a
sweep whose jobs ran elsewhere (another launcher, a cluster), one that is still running, or old sweeps.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from denoise_lab.reporting.comparison import write_comparison


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m denoise_lab.compare", description=__doc__.splitlines()[0]
    )
    parser.add_argument("sweep_dir", type=Path, help="a multirun dir: outputs/<task>/multiruns/<time>")
    parser.add_argument("--samples", type=int, default=6, help="crops in samples_by_model.png (default 6)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.sweep_dir.is_dir():
        parser.error(
            f"'{args.sweep_dir}' is not a directory (give a sweep dir: outputs/<task>/multiruns/<time>)"
        )
    table = write_comparison(args.sweep_dir, num_images=args.samples)
    if table is None:
        return 1
    print((args.sweep_dir / "comparison.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
