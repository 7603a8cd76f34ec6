"""DenoiseDataModule: clean images on the CPU, degradations on the device after the batch arrives.

Training batches are degraded by :meth:`DegradationBank.sample` (a random op per sample, by the bank's
weights). Validation assigns ops round-robin by sample key so every op is measured on its share of
crops. Paired data arrives already degraded and bypasses the bank (its single "op" is called ``paired``).
The final test (every op on every crop) is not a Lightning stage: :mod:`denoise_lab.evaluation.cases`
builds its cases from :meth:`DenoiseDataModule.heldout_images` and :meth:`DenoiseDataModule.crops`. A source with
a test split of its own (``load_test``: CIFAR-10's test batch, a standard test set whole, PolyU's test-only
cameras) is tested on it, and validation is carved from its training images; for the others the held-out
images serve both validation and test.

Loader settings left at ``null`` follow the device the trainer runs on (:func:`auto_workers`): on a CPU
the model needs every core and a batch of crops from the cached arrays costs about 1 % of a training
step, so loading stays in the main process; on a GPU the step is short, so worker processes prepare the
next batches while the device computes, and batches are pinned for fast asynchronous copies.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor
from torch.utils.data import DataLoader

from denoise_lab.config import ConfigError
from denoise_lab.data.cifar import Cifar10
from denoise_lab.data.datasets import FixedCrops, PatchKeys, RandomPatches, fit_to_size, rescaled_copies
from denoise_lab.data.dead_leaves import dead_leaves_images
from denoise_lab.data.sources import ImageFolder, LoadedImage, PairedFolders, SampleImages
from denoise_lab.data.standard import StandardDataset
from denoise_lab.degradations import DegradationBank, Degraded

log = logging.getLogger(__name__)

PAIRED_OP = "paired"


def auto_workers(on_cuda: bool) -> int:
    """``num_workers: null``: none on a CPU (workers would take cores from the model), else up to 4,
    leaving one core to the main process."""
    if not on_cuda:
        return 0
    return max(1, min(4, len(os.sched_getaffinity(0)) - 1))


def split_by_image(
    images: list[LoadedImage], val_ratio: float, seed: int, holdout: list[str] | None = None
) -> tuple[list, list]:
    """Whole images (never crops of one image on both sides) split into train and val: the images named
    in ``holdout`` (by file name, with or without extension), else a seeded ``val_ratio`` share."""
    if len(images) < 2:
        raise ConfigError(
            f"need at least 2 images to split into train and val (one at least for each), found {len(images)}"
        )
    if holdout:
        wanted = set(holdout)
        held = [im for im in images if im.name in wanted or Path(im.name).stem in wanted]
        missing = wanted - {im.name for im in held} - {Path(im.name).stem for im in held}
        if missing or len(held) == len(images):
            raise ConfigError(
                f"data.holdout {sorted(holdout)} must name some, not all, of the images; "
                f"not found: {sorted(missing)}"
            )
        return [im for im in images if im not in held], held
    if not 0.0 < val_ratio < 1.0:
        raise ConfigError(f"data.val_ratio must lie strictly between 0 and 1, got {val_ratio}")
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = min(len(images) - 1, max(1, round(val_ratio * len(images))))
    return [images[i] for i in order[n_val:]], [images[i] for i in order[:n_val]]


class DenoiseDataModule(L.LightningDataModule):
    def __init__(
        self,
        source: Any,
        bank: DegradationBank | None = None,
        patch_size: int = 64,
        patches_per_epoch: int = 1024,
        batch_size: int = 16,
        eval_batch_size: int = 16,
        val_ratio: float = 0.25,
        holdout: list[str] | None = None,
        val_crop_size: int = 128,
        val_crops_per_image: int = 8,
        small_images: str = "pad",
        augment: bool = True,
        scales: list[float] = (1.0,),
        synthetic: int = 0,
        num_workers: int | None = None,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not source.paired and bank is None:
            raise ValueError("unpaired image sources need a degradation bank (config group `degradation`)")
        self.source = source
        self.bank = None if source.paired else bank  # paired data brings its own degraded inputs
        self.patch_size, self.patches_per_epoch = patch_size, patches_per_epoch
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.val_ratio, self.val_crop_size, self.val_crops_per_image = (
            val_ratio,
            val_crop_size,
            val_crops_per_image,
        )
        self.holdout = list(holdout) if holdout else None
        self.small_images, self.augment, self.seed = small_images, augment, seed
        self.scales, self.synthetic = list(scales), synthetic
        self.num_workers, self.pin_memory, self.persistent_workers = (
            num_workers,
            pin_memory,
            persistent_workers,
        )
        self.train_set: RandomPatches | None = None
        self.val_set: FixedCrops | None = None

    @classmethod
    def from_samples(cls, names: list[str], **loader: Any) -> DenoiseDataModule:
        """``data=samples``: the colour photos bundled with scikit-image."""
        return cls(SampleImages(names), **loader)

    @classmethod
    def from_folder(cls, dir: str, recursive: bool = True, **loader: Any) -> DenoiseDataModule:
        """``data=folder data.dir=...``: every image under a folder of the user's."""
        return cls(ImageFolder(dir, recursive), **loader)

    @classmethod
    def from_pairs(cls, dir: str, low: str = "low", high: str = "high", **loader: Any) -> DenoiseDataModule:
        """``data=paired data.dir=...``: ``dir/low`` inputs matched by name to ``dir/high`` targets."""
        return cls(PairedFolders(dir, low, high), **loader)

    @classmethod
    def from_cifar10(cls, dir: str, **loader: Any) -> DenoiseDataModule:
        """``data=cifar10``: CIFAR-10's python batches in ``dir`` (downloaded there when it is empty)."""
        return cls(Cifar10(dir), **loader)

    @classmethod
    def from_dataset(
        cls,
        name: str,
        dir: str | None = None,
        cache_dir: str | None = None,
        cameras: list[str] | None = None,
        **loader: Any,
    ) -> DenoiseDataModule:
        """``data=<name>`` (``data=cbsd68``): a standard set, fetched once into the cache below ``cache_dir``
        or read from ``dir``, checked against its manifest either way (:mod:`denoise_lab.datasets`)."""
        return cls(StandardDataset(name, dir, cache_dir, cameras), **loader)

    @property
    def op_names(self) -> list[str]:
        """Names of the degradations this data produces, in op-index order."""
        return [PAIRED_OP] if self.source.paired else self.bank.names

    def setup(self, stage: str | None = None) -> None:
        if self.bank is not None and self.trainer is not None:
            self.bank.stream = self.trainer.global_rank
        if self.train_set is not None:
            return  # decoded once per run, whatever the number of stages
        train, val = self.splits()
        log.info(
            "data: %d train images, %d val images (%s)",
            len(train),
            len(val),
            ", ".join(im.name for im in val[:8]) + (", ..." if len(val) > 8 else ""),
        )
        train = rescaled_copies(train, self.scales) + dead_leaves_images(self.synthetic, train, self.seed)
        train = fit_to_size(train, self.patch_size, self.small_images, "train")
        self.train_set = RandomPatches(train, self.patch_size, self.patches_per_epoch, self.augment)
        self.val_set = self.crops(val, "val")

    def splits(self) -> tuple[list[LoadedImage], list[LoadedImage]]:
        """Train and validation images: the configured holdout, else a seeded split by image."""
        images = self.source.load()
        if not images:  # a standard test set: all of it is its own test split
            raise ConfigError(
                f"{self.source} holds nothing a run may train on; score a checkpoint on it with "
                "python -m denoise_lab.evaluate instead"
            )
        return split_by_image(images, self.val_ratio, self.seed, self.holdout)

    def heldout_images(self) -> list[LoadedImage]:
        """The images the final evaluation scores, never trained on: the source's own test split where it
        has one (CIFAR-10's test_batch, a standard test set), else the validation images."""
        load_test = getattr(self.source, "load_test", None)
        test = load_test() if load_test is not None else []
        return test or self.splits()[1]  # empty for PolyU's trainable cameras alone

    def crops(self, images: list[LoadedImage], purpose: str) -> FixedCrops:
        """The fixed evaluation crops of ``images`` (``purpose`` names them in the small-image notice)."""
        images = fit_to_size(images, self.val_crop_size, self.small_images, purpose)
        return FixedCrops(images, self.val_crop_size, self.val_crops_per_image)

    def loader_settings(self) -> dict[str, Any]:
        """``num_workers``, ``pin_memory`` and ``persistent_workers`` as configured, ``null`` resolved for
        the trainer's device (CUDA when no trainer is attached and CUDA is available)."""
        if self.trainer is not None:
            on_cuda = self.trainer.strategy.root_device.type == "cuda"
        else:
            on_cuda = torch.cuda.is_available()
        workers = auto_workers(on_cuda) if self.num_workers is None else self.num_workers
        return {
            "num_workers": workers,
            "pin_memory": on_cuda if self.pin_memory is None else self.pin_memory,
            "persistent_workers": self.persistent_workers and workers > 0,
        }

    def _loader(self, dataset, batch_size: int, train: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=PatchKeys(len(dataset), self.seed) if train else None,
            drop_last=train,
            **self.loader_settings(),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.eval_batch_size, train=False)

    def on_after_batch_transfer(self, batch: dict[str, Tensor], dataloader_idx: int) -> dict[str, Tensor]:
        """Degrade the clean batch on the device; record each sample's op index and severity."""
        if isinstance(batch, Tensor):  # the model summary's example input, already the model's input
            return batch
        clean = batch["clean"]
        if "degraded" in batch:  # paired data: the low-quality image is the input
            zeros = torch.zeros(clean.shape[0], device=clean.device)
            return {**batch, "op": zeros.long(), "severity": zeros}
        if self.trainer is None or self.trainer.training:
            degraded = self.bank.sample(clean)
        else:
            degraded = self.validation_degraded(clean, batch["index"])
        return {
            **batch,
            "degraded": degraded.image,
            "op": degraded.op_index,
            "severity": degraded.severity,
        }

    def validation_degraded(self, clean: Tensor, keys: Tensor) -> Degraded:
        """Validation's degradation of fixed crops: the ops round-robin over the crop keys, each seeded by
        its (crop, op), so every epoch, run and comparison sees the same inputs."""
        return self.bank.apply_fixed(clean, keys, keys % len(self.bank))

    def state_dict(self) -> dict[str, Any]:
        return {"bank": self.bank.state_dict()} if self.bank is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if self.bank is not None and "bank" in state_dict:
            self.bank.load_state_dict(state_dict["bank"])


def build_datamodule(cfg: DictConfig) -> DenoiseDataModule:
    """The data a run config describes (``cfg.data``), with its degradation bank (``cfg.degradation``;
    none for paired data): what training, evaluation, shipping and the bench all start from. A source
    refusing a config value (``data.name=nonesuch``) says so in its own one line, not in Hydra's wrapping."""
    bank = instantiate(cfg.degradation, _convert_="all")
    try:
        return instantiate(cfg.data, bank=bank)
    except InstantiationException as error:
        if isinstance(error.__cause__, ConfigError):
            raise error.__cause__ from None
        raise
