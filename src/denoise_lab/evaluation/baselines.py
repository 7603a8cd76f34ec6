"""Classical denoisers a user would otherwise pick: BM3D, non-local means and total variation.

The report runs them next to the trained model on the Gaussian-noise images, given the true noise sigma
(the usual, and for them most favourable, protocol). Each takes an (H, W, 3) float image and the sigma in
[0, 1] units and returns the denoised image. Settings follow each method's own recommendation:

* BM3D (Dabov et al. 2007; ``bm3d`` package, the optional ``eval`` extra): ``bm3d_rgb`` with its default
  profile, single-threaded, as the library's notes say more threads make results vary from run to run;
* non-local means (scikit-image): fast mode, 5x5 patches, 13x13 search, h = 0.8 sigma as in its gallery;
* TV (scikit-image, Chambolle): weight = 0.8 sigma, the best of 0.5 to 2 sigma on photo crops at sigma 15
  and 25.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import Tensor

Denoiser = Callable[[np.ndarray, float], np.ndarray]


def bm3d_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    profile = bm3d.BM3DProfile()
    profile.num_threads = 1
    return bm3d.bm3d_rgb(noisy, sigma, profile)


# scikit-image's restoration module (and torch, below) is imported where it runs: config checks import this
# module for the names, and predict --help should not pay for either.
def nlm_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    return denoise_nl_means(
        noisy, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5, patch_distance=6, channel_axis=-1
    )


def tv_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(noisy, weight=0.8 * sigma, channel_axis=-1)


def denoise_tensor(denoise: Denoiser, image: Tensor, sigma: float) -> Tensor:
    """``denoise`` applied to a (3, H, W) tensor: through a float64 (H, W, 3) array and back to float32
    on the image's device."""
    import torch  # here, not at the top: config checks import this module for the names (see above)

    array = image.permute(1, 2, 0).double().cpu().numpy()
    return torch.from_numpy(denoise(array, sigma)).float().permute(2, 0, 1).to(image.device)


# name -> (label in tables, function, the package it needs beyond the core dependencies)
BASELINES: dict[str, tuple[str, Denoiser, str | None]] = {
    "bm3d": ("BM3D", bm3d_denoise, "bm3d"),
    "nlm": ("NLM", nlm_denoise, None),
    "tv": ("TV", tv_denoise, None),
}


def select_baselines(names: Sequence[str]) -> tuple[dict[str, Denoiser | None], list[str]]:
    """The baselines named (keys of :data:`BASELINES`) by table label, ``None`` where their package is
    missing, and a one-line note for each missing one."""
    chosen, notes = {}, []
    for name in names:
        label, function, package = BASELINES[name]
        try:
            if package:
                importlib.import_module(package)
        except ImportError:
            chosen[label] = None
            notes.append(
                f"{label}: n/a, the optional `{package}` package is not installed "
                "(pip install 'denoise_lab[eval]')."
            )
        else:
            chosen[label] = function
    return chosen, notes
