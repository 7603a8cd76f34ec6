"""Degradations generated on the device: one small op per degradation and the bank that samples them."""

from denoise_lab.degradations.bank import DegradationBank, Degraded
from denoise_lab.degradations.ops import (
    ChannelGains,
    DegradationOp,
    GaussianBlur,
    GaussianNoise,
    IlluminationContrast,
    MotionBlur,
)

__all__ = [
    "ChannelGains",
    "DegradationBank",
    "DegradationOp",
    "Degraded",
    "GaussianBlur",
    "GaussianNoise",
    "IlluminationContrast",
    "MotionBlur",
]
