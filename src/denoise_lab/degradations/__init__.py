"""Degradations generated on the device: one small op per degradation and the bank that samples them."""

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
