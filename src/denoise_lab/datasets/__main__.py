"""``python -m denoise_lab.datasets``: the standard sets, their roles and whether they are here;
``python -m denoise_lab.datasets fetch cbsd432 bsd400``: download (once) and check them, printing each folder,
so a recipe can copy or list their files without starting a run."""

from __future__ import annotations

import argparse
import logging
import sys

from denoise_lab.config import ConfigError
from denoise_lab.datasets.registry import DATASETS, lookup
from denoise_lab.datasets.store import cache_root, local_copy


def listing(cache_dir: str | None) -> str:
    """One line per set: name, role, file count, whether its cache folder is complete, what it is."""
    lines = []
    for dataset in DATASETS.values():
        files = dataset.files()
        folder = cache_root(cache_dir) / dataset.name
        here = sum((folder / f.path).is_file() for f in files)
        state = "cached" if here == len(files) else f"{here}/{len(files)} cached"
        lines.append(
            f"{dataset.name:17} {dataset.role:32} {len(files):4} files, {state:14} {dataset.description}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m denoise_lab.datasets", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--cache-dir", help="instead of $DENOISE_LAB_DATA or ~/.cache/denoise_lab/datasets")
    commands = parser.add_subparsers(dest="command")
    fetch = commands.add_parser("fetch", help="download (once) and check sets; print their folders")
    fetch.add_argument("names", nargs="+", metavar="name", help=", ".join(DATASETS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command is None:
        print(listing(args.cache_dir))
        return
    try:
        for name in args.names:
            dataset = lookup(name)
            print(local_copy(dataset, dataset.files(), None, args.cache_dir))
    except (ConfigError, FileNotFoundError, OSError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
