"""Restore images of any size with bounded memory: overlapping tiles, blended, and an optional self-ensemble.

Only one tile's activations exist at a time, and blending runs band by band: a band of tile rows is summed
in float32, and its rows are finished (divided by their weights, written out) as soon as no later tile
covers them. So besides the image itself (which :mod:`denoise_lab.inference.restore_files` keeps in its 8- or 16-bit form
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

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from denoise_lab.config import ENSEMBLE_SIZES, PRECISIONS, native_bf16

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


Read = Callable[[int, int], Tensor]
FINISH_ROWS = 64


def restored_bands(
    network: Network,
    read: Read,
    height: int,
    width: int,
    size: int,
    overlap: int,
    align: int = 32,
    to_float: Convert = lambda tile: tile,
) -> Iterator[tuple[int, Tensor]]:
    """``network`` applied tile by tile to a (1, C, ``height``, ``width``) image that is read a strip at a
    time, top to bottom: ``read(top, bottom)`` gives its rows ``[top, bottom)`` (each strip starts at or
    below the previous one's start). Yields ``(top, rows)``: consecutive bands of finished float rows
    from the top of the image down, each as soon as no later tile covers it (see the module docstring).
    ``to_float`` turns a tile of a strip into the network's input. The strips may live on the CPU while the
    network runs on another device: tiles move one at a time, and the bands are on the strips' device."""
    rows, cols = tile_spans(height, size, overlap, align), tile_spans(width, size, overlap, align)
    # Every tile's weight is a row profile times a column profile, so their sum over tiles is too.
    row_total, col_total = axis_total(rows, height, overlap), axis_total(cols, width, overlap)
    band = None  # weighted float sums of the current strip's rows: band row 0 is image row `top`
    for index, (top, bottom) in enumerate(rows):
        strip = read(top, bottom)
        row_weight = edge_weights((top, bottom), height, overlap).to(strip.device)
        for left, right in cols:
            weight = row_weight[:, None] * edge_weights((left, right), width, overlap).to(strip.device)
            restored = network(to_float(strip[..., left:right])).float().to(strip.device)
            if band is None:  # one buffer for every strip: the last one is the tallest
                band = restored.new_zeros(1, restored.shape[1], rows[-1][1] - rows[-1][0], width)
            band[..., : bottom - top, left:right] += restored * weight
        finished = rows[index + 1][0] if index + 1 < len(rows) else height
        # Rows are finished a few at a time, so the temporaries of dividing and converting them stay small.
        for start in range(top, finished, FINISH_ROWS):
            stop = min(start + FINISH_ROWS, finished)
            total = (row_total[start:stop, None] * col_total).to(band.device)
            yield start, band[..., start - top : stop - top, :] / total
        carried = band[..., finished - top : bottom - top, :].clone()  # the next strip's first rows
        band.zero_()[..., : carried.shape[2], :] = carried


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
    """``network`` applied to a (1, C, H, W) image tile by tile and blended (:func:`restored_bands`).

    ``from_float`` turns finished rows into ``output``'s type (an identity for a float image). ``output``
    defaults to a new float tensor; it may be ``image`` itself: rows are finished only once no later tile
    reads them.
    """
    _, _, h, w = image.shape
    if output is None:
        output = torch.empty(image.shape, dtype=torch.float32, device=image.device)
    strips = restored_bands(
        network, lambda top, bottom: image[..., top:bottom, :], h, w, size, overlap, align, to_float
    )
    for top, rows in strips:
        output[..., top : top + rows.shape[2], :] = from_float(rows)
    return output


# The 8 flips/rotations of the self-ensemble as (horizontal flip, quarter turns), in an order whose first 1,
# 2 and 4 are each a group (identity; + the mirror; + the half turn and its mirror), so every ensemble size
# treats the image's axes alike.
ENSEMBLE_VIEWS = ((False, 0), (True, 0), (False, 2), (True, 2), (False, 1), (True, 1), (False, 3), (True, 3))


def self_ensemble(network: Network, size: int = 8) -> Network:
    """Geometric self-ensemble: the mean of the network over the first ``size`` of :data:`ENSEMBLE_VIEWS`,
    each undone (KAIR's and BasicSR's "x8" with ``size=8``; ``size`` times the network's time)."""
    if size not in ENSEMBLE_SIZES:
        raise ValueError(f"the self-ensemble takes {ENSEMBLE_SIZES} views, got {size}")

    def ensembled(image: Tensor) -> Tensor:
        total = torch.zeros(image.shape, dtype=torch.float32, device=image.device)
        for flip, turns in ENSEMBLE_VIEWS[:size]:
            flipped = image.flip(-1) if flip else image
            out = network(flipped.rot90(turns, (-2, -1))).rot90(-turns, (-2, -1))
            total += out.flip(-1) if flip else out
        return total / size

    return ensembled


def device_of(name: str) -> torch.device:
    """``auto`` picks CUDA when present; anything else is passed to :class:`torch.device`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def uses_bf16(precision: str, device: torch.device) -> bool:
    """``precision`` of predict and evaluate: ``auto`` computes in bfloat16 where ``device`` does so natively
    (the shipped DRUNet ran 2.4-3x faster on AVX512-BF16 CPUs, -0.01 dB), ``bf16`` always, ``32`` never."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got '{precision}'")
    return precision == "bf16" or (precision == "auto" and native_bf16(device.type))


def device_network(
    model: torch.nn.Module, device: torch.device, ensemble: int = 1, precision: str = "32"
) -> Network:
    """``model`` in eval mode on ``device`` as a function of a (B, C, H, W) batch that may live elsewhere
    (the float32 result stays on ``device``). Weights and inputs are laid out channels-last (NHWC), the
    layout oneDNN's and cuDNN's fastest convolutions take: 1.4x faster on CPU, same values. ``ensemble``
    views are averaged (:func:`self_ensemble`); ``precision`` as :func:`uses_bf16` says, under autocast
    (weights stay float32)."""
    model = model.to(device, memory_format=torch.channels_last).eval()
    network = self_ensemble(model, ensemble) if ensemble > 1 else model
    bf16 = uses_bf16(precision, device)

    def on_device(tile: Tensor) -> Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            restored = network(tile.to(device).contiguous(memory_format=torch.channels_last))
        return restored.float().contiguous()

    return on_device


def restorer(
    model: torch.nn.Module,
    device: torch.device,
    size: int,
    overlap: int,
    align: int = 32,
    ensemble: int = 1,
    precision: str = "32",
) -> Network:
    """``restore(images)``: :func:`device_network` without gradients on a (B, C, H, W) float batch. Images
    up to ``size`` go through as one batch; larger ones one by one, tile by tile. The result is on the
    images' device."""
    on_device = device_network(model, device, ensemble, precision)

    def restore(images: Tensor) -> Tensor:
        with torch.inference_mode():
            if max(images.shape[-2:]) <= size:
                return on_device(images).to(images.device)
            return torch.cat([tiled(on_device, image[None], size, overlap, align) for image in images])

    return restore
