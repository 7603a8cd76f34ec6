"""Clean-image sources (bundled photos, folders, low/high pairs, CIFAR-10) and the DataModule degrading them."""

from denoise_lab.data.cifar import Cifar10
from denoise_lab.data.datamodule import DenoiseDataModule, build_datamodule
from denoise_lab.data.sources import ImageFolder, PairedFolders, SampleImages

__all__ = ["Cifar10", "DenoiseDataModule", "ImageFolder", "PairedFolders", "SampleImages", "build_datamodule"]
