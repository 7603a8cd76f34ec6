"""Denoisers trained by denoise_lab's own recipes (``experiment=pretrain_*``), shipped in this folder so
photos can be restored with no training and no network.

    import denoise_lab.pretrained
    model = denoise_lab.pretrained.load("gaussian")   # nn.Module: (B, 3, H, W) in [0, 1] -> restored

On the command line: ``ckpt_path=pretrained:<name>``. The file layout and the safe loading are described in
:mod:`denoise_lab.inference.checkpoints`; ``python -m denoise_lab.pretrained.ship`` writes a file from a run.
"""

from __future__ import annotations

from torch import nn

from denoise_lab.inference.checkpoints import PRETRAINED_PREFIX, load_checkpoint, shipped_names


def names() -> list[str]:
    """The shipped models' names."""
    return shipped_names()


def load(name: str) -> nn.Module:
    """The shipped network ``name``, float32, in eval mode on the CPU."""
    return load_checkpoint(PRETRAINED_PREFIX + name)[0]
