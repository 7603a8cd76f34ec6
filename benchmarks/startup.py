"""Start-up: how long a command takes to answer ``--help`` or a usage mistake, in a fresh interpreter.

``predict`` imports torch only once its arguments are parsed (importing torch alone takes over a second on
2 CPU cores), so its help and its usage errors come back at once; training imports Lightning before
anything, for comparison. Each command runs in its own process, the median of the repeats.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import pandas as pd

from benchmarks.common import Section, Settings, Target

KEY = "startup"
TITLE = "Start-up: --help and usage errors"
HELP_TARGET_S = 2.0

COMMANDS = {
    "predict --help": ["-m", "denoise_lab.predict", "--help"],
    "predict output=out/ (input missing: one usage line)": ["-m", "denoise_lab.predict", "output=out/"],
    "denoise_lab --help (training)": ["-m", "denoise_lab", "--help"],
}


def seconds(arguments: list[str], repeats: int) -> float:
    """The median wall time of ``python <arguments>`` over ``repeats`` runs, after one warm-up run that
    fills the file cache."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, *arguments], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def run(settings: Settings) -> Section:
    repeats = 1 if settings.quick else settings.repeats  # training's --help alone takes 5-9 s a run
    frame = pd.DataFrame(
        {"seconds": [seconds(arguments, repeats) for arguments in COMMANDS.values()]},
        index=list(COMMANDS),
    )
    help_s = frame.loc["predict --help", "seconds"]
    return Section(
        KEY,
        TITLE,
        __doc__.split("\n\n", 1)[1].strip(),
        {"startup": frame.round(2)},
        [Target("predict --help", f"< {HELP_TARGET_S:.0f} s", f"{help_s:.2f} s", help_s < HELP_TARGET_S)],
    )
