"""Denoising networks: plain `nn.Module`s mapping NCHW RGB images in [0, 1]
to images of exactly the same shape (any H x W; they pad and crop inside).

Families, one self-contained file each (imports only torch):

* `cae`      -- ConvAutoencoder: the seed-001 shallow CIFAR-10 autoencoder.
* `cae_deep` -- DeepConvAutoencoder: the seed-004 autoencoder with pooling.
* `unet`     -- UNet: the seed-003 "modified U-Net" with its default
  arguments, and the tuned U-Net (wider/deeper, GroupNorm, SiLU, residual)
  with others.
* `dense_ae` -- DenseAutoencoder: seed 002's fully connected autoencoder,
  on fixed-size tiles.
* `dncnn`    -- DnCNN: 17 conv layers with BatchNorm predicting the noise
  (Zhang et al. 2017), the field's reference point.
* `drunet`   -- DRUNet: residual U-Net without normalisation (Zhang et al. 2021).
* `nafnet`   -- NAFNet: gated, activation-free blocks with channel attention
  (Chen et al. 2022), the modern restoration baseline.

They know nothing about training, configuration or degradations; Hydra builds
them from `_target_` with keyword arguments. A new family is one file here and one
`conf/model/<name>.yaml` whose `_target_` names its module
(`denoise_lab.models.<file>.<Class>`); the tests and the bench find every yaml. The
names below are re-exported for Python users and for configs that checkpoints of
earlier versions saved (`denoise_lab.models.UNet`).
"""

from .cae import ConvAutoencoder
from .cae_deep import DeepConvAutoencoder
from .dense_ae import DenseAutoencoder
from .dncnn import DnCNN
from .drunet import DRUNet
from .nafnet import NAFNet
from .unet import UNet

__all__ = [
    "ConvAutoencoder",
    "DRUNet",
    "DeepConvAutoencoder",
    "DenseAutoencoder",
    "DnCNN",
    "NAFNet",
    "UNet",
]
