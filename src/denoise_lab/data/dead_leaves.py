"""Dead-leaves images: synthetic training images with the scale statistics of natural photos.

Why: a denoiser learns edges and flat regions at every scale, and a handful of photos holds few of them. The
dead-leaves model (Matheron; Lee, Mumford and Huang 2001) stacks opaque disks whose radii follow a power law,
which gives images with the scale invariance and edge statistics of natural photos; Achddou, Gousseau and
Ladjal (2021) trained denoisers on such images alone to within a dB of photos. Here they only add to the
training photos (``data.synthetic``), never to validation, and their colours are drawn from those photos.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from denoise_lab.config import ConfigError
from denoise_lab.data.sources import LoadedImage

SIZE = 512  # pixels a side, about a training photo's
DISKS_PER_DRAW = 4096  # disks drawn from the generator at a time until the image is covered
SUPERSAMPLE = 2  # rendered at twice the size and box-filtered down: disk edges antialiased as a lens would


def disk_radii(rng: np.random.Generator, count: int, r_min: float, r_max: float, alpha: float) -> np.ndarray:
    """``count`` radii with density proportional to r^-alpha on [r_min, r_max] (inverse CDF)."""
    lo, hi = r_min ** (1 - alpha), r_max ** (1 - alpha)
    return (lo + rng.random(count) * (hi - lo)) ** (1 / (1 - alpha))


def dead_leaves(
    size: int, colours: np.ndarray, rng: np.random.Generator, r_min: float = 1.0, alpha: float = 3.0
) -> np.ndarray:
    """A (size, size, 3) uint8 dead-leaves image: disks of radius r_min to size/2 (density r^-alpha, the
    scale-invariant choice being 3) and colours drawn from ``colours`` (N, 3), painted front to back (each
    disk fills only what the disks before it left uncovered) until the image is covered."""
    side = size * SUPERSAMPLE
    image = np.zeros((side, side, 3), np.uint8)
    uncovered = np.ones((side, side), bool)
    while uncovered.any():
        radii = SUPERSAMPLE * disk_radii(rng, DISKS_PER_DRAW, r_min, size / 2, alpha)
        centres = rng.random((DISKS_PER_DRAW, 2)) * side
        picks = colours[rng.integers(len(colours), size=DISKS_PER_DRAW)]
        for r, (cy, cx), colour in zip(radii, centres, picks, strict=True):
            top, left = max(0, int(cy - r)), max(0, int(cx - r))
            bottom, right = min(side, int(cy + r) + 1), min(side, int(cx + r) + 1)
            ys, xs = np.ogrid[top:bottom, left:right]
            disk = ((ys - cy) ** 2 + (xs - cx) ** 2 <= r * r) & uncovered[top:bottom, left:right]
            image[top:bottom, left:right][disk] = colour
            uncovered[top:bottom, left:right][disk] = False
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BOX))


def dead_leaves_images(count: int, photos: list[LoadedImage], seed: int) -> list[LoadedImage]:
    """``count`` dead-leaves images of ``SIZE``² named ``dead_leaves_<i>``, coloured with pixels of
    ``photos``, seeded (about 3 s each)."""
    if not isinstance(count, int) or count < 0:
        raise ConfigError(f"data.synthetic is a number of images, 0 or more, got {count}")
    if count == 0:
        return []
    if any(p.degraded is not None for p in photos):
        raise ConfigError("data.synthetic adds clean images only; paired data needs data.synthetic=0")
    rng = np.random.default_rng([seed, 0xDEAD])
    pixels = np.concatenate([p.clean.reshape(-1, 3) for p in photos])
    colours = pixels[rng.integers(len(pixels), size=65536)]
    return [LoadedImage(f"dead_leaves_{i}", dead_leaves(SIZE, colours, rng)) for i in range(count)]
