"""The field's standard denoising sets by name (``data=cbsd68``), each file pinned to a commit and a sha256.

Tables in papers are measured on particular files: CBSD68 as FFDNet's repository holds it, not a re-encoded
copy. :mod:`.registry` names the sets and says what each is for, ``manifests/<name>.csv`` lists its files
(path, sha256, url), and :mod:`.store` fetches them once into a cache folder or checks a folder the user
already has, so every run reads the same bytes.
"""

from denoise_lab.datasets.registry import DATASETS, Dataset, ManifestFile, lookup
from denoise_lab.datasets.store import cache_root, local_copy

__all__ = ["DATASETS", "Dataset", "ManifestFile", "cache_root", "local_copy", "lookup"]
