"""CIFAR-10 from its official "python version" batches: seed 001's data, whole 32x32 images.

The batches are pickled dicts whose ``b"data"`` holds N x 3072 uint8 rows (the red, green and blue 32x32
planes, row-major). :class:`Cifar10` reads ``data_batch_1..5`` as the training images and ``test_batch`` as
its own test split, so the DataModule carves validation from the training images only and tests on the
images CIFAR-10 publishes its figures on. No torchvision: the format is a few lines of numpy.

Missing batches are downloaded once into ``data.dir`` (the standard sets of :mod:`denoise_lab.datasets` are
the package's only other downloads); every failure is one line that says what was expected where.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import pickle
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from denoise_lab.data.sources import LoadedImage

log = logging.getLogger(__name__)

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # of the archive, as published beside it
ARCHIVE_FOLDER = "cifar-10-batches-py"  # what the archive unpacks to
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
EXPECTED = [*TRAIN_BATCHES, TEST_BATCH, "batches.meta"]
SIDE = 32

# What a batch may name: numpy's array reconstruction (numpy 1 and 2 spell its module differently), and the
# bytes decoder that protocol-2 pickles written by Python 3 use. Unpickling calls whatever a file names, and
# data.dir may hold a file from anywhere, so nothing else is allowed.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: a CIFAR-10 batch holds only arrays")
        return super().find_class(module, name)


def read_batch(path: Path) -> np.ndarray:
    """One batch file as (N, 32, 32, 3) uint8 RGB; anything else is one line naming the file."""
    try:
        with path.open("rb") as f:
            batch = _ArraysOnly(f, encoding="bytes").load()
        data = batch[b"data"]
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as error:
        raise FileNotFoundError(f"'{path}' is not a CIFAR-10 python batch ({error})") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape[1:] != (3 * SIDE**2,):
        found = f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}"
        raise FileNotFoundError(
            f"'{path}' is not a CIFAR-10 python batch (b'data' is {found}, not N x 3072 uint8)"
        )
    return np.ascontiguousarray(data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1))


def batch_folder(root: Path) -> Path | None:
    """``root`` or its ``cifar-10-batches-py`` subfolder, whichever holds every batch; else ``None``."""
    for folder in (root, root / ARCHIVE_FOLDER):
        if all((folder / name).is_file() for name in EXPECTED):
            return folder
    return None


def download(root: Path) -> None:
    """Fetch the archive into ``root``, check its MD5 and extract the batches alone, by their known names,
    so no member of the archive can write outside ``root/cifar-10-batches-py``."""
    root.mkdir(parents=True, exist_ok=True)
    partial = root / (Path(URL).name + ".part")
    log.info("downloading CIFAR-10 (163 MB) from %s into %s", URL, root)
    md5 = hashlib.md5()
    try:
        with urllib.request.urlopen(URL, timeout=60) as response, partial.open("wb") as out:
            while chunk := response.read(1 << 20):
                md5.update(chunk)
                out.write(chunk)
    # no network, a timeout, a cut connection, a full disk
    except (OSError, http.client.HTTPException) as error:
        partial.unlink(missing_ok=True)
        raise FileNotFoundError(
            f"CIFAR-10 is not in '{root}' and downloading {URL} failed ({error}); "
            f"download it yourself and unpack it into '{root}'"
        ) from None
    if (digest := md5.hexdigest()) != MD5:
        partial.unlink()
        raise FileNotFoundError(f"the archive downloaded from {URL} has MD5 {digest}, not {MD5}; try again")
    target = root / ARCHIVE_FOLDER
    target.mkdir(exist_ok=True)
    wanted = {f"{ARCHIVE_FOLDER}/{name}": name for name in EXPECTED}
    with tarfile.open(partial, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name in wanted:
                (target / wanted[member.name]).write_bytes(tar.extractfile(member).read())
    partial.unlink()


class Cifar10:
    """CIFAR-10's 50,000 training images (:meth:`load`) and its 10,000 test images (:meth:`load_test`).

    ``dir`` holds the batches (directly or in the archive's ``cifar-10-batches-py`` folder); when it does not
    exist or is empty they are downloaded into it. A folder holding other files is left alone.
    """

    paired = False

    def __init__(self, dir: str) -> None:
        self.dir = Path(dir).expanduser()

    def folder(self) -> Path:
        found = batch_folder(self.dir)
        if found is not None:
            return found
        if self.dir.is_dir() and any(self.dir.iterdir()):
            raise FileNotFoundError(
                f"'{self.dir}' holds no CIFAR-10 python batches: expected {', '.join(EXPECTED)} "
                f"there or in its {ARCHIVE_FOLDER}/ (give an empty or new data.dir to download them)"
            )
        download(self.dir)
        return self.dir / ARCHIVE_FOLDER

    def _images(self, batches: list[str]) -> list[LoadedImage]:
        folder = self.folder()
        return [
            LoadedImage(f"{batch}/{i:05d}", image)
            for batch in batches
            for i, image in enumerate(read_batch(folder / batch))
        ]

    def load(self) -> list[LoadedImage]:
        return self._images(TRAIN_BATCHES)

    def load_test(self) -> list[LoadedImage]:
        return self._images([TEST_BATCH])
