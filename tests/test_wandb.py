"""logger=wandb without an account: offline runs in the run dir, checked through the records W&B wrote."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict

from denoise_lab.training.hydra_callbacks import finish_wandb
from denoise_lab.training.run import run
from tests.conftest import without_wandb_account

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402

BLOCK, HEADER = 32768, 7  # the .wandb file: LevelDB-log blocks of records with 7-byte headers
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    """Every protobuf record of a ``run-<id>.wandb`` file."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    records, pending, pos = [], b"", HEADER  # the file opens with its own 7-byte header
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0:
            break
        pending += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def summarise(run_dir: Path) -> dict:
    """The run's id, group and name, its config, the keys it logged, and whether it ended, from its records."""
    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    found = {"id": None, "group": None, "name": None, "config": {}, "logged": {}, "exited": False}
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            found.update(id=record.run.run_id, group=record.run.run_group, name=record.run.display_name)
        elif kind == "config":
            found["config"].update({item.key: json.loads(item.value_json) for item in record.config.update})
        elif kind == "history":
            for item in record.history.item:
                value = json.loads(item.value_json)
                if item.nested_key:  # a media value arrives as one item per field
                    found["logged"].setdefault(item.nested_key[0], {})["/".join(item.nested_key[1:])] = value
                else:
                    found["logged"][item.key] = value
        elif kind == "exit":
            found["exited"] = True
            found["exit_code"] = MessageToDict(record.exit).get("exitCode", 0)
    return found


@pytest.fixture
def no_wandb_account(monkeypatch, tmp_path):
    for variable in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in without_wandb_account(tmp_path).items():
        monkeypatch.setenv(variable, value)


def test_offline_run_logs_config_metrics_images_and_table_and_resumes_the_same_run(
    tiny_cfg, no_wandb_account
):
    first = tiny_cfg("logger=wandb", run_name="first")
    run(first)
    finish_wandb()  # what the FinishWandb Hydra callback does at the end of every job
    run_dir = Path(first.paths.output_dir)
    logged = summarise(run_dir)

    config = logged["config"]["config"]  # the module's hyperparameters: the resolved run config
    assert (
        config["model"]["_target_"] == "denoise_lab.models.unet.UNet" and config["data"]["patch_size"] == 32
    )
    assert {"val/psnr", "val/ssim/motion_blur", "train/loss_step", "test/psnr/gaussian_noise"} <= set(
        logged["logged"]
    )
    samples = logged["logged"]["test/samples"]
    assert samples["_type"] == "images/separated" and samples["count"] == 1
    assert (run_dir / "wandb" / "latest-run" / "files" / samples["filenames"][0]).is_file()
    table = logged["logged"]["test/per_degradation"]
    assert table["_type"] == "table-file" and table["nrows"] == 6  # five ops and "all"
    assert logged["exited"] and logged["id"]

    second = tiny_cfg("logger=wandb", "trainer.max_epochs=2", "ckpt_path=last", run_name="second")
    second.paths.runs_dir = str(Path(first.paths.output_dir).parent)
    run(second)
    finish_wandb()
    assert summarise(Path(second.paths.output_dir))["id"] == logged["id"]


def test_each_multirun_job_is_its_own_run_grouped_by_the_sweep(two_model_sweep):
    result, sweep = two_model_sweep
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = [summarise(sweep / job) for job in ("0", "1")]
    assert jobs[0]["id"] != jobs[1]["id"]
    assert jobs[0]["group"] == jobs[1]["group"] == str(Path("outputs", "train", "multiruns", sweep.name))
    assert ["model=cae," in jobs[0]["name"], "model=cae_deep" in jobs[1]["name"]] == [True, True]
    assert all(j["exited"] and "val/psnr" in j["logged"] for j in jobs)
