"""Lightning callbacks of denoise_lab."""

from denoise_lab.training.callbacks.adaptive_weighting import AdaptiveDegradationWeighting
from denoise_lab.training.callbacks.divergence import DivergenceGuard, TrainingDiverged
from denoise_lab.training.callbacks.ema import EMAWeightAveraging
from denoise_lab.training.callbacks.history import TrainingHistory
from denoise_lab.training.callbacks.job_summary import JobSummary

__all__ = [
    "AdaptiveDegradationWeighting",
    "DivergenceGuard",
    "EMAWeightAveraging",
    "JobSummary",
    "TrainingDiverged",
    "TrainingHistory",
]
