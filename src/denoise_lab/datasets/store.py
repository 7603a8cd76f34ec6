"""A set's files on this machine: fetched once into a cache folder, or read from a folder the user has.

Either way every file is checked against its manifest sha256 before anything reads it, so a score measured
on ``cbsd68`` is measured on the published files. The check re-hashes on every use rather than trusting a
record of an earlier check: the largest set, cbsd432 (432 files, 32 MB), hashes in about 30 ms, a twentieth
of the time decoding it takes. A download goes to a temporary name beside its target and is renamed into
place only once its checksum matches, so an interrupted or wrong download never leaves a file that looks
complete, and processes fetching the same set at once do not see each other's halves.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from denoise_lab.datasets.registry import Dataset, ManifestFile

log = logging.getLogger(__name__)

CACHE_ENV = "DENOISE_LAB_DATA"
DEFAULT_CACHE = "~/.cache/denoise_lab/datasets"
RAW_GITHUB = re.compile(r"https://raw\.githubusercontent\.com/([^/]+/[^/]+)/([0-9a-f]{40})/(.+)")


def cache_root(cache_dir: str | None = None) -> Path:
    """The folder holding one folder per set: ``data.cache_dir``, else ``$DENOISE_LAB_DATA``, else
    ``~/.cache/denoise_lab/datasets``."""
    return Path(cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def source_folder(files: list[ManifestFile]) -> str:
    """Where the files come from, for a person to open: the repository folder at its pinned commit."""
    folder = os.path.dirname(files[0].url)
    if match := RAW_GITHUB.fullmatch(folder):
        repository, commit, path = match.groups()
        return f"https://github.com/{repository}/tree/{commit}/{path}"
    return folder


def where_to_put(dataset: Dataset, files: list[ManifestFile], folder: Path) -> str:
    return f"put the {len(files)} files of {dataset.name} from {source_folder(files)} into '{folder}'"


def missing_files(folder: Path, files: list[ManifestFile], remedy: str) -> list[ManifestFile]:
    """The files not in ``folder``; one there whose sha256 differs from the manifest's refuses them all."""
    missing = []
    for file in files:
        path = folder / file.path
        if not path.is_file():
            missing.append(file)
        elif (digest := sha256(path)) != file.sha256:
            raise FileNotFoundError(
                f"'{path}' has sha256 {digest}, not the published file's {file.sha256} ({file.url}); {remedy}"
            )
    return missing


def download(file: ManifestFile, folder: Path, offline: str) -> None:
    """Fetch ``file`` into ``folder`` through a temporary name, renamed into place once its sha256 matches."""
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{file.path}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(file.url, timeout=60) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        # no network, a timeout, an HTTP error, a cut connection, a full disk
        except (OSError, http.client.HTTPException) as error:
            http_error = isinstance(error, urllib.error.HTTPError)
            reason = f"HTTP {error.code} {error.reason}" if http_error else getattr(error, "reason", error)
            raise FileNotFoundError(
                f"downloading '{file.path}' from {file.url} failed ({reason}); {offline}"
            ) from None
        if digest.hexdigest() != file.sha256:
            raise FileNotFoundError(
                f"'{file.path}' downloaded from {file.url} has sha256 {digest.hexdigest()}, not the "
                f"manifest's {file.sha256}; it was not kept"
            )
        os.replace(partial, folder / file.path)
    finally:
        Path(partial).unlink(missing_ok=True)


def local_copy(dataset: Dataset, files: list[ManifestFile], dir: str | None, cache_dir: str | None) -> Path:
    """The folder holding ``files`` of ``dataset``, every one checked: ``dir``, a folder of the user's (never
    written: a missing file is an error), or the set's cache folder, which missing files are downloaded into."""
    if dir is not None:
        folder = Path(dir).expanduser()
        missing = missing_files(folder, files, "replace it with the published file")
        if missing:
            raise FileNotFoundError(
                f"data.dir '{folder}' lacks {len(missing)} of the {len(files)} files of {dataset.name} "
                f"(first: {missing[0].path}); {where_to_put(dataset, files, folder)}, or leave data.dir unset "
                "to download them into the cache"
            )
        return folder
    folder = cache_root(cache_dir) / dataset.name
    missing = missing_files(folder, files, "delete it to download it again")
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
        log.info(
            "downloading %d files of %s from %s into %s",
            len(missing),
            dataset.name,
            source_folder(files),
            folder,
        )
        offline = (
            f"without a network, {where_to_put(dataset, files, folder)}, or give data.dir=<a folder of them>"
        )
        for file in missing:
            download(file, folder, offline)
    return folder
