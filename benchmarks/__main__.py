"""``python -m benchmarks [--quick] [--device cuda] [--out DIR] [--sections KEY ...]``.

Runs the benchmark sections in order and writes ``BENCHMARKS.md`` and ``benchmarks.csv`` into ``--out``
(``make bench``: the repository root). ``--quick`` is the CI smoke: every section on tiny sizes, in
well under a minute; its numbers only show that each section runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import torch

from benchmarks import (
    compute,
    data_loading,
    degradation_engine,
    inference,
    overhead,
    predict_memory,
    predict_scaling,
    scaling,
    startup,
)
from benchmarks.common import Settings
from benchmarks.report import section_markdown, write

# One module per section, in the order of BENCHMARKS.md; each has KEY, TITLE and run(settings) -> Section.
SECTIONS = [
    degradation_engine,
    overhead,
    compute,
    inference,
    scaling,
    predict_scaling,
    predict_memory,
    data_loading,
    startup,
]


def cpu_ticks() -> list[int]:
    """The machine's cumulative CPU time by state (/proc/stat: user, nice, system, idle, iowait, irq,
    softirq, steal, ...); empty where there is no /proc."""
    stat = Path("/proc/stat")
    return [int(t) for t in stat.read_text().split("\n", 1)[0].split()[1:]] if stat.exists() else []


def steal_percent(before: list[int], after: list[int]) -> float:
    """The share of CPU time a virtual machine's host gave to others between two readings: a section
    that ran while it was high ran on slower cores than its neighbours, whatever the load average says."""
    if len(before) < 8 or len(after) < 8:
        return float("nan")
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return 100 * spent[7] / max(sum(spent[:8]), 1)


def main(argv: list[str] | None = None) -> tuple[Path, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: tiny sizes, no torch.compile")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path.cwd(), help="folder for BENCHMARKS.md and .csv")
    parser.add_argument(
        "--sections", nargs="+", choices=[s.KEY for s in SECTIONS], help="run only these (default: all)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("lightning", "lightning.pytorch", "lightning.fabric", "denoise_lab.data"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings(torch.device(args.device), quick=args.quick)
    start, results = time.perf_counter(), []
    for section in SECTIONS:
        if args.sections and section.KEY not in args.sections:
            continue
        begun, load, ticks = time.perf_counter(), os.getloadavg()[0], cpu_ticks()
        results.append(section.run(settings))
        results[-1].text += (  # a busy neighbour or host explains a table that disagrees with another
            f" *(Load average {load:.1f} → {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} "
            f"cores, CPU time stolen by the host {steal_percent(ticks, cpu_ticks()):.0f} %, while this "
            "section ran.)*"
        )
        logging.info("%.0f s\n%s\n", time.perf_counter() - begun, "\n".join(section_markdown(results[-1])))
    markdown, csv = write(results, settings, args.out, time.perf_counter() - start)
    logging.info("wrote %s and %s in %.1f min", markdown, csv, (time.perf_counter() - start) / 60)
    return markdown, csv


if __name__ == "__main__":
    main()
