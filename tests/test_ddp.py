"""trainer=ddp on CPU: two spawned gloo processes train one model and end in the same state."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from omegaconf import open_dict

from denoise_lab.training.run import run


class RecordRankState(L.Callback):
    """Saves what each rank ends with: its parameters, the bank's weights, the validation degradations it
    applied (by crop key), the validation degradation of every crop, and its first training patches."""

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)
        self.first_patches: torch.Tensor | None = None
        self.validated: dict[int, torch.Tensor] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if self.first_patches is None:
            self.first_patches = batch["clean"].clone()

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        for key, image in zip(batch["index"].tolist(), batch["degraded"], strict=True):
            self.validated[key] = image.clone()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        crops = datamodule.val_set
        keys = torch.arange(len(crops))
        clean = torch.stack([crops[i]["clean"] for i in range(len(crops))])
        every_crop = datamodule.bank.apply_fixed(clean, keys, keys % len(datamodule.bank)).image
        state = {
            "world_size": trainer.world_size,
            "parameters": {n: p.detach().clone() for n, p in pl_module.named_parameters()},
            "bank_weights": datamodule.bank.weights.clone(),
            "every_crop": every_crop,
            "validated": self.validated,
            "first_patches": self.first_patches,
        }
        torch.save(state, self.dirpath / f"rank{trainer.global_rank}.pt")


def test_two_cpu_processes_end_with_identical_weights(tiny_cfg, tmp_path):
    cfg = tiny_cfg("trainer=ddp", "trainer.accelerator=cpu", "trainer.max_epochs=2", "test_after_fit=false")
    with open_dict(cfg):
        cfg.callbacks.rank_state = {"_target_": f"{__name__}.RecordRankState", "dirpath": str(tmp_path)}
    metrics = run(cfg)
    assert torch.isfinite(torch.tensor(metrics["val/psnr"]))

    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    names = ranks[0]["parameters"].keys()
    assert all(torch.equal(ranks[0]["parameters"][n], ranks[1]["parameters"][n]) for n in names)
    assert torch.equal(ranks[0]["bank_weights"], ranks[1]["bank_weights"])
    # the ranks trained on different patches, and degrade every validation crop identically
    assert not torch.equal(ranks[0]["first_patches"], ranks[1]["first_patches"])
    assert torch.equal(ranks[0]["every_crop"], ranks[1]["every_crop"])
    for rank in ranks:
        assert rank["validated"]
        for key, image in rank["validated"].items():
            assert torch.equal(image, ranks[0]["every_crop"][key])
    # rank zero alone wrote the run's files
    run_dir = Path(cfg.paths.output_dir)
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert sorted(p.name for p in run_dir.glob("job*.json")) == ["job.json"]
