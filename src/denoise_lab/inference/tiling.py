"""Restore images of any size with bounded memory: overlapping tiles, blended, and an optional x8 ensemble.

Only one tile's activations exist at a time, and blending runs band by band: a band of tile rows is summed
in float32, and its rows are finished (divided by their weights, written out) as soon as no later tile
covers them. So besides the image itself (which :mod:`denoise_lab.predict` keeps in its 8- or 16-bit form
and restores in place) memory holds one band of floats, ``size`` rows tall, whatever the photo's height.
Where tiles overlap, each tile drops the quarter of the overlap next to its own
(internal) edge, where zero padding changed its output, and the middle half of the overlap is blended
linearly between neighbours. Tile starts are multiples of ``align`` (at least the model's total
downsampling) so every tile pools on the same grid as the whole image. Hence, when overlap / 4 is at least
the model's receptive-field radius (46 px for the default U-Net), the tiled result equals the untiled one
up to float rounding; with a smaller overlap, or a model with global pooling (NAFNet's channel attention),
the blend hides the seams instead. Settings are checked where they enter (``config.check_tile``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Network = Callable[[Tensor], Tensor]
Convert = Callable[[Tensor], Tensor]


def tile_spans(length: int, size: int, overlap: int, align: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the tiles along one axis: every ``size - overlap`` pixels, the last one
    starting at a multiple of ``align`` and running to the end (so it may be up to ``align - 1`` longer)."""
    if length <= size:
        return [(0, length)]
    starts = list(range(0, length - size, size - overlap))
    last = (length - size) // align * align
    if last == starts[-1]:
        starts.pop()
    return [(s, s + size) for s in starts] + [(last, length)]


def edge_weights(span: tuple[int, int], length: int, overlap: int) -> Tensor:
    """1-D blending weights of one tile: 0 on the outer quarter of the overlap at each internal edge,
    a linear ramp over the middle half, 1 elsewhere; image edges are not internal and keep weight 1."""
    start, stop = span
    x = torch.arange(stop - start, dtype=torch.float32) + 0.5
    ramp = max(overlap / 2, 1.0)
    weight = torch.ones_like(x)
    if start > 0:
        weight = weight.minimum(((x - overlap / 4) / ramp).clamp(0, 1))
    if stop < length:
        weight = weight.minimum(((stop - start - x - overlap / 4) / ramp).clamp(0, 1))
    return weight


def axis_total(spans: list[tuple[int, int]], length: int, overlap: int) -> Tensor:
    """The sum of the tiles' 1-D blending weights at every pixel of one axis."""
    total = torch.zeros(length)
    for span in spans:
        total[span[0] : span[1]] += edge_weights(span, length, overlap)
    return total


def tiled(
    network: Network,
    image: Tensor,
    size: int,
    overlap: int,
    align: int = 32,
    output: Tensor | None = None,
    to_float: Convert = lambda tile: tile,
    from_float: Convert = lambda rows: rows,
) -> Tensor:
    """``network`` applied to a (1, C, H, W) image tile by tile and blended (see the module docstring).

    ``to_float`` turns a slice of ``image`` into the network's input, ``from_float`` finished rows of its
    output into ``output``'s type (both identities for a float image). ``output`` defaults to a new float
    tensor; it may be ``image`` itself: rows are finished only once no later tile reads them. The image may
    live on the CPU while the network runs on another device: tiles move one at a time.
    """
    _, _, h, w = image.shape
    rows, cols = tile_spans(h, size, overlap, align), tile_spans(w, size, overlap, align)
    if output is None:
        output = torch.empty(image.shape, dtype=torch.float32, device=image.device)
    # Every tile's weight is a row profile times a column profile, so their sum over tiles is too.
    row_total, col_total = (
        axis_total(spans, n, overlap).to(image.device) for spans, n in ((rows, h), (cols, w))
    )
    band, band_top = None, 0  # weighted float sums over rows [band_top, band_top + band height)
    for index, (top, bottom) in enumerate(rows):
        row_weight = edge_weights((top, bottom), h, overlap).to(image.device)
        for left, right in cols:
            weight = row_weight[:, None] * edge_weights((left, right), w, overlap).to(image.device)
            restored = network(to_float(image[..., top:bottom, left:right])).float().to(image.device)
            if band is None:
                band = restored.new_zeros(1, restored.shape[1], 0, w)
            if (missing := bottom - band_top - band.shape[2]) > 0:
                band = torch.cat([band, band.new_zeros(1, band.shape[1], missing, w)], dim=2)
            band[..., top - band_top : bottom - band_top, left:right] += restored * weight
        finished = rows[index + 1][0] if index + 1 < len(rows) else h
        done = finished - band_top
        total = row_total[band_top:finished, None] * col_total
        output[..., band_top:finished, :] = from_float(band[..., :done, :] / total)
        band, band_top = band[..., done:, :], finished
    return output


def self_ensemble(network: Network) -> Network:
    """x8 geometric self-ensemble: the mean of the network over the 4 rotations x 2 flips, each undone."""

    def ensembled(image: Tensor) -> Tensor:
        total = torch.zeros_like(image)
        for flip in (False, True):
            flipped = image.flip(-1) if flip else image
            for turns in range(4):
                out = network(flipped.rot90(turns, (-2, -1))).rot90(-turns, (-2, -1))
                total += out.flip(-1) if flip else out
        return total / 8

    return ensembled


def device_of(name: str) -> torch.device:
    """``auto`` picks CUDA when present; anything else is passed to :class:`torch.device`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def device_network(model: torch.nn.Module, device: torch.device, ensemble: bool = False) -> Network:
    """``model`` in eval mode on ``device`` as a function of a (B, C, H, W) batch that may live elsewhere
    (the result stays on ``device``). Weights and inputs are laid out channels-last (NHWC), the layout
    oneDNN's and cuDNN's fastest convolutions take: 1.4x faster on CPU, same values."""
    model = model.to(device, memory_format=torch.channels_last).eval()
    network = self_ensemble(model) if ensemble else model

    def on_device(tile: Tensor) -> Tensor:
        return network(tile.to(device).contiguous(memory_format=torch.channels_last)).contiguous()

    return on_device


def restorer(
    model: torch.nn.Module,
    device: torch.device,
    size: int,
    overlap: int,
    align: int = 32,
    ensemble: bool = False,
) -> Network:
    """``restore(images)``: :func:`device_network` without gradients on a (B, C, H, W) float batch. Images
    up to ``size`` go through as one batch; larger ones one by one, tile by tile. The result is on the
    images' device."""
    on_device = device_network(model, device, ensemble)

    def restore(images: Tensor) -> Tensor:
        with torch.inference_mode():
            if max(images.shape[-2:]) <= size:
                return on_device(images).to(images.device)
            return torch.cat([tiled(on_device, image[None], size, overlap, align) for image in images])

    return restore
