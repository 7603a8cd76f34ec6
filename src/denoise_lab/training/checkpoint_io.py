"""Checkpoints written whole or not at all, next to where they go.

Lightning's own writer stages the file through fsspec's transaction, a temporary file in the system's
temporary folder moved into place when done: across filesystems that move is a copy, so a kill or a full
disk during it left a truncated ``last.ckpt`` (or ``best.ckpt``) under its final name, which resume then
picked, and a 6 MB temporary file in /tmp. Here the temporary file sits in the checkpoint's own folder and
the rename is atomic (:func:`denoise_lab.files.written_in_place`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from denoise_lab.files import written_in_place


class SameFolderCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):  # remote storage: Lightning's own way
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        with written_in_place(Path(path)) as partial:
            torch.save(checkpoint, partial)
