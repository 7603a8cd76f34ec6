"""``python -m denoise_lab.predict ckpt_path=... input=<file|dir> output=<dir>``: denoise the user's photos.

The command line only: the work is :func:`denoise_lab.inference.restore_files.restore_files`, imported once the
arguments are parsed, so that ``--help`` and a mistyped argument answer at once (importing torch alone takes
1.3 s on 2 CPU cores).
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from denoise_lab.config import CONFIG_DIR, check_predict, user_errors_in_one_line
from denoise_lab.console import quiet_console


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="predict")
def main(cfg: DictConfig) -> None:
    """Hydra entry: one-line messages for errors a user can cause."""
    quiet_console()
    with user_errors_in_one_line():
        check_predict(cfg)  # again in restore_files; here a usage mistake is answered before torch loads
        from denoise_lab.inference.restore_files import restore_files

        counts = restore_files(cfg)
    if counts["refused"]:
        sys.exit(
            f"refused to overwrite {counts['refused']} existing file(s) in '{cfg.output}' (overwrite=true)"
        )


if __name__ == "__main__":
    main()
