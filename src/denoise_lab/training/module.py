"""DenoiseModule: a swappable model and loss, trained on degraded batches and measured per degradation.

Logs ``train/loss`` and ``train/loss/<op>`` per epoch (``train/loss_step`` every ``log_every_n_steps``),
``val/loss``, ``val/psnr``, ``val/ssim`` and the same per op, next to the degraded input's
``val/psnr_degraded/<op>`` so the gain is visible. There is no test stage: after the fit, the best weights
are measured once by :mod:`denoise_lab.evaluation.run`, whose records every final table is a view of.

``training_step`` hands each sample's loss to the callbacks (``on_train_batch_end``'s ``outputs``); the
adaptive-weighting callback keeps its own per-op statistics from them, so nothing extra runs without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from denoise_lab.evaluation.metrics import ALL_OPS, PerOpMeans, parse_metric_name, psnr, ssim

EVAL_QUANTITIES = ["loss", "psnr", "ssim", "psnr_degraded", "ssim_degraded"]


class DenoiseModule(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., torch.optim.lr_scheduler.LRScheduler] | None = None,
        op_names: Sequence[str] = ("all",),
        channels_last: bool = False,
        compile_network: bool = False,
        config: dict[str, Any] | None = None,
    ) -> None:
        """``optimizer`` and ``scheduler`` are partials (Hydra ``_partial_: true``); the scheduler is
        stepped every optimizer step and receives ``T_max`` = the total number of steps of the fit.
        ``channels_last`` stores weights and inputs as NHWC, the layout oneDNN's and cuDNN's fastest
        convolutions use (``make bench`` measures it). ``compile_network`` compiles the network while fitting
        (:meth:`on_fit_start`). ``config`` is the resolved run config, stored in
        checkpoints so a model can be rebuilt from one."""
        super().__init__()
        self.save_hyperparameters(ignore=["model", "loss", "optimizer", "scheduler"])
        self.channels_last, self.compile_network = channels_last, compile_network
        self.compiled_forward: Callable[[Tensor], Tensor] | None = None  # set while fitting
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model, self.loss = model, loss
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.op_names = list(op_names)
        self.train_means = PerOpMeans("train", ["loss"], self.op_names)
        self.val_means = PerOpMeans("val", EVAL_QUANTITIES, self.op_names)

    def on_fit_start(self) -> None:
        """Compile the network for training and validation, here, after Lightning's model summary (a callback,
        called first) has counted FLOPs and shapes on the eager network. A compiled function, not module: the
        state dict, and therefore checkpoints, stay the plain network's. Static shapes: a fit sees two or three
        (training batches, validation batches, a last short one), and torch 2.13's inductor failed to compile
        the U-Net's padding for dynamic ones."""
        if self.compile_network:
            self.compiled_forward = torch.compile(self.model.forward, dynamic=False)

    def on_fit_end(self) -> None:
        """Back to the eager network: testing and evaluation restore whole images of every size, where
        compiling would recompile per size, and torch 2.13's inductor fails on some of them."""
        self.compiled_forward = None

    def forward(self, degraded: Tensor) -> Tensor:
        if self.channels_last:
            degraded = degraded.contiguous(memory_format=torch.channels_last)
        return (self.compiled_forward or self.model)(degraded)

    def full_precision(self) -> torch.autocast:
        """Losses and metrics run in float32 whatever ``trainer.precision`` says: under bf16 autocast the
        local variances inside SSIM (E[x²] - E[x]²) cancel, and an SSIM of 0.67 read as 0.11."""
        return torch.autocast(self.device.type, enabled=False)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Tensor]:
        """The loss to minimise, and each sample's (``per_sample_loss``) for callbacks that listen in
        ``on_train_batch_end`` (adaptive weighting tallies it per op)."""
        output = self(batch["degraded"]).float()
        with self.full_precision():
            per_sample = self.loss(output, batch["clean"])
        loss = per_sample.mean()
        self.train_means.update({"loss": per_sample}, batch["op"])
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:  # the steps loggers record
            self.log("train/loss_step", loss, prog_bar=True, on_step=True, on_epoch=False)
        if batch_idx == 0:
            self.log_means(self.train_means)  # train/loss and train/loss/<op>, epoch means
        return {"loss": loss, "per_sample_loss": per_sample.detach()}

    def log_means(self, means: PerOpMeans) -> None:
        """Log each torchmetrics mean once per epoch: Lightning computes and resets a logged Metric from
        its own state at epoch end, while every ``self.log`` call costs 1-2 ms (Lightning moves the
        value's whole record to the device): logging 6 values at every step took 11 % of a default
        CPU training step, and would take more of a GPU step."""
        for name, mean in means.items():
            _, quantity, op = parse_metric_name(name)
            shown = op == ALL_OPS and quantity in ("psnr", "ssim")
            self.log(name, mean, on_step=False, on_epoch=True, prog_bar=shown)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        clean, degraded = batch["clean"], batch["degraded"]
        output = self(degraded).float()
        # what a user sees; metrics judge that
        restored, shown = output.clamp(0.0, 1.0), degraded.clamp(0.0, 1.0)
        with self.full_precision():
            quality = {
                "loss": self.loss(output, clean),
                "psnr": psnr(restored, clean),
                "ssim": ssim(restored, clean),
                "psnr_degraded": psnr(shown, clean),
                "ssim_degraded": ssim(shown, clean),
            }
        self.val_means.update(quality, batch["op"])
        if batch_idx == 0:
            self.log_means(self.val_means)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        scheduler = self.scheduler_factory(optimizer, T_max=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
