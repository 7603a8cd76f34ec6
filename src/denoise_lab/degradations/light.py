"""Light ops: global illumination/contrast, uneven illumination, cast shadows and specular highlights.

Seed 000's lighting transformations. Illumination multiplies the scene's reflectance, so uneven light
and shadows scale the image by a smooth gain field rather than adding to it; highlights add light and
saturate, which is what makes them hard to undo.
"""

from __future__ import annotations

import functools

import torch
from kornia.contrib import diamond_square
from kornia.enhance import adjust_brightness, adjust_contrast_with_mean_subtraction, adjust_gamma
from kornia.filters import gaussian_blur2d
from torch import Tensor

from denoise_lab.degradations.base import DegradationOp, lerp, pixel_grid, uniform


class IlluminationContrast(DegradationOp):
    """Global illumination change: gamma, contrast (around the mean) and brightness, each with a random sign.

    ``gamma: 1.8`` means gamma in [1/1.8, 1.8] at full severity; ``contrast: 0.5`` a factor in
    [1/1.5, 1.5]; ``brightness: 0.25`` an additive shift in [-0.25, 0.25].
    """

    def __init__(
        self, brightness: float = 0.25, contrast: float = 0.5, gamma: float = 1.8, clamp: bool = True
    ) -> None:
        super().__init__(clamp)
        self.brightness, self.contrast, self.gamma = brightness, contrast, gamma

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        signs = torch.randint(0, 2, (3, images.shape[0]), generator=generator, device=images.device) * 2 - 1
        gamma = self.gamma ** (signs[0] * severity)
        contrast = (1.0 + self.contrast) ** (signs[1] * severity)
        shift = signs[2] * severity * self.brightness
        out = adjust_gamma(images, gamma)
        out = adjust_contrast_with_mean_subtraction(out, contrast)
        return adjust_brightness(out, shift, clip_output=False)


class UnevenIllumination(DegradationOp):
    """A smooth light gradient across the image: ``x * (1 + strength * (2 f - 1))`` with ``f`` in [0, 1].

    Each sample gets one of three fields (Kornia's linear, corner and Gaussian illumination shapes):
    ``linear`` ramps along a random direction, ``corner`` falls off from a random corner, ``gaussian``
    is a spotlight with a random centre and width. Kornia's versions draw from the global RNG and add
    light instead of scaling it, so the fields are computed here.
    """

    SHAPES = ("linear", "corner", "gaussian")

    def __init__(self, strength: tuple[float, float] = (0.1, 0.5), clamp: bool = True) -> None:
        super().__init__(clamp)
        self.strength = tuple(strength)

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n = images.shape[0]
        y, x = pixel_grid(images)
        shape = torch.randint(0, 3, (n, 1, 1, 1), generator=generator, device=images.device)
        angle = uniform((n, 1, 1, 1), 0.0, 2 * torch.pi, generator, images)
        cos, sin = angle.cos(), angle.sin()
        ramp = ((x - 0.5) * cos + (y - 0.5) * sin) / (cos.abs() + sin.abs()) + 0.5
        corner_y, corner_x = torch.randint(0, 2, (2, n, 1, 1, 1), generator=generator, device=images.device)
        corner = 1 - ((y - corner_y).square() + (x - corner_x).square()).sqrt() / 2**0.5
        centre_y, centre_x = uniform((2, n, 1, 1, 1), 0.1, 0.9, generator, images)
        width = uniform((n, 1, 1, 1), 0.2, 0.6, generator, images)
        spot = torch.exp(-((y - centre_y).square() + (x - centre_x).square()) / (2 * width.square()))
        field = torch.where(shape == 0, ramp, torch.where(shape == 1, corner, spot))
        strength = lerp(self.strength, severity).view(-1, 1, 1, 1)
        return images * (1 + strength * (2 * field - 1))


class RandomShadows(DegradationOp):
    """Cast shadows of irregular shape: the image is darkened by ``darkness`` where a plasma map is low.

    The shape comes from Kornia's plasma fractal (``diamond_square``, as in its ``RandomPlasmaShadow``),
    drawn from the bank's generator; a small blur gives the shadow a penumbra instead of a cut edge.
    ``coverage`` is the plasma threshold, roughly the shaded fraction of the image.
    """

    def __init__(
        self,
        darkness: tuple[float, float] = (0.2, 0.6),
        coverage: tuple[float, float] = (0.3, 0.5),
        roughness: float = 0.6,
        clamp: bool = True,
    ) -> None:
        super().__init__(clamp)
        self.darkness, self.coverage, self.roughness = tuple(darkness), tuple(coverage), roughness

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n, _, h, w = images.shape
        plasma = diamond_square(
            (n, 1, h, w),
            roughness=self.roughness,
            random_fn=functools.partial(torch.rand, generator=generator),
            normalize_range=(0.0, 1.0),
            device=images.device,
            dtype=images.dtype,
        )
        shade = (plasma < lerp(self.coverage, severity).view(-1, 1, 1, 1)).to(images.dtype)
        shade = gaussian_blur2d(shade, 7, (1.5, 1.5))
        return images * (1 - lerp(self.darkness, severity).view(-1, 1, 1, 1) * shade)


class SpecularHighlights(DegradationOp):
    """Bright, saturated reflections: ``count`` elliptical glints added to the image, then clipped.

    Each glint is an anisotropic Gaussian with a random centre, angle, size and aspect ratio: round
    spots at aspect 1, streaks (reflections off a curved surface) when thin. The clipping at white
    destroys what was under the glint, which the model has to fill in.
    """

    def __init__(
        self,
        intensity: tuple[float, float] = (0.4, 1.2),
        size: tuple[float, float] = (0.03, 0.12),
        count: int = 3,
        clamp: bool = True,
    ) -> None:
        super().__init__(clamp)
        self.intensity, self.size, self.count = tuple(intensity), tuple(size), count

    def apply(self, images: Tensor, severity: Tensor, generator: torch.Generator) -> Tensor:
        n, m = images.shape[0], self.count
        y, x = pixel_grid(images)
        centre_y, centre_x = uniform((2, n, m, 1, 1), 0.1, 0.9, generator, images)
        angle = uniform((n, m, 1, 1), 0.0, torch.pi, generator, images)
        long_axis = lerp(self.size, severity).view(-1, 1, 1, 1) * uniform(
            (n, m, 1, 1), 0.5, 1.5, generator, images
        )
        short_axis = long_axis * uniform((n, m, 1, 1), 0.15, 1.0, generator, images)
        along = (x - centre_x) * angle.cos() + (y - centre_y) * angle.sin()
        across = -(x - centre_x) * angle.sin() + (y - centre_y) * angle.cos()
        glints = torch.exp(-0.5 * ((along / long_axis).square() + (across / short_axis).square()))
        present = torch.arange(m, device=images.device) < torch.randint(
            1, m + 1, (n, 1), generator=generator, device=images.device
        )
        light = (glints * present.view(n, m, 1, 1)).sum(dim=1, keepdim=True)
        return images + lerp(self.intensity, severity).view(-1, 1, 1, 1) * light
