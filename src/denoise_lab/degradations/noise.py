"""Noise ops: Gaussian (sensor read noise), Poisson (photon shot noise), Poisson-Gaussian (both, as a camera
sensor records them), salt-and-pepper (dead/hot pixels)."""

from __future__ import annotations

import torch
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, gray_where_gray, lerp, uniform


class GaussianNoise(DegradationOp):
    """Additive white Gaussian noise with a per-sample sigma in 0-255 units (``sigma: [5, 50]``).

    Written by hand because Kornia's ``RandomGaussianNoise`` draws one std per batch from the global RNG.
    Gray samples get gray noise, the same in all three channels (:func:`gray_where_gray`).
    """

    def __init__(self, sigma: tuple[float, float] = (5.0, 50.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.sigma = tuple(sigma)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
        return images + self.noise_sigma(severity).view(-1, 1, 1, 1) * gray_where_gray(noise, images)

    def noise_sigma(self, severity: Tensor) -> Tensor:
        return lerp(self.sigma, severity) / 255.0


class PoissonNoise(DegradationOp):
    """Photon shot noise: ``Poisson(peak * x) / peak``, where ``peak`` is the photon count of white.

    ``peak: [60, 8]`` goes from a well-exposed sensor (weakest) to a dim one (strongest); the noise is
    signal-dependent, so dark regions are relatively noisier, unlike Gaussian noise.
    """

    def __init__(self, peak: tuple[float, float] = (60.0, 8.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.peak = tuple(peak)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        peak = lerp(self.peak, severity).view(-1, 1, 1, 1)
        return torch.poisson(images.clamp(min=0.0) * peak, generator=generator) / peak


class PoissonGaussianNoise(DegradationOp):
    """A raw camera sensor's noise (Foi et al., IEEE TIP 2008): variance ``gain * x + read**2`` at signal
    ``x``, i.e. shot noise that grows with the light plus a constant read-out floor, drawn as the usual
    heteroscedastic Gaussian approximation. ``gain`` in 1/255 units of variance per unit signal, ``read``
    in 0-255 units, each (weakest, strongest); both scale with the sample's severity.
    """

    def __init__(
        self,
        gain: tuple[float, float] = (0.0, 4.0),
        read: tuple[float, float] = (0.0, 10.0),
        clamp: bool = True,
    ) -> None:
        super().__init__(clamp)
        self.gain, self.read = tuple(gain), tuple(read)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        gain = (lerp(self.gain, severity) / 255.0).view(-1, 1, 1, 1)
        read = (lerp(self.read, severity) / 255.0).view(-1, 1, 1, 1)
        std = (gain * images.clamp(min=0.0) + read**2).sqrt()
        noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
        return images + std * noise


class SaltAndPepper(DegradationOp):
    """Impulse noise: a per-sample fraction ``amount`` of pixels turns white (salt) or black (pepper).

    All three channels of a hit pixel change together, as with a dead or stuck sensor pixel. Kornia's
    ``RandomSaltAndPepperNoise`` draws its masks from the global RNG, so the masks are drawn here.
    """

    def __init__(
        self, amount: tuple[float, float] = (0.005, 0.05), salt_ratio: float = 0.5, clamp: bool = True
    ) -> None:
        super().__init__(clamp)
        self.amount = tuple(amount)
        self.salt_ratio = salt_ratio

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n, _, h, w = images.shape
        hit = uniform((n, 1, h, w), 0.0, 1.0, generator, images) < lerp(self.amount, severity).view(
            -1, 1, 1, 1
        )
        salt = uniform((n, 1, h, w), 0.0, 1.0, generator, images) < self.salt_ratio
        return torch.where(hit, salt.to(images.dtype), images)
