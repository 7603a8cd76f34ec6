"""The console shows what a user needs: third-party advertising and deprecation notes that a user cannot act
on are filtered here, the one place every command-line entry point calls first (:func:`quiet_console`).
Filters, not silence: every other warning and log line of Lightning and the rest still shows."""

from __future__ import annotations

import logging
import warnings

ADVERTS = ("💡 Tip:",)  # Lightning's note on every run that a cloud logger exists
# Deprecations raised inside Lightning about its own use of torch: nothing in this project to change.
FOREIGN_DEPRECATIONS = (r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",)


class DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(advert in record.getMessage() for advert in ADVERTS)


def quiet_console() -> None:
    """Install the filters (idempotent: a second call adds nothing)."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, DropAdverts) for f in logger.filters):
        logger.addFilter(DropAdverts())
    for message in FOREIGN_DEPRECATIONS:
        warnings.filterwarnings("ignore", message=message)
