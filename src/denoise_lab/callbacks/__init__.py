"""Lightning callbacks of denoise_lab."""

from denoise_lab.callbacks.job_summary import JobSummary
from denoise_lab.callbacks.sample_grid import SampleGrid

__all__ = ["JobSummary", "SampleGrid"]
