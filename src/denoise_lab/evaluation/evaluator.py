"""Measure a restorer on evaluation cases (:mod:`denoise_lab.evaluation.cases`), with and without the
reference, beside classical denoisers.

:class:`Evaluator` restores each case, records per-image measures for the original, the degraded and the
restored image, runs the classical baselines on the first few noise images (centre crops, since BM3D
takes seconds per crop) together with the model on the same crops (it too sees only the crop there, so
quality and time compare like with like), and keeps small example crops for the figures. Records are
long-form rows ``(op, scope, method, key, measures...)``; scope ``all`` covers every image, scope
``baselines`` the crops the baselines saw. Every final number of a run or an evaluation is read from them.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import Tensor
from tqdm import tqdm

from denoise_lab.evaluation.baselines import Denoiser, denoise_tensor
from denoise_lab.evaluation.blind_quality import Measure
from denoise_lab.evaluation.cases import Case, centre
from denoise_lab.evaluation.metrics import channel_shifts_255, mse_255, psnr, scored_view, ssim
from denoise_lab.evaluation.no_reference import MEASURES
from denoise_lab.evaluation.perceptual import Distance

ORIGINAL, DEGRADED, MODEL = "original", "degraded", "model"


@dataclass
class Example:
    """Centre crops of one evaluated image: ``clean``, ``degraded``, ``model`` and any baselines."""

    op: str
    key: int
    images: dict[str, Tensor] = field(default_factory=dict)


class Evaluator:
    """Accumulates per-image records and example crops over the cases it is given (see the module doc)."""

    def __init__(
        self,
        restore: Callable[[Tensor], Tensor],
        *,
        quantize: bool = False,
        lpips: Distance | None = None,
        blind: dict[str, Measure] | None = None,
        baselines: dict[str, Denoiser | None] | None = None,
        baseline_images: int | None = 8,
        view_size: int = 128,
        figure_examples: int = 4,
        grid: set[tuple[int, str]] = frozenset(),
        color: str = "rgb",
        crop_border: int = 0,
        loss: Callable[[Tensor, Tensor], Tensor] | None = None,
    ) -> None:
        """``loss``: the training loss, per image, recorded for the model's raw output (``metrics.json``)."""
        self.restore, self.quantize, self.lpips, self.loss = restore, quantize, lpips, loss
        self.no_reference = {**MEASURES, **(blind or {})}  # blind: trained models, e.g. BRISQUE
        self.color, self.crop_border = color, crop_border
        self.baselines = baselines or {}
        self.baseline_images, self.view_size = baseline_images, view_size
        self.figure_examples, self.grid = figure_examples, grid
        self.rows: list[dict] = []
        self.examples: dict[str, list[Example]] = defaultdict(list)
        self.grid_examples: list[Example] = []
        self._baseline_counts: dict[str, int] = defaultdict(int)
        self._warm_shapes: set[torch.Size] = set()

    def shown(self, images: Tensor) -> Tensor:
        """What a user gets to see: clamped to [0, 1], and rounded to 8 bits in the standard protocol."""
        images = images.clamp(0.0, 1.0)
        return (images * 255).round() / 255 if self.quantize else images

    def measure(self, clean: Tensor, images: Tensor, reference: bool = True) -> dict[str, Tensor]:
        values = {name: f(images) for name, f in self.no_reference.items()}
        if reference:
            scored, truth = (scored_view(x, self.color, self.crop_border) for x in (images, clean))
            values.update(psnr=psnr(scored, truth), ssim=ssim(scored, truth), mse=mse_255(scored, truth))
            values.update(channel_shifts_255(images, clean))
            if self.lpips is not None:
                values["lpips"] = self.lpips(images, clean)
        return values

    def record(
        self,
        op: str,
        scope: str,
        method: str,
        keys: list[int],
        values: dict[str, Tensor],
        seconds: float | None = None,
    ) -> None:
        columns = {name: v.detach().float().cpu().tolist() for name, v in values.items()}
        for i, key in enumerate(keys):
            row = {"op": op, "scope": scope, "method": method, "key": key, "seconds": seconds}
            self.rows.append(row | {name: column[i] for name, column in columns.items()})

    def _timed_restore(self, images: Tensor) -> tuple[Tensor, float]:
        """The restored images and the seconds it took. The first images of each shape are restored once
        untimed before: oneDNN and cuDNN choose kernels (and convert weights) on the first call for a shape,
        which made the first row of a report up to 2.5x slower than the same images restored again."""
        if images.shape not in self._warm_shapes:
            self.restore(images)
            self._warm_shapes.add(images.shape)
        start = time.perf_counter()
        output = self.restore(images)
        if output.is_cuda:
            torch.cuda.synchronize()
        return output, time.perf_counter() - start

    def add(self, case: Case) -> None:
        """Restore one case and record every measure; run the baselines on its first images if due."""
        output, seconds = self._timed_restore(case.degraded)
        seconds /= len(case.keys)
        degraded, restored = self.shown(case.degraded), self.shown(output)
        self.record(
            case.op, "all", ORIGINAL, case.keys, self.measure(case.clean, case.clean, reference=False)
        )
        self.record(case.op, "all", DEGRADED, case.keys, self.measure(case.clean, degraded))
        values = self.measure(case.clean, restored)
        if self.loss is not None:
            values["loss"] = self.loss(output.float(), case.clean)
        self.record(case.op, "all", MODEL, case.keys, values, seconds)
        for i, key in enumerate(case.keys):
            views = {  # copies: a view would keep a whole image alive for the figures
                name: centre(x[i], self.view_size).clone()
                for name, x in (("clean", case.clean), (DEGRADED, degraded), (MODEL, restored))
            }
            example = Example(case.op, key, views)
            if case.sigma is not None and case.sigma[i] > 0 and self.baselines and self._due(case.op):
                self._run_baselines(case, i, example)
            if len(self.examples[case.op]) < self.figure_examples:
                self.examples[case.op].append(example)
            if (key, case.op) in self.grid:
                self.grid_examples.append(example)

    def _due(self, op: str) -> bool:
        return self.baseline_images is None or self._baseline_counts[op] < self.baseline_images

    def _run_baselines(self, case: Case, i: int, example: Example) -> None:
        """The model and every baseline on the centre crop of image ``i``, recorded in scope ``baselines``."""
        self._baseline_counts[case.op] += 1
        key, clean = [case.keys[i]], example.images["clean"][None]
        self.record(case.op, "baselines", ORIGINAL, key, self.measure(clean, clean, reference=False))
        self.record(case.op, "baselines", DEGRADED, key, self.measure(clean, example.images[DEGRADED][None]))
        crop = centre(case.degraded[i], self.view_size)
        restored, seconds = self._timed_restore(crop[None])
        self.record(case.op, "baselines", MODEL, key, self.measure(clean, self.shown(restored)), seconds)
        sigma = float(case.sigma[i])
        for label, denoise in self.baselines.items():
            if denoise is None:  # its package is missing: the row says n/a
                self.record(case.op, "baselines", label, key, {})
                continue
            start = time.perf_counter()
            out = denoise_tensor(denoise, crop, sigma)
            seconds = time.perf_counter() - start
            example.images[label] = self.shown(out)
            self.record(
                case.op, "baselines", label, key, self.measure(clean, example.images[label][None]), seconds
            )

    def evaluate(self, cases: Iterator[Case], total: int | None = None) -> pd.DataFrame:
        """Add every case; the per-image records as a DataFrame. A progress bar counts the ``total`` images
        (with the time left) where stderr is a terminal; BM3D on whole images takes minutes."""
        with tqdm(total=total, desc="evaluate", unit="image", disable=None, leave=False) as progress:
            for case in cases:
                self.add(case)
                progress.update(len(case.keys))
        return pd.DataFrame(self.rows)
