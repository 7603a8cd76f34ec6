"""LPIPS (Zhang et al. 2018) from the optional ``lpips`` package, or a one-line reason why it is absent.

``lpips`` needs torchvision and torchvision's AlexNet weights. The registry's torchvision does not match
this project's CPU torch (it breaks ``import lightning``), so ``lpips`` is an extra, imported lazily,
and the weights are used only when they already sit in torch's hub cache: a report never downloads.
Anything missing makes the LPIPS column ``n/a`` with the reason, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

ALEXNET_WEIGHTS = "alexnet-owt-7be5be79.pth"  # the file torchvision.models.alexnet loads

Distance = Callable[[Tensor, Tensor], Tensor]


def load_lpips(device: torch.device) -> tuple[Distance | None, str]:
    """``(distance, "")`` where LPIPS (AlexNet) can run, else ``(None, why not)``.

    ``distance(a, b)`` takes image batches in [0, 1] and returns one value per sample.
    """
    try:
        import lpips
    except ImportError:
        return (
            None,
            "LPIPS: n/a, the optional `lpips` package is not installed "
            "(it needs a torchvision build matching torch).",
        )
    weights = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_WEIGHTS
    if not weights.is_file():
        return None, f"LPIPS: n/a, the AlexNet weights are not at {weights} (reports never download)."
    try:
        network = lpips.LPIPS(net="alex", verbose=False).to(device).eval()
    except Exception as error:  # a broken torchvision fails in many ways; LPIPS must never stop a report
        return None, f"LPIPS: n/a, lpips failed to load ({type(error).__name__}: {error})."

    def distance(a: Tensor, b: Tensor) -> Tensor:
        with torch.no_grad():
            return network(a, b, normalize=True).flatten()  # normalize: [0, 1] -> the [-1, 1] LPIPS expects

    return distance, ""
