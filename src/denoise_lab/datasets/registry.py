"""The standard sets by name: what each is, how a run may use it, how its files are laid out.

Where the files come from (public URLs pinned to a commit) and their sha256 live in the set's manifest,
``manifests/<name>.csv`` (columns path, sha256, url), the one place for those facts; an entry here says what
the set is for. Its role is a fact about the files, not a convention: ``train`` names the files a run may
train on, so a test set (``train=()``) cannot leak into training, and PolyU's cameras are split the way the
project compares on them (Canon crops may train; NikonD800 and Sony crops are test only).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from denoise_lab.config import ConfigError

MANIFESTS = Path(__file__).parent / "manifests"


@dataclass(frozen=True)
class ManifestFile:
    """One file of a set: its path in the set's folder, its sha256 (hex) and the URL it is fetched from."""

    path: str
    sha256: str
    url: str


@dataclass(frozen=True)
class Dataset:
    """A registry entry. ``train``: globs over file names that a run may train on (``("*",)`` a training set,
    ``()`` a test set). ``pairs``: the (noisy, clean) name suffixes of pairs kept side by side in one folder,
    ``None`` for clean images that the degradations corrupt. ``cameras``: the name prefixes
    (``<camera>_...``) that ``data.cameras`` selects among."""

    name: str
    description: str
    citation: str
    train: tuple[str, ...]
    pairs: tuple[str, str] | None = None
    cameras: tuple[str, ...] = ()

    @property
    def role(self) -> str:
        """``train``, ``test``, or which files are which where the set holds both."""
        if not self.train:
            return "test"
        if self.train == ("*",):
            return "train"
        return f"train ({', '.join(self.train)}), test (the rest)"

    def may_train(self, path: str) -> bool:
        return any(fnmatchcase(path, glob) for glob in self.train)

    def files(self) -> list[ManifestFile]:
        """The manifest: every file of the set, with its checksum and URL."""
        with (MANIFESTS / f"{self.name}.csv").open(newline="") as f:
            return [ManifestFile(**row) for row in csv.DictReader(f)]

    def select(self, cameras: list[str] | None) -> list[ManifestFile]:
        """The files of the cameras matching ``cameras`` (names or globs, e.g. ``Canon*``); all for ``None``."""
        if cameras is None:
            return self.files()
        if not self.cameras:
            several = [d.name for d in DATASETS.values() if d.cameras]
            raise ConfigError(f"data.cameras selects among the cameras of {several}, not of {self.name}")
        for glob in cameras:
            if not any(fnmatchcase(camera, glob) for camera in self.cameras):
                raise ConfigError(
                    f"data.cameras '{glob}' matches none of {self.name}'s cameras "
                    f"{list(self.cameras)} (globs such as Canon* are accepted)"
                )
        return [f for f in self.files() if any(fnmatchcase(self.camera(f.path), g) for g in cameras)]

    def camera(self, path: str) -> str:
        return next(camera for camera in self.cameras if path.startswith(f"{camera}_"))


DATASETS = {
    entry.name: entry
    for entry in (
        Dataset(
            "cbsd68",
            "68 colour photos of the Berkeley segmentation dataset's test half (481x321): the colour "
            "Gaussian-denoising benchmark",
            "Martin et al., ICCV 2001 (BSD); Roth and Black, CVPR 2005 (the 68)",
            train=(),
        ),
        Dataset(
            "bsd68",
            "the same 68 photos in gray: the gray Gaussian-denoising benchmark",
            "Martin et al., ICCV 2001 (BSD); Roth and Black, CVPR 2005 (the 68)",
            train=(),
        ),
        Dataset(
            "kodak24",
            "the 24 Kodak PhotoCD photos as FFDNet ships them: 500x500 crops, so scores differ from tables "
            "on the 768x512 originals",
            "Kodak Lossless True Color Image Suite; crops of Zhang, Zuo and Zhang, IEEE TIP 2018 (FFDNet)",
            train=(),
        ),
        Dataset(
            "mcmaster",
            "18 colour 500x500 crops, saturated colours and sharp colour edges",
            "Zhang, Wu, Buades and Li, Journal of Electronic Imaging 20(2), 2011",
            train=(),
        ),
        Dataset(
            "cbsd432",
            "the 432 colour BSD photos not in CBSD68: colour DnCNN's training set",
            "Martin et al., ICCV 2001 (BSD); Zhang et al., IEEE TIP 2017 (DnCNN)",
            train=("*",),
        ),
        Dataset(
            "bsd400",
            "400 gray 180x180 BSD crops: the training set of TNRD and gray DnCNN",
            "Chen and Pock, IEEE TPAMI 2017 (TNRD); Zhang et al., IEEE TIP 2017 (DnCNN)",
            train=("*",),
        ),
        Dataset(
            "polyu",
            "real camera noise: 100 512x512 crops of 40 scenes from 5 cameras, <scene>_real.JPG one shot "
            "(noisy), <scene>_mean.JPG the mean of many (clean); non-commercial use only",
            "Xu, Li, Liang, Zhang and Zhang, Real-world noisy image denoising: a new benchmark, "
            "arXiv:1804.02603, 2018",
            train=("Canon*",),
            pairs=("_real", "_mean"),
            cameras=("Canon5D2", "Canon600D", "Canon80D", "NikonD800", "Sony"),
        ),
        Dataset(
            "polyu_canon_full",
            "real camera noise to train on: PolyU's 16 full-size Canon scenes (2784x1856, 2976x1680) that its "
            "Canon crops were cut from, <scene>_Real.JPG one shot, <scene>_mean.JPG the mean of many "
            "(Canon600D's shots are not in the repository); non-commercial use only",
            "Xu, Li, Liang, Zhang and Zhang, Real-world noisy image denoising: a new benchmark, "
            "arXiv:1804.02603, 2018",
            train=("*",),
            pairs=("_Real", "_mean"),
            cameras=("Canon5D2", "Canon80D"),
        ),
    )
}


def lookup(name: str) -> Dataset:
    """The registry entry of ``name``; an unknown name is one line listing the known ones."""
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}")
    return DATASETS[name]
