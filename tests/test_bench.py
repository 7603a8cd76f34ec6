"""The benchmark suite: its CI smoke (--quick writes every section), and the pieces its numbers rest on."""

from __future__ import annotations

import os
import time

import pandas as pd
import torch
from benchmarks.__main__ import SECTIONS, main
from benchmarks.common import Settings, TrainStep, datamodule, run_config
from benchmarks.cpu_pipeline import SeedsDegradedPatches
from benchmarks.isolated import in_subprocess

from denoise_lab.training.run import build_module

CPU = Settings(torch.device("cpu"), quick=True)


def test_quick_bench_writes_every_section_to_markdown_and_csv(tmp_path):
    markdown, csv = main(["--quick", "--out", str(tmp_path)])
    text = markdown.read_text()
    for heading in ["Targets", *(s.TITLE for s in SECTIONS)]:
        assert f"\n## {heading}\n" in text
    assert "**CPU**" in text and "**torch**" in text and "--quick" in text
    table = pd.read_csv(csv)
    assert set(table["section"]) == {"machine", *(s.KEY for s in SECTIONS)}
    targets = table[table["table"] == "targets"]
    assert {"degradation_engine", "overhead", "inference", "predict_scaling", "data_loading"} <= set(
        targets["section"]
    )
    assert table.groupby("section").size().min() >= 3


def test_bare_training_step_computes_what_the_lightning_module_does():
    cfg = run_config(CPU, "data.batch_size=4", "data.patch_size=32")
    data = datamodule(cfg)
    batch = data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)
    bare = TrainStep(cfg, CPU)
    torch.manual_seed(cfg.seed)
    module = build_module(cfg, data.op_names)
    expected = module.loss(module(batch["degraded"]), batch["clean"]).mean()
    assert torch.allclose(bare(batch), expected)


def test_seeds_pipeline_degrades_each_patch_in_getitem_reproducibly():
    cfg = run_config(CPU, "data.patch_size=32")
    data = datamodule(cfg)
    seeds = SeedsDegradedPatches(data.train_set)
    sample = seeds[123]
    assert sample["degraded"].shape == sample["clean"].shape == (3, 32, 32)
    assert sample["degraded"].dtype == torch.float32
    assert torch.equal(seeds[123]["degraded"], sample["degraded"])
    changed = [not torch.equal(seeds[k]["degraded"], seeds[k]["clean"]) for k in range(8)]
    assert sum(changed) >= 6  # a random op per patch; a mild colour gain may round to no change


def test_subprocess_sees_its_environment_and_is_stopped_at_its_timeout():
    assert in_subprocess(os.getenv, "DENOISE_LAB_PROBE", env={"DENOISE_LAB_PROBE": "yes"}) == "yes"
    assert "DENOISE_LAB_PROBE" not in os.environ
    start = time.perf_counter()
    assert in_subprocess(time.sleep, 600, timeout=2) is None
    assert time.perf_counter() - start < 30
