"""Lightning callbacks of denoise_lab."""

from denoise_lab.callbacks.adaptive_weighting import AdaptiveDegradationWeighting
from denoise_lab.callbacks.divergence import DivergenceGuard, TrainingDiverged
from denoise_lab.callbacks.history import TrainingHistory
from denoise_lab.callbacks.job_summary import JobSummary
from denoise_lab.callbacks.sample_grid import SampleGrid
from denoise_lab.callbacks.wandb_media import WandbMedia

__all__ = [
    "AdaptiveDegradationWeighting",
    "DivergenceGuard",
    "JobSummary",
    "SampleGrid",
    "TrainingDiverged",
    "TrainingHistory",
    "WandbMedia",
]
