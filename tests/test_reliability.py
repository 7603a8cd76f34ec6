"""Nothing lost, nothing silently wrong: each case asserts the exact outcome, files untouched by hash."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from denoise_lab.config import ConfigError
from denoise_lab.reporting.tables import per_degradation_table, write_test_report
from denoise_lab.training.run import run
from tests.conftest import SMALL_UNET, TINY, cli, write_image
from tests.test_predict import predict_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pixels(path: Path) -> bytes:
    """An image file's decoded pixels (two encoders may write the same pixels as different bytes)."""
    from PIL import Image

    return Image.open(path).tobytes()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path, with its hash."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_predict_into_a_subfolder_of_its_input_never_replaces_an_original_nor_reads_its_own_outputs(
    tmp_path, identity_checkpoint
):
    nested = tmp_path / "ds" / "nested"
    write_image(nested / "a.png", seed=1)
    write_image(nested / "sub" / "a.png", seed=2)
    before = snapshot(tmp_path / "ds")
    result = predict_cli(
        f"ckpt_path={identity_checkpoint}", f"input={nested}", f"output={nested / 'sub'}", cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"refused to overwrite 1 existing file(s) in '{nested / 'sub'}' (overwrite=true)"
    )
    assert f"refusing to overwrite {nested / 'sub' / 'a.png'}, which exists" in result.stdout
    assert "restored 0 of 1 images" in result.stdout and "refused 1 existing" in result.stdout
    assert snapshot(tmp_path / "ds") == before  # sub/a.png is the original, and no sub/sub/a.png


def test_a_single_file_into_a_folder_holding_its_name_is_refused_unless_overwrite(
    tmp_path, identity_checkpoint
):
    photo = write_image(tmp_path / "in" / "a.png", seed=1)
    existing = write_image(tmp_path / "out" / "a.png", seed=2)
    kept = digest(existing)
    refused = predict_cli(f"ckpt_path={identity_checkpoint}", f"input={photo}", "output=out", cwd=tmp_path)
    assert refused.returncode == 1 and digest(existing) == kept
    replaced = predict_cli(
        f"ckpt_path={identity_checkpoint}", f"input={photo}", "output=out", "overwrite=true", cwd=tmp_path
    )
    assert replaced.returncode == 0 and "restored 1 of 1 images" in replaced.stdout
    assert pixels(existing) == pixels(photo)  # the identity network: the restored photo is the input


def test_output_inside_input_is_never_restored_again_on_the_next_run(tmp_path, identity_checkpoint):
    photos = tmp_path / "photos"
    write_image(photos / "x.png")
    first = predict_cli(
        f"ckpt_path={identity_checkpoint}", f"input={photos}", f"output={photos / 'restored'}", cwd=tmp_path
    )
    assert first.returncode == 0 and "restored 1 of 1 images" in first.stdout
    again = predict_cli(
        f"ckpt_path={identity_checkpoint}",
        f"input={photos}",
        f"output={photos / 'restored'}",
        "overwrite=true",
        cwd=tmp_path,
    )
    assert (
        again.returncode == 0 and "restored 1 of 1 images" in again.stdout
    )  # x.png only, not restored/x.png
    assert sorted(snapshot(photos)) == ["restored/x.png", "x.png"]


def test_a_diverging_run_stops_at_once_with_one_line_and_writes_no_checkpoint_from_it(tmp_path):
    bad = cli(
        *TINY,
        *SMALL_UNET,
        "trainer.max_epochs=3",
        "optim.optimizer.lr=1e30",
        "hydra.run.dir=bad",
        cwd=tmp_path,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    line = bad.stderr.strip().splitlines()[-1]
    assert line.startswith("training diverged at epoch 0, step ") and "last finite loss " in line
    assert line.endswith("Try a lower optim.optimizer.lr (now 1e+30) or trainer.gradient_clip_val=1.0")
    for checkpoint in (tmp_path / "bad" / "checkpoints").glob("*.ckpt"):  # none is written from NaN weights
        state = torch.load(checkpoint, weights_only=True)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()), checkpoint
    assert not (tmp_path / "bad" / "metrics.json").exists()
    history = (
        pd.read_csv(tmp_path / "bad" / "history.csv") if (tmp_path / "bad" / "history.csv").exists() else None
    )
    assert history is None or history["epoch"].max() < 3  # it did not train on for every epoch


def test_a_run_that_makes_images_worse_says_so_in_a_warning_and_in_metrics_json(tmp_path, caplog):
    records = pd.DataFrame(
        [
            {
                "op": "gaussian_noise",
                "scope": "all",
                "method": "degraded",
                "key": 0,
                "psnr": 30.1,
                "ssim": 0.8,
            },
            {"op": "gaussian_noise", "scope": "all", "method": "model", "key": 0, "psnr": 7.8, "ssim": 0.1},
        ]
    )
    with caplog.at_level(logging.WARNING):
        write_test_report(tmp_path, per_degradation_table(records), extra={})
    warning = json.loads((tmp_path / "metrics.json").read_text())["warning"]
    assert warning.startswith("the model made the images worse: restored PSNR 7.800 dB is below the degraded")
    assert warning in caplog.text
    assert pd.read_csv(tmp_path / "per_degradation.csv")["psnr_gain"].lt(0).all()


def test_two_runs_started_in_the_same_second_never_share_a_run_dir(tmp_path):
    command = [sys.executable, "-m", "denoise_lab", *TINY, *SMALL_UNET, "test_after_fit=false", "logger=none"]
    runs = [
        subprocess.Popen(command, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    dirs = sorted((tmp_path / "outputs" / "train" / "runs").iterdir())
    assert len(dirs) == 2
    assert all((d / "checkpoints" / "last.ckpt").is_file() and (d / "history.csv").is_file() for d in dirs)


def test_a_patch_far_larger_than_the_images_is_refused_in_one_line_before_allocating(tmp_path):
    result = cli(*TINY, *SMALL_UNET, "data.patch_size=100000", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("config error: train: a 100000 px crop is more than twice the size of every image")
    )
    assert "lower data.patch_size / data.val_crop_size, or set data.small_images=skip" in result.stderr


def decompression_bomb(path: Path) -> Path:
    """A 16000 x 12000 1-bit PNG: a few KB on disk, 192 megapixels once decoded."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("1", (16000, 12000)).save(path)
    return path


def test_a_decompression_bomb_is_skipped_and_counted_in_predict_and_in_training(
    tmp_path, identity_checkpoint
):
    photos = tmp_path / "photos"
    bomb = decompression_bomb(photos / "bomb.png")
    for seed in range(3):
        write_image(photos / f"ok{seed}.png", 96, 96, seed=seed)
    restored = predict_cli(f"ckpt_path={identity_checkpoint}", f"input={photos}", "output=out", cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert "restored 3 of 4 images" in restored.stdout and "skipped 1 unreadable" in restored.stdout
    assert f"skipping unreadable image {bomb} (Image size (192000000 pixels) exceeds limit" in restored.stdout
    assert "Set max_megapixels higher to read it" in restored.stdout
    trained = cli(
        *TINY, *SMALL_UNET, "data=folder", f"data.dir={photos}", "test_after_fit=false", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "skipped 1 unreadable of 4 image files" in trained.stdout + trained.stderr


class RunsCode:
    """A pickle payload that would create ``marker`` if it ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_resuming_from_a_bad_checkpoint_says_what_is_wrong_in_one_line(tmp_path, tiny_cfg):
    """Each bad file is refused before training with the line the CLI prints; the tampered one through the
    CLI itself (one line, no traceback, nothing of it run)."""
    run(tiny_cfg(run_name="first"))
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(last.read_bytes()[:1000])
    tampered = tmp_path / "tampered.ckpt"
    tampered.write_bytes(
        pickle.dumps({"state_dict": RunsCode(tmp_path / "pwned")}, protocol=2)
    )  # as torch.save
    no_state = tmp_path / "no_state.ckpt"
    torch.save({"epoch": 1}, no_state)
    text = tmp_path / "text.ckpt"
    text.write_text("not a checkpoint")
    cases = [
        (
            ["model.width=16"],
            last,
            "was written by a run with other settings: model.width=8 there, 16 here; resume with the same "
            "settings, or start anew with init_from= to reuse only its weights",
        ),
        (["model=cae"], last, "was written by a run with other settings: model._target_="),
        (["degradation=gaussian"], last, "was written by a run with other settings: degradation.ops."),
        ([], truncated, "is not a readable checkpoint: truncated or not a PyTorch file"),
        ([], no_state, "holds no state_dict: it is not a training checkpoint"),
        ([], text, "is not a readable checkpoint: truncated or not a PyTorch file"),
    ]
    for overrides, checkpoint, message in cases:
        with pytest.raises(ConfigError, match=re.escape(message)) as refused:
            run(tiny_cfg(*overrides, f"ckpt_path={checkpoint}", run_name="again"))
        assert "weights_only=False" not in str(refused.value)
    result = cli(*TINY, *SMALL_UNET, f"ckpt_path={tampered}", "hydra.run.dir=again", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-1500:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("config error: ") and "was refused for safety: it holds pickled objects" in line, (
        line
    )
    assert "weights_only=False" not in result.stderr + result.stdout
    assert not (tmp_path / "pwned").exists()


def test_ckpt_path_last_resumes_a_fixed_run_dir_into_itself(tmp_path):
    first = cli(*TINY, *SMALL_UNET, "hydra.run.dir=fixed", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    again = cli(
        *TINY, *SMALL_UNET, "trainer.max_epochs=2", "ckpt_path=last", "hydra.run.dir=fixed", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert torch.load(tmp_path / "fixed" / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1


def test_cmyk_and_palette_photos_come_back_in_their_mode_and_an_animated_gif_is_skipped_with_a_word(
    tmp_path, identity_checkpoint
):
    from PIL import Image

    photos = tmp_path / "photos"
    rgb = write_image(photos / "rgb.png", 64, 64)
    Image.open(rgb).convert("CMYK").save(photos / "cmyk.jpg")
    Image.open(rgb).quantize(16).save(photos / "palette.png")
    frames = [Image.open(rgb).rotate(90 * k) for k in range(3)]
    frames[0].save(photos / "animated.gif", save_all=True, append_images=frames[1:])
    result = predict_cli(f"ckpt_path={identity_checkpoint}", f"input={photos}", "output=out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "restored 3 of 4 images" in result.stdout and "skipped 1 unreadable" in result.stdout
    assert "an image of 3 frames (animated or multi-page); restore them as separate files" in result.stdout
    assert Image.open(tmp_path / "out" / "cmyk.jpg").mode == "CMYK"
    assert Image.open(tmp_path / "out" / "palette.png").mode == "P"
    assert not (tmp_path / "out" / "animated.gif").exists()


def bad_file_corpus(folder: Path) -> tuple[list[str], list[str]]:
    """Every kind of file a user's folder holds; returns (names predict restores, names it skips)."""
    from PIL import Image

    rgb = write_image(folder / "rgb.png", 64, 64)
    write_image(folder / "gray.png", mode="L")
    write_image(folder / "rgba.png", mode="RGBA")
    write_image(folder / "deep16.png", mode="I;16")
    write_image(folder / "café_ñ.png", seed=4)  # non-ASCII name
    write_image(folder / "tiny.png", 1, 1)
    Image.open(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.open(rgb).quantize(16).save(folder / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated 90° clockwise
    Image.open(rgb).save(folder / "exif_rotated.jpg", exif=exif)
    frames = [Image.open(rgb).rotate(90 * k) for k in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    photo = folder / "photo.jpg"
    Image.open(rgb).save(photo)
    (folder / "truncated.jpg").write_bytes(photo.read_bytes()[:300])
    photo.unlink()
    (folder / "zero.png").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image")
    decompression_bomb(folder / "bomb.png")
    (folder / "loop").mkdir()
    (folder / "loop" / "up").symlink_to("..")  # a symlink loop
    restored = [
        "café_ñ.png",
        "cmyk.jpg",
        "deep16.png",
        "exif_rotated.jpg",
        "gray.png",
        "palette.png",
        "rgb.png",
    ]
    restored += ["rgba.png", "tiny.png"]
    return restored, ["animated.gif", "bomb.png", "text.jpg", "truncated.jpg", "zero.png"]


def test_the_bad_file_corpus_is_restored_or_skipped_file_by_file_with_exact_counts(
    tmp_path, identity_checkpoint
):
    from PIL import Image

    folder = tmp_path / "corpus"
    restored, skipped = bad_file_corpus(folder)
    before = snapshot(folder)
    result = predict_cli(f"ckpt_path={identity_checkpoint}", f"input={folder}", "output=out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    total = len(restored) + len(skipped)
    assert f"restored {len(restored)} of {total} images" in result.stdout
    assert f"skipped {len(skipped)} unreadable; refused 0 existing" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(restored)
    assert all(f"{folder / name} (" in result.stdout for name in skipped)  # each named, with its reason
    assert Image.open(tmp_path / "out" / "exif_rotated.jpg").getexif()[0x0112] == 6  # still displays upright
    assert Image.open(tmp_path / "out" / "tiny.png").size == (1, 1)
    assert snapshot(folder) == before  # the input is never touched

    trained = cli(
        *TINY, *SMALL_UNET, "data=folder", f"data.dir={folder}", "test_after_fit=false", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    log = trained.stdout + trained.stderr
    assert "skipped 4 unreadable of 14 image files" in log  # training reads a GIF's first frame
    assert "skipped 1 images less than half of 32 px on a side (tiny.png)" in log


def test_kill_9_mid_fit_then_resume_gives_the_uninterrupted_history(tmp_path):
    import signal
    import time

    settings = [*TINY, *SMALL_UNET, "trainer.max_epochs=4", "test_after_fit=false", "logger=none"]
    whole = cli(*settings, "hydra.run.dir=whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-2000:]
    command = [sys.executable, "-m", "denoise_lab", *settings, "hydra.run.dir=killed"]
    victim = subprocess.Popen(command, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert torch.load(last, weights_only=True)["epoch"] < 3  # killed before the end
    resumed = cli(*settings, f"ckpt_path={last}", "hydra.run.dir=resumed", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    history = [
        pd.read_csv(tmp_path / run / "history.csv").drop(columns="fit_hours") for run in ("whole", "resumed")
    ]
    pd.testing.assert_frame_equal(*history)
    jobs = [json.loads((tmp_path / run / "job.json").read_text()) for run in ("whole", "resumed")]
    assert (
        jobs[1]["train_images"] == jobs[0]["train_images"]
    )  # the whole run's images, not the resumed part's
    killed_at = torch.load(last, weights_only=True)["callbacks"]
    before = next(v["fit_seconds"] for k, v in killed_at.items() if k.startswith("JobSummary"))
    assert jobs[1]["fit_seconds"] > before > 0


def test_a_report_of_a_model_that_outputs_nan_is_written_and_names_what_is_missing(tmp_path):
    """A NaN output (a diverged model evaluated anyway) must not crash the report: its values read n/a and
    the notes say which method's measures are missing."""
    from skimage import data

    from denoise_lab.data.datasets import to_tensor
    from denoise_lab.evaluation.cases import Case
    from denoise_lab.evaluation.evaluator import Evaluator
    from denoise_lab.reporting.report import write_report

    clean = to_tensor(data.astronaut()[:64, :96])[None].repeat(2, 1, 1, 1)
    noisy = (clean + 0.1 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    evaluator = Evaluator(lambda x: torch.full_like(x, float("nan")), baselines={})
    records = evaluator.evaluate(iter([Case("gaussian_noise", [0, 1], clean, noisy)]))
    summary = write_report(tmp_path, records, [], [], evaluator.examples, evaluator.grid_examples)
    model = summary.xs(("gaussian_noise", "all", "model"))
    assert model[["psnr", "ssim", "entropy"]].isna().all()
    assert summary.xs(("gaussian_noise", "all", "degraded"))["psnr"] > 15
    report = (tmp_path / "report.md").read_text()
    note = next(
        line for line in report.splitlines() if line.startswith("- Missing values for gaussian_noise")
    )
    assert note.startswith(
        "- Missing values for gaussian_noise, restored (model): psnr, ssim, mse, shift_r, shift_g, shift_b, entropy"
    )
    assert "degraded" not in note


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("overwrite=no", r"overwrite must be true or false, got 'no'"),
        ("recursive=maybe", r"recursive must be true or false, got 'maybe'"),
        ("jpeg_quality=150", r"jpeg_quality must be a whole number from 1 to 100, got 150"),
        ("jpeg_quality=0", r"jpeg_quality must be a whole number from 1 to 100, got 0"),
        ("max_megapixels=0", r"max_megapixels must be a number above 0, got 0"),
    ],
)
def test_predicts_booleans_and_ranges_are_checked_before_any_work(tmp_path, override, message):
    from hydra import compose, initialize_config_dir

    from denoise_lab.config import CONFIG_DIR, ConfigError
    from denoise_lab.inference.restore_files import restore_files

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="predict", overrides=["input=nowhere", "output=out", override])
    with pytest.raises(ConfigError, match=message):
        restore_files(cfg)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks a CPU-only torch")
def test_a_cuda_device_on_a_cpu_only_torch_is_one_line(tmp_path):
    from hydra import compose, initialize_config_dir

    from denoise_lab.config import CONFIG_DIR, ConfigError
    from denoise_lab.inference.restore_files import restore_files

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="predict", overrides=["input=nowhere", "output=out", "device=cuda"])
    with pytest.raises(ConfigError, match="device=cuda, but this torch sees no CUDA GPU"):
        restore_files(cfg)


def _predict_config(*overrides: str):
    from hydra import compose, initialize_config_dir

    from denoise_lab.config import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="predict", overrides=["self_ensemble=1", *overrides])


def test_an_output_that_is_a_file_is_a_write_error_before_any_work(tmp_path):
    from denoise_lab.config import WriteFailed
    from denoise_lab.inference.restore_files import restore_files

    write_image(tmp_path / "in" / "a.png")
    (tmp_path / "out").write_text("a file of the user's")
    with pytest.raises(WriteFailed, match=r"cannot write into output '.*out'"):
        restore_files(_predict_config(f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}"))
    assert (tmp_path / "out").read_text() == "a file of the user's"


def test_a_full_disk_stops_predict_with_a_write_error_and_leaves_no_partial_file(tmp_path, monkeypatch):
    """A full disk part-way through the second photo (simulated: Pillow's save writes some bytes, then fails
    with ENOSPC): the first photo is kept whole, nothing of the second is left, the run stops."""
    import errno

    from PIL import Image

    from denoise_lab.config import WriteFailed
    from denoise_lab.inference import restore_files as restore_module

    for name in ("a", "b", "c"):
        write_image(tmp_path / "in" / f"{name}.png", seed=ord(name))
    monkeypatch.setattr(restore_module, "open_streamable", lambda path: None)  # Pillow's path
    save, saves = Image.Image.save, []

    def filling_the_disk(self, fp, *args, **kwargs):
        saves.append(fp)
        if len(saves) == 2:
            Path(fp).write_bytes(b"\x89PNG half")
            raise OSError(errno.ENOSPC, "No space left on device", str(fp))
        return save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", filling_the_disk)
    with pytest.raises(
        WriteFailed, match=r"could not write '.*b.png' \(No space left on device\); stopped after 1"
    ):
        restore_module.restore_files(
            _predict_config(f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}")
        )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]
    Image.open(tmp_path / "out" / "a.png").load()  # whole


def test_a_checkpoint_write_that_fails_keeps_the_earlier_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    """A kill or a full disk while last.ckpt is rewritten: the previous last.ckpt stays whole, and nothing
    is left beside it (or in /tmp: the temporary file sits in the checkpoint's folder)."""
    import errno

    import torch

    from denoise_lab.training import checkpoint_io

    writer = checkpoint_io.SameFolderCheckpointIO()
    writer.save_checkpoint({"epoch": 1}, tmp_path / "last.ckpt")

    def disk_full_half_way(obj, path):
        Path(path).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(checkpoint_io.torch, "save", disk_full_half_way)
    with pytest.raises(OSError, match="No space left"):
        writer.save_checkpoint({"epoch": 2}, tmp_path / "last.ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
    assert torch.load(tmp_path / "last.ckpt", weights_only=True) == {"epoch": 1}


def test_job_and_failure_records_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from denoise_lab import files
    from denoise_lab.reporting.job_record import JOB_FILE, write_job_summary

    write_job_summary(tmp_path, model="first")
    monkeypatch.setattr(files.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(OSError):
        write_job_summary(tmp_path, model="second")
    assert json.loads((tmp_path / JOB_FILE).read_text()) == {"model": "first"}
    assert [p.name for p in tmp_path.iterdir()] == [JOB_FILE]


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "degradation.ops.gaussian_noise.sigma=25",
            "config error: degradation.ops.gaussian_noise.sigma is a range [weakest, strongest], e.g. "
            "[25, 25] for one level; got 25",
        ),
        (
            "degradation.ops.gaussian_noise.sigma=[50,10]",
            "config error: degradation.ops.gaussian_noise.sigma runs from weakest to strongest, so its first "
            "value must be the smaller: got [50, 10], did you mean [10, 50]?",
        ),
        (
            "trainer.accelerator=gpu",
            "config error: trainer.accelerator=gpu, but this torch sees no CUDA GPU; use trainer=cpu or "
            "trainer.accelerator=auto",
        ),
        (
            "trainer.precision=fp8",
            "config error: trainer: Precision 'fp8' is invalid. Allowed precision values: (",
        ),
    ],
)
def test_training_settings_a_run_cannot_use_stop_it_with_one_line_printed_once(tmp_path, override, line):
    if override == "trainer.accelerator=gpu" and torch.cuda.is_available():
        pytest.skip("checks a CPU-only torch")
    result = cli(*TINY, *SMALL_UNET, override, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(line)
    assert line not in result.stdout  # the console shows it once; the run's log file keeps it
    if override.startswith("trainer"):
        (log_file,) = (tmp_path / "outputs").rglob("train.log")
        assert line in log_file.read_text()


def test_training_on_one_tiny_image_is_one_line(tmp_path):
    write_image(tmp_path / "photos" / "only.png", 20, 20)
    result = cli(*TINY, *SMALL_UNET, "data=folder", f"data.dir={tmp_path / 'photos'}", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "config error: need at least 2 images to split into train and val (one at least for each), found 1"
    )


def test_ctrl_c_during_training_says_in_one_line_what_was_kept_and_how_to_go_on(tmp_path):
    """SIGINT (what Ctrl-C sends) once the first epoch's checkpoints exist: Lightning's own shutdown line is
    replaced by one naming the kept checkpoints and the resume argument, and they load."""
    import signal
    import time

    command = [
        sys.executable,
        "-m",
        "denoise_lab",
        *TINY,
        *SMALL_UNET,
        "trainer.max_epochs=1000",
        "hydra.run.dir=run",
    ]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in err and "KeyboardInterrupt" not in out + err
    checkpoints = tmp_path / "run" / "checkpoints"
    assert err.strip().splitlines()[-1] == (
        f"interrupted (Ctrl-C): kept best.ckpt, last.ckpt in {checkpoints}; go on with the same command and "
        f"ckpt_path={checkpoints / 'last.ckpt'}"
    )
    assert torch.load(last, weights_only=False)["state_dict"]


def test_float32_tiffs_keep_type_and_range_and_nan_inf_or_hdr_are_refused_with_a_word(
    tmp_path, identity_checkpoint
):
    import numpy as np
    import tifffile

    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    photos.mkdir()
    gray = rng.random((40, 56), dtype=np.float32)
    rgb = rng.random((40, 56, 3), dtype=np.float32)
    tifffile.imwrite(photos / "gray.tif", gray)
    tifffile.imwrite(photos / "rgb.tif", rgb, photometric="rgb")
    with_nan, hdr = rgb.copy(), rgb * 4.0
    with_nan[3, 4, 1], with_nan[5, 6, 0] = np.nan, np.inf
    tifffile.imwrite(photos / "nan.tif", with_nan, photometric="rgb")
    tifffile.imwrite(photos / "hdr.tif", hdr, photometric="rgb")
    result = predict_cli(f"input={photos}", "output=out", f"ckpt_path={identity_checkpoint}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    for name, original in (
        ("gray.tif", gray),
        ("rgb.tif", rgb),
    ):  # the identity network: the same floats back
        restored = tifffile.imread(tmp_path / "out" / name)
        assert restored.dtype == np.float32 and restored.shape == original.shape
        assert np.abs(restored - original).max() < 1e-2  # bf16 arithmetic where the CPU has it
    logged = result.stdout + result.stderr
    assert "nan.tif (2 NaN or infinite float samples; predict restores finite images only)" in logged
    assert (
        f"hdr.tif (float samples from {hdr.min():g} to {hdr.max():g}; predict restores float images in [0, 1]"
        in logged
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gray.tif", "rgb.tif"]


def test_ckpt_path_last_skips_a_half_written_checkpoint_for_the_newest_that_loads_and_says_so(
    tmp_path, caplog
):
    import os

    from denoise_lab.inference.checkpoints import resolve_checkpoint

    runs = tmp_path / "runs"
    older, newer = (runs / name / "checkpoints" for name in ("older", "newer"))
    for folder in (older, newer):
        folder.mkdir(parents=True)
        torch.save({"state_dict": {}}, folder / "best.ckpt")
        torch.save({"state_dict": {}}, folder / "last.ckpt")
    (newer / "last.ckpt").write_bytes((newer / "last.ckpt").read_bytes()[:20])  # a kill during its write
    for age, path in enumerate(
        [newer / "last.ckpt", newer / "best.ckpt", older / "last.ckpt", older / "best.ckpt"]
    ):
        os.utime(path, (1e9 - age, 1e9 - age))
    with caplog.at_level(logging.WARNING):
        chosen = resolve_checkpoint("last", runs, tmp_path / "this_run")
    assert chosen == str(newer / "best.ckpt")
    assert f"ckpt_path=last: skipped, '{newer / 'last.ckpt'}' is not a readable checkpoint" in caplog.text
    (newer / "best.ckpt").write_bytes(b"")
    assert resolve_checkpoint("last", runs, tmp_path / "this_run") == str(older / "last.ckpt")


def test_a_write_killed_with_sigkill_leaves_only_a_named_partial_that_predict_reports_and_never_deletes(
    tmp_path, caplog
):
    """A child process killed (SIGKILL) inside a write: the final name never appears, the partial file's name
    says what it is, and the next predict into that folder names it without touching it (it was not made by
    that call: only the user deletes it)."""
    import os
    import signal

    from denoise_lab.files import written_in_place
    from denoise_lab.inference import restore_files as restore_module

    out = tmp_path / "out"
    child = os.fork()
    if child == 0:  # the killed writer
        with written_in_place(out / "a.png") as partial:
            partial.write_bytes(b"\x89PNG half")
            os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(child, 0)
    (leftover,) = [p for p in out.iterdir()]
    assert leftover.name.startswith(".a.partial-") and leftover.suffix == ".png"
    write_image(tmp_path / "in" / "a.png")
    with caplog.at_level(logging.WARNING):
        counts = restore_module.restore_files(_predict_config(f"input={tmp_path / 'in'}", f"output={out}"))
    assert counts["written"] == 1 and leftover.read_bytes() == b"\x89PNG half"
    assert (
        f"1 unfinished file(s) of an interrupted earlier run are in '{out}' ({leftover.name})" in caplog.text
    )


def test_a_full_disk_during_training_is_one_write_error_line_and_the_earlier_checkpoints_stay_whole(
    tiny_cfg, tmp_path, monkeypatch
):
    """The disk fills up (simulated: torch.save writes some bytes, then ENOSPC) at the second epoch's
    checkpoints: the run stops with one line naming the error, what it kept and how to go on; the first
    epoch's checkpoints load, and no partial file is left beside them."""
    import errno

    from denoise_lab.training import checkpoint_io
    from denoise_lab.training.run import main

    save, calls = torch.save, []

    def filling_the_disk(obj, path, *args, **kwargs):
        calls.append(path)
        if len(calls) > 2:  # epoch 0 wrote best.ckpt and last.ckpt
            Path(path).write_bytes(b"PK\x03\x04 half")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return save(obj, path, *args, **kwargs)

    monkeypatch.setattr(checkpoint_io.torch, "save", filling_the_disk)
    cfg = tiny_cfg("trainer.max_epochs=3", "logger=none")
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    with pytest.raises(SystemExit) as stopped:
        main.__wrapped__(cfg)
    assert str(stopped.value).startswith(f"write error: No space left on device ({checkpoints}/.")
    assert str(stopped.value).endswith(
        f"; kept best.ckpt, last.ckpt in {checkpoints}; go on with the same command and "
        f"ckpt_path={checkpoints / 'last.ckpt'}"
    )
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]
    for name in ("best.ckpt", "last.ckpt"):
        assert torch.load(checkpoints / name, weights_only=False)["epoch"] == 0


def test_gray_photos_are_denoised_by_the_shipped_gaussian_model_as_colour_ones_are(tmp_path):
    """8-bit and 16-bit gray PNGs and a gray JPEG with gray noise (sigma 15): `gaussian` gained +0.04 to
    +0.17 dB on them (against +12 to +15 dB on RGB) before it saw gray noise."""
    import numpy as np
    from PIL import Image
    from skimage import data

    clean = data.coffee()[100:292, 200:456].mean(axis=2)  # held out of every shipped model's training
    noisy = clean + np.random.default_rng(0).normal(0, 15, clean.shape)
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8)).save(photos / "gray8.png")
    Image.fromarray(np.clip(noisy * 257, 0, 65535).round().astype(np.uint16)).save(photos / "gray16.png")
    Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8)).save(photos / "gray.jpg", quality=98)
    result = predict_cli("ckpt_path=pretrained:gaussian", f"input={photos}", "output=out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    def psnr(image, scale):
        return 10 * np.log10(scale**2 / np.mean((image.astype(np.float64) - clean * scale / 255) ** 2))

    for name, scale in (("gray8.png", 255), ("gray16.png", 65535), ("gray.jpg", 255)):
        before = np.asarray(Image.open(photos / name))
        after = np.asarray(Image.open(tmp_path / "out" / name))
        assert after.shape == before.shape and after.dtype == before.dtype
        assert psnr(after, scale) > psnr(before, scale) + 6, name
