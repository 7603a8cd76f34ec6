"""Write the bench's results: ``BENCHMARKS.md`` for people, ``benchmarks.csv`` (long format) for tools.

The markdown opens with the machine it ran on (timings mean nothing without it) and a table of the
issue's targets, met or missed; each section follows with its own prose and tables.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

import pandas as pd
import torch

from benchmarks.common import Section, Settings


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what the platform module knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine(settings: Settings) -> dict[str, str]:
    """What the numbers depend on: hardware, its load when the bench started, software versions."""
    cores = len(os.sched_getaffinity(0))
    facts = {
        "CPU": f"{cpu_model()}, {cores} cores usable ({os.cpu_count()} in the machine)",
        "load average at start": f"{os.getloadavg()[0]:.1f} (busy cores; above {cores} means shared with other work)",
        "torch": f"{torch.__version__}, {torch.get_num_threads()} intra-op threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}",
        "device": str(settings.device),
    }
    if settings.device.type == "cuda":
        facts["device"] = f"{settings.device}: {torch.cuda.get_device_name(settings.device)}"
    facts["python / OS"] = f"{platform.python_version()} / {platform.platform()}"
    facts["date"] = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    facts["mode"] = "--quick (CI smoke: tiny sizes, numbers not meaningful)" if settings.quick else "full"
    return facts


def fmt(value: object) -> str:
    """Numbers at a precision a reader can take in: 3 significant digits, no exponent below 1e6."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value != value:  # NaN: nothing to compare, e.g. a variant against itself
        return "–"
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def markdown_table(frame: pd.DataFrame) -> str:
    header = ["", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in frame.iterrows():
        lines.append("| " + " | ".join([str(name), *(fmt(v) for v in row)]) + " |")
    return "\n".join(lines)


def targets_table(sections: list[Section]) -> pd.DataFrame:
    columns = ["target", "section", "goal", "measured", "met"]
    rows = [
        {
            "section": s.title,
            "target": t.name,
            "goal": t.goal,
            "measured": t.measured,
            "met": "yes" if t.met else "no",
        }
        for s in sections
        for t in s.targets
    ]
    return pd.DataFrame(rows, columns=columns).set_index("target")


def section_markdown(section: Section) -> list[str]:
    lines = [f"## {section.title}", "", section.text]
    for caption, frame in section.tables.items():
        lines += ["", f"**{caption}**", "", markdown_table(frame)]
    return lines


def write(sections: list[Section], settings: Settings, out: Path, seconds: float) -> tuple[Path, Path]:
    """Write ``out/BENCHMARKS.md`` and ``out/benchmarks.csv``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    facts = machine(settings)
    facts["bench wall time"] = f"{seconds / 60:.1f} min"
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks`). Timings are medians of repeats after a "
        "warm-up, each taken by `torch.utils.benchmark.Timer`; compared things run in turns in one process, "
        "so their ratios hold on a shared machine even where absolute times do not.",
        "",
        *(f"- **{k}**: {v}" for k, v in facts.items()),
        "",
        "## Targets",
        "",
        markdown_table(targets_table(sections)),
    ]
    for section in sections:
        lines += ["", *section_markdown(section)]
    markdown = out / "BENCHMARKS.md"
    markdown.write_text("\n".join(lines) + "\n")

    long = [
        {"section": "machine", "table": "machine", "row": k, "column": "value", "value": v}
        for k, v in facts.items()
    ]
    long += [
        {"section": s.key, "table": caption, "row": str(name), "column": str(column), "value": value}
        for s in sections
        for caption, frame in {**s.tables, "targets": targets_table([s]) if s.targets else None}.items()
        if frame is not None
        for name, row in frame.iterrows()
        for column, value in row.items()
    ]
    csv = out / "benchmarks.csv"
    pd.DataFrame(long, columns=["section", "table", "row", "column", "value"]).to_csv(csv, index=False)
    return markdown, csv
