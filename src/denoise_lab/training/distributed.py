"""The DDP strategy of ``trainer=ddp``: spawned processes with gloo on CPU, Lightning's ``ddp`` on GPUs.

Plain ``ddp`` starts every extra rank by running the command line again, which under a Hydra multirun or
pytest runs the whole sweep or test session again; ``ddp_spawn`` starts processes that run only the fit.
On GPUs, ``ddp`` (NCCL) is Lightning's recommended strategy, and what a Slurm allocation with one task per
device (``hydra/launcher=slurm``) expects.
"""

from __future__ import annotations

import torch
from lightning.pytorch.strategies import DDPStrategy


def ddp_strategy(accelerator: str = "auto") -> DDPStrategy:
    """``ddp`` with NCCL when ``accelerator`` is (or, for ``auto``, finds) a GPU; else ``ddp_spawn`` with gloo."""
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return DDPStrategy(process_group_backend="nccl")
    return DDPStrategy(start_method="spawn", process_group_backend="gloo")
