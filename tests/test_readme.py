"""Every command the README shows composes as shown: its config groups, options and keys exist, so a renamed
key cannot leave the README stale. The cheap ones also run (the listing of the standard sets; `--help`)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from denoise_lab.config import CONFIG_DIR

README = Path(__file__).parents[1] / "README.md"
# python -m <module>: the Hydra config it composes
HYDRA_COMMANDS = {
    "denoise_lab": "config",
    "denoise_lab.predict": "predict",
    "denoise_lab.evaluate": "evaluate",
    "denoise_lab.export": "export",
    "denoise_lab.degrade": "degrade",
}
OTHER_COMMANDS = ("denoise_lab.compare", "denoise_lab.datasets", "denoise_lab.pretrained.ship")


def readme_commands() -> list[list[str]]:
    """The `python -m denoise_lab...` lines of the README's bash blocks, continuation lines joined, trailing
    comments dropped and placeholders (``<time>``) filled, as argument lists."""
    text = README.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" # ")[0].strip()
            if line.startswith("python -m denoise_lab"):
                commands.append(shlex.split(re.sub(r"<[^>]+>", "x", line)))  # <time>: the user's value
    return commands


COMMANDS = readme_commands()


def test_the_readme_shows_commands_of_every_entry_point():
    modules = {command[2] for command in COMMANDS}
    assert {"denoise_lab", "denoise_lab.predict", "denoise_lab.evaluate"} <= modules
    assert modules <= set(HYDRA_COMMANDS) | set(OTHER_COMMANDS), modules


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[2:])[:80] for c in COMMANDS])
def test_every_readme_command_composes(command):
    module, arguments = command[2], command[3:]
    if module not in HYDRA_COMMANDS:
        result = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr[-1000:]
        return
    overrides = [a for a in arguments if a not in ("-m", "--multirun", "--help")]
    if any(o.startswith("hydra/") or "=" not in o for o in overrides):
        pytest.fail(f"not an override: {overrides}")
    sweep = "-m" in arguments or "--multirun" in arguments
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        if sweep:  # a sweep's comma lists: each value composes
            for override in overrides:
                key, _, values = override.partition("=")
                for value in values.split(",") if "," in values and "(" not in values else [values]:
                    compose(
                        HYDRA_COMMANDS[module], [o for o in overrides if o != override] + [f"{key}={value}"]
                    )
        else:
            compose(
                HYDRA_COMMANDS[module],
                overrides,
                return_hydra_config=any(o.startswith("hydra.") for o in overrides),
            )


def test_the_standard_sets_listing_runs_as_shown():
    result = subprocess.run(
        [sys.executable, "-m", "denoise_lab.datasets", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "fetch" in result.stdout
