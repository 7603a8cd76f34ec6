"""Seeds derived from integers, identical in every process and on every run.

Python's ``hash()`` of a tuple holding a string is salted per process (PYTHONHASHSEED), so seeds built
with it differ between runs and between DDP ranks. NumPy's ``SeedSequence`` is the tool made for this:
it mixes any list of integers into well-spread, reproducible state.
"""

from __future__ import annotations

import numpy as np

# First element of every derivation, so the streams of different purposes never share a seed.
TRAIN_DEGRADATIONS, EVAL_DEGRADATIONS, TRAIN_PATCHES = 1, 2, 3


def derive_seed(purpose: int, *parts: int) -> int:
    """A 63-bit seed for ``torch.Generator.manual_seed`` / ``numpy.random.default_rng`` from integers."""
    high, low = np.random.SeedSequence([purpose, *(p % 2**64 for p in parts)]).generate_state(2)
    return ((int(high) << 32) | int(low)) & (2**63 - 1)
