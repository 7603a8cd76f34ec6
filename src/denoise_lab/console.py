"""The console shows what a user needs: third-party advertising and deprecation notes that a user cannot act
on are filtered here, the one place every command-line entry point calls first (:func:`quiet_console`).
Filters, not silence: every other warning and log line of Lightning and the rest still shows. A command that
stops on a user's mistake says so once (:func:`fail`)."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import NoReturn

# Lightning's note on every run that a cloud logger exists; its line on Ctrl-C, which the command replaces with
# one saying what was kept and how to go on; its narration of an internal step and of the TPU a machine lacks.
DROPPED_LINES = (
    "💡 Tip:",
    "Detected KeyboardInterrupt",
    "Loading `train_dataloader` to estimate number of stepping batches",
    "TPU available: False",
)
# Deprecations raised inside Lightning about its own use of torch: nothing in this project to change.
FOREIGN_DEPRECATIONS = (r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",)
# Lightning's model summary on its own estimate under mixed precision (it sizes the weights as float32).
FOREIGN_WARNINGS = (r"Precision .* is not supported by the model summary.*",)


class DropLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(line in record.getMessage() for line in DROPPED_LINES)


# Loggers that narrate their internals at INFO (the ONNX exporter's graph passes: ~27 lines an export) or
# warn about what this project never uses (torchvision's operators, which torch.onnx skips): WARNING and up,
# or ERROR and up, still show.
CHATTY_LOGGERS = {
    "onnxscript": logging.WARNING,
    "onnx_ir": logging.WARNING,
    "torch.onnx._internal.exporter._registration": logging.ERROR,
}


def quiet_console() -> None:
    """Install the filters (idempotent: a second call adds nothing)."""
    for name, level in CHATTY_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, DropLines) for f in logger.filters):
        logger.addFilter(DropLines())
    for message in (*FOREIGN_DEPRECATIONS, *FOREIGN_WARNINGS):
        warnings.filterwarnings("ignore", message=message)


def fail(line: str) -> NoReturn:
    """End the command with ``line`` on stderr and exit status 1, printed once: the run's log files get it
    too, the console (Hydra's stdout handler) does not, since stderr already shows it."""
    record = logging.getLogger("denoise_lab").makeRecord(
        "denoise_lab", logging.ERROR, __file__, 0, line, None, None
    )
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    sys.exit(line)
