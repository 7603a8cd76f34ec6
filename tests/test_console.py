"""The console filters: Lightning's advert, narration and deprecations about torch are dropped, nothing else."""

from __future__ import annotations

import logging
import warnings

from lightning.pytorch.utilities import rank_zero_info

from denoise_lab.console import quiet_console


def test_lightnings_advert_and_narration_are_dropped_and_its_other_lines_kept():
    quiet_console()
    quiet_console()  # idempotent
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # on the logger itself: other tests may stop it propagating to caplog's
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        rank_zero_info("💡 Tip: For seamless cloud logging and experiment tracking, try installing litlogger")
        rank_zero_info("Loading `train_dataloader` to estimate number of stepping batches.")
        rank_zero_info("TPU available: False, using: 0 TPU cores")
        rank_zero_info("GPU available: False, used: False")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [r.getMessage() for r in records] == ["GPU available: False, used: False"]


def test_foreign_deprecations_are_dropped_and_other_warnings_kept():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_console()
        warnings.warn(
            "`isinstance(treespec, LeafSpec)` is deprecated, use ...", DeprecationWarning, stacklevel=1
        )
        warnings.warn("something the user should see", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["something the user should see"]


def test_console_scripts_are_installed_and_point_at_the_module_entry_points():
    from importlib.metadata import entry_points

    scripts = {e.name: e for e in entry_points(group="console_scripts") if e.name.startswith("denoise-lab")}
    assert sorted(scripts) == [
        "denoise-lab",
        "denoise-lab-compare",
        "denoise-lab-datasets",
        "denoise-lab-degrade",
        "denoise-lab-evaluate",
        "denoise-lab-export",
        "denoise-lab-predict",
    ]
    from denoise_lab import compare, degrade, evaluate, export, predict
    from denoise_lab.datasets import __main__ as datasets
    from denoise_lab.training import run

    modules = {"": run, "-predict": predict, "-evaluate": evaluate, "-export": export, "-compare": compare}
    modules.update({"-datasets": datasets, "-degrade": degrade})
    for suffix, module in modules.items():
        assert scripts[f"denoise-lab{suffix}"].load() is module.main
