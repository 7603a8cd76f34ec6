"""Clean-image sources (bundled samples, folders, low/high pairs) and the DataModule that degrades them."""

from denoise_lab.data.datamodule import DenoiseDataModule
from denoise_lab.data.sources import ImageFolder, PairedFolders, SampleImages

__all__ = ["DenoiseDataModule", "ImageFolder", "PairedFolders", "SampleImages"]
