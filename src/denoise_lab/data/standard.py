"""``data=<name>`` (``data=cbsd68``): a standard set of :mod:`denoise_lab.datasets` as an image source.

The registry's role splits the set's files: :meth:`StandardDataset.load` returns those a run may train on
(none of a test set such as CBSD68), :meth:`StandardDataset.load_test` the rest, the source's own test
split, which evaluation scores as the held-out images. So evaluating on a test set scores all of it, and a
run on PolyU trains on its Canon crops and is tested on the other cameras'.
"""

from __future__ import annotations

from pathlib import Path

from denoise_lab.data.sources import LoadedImage, decode_all, decode_pairs, pair_by_suffix
from denoise_lab.datasets import local_copy, lookup


class StandardDataset:
    """The files of ``name`` (of the cameras matching ``cameras``, where the set has several), read from
    ``dir`` or from the cache below ``cache_dir``, checked against the manifest on first use."""

    def __init__(
        self,
        name: str,
        dir: str | None = None,
        cache_dir: str | None = None,
        cameras: list[str] | None = None,
    ) -> None:
        self.dataset = lookup(name)
        self.cameras = None if cameras is None else [cameras] if isinstance(cameras, str) else list(cameras)
        self.files = self.dataset.select(self.cameras)
        self.dir, self.cache_dir = dir, cache_dir
        self.paired = self.dataset.pairs is not None
        self._folder: Path | None = None

    def __str__(self) -> str:
        cameras = f" data.cameras={self.cameras}" if self.cameras else ""
        return f"data={self.dataset.name}{cameras} (role: {self.dataset.role})"

    def folder(self) -> Path:
        """The checked local copy, fetched on first use."""
        if self._folder is None:
            self._folder = local_copy(self.dataset, self.files, self.dir, self.cache_dir)
        return self._folder

    def load(self) -> list[LoadedImage]:
        return self._decode(train=True)

    def load_test(self) -> list[LoadedImage]:
        return self._decode(train=False)

    def _decode(self, train: bool) -> list[LoadedImage]:
        paths = [self.folder() / f.path for f in self.files if self.dataset.may_train(f.path) == train]
        if not paths:
            return []
        if self.dataset.pairs is None:
            return decode_all(paths, self.folder())
        return decode_pairs(pair_by_suffix(paths, *self.dataset.pairs))
