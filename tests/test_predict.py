"""``python -m denoise_lab.predict``: folders of mixed photos, bad files, user errors, and memory on 12 MP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from PIL import Image

from denoise_lab.config import CONFIG_DIR, ConfigError
from denoise_lab.inference.restore_files import restore_files
from tests.conftest import write_image


def predict_cli(*overrides: str, cwd: Path, wrapper: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*wrapper, sys.executable, "-m", "denoise_lab.predict", *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_folder_of_mixed_photos_is_restored_with_names_kept_and_bad_files_counted(
    tmp_path, identity_checkpoint
):
    photos = tmp_path / "photos"
    sources = [
        write_image(photos / "rgb.png", 300, 420),  # larger than a tile: tiled
        write_image(photos / "gray.png", mode="L"),
        write_image(photos / "nested" / "alpha.png", mode="RGBA"),
        write_image(photos / "deep.png", mode="I;16"),
        write_image(photos / "photo.jpg", seed=3),
    ]
    (photos / "broken.png").write_bytes(b"not an image")
    (photos / "truncated.jpg").write_bytes(sources[-1].read_bytes()[:200])
    result = predict_cli(
        f"ckpt_path={identity_checkpoint}",
        f"input={photos}",
        "output=restored",
        "tile.size=256",
        "tile.overlap=64",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "restored 5 of 7 images" in result.stdout and "skipped 2 unreadable" in result.stdout
    assert result.stdout.count("skipping unreadable image") == 2
    for source in sources:
        out = tmp_path / "restored" / source.relative_to(photos)
        before, after = Image.open(source), Image.open(out)
        assert (after.format, after.mode, after.size) == (before.format, before.mode, before.size)
        if before.format == "PNG":  # the identity network: lossless files come back bit for bit
            assert np.array_equal(np.asarray(after), np.asarray(before))
    logs = [str(p.relative_to(tmp_path)) for p in sorted((tmp_path / "outputs").rglob("*"))]
    assert logs == ["outputs/predict", "outputs/predict/predict.log"]  # one log, no run folder per call


def predict_config(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="predict", overrides=list(overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["input=nowhere", "output={tmp}/out"], "input 'nowhere' is neither an image file nor a folder"),
        (["input={tmp}", "output={tmp}"], "output '{tmp}' is the input folder"),
        (
            ["input={tmp}", "output={tmp}/out", "tile.overlap=512"],
            r"tile.overlap must lie in \[0, tile.size=512\)",
        ),
        (
            ["input={tmp}", "output={tmp}/out", "tile.size=500"],
            r"tile.size \(500\) and tile.overlap \(192\) must be multiples of tile.align \(32\)",
        ),
        (["input={tmp}", "output={tmp}/out", "ckpt_path=none.ckpt"], r"ckpt_path 'none.ckpt' is not a file"),
        (
            ["input={tmp}", "output={tmp}/out", "self_ensemble=true"],
            r"self_ensemble is the number of flips/rotations averaged, one of \[1, 2, 4, 8\] \(1: off\), got True",
        ),
        (["input={tmp}", "output={tmp}/out", "self_ensemble=3"], r"one of \[1, 2, 4, 8\] \(1: off\), got 3"),
        (
            ["input={tmp}", "output={tmp}/out", "precision=16"],
            r"precision must be one of \['auto', 'bf16', '32'\]",
        ),
    ],
)
def test_user_errors_are_explained(tmp_path, identity_checkpoint, overrides, message):
    write_image(tmp_path / "a.png")
    overrides = [o.format(tmp=tmp_path) for o in overrides]
    cfg = predict_config(f"ckpt_path={identity_checkpoint}", *overrides)
    with pytest.raises(ConfigError, match=message.format(tmp=tmp_path)):
        restore_files(cfg)


def test_the_cli_reports_user_errors_in_one_line(tmp_path):
    write_image(tmp_path / "a.png")
    result = predict_cli("ckpt_path=none.ckpt", "input=a.png", "output=out", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "config error: ckpt_path 'none.ckpt' is not a file (give a .ckpt written by a training run, "
            "a shipped model's .safetensors, or pretrained:<name>, one of: "
        )
    )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_4000x3000_photo_predicts_within_bounded_memory(tmp_path, identity_checkpoint):
    """Peak resident memory of the whole predict process on a 12-megapixel photo (512 px tiles)."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    measure = (sys.executable, "-c", MEASURE_PEAK)
    result = predict_cli(
        f"ckpt_path={identity_checkpoint}", "input=big.png", "output=out", cwd=tmp_path, wrapper=measure
    )
    assert result.returncode == 0, result.stderr[-2000:]
    peak_mib = int(result.stdout.split("peak_rss_kib=")[1]) / 1024
    print(f"peak memory, 4000x3000 photo: {peak_mib:.0f} MiB")
    assert Image.open(tmp_path / "out" / "big.png").size == (4000, 3000)
    assert peak_mib < 2048


# Runs its arguments as a child process and prints the child's peak resident set size (Linux: KiB).
MEASURE_PEAK = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(f'peak_rss_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}'); sys.exit(code)"
)


@pytest.mark.parametrize(
    ("arguments", "answer"),
    [(["--help"], "ckpt_path"), (["output=out/"], "config error: missing value: give input=...")],
)
def test_predict_help_and_usage_errors_import_neither_torch_nor_lightning(tmp_path, arguments, answer):
    """`predict --help` took 5-9 s when it imported Lightning and 2.4 s with torch alone; a usage mistake 5 s,
    through the sweep-comparison callback Hydra builds for every command. This checks what they import (a
    timed test would be flaky on a shared machine; `make bench` times them, section "Start-up")."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "denoise_lab.predict", *arguments],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert answer in result.stdout + result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {"torch", "lightning", "skimage.restoration"} & imported


def test_a_photo_of_many_tiles_gets_a_progress_bar_that_counts_them_and_goes_when_done():
    import io

    import torch
    from omegaconf import OmegaConf
    from rich.console import Console
    from rich.progress import Progress

    from denoise_lab.inference.restore_files import counting_tiles

    tile = OmegaConf.create({"size": 256, "overlap": 64, "align": 32})
    screen = io.StringIO()
    with Progress(console=Console(file=screen, force_terminal=True, width=100)) as progress:
        assert (
            counting_tiles(torch.neg, progress, "small.png", 300, 300, tile) is torch.neg
        )  # 4 tiles: no bar
        counted = counting_tiles(torch.neg, progress, "big.png", 700, 700, tile)  # 4 x 4 tiles
        (task,) = progress.tasks
        assert task.description.strip() == "big.png: tiles" and task.total == 16
        for done in range(1, 17):
            assert torch.equal(counted(torch.ones(1)), -torch.ones(1))
            assert not progress.tasks or progress.tasks[0].completed == done
        assert not progress.tasks  # removed once every tile is restored
    assert "big.png: tiles" in screen.getvalue()
