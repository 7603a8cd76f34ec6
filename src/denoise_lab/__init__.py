"""denoise_lab: train, compare and report denoising / restoration autoencoders.

Clean images are loaded on the CPU; degradations are generated on the device (Kornia) inside the
DataModule; models are plain ``nn.Module``s wrapped by a LightningModule; Hydra composes the run.
"""

import os

# torch's OpenMP threads (libgomp) spin while they wait for work. Where a machine has more busy threads
# than cores, a spinning thread holds a core its partner needs, and a 2-thread training step ran 20x
# slower than with passive waiting (BENCHMARKS.md, "Compute efficiency"). OpenMP reads this once, when
# torch loads, so it is set here, before any torch import; an exported value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"


def __getattr__(name: str):
    """``denoise_lab.denoise`` (:mod:`denoise_lab.api`), imported on first use: the command-line entry
    points need not pay for it."""
    if name == "denoise":
        from denoise_lab.api import denoise

        return denoise
    raise AttributeError(f"module 'denoise_lab' has no attribute '{name}'")
