"""denoise_lab: train, compare and report denoising / restoration autoencoders.

Clean images are loaded on the CPU; degradations are generated on the device (Kornia) inside the
DataModule; models are plain ``nn.Module``s wrapped by a LightningModule; Hydra composes the run.
"""

__version__ = "0.1.0"
