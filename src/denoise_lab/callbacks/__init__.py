"""Lightning callbacks of denoise_lab."""

from denoise_lab.callbacks.adaptive_weighting import AdaptiveDegradationWeighting
from denoise_lab.callbacks.history import TrainingHistory
from denoise_lab.callbacks.sample_grid import SampleGrid

__all__ = ["AdaptiveDegradationWeighting", "SampleGrid", "TrainingHistory"]
