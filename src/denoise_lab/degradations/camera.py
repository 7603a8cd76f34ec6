"""Camera noise the way a camera makes it: "unprocess" an sRGB image to raw sensor values, add the sensor's
noise there, demosaic and process it back (Brooks et al., CVPR 2019, "Unprocessing images for learned raw
denoising"; the parameter ranges below are theirs).

Real photos do not carry white Gaussian noise: the sensor's noise is Poisson-Gaussian in *linear raw*
values (shot noise grows with the light), each pixel sees one colour (Bayer mosaic), and the camera's
pipeline then interpolates the mosaic (spatially correlated noise), mixes the channels (colour matrix:
cross-channel correlation), brightens the darks (tone curve: darks noisier) and compresses (JPEG). A
network trained on white Gaussian noise leaves such noise in place; one trained on this learns it.
"""

from __future__ import annotations

import math

import torch
from kornia.color import CFA, raw_to_rgb, rgb_to_raw
from kornia.enhance import jpeg_codec_differentiable
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, is_gray, lerp, uniform

# Four cameras' XYZ -> camera-RGB matrices (Brooks et al.); each sample's camera is a random convex mix.
XYZ_TO_CAMS = torch.tensor(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
    ]
)
# Linear sRGB -> XYZ (D65).
RGB_TO_XYZ = torch.tensor(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
GAMMA = 2.2


def inverse_tone_curve(image: Tensor) -> Tensor:
    """The inverse of the smoothstep tone curve ``3x^2 - 2x^3`` that cameras' pipelines roughly apply."""
    return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * image.clamp(0.0, 1.0)) / 3.0)


def tone_curve(image: Tensor) -> Tensor:
    x = image.clamp(0.0, 1.0)
    return 3.0 * x**2 - 2.0 * x**3


def apply_matrix(matrices: Tensor, image: Tensor) -> Tensor:
    """Per-sample 3x3 colour matrices (N, 3, 3) applied to every pixel of (N, 3, H, W)."""
    return torch.einsum("nij,njhw->nihw", matrices, image)


def random_rgb_to_cam(n: int, generator: torch.Generator, like: Tensor) -> Tensor:
    """Per-sample linear-sRGB -> camera matrices, rows normalised so white stays white (Brooks et al.)."""
    weights = uniform((n, len(XYZ_TO_CAMS)), 1e-8, 1.0, generator, like)
    xyz_to_cam = torch.einsum("nk,kij->nij", weights / weights.sum(1, keepdim=True), XYZ_TO_CAMS.to(like))
    rgb_to_cam = xyz_to_cam @ RGB_TO_XYZ.to(like)
    return rgb_to_cam / rgb_to_cam.sum(dim=-1, keepdim=True)


def random_gains(n: int, generator: torch.Generator, like: Tensor) -> Tensor:
    """Per-sample (N, 3) gains the camera applied: white balance (red 1.9-2.4, blue 1.5-1.9) times an
    overall brightening 1 / N(0.8, 0.1)."""
    brightening = 1.0 / (
        0.8 + 0.1 * torch.randn(n, generator=generator, device=like.device, dtype=like.dtype)
    )
    red, blue = uniform(n, 1.9, 2.4, generator, like), uniform(n, 1.5, 1.9, generator, like)
    return torch.stack([red, torch.ones_like(red), blue], dim=1) * brightening.clamp(0.5, 2.0)[:, None]


def sensor_noise_levels(severity: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Shot and read noise variances as real sensors pair them: shot log-uniform in [1e-4, 0.012] (here by
    severity), log read = 2.18 log shot + 1.20 + N(0, 0.26) (Brooks et al.'s fit to real cameras)."""
    log_shot = lerp((math.log(1e-4), math.log(0.012)), severity)
    scatter = 0.26 * torch.randn(
        severity.shape, generator=generator, device=severity.device, dtype=severity.dtype
    )
    return log_shot.exp(), (2.18 * log_shot + 1.20 + scatter).exp()


def sensor_noise(raw: Tensor, shot: Tensor, read: Tensor, generator: torch.Generator) -> Tensor:
    """Heteroscedastic Gaussian noise of a raw image (N, 1, H, W): variance ``shot * x + read`` at signal
    ``x`` per sample, the usual approximation of Poisson photon noise plus Gaussian read-out noise."""
    std = (shot.view(-1, 1, 1, 1) * raw.clamp(min=0.0) + read.view(-1, 1, 1, 1)).sqrt()
    return std * torch.randn(raw.shape, generator=generator, device=raw.device, dtype=raw.dtype)


def even_padded(image: Tensor) -> Tensor:
    """Reflect-pad to even height and width: a Bayer mosaic is made of 2x2 cells."""
    h, w = image.shape[-2:]
    return torch.nn.functional.pad(image, (0, w % 2, 0, h % 2), mode="reflect") if h % 2 or w % 2 else image


class CameraNoise(DegradationOp):
    """sRGB -> raw (inverse tone curve, gamma, colour matrix, gains; RGGB mosaic) -> Poisson-Gaussian sensor
    noise, demosaiced (bilinear) -> gains, colour matrix, gamma, tone curve -> JPEG at ``quality``
    (drawn uniformly per sample from the [weakest, strongest] pair).

    ``severity`` sets the shot noise (log-uniform, read noise follows it); camera, gains, read-noise scatter
    and JPEG quality are drawn per sample. Without noise and JPEG the round trip returns the input. Gray
    samples come back gray (the mean of the channels), as a gray photo's noise is.
    """

    def __init__(self, quality: tuple[float, float] = (95.0, 70.0), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.quality = tuple(quality)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n, _, h, w = images.shape
        work = even_padded(images.float())
        rgb_to_cam = random_rgb_to_cam(n, generator, work)
        gains = random_gains(n, generator, work)[:, :, None, None]
        shot, read = sensor_noise_levels(severity.float(), generator)
        quality = uniform(n, *self.quality, generator, work)

        linear = inverse_tone_curve(work).clamp(min=1e-8) ** GAMMA
        camera_rgb = apply_matrix(rgb_to_cam, linear) / gains
        noise = sensor_noise(rgb_to_raw(camera_rgb, CFA.BG), shot, read, generator)
        # demosaicing is linear: the noisy mosaic's demosaic is the clean colours plus the demosaiced noise.
        # Adding only the noise that way keeps the clean image's full resolution (bilinear demosaicing of the
        # signal itself would blur it, and the network would learn to sharpen instead of to denoise).
        camera_rgb = ((camera_rgb + raw_to_rgb(noise, CFA.BG)) * gains).clamp(0.0, 1.0)
        linear = apply_matrix(torch.linalg.inv(rgb_to_cam), camera_rgb).clamp(min=1e-8)
        out = tone_curve(linear ** (1.0 / GAMMA))
        out = jpeg_codec_differentiable(out, quality)[..., :h, :w]
        out = torch.where(
            is_gray(images).view(-1, 1, 1, 1), out.mean(dim=1, keepdim=True).expand_as(out), out
        )
        return out.to(images.dtype)
