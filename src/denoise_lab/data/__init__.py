"""Clean-image sources (bundled photos, folders, low/high pairs, CIFAR-10) and the DataModule degrading them.

The DataModule (and with it Lightning) is imported on first use: predict reads photos through
:mod:`denoise_lab.data.sources` and should not pay a second and more for Lightning.
"""

from denoise_lab.data.sources import ImageFolder, PairedFolders, SampleImages

__all__ = ["Cifar10", "DenoiseDataModule", "ImageFolder", "PairedFolders", "SampleImages", "build_datamodule"]


def __getattr__(name: str):
    if name in ("DenoiseDataModule", "build_datamodule"):
        from denoise_lab.data import datamodule

        return getattr(datamodule, name)
    if name == "Cifar10":
        from denoise_lab.data.cifar import Cifar10

        return Cifar10
    raise AttributeError(f"module 'denoise_lab.data' has no attribute '{name}'")
