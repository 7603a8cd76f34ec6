"""Lightning callbacks of denoise_lab."""

from denoise_lab.callbacks.adaptive_weighting import AdaptiveDegradationWeighting
from denoise_lab.callbacks.divergence import DivergenceGuard, TrainingDiverged
from denoise_lab.callbacks.history import TrainingHistory
from denoise_lab.callbacks.job_summary import JobSummary

__all__ = [
    "AdaptiveDegradationWeighting",
    "DivergenceGuard",
    "JobSummary",
    "TrainingDiverged",
    "TrainingHistory",
]
