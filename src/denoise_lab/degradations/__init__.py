"""Degradations generated on the device: one small op per degradation and the bank that samples them.

A new op is one class in a module here and one ``conf/degradation/op/<name>.yaml`` whose ``_target_`` names
its module (``denoise_lab.degradations.<file>.<Class>``), plus the presets that should include it; the
tests and the bench find every op yaml. The names below are re-exported for Python users and for configs
that checkpoints of earlier versions saved."""

from denoise_lab.degradations.bank import DegradationBank, Degraded
from denoise_lab.degradations.base import DegradationOp
from denoise_lab.degradations.blur import GaussianBlur, MotionBlur
from denoise_lab.degradations.chain import Chain
from denoise_lab.degradations.color import ChannelGains
from denoise_lab.degradations.compression import Downsample, JPEGCompression
from denoise_lab.degradations.light import (
    IlluminationContrast,
    RandomShadows,
    SpecularHighlights,
    UnevenIllumination,
)
from denoise_lab.degradations.noise import GaussianNoise, PoissonGaussianNoise, PoissonNoise, SaltAndPepper
from denoise_lab.degradations.surface import SurfaceDefects

__all__ = [
    "Chain",
    "ChannelGains",
    "DegradationBank",
    "DegradationOp",
    "Degraded",
    "Downsample",
    "GaussianBlur",
    "GaussianNoise",
    "IlluminationContrast",
    "JPEGCompression",
    "MotionBlur",
    "PoissonGaussianNoise",
    "PoissonNoise",
    "RandomShadows",
    "SaltAndPepper",
    "SpecularHighlights",
    "SurfaceDefects",
    "UnevenIllumination",
]
