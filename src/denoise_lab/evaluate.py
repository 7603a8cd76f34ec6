"""``python -m denoise_lab.evaluate ckpt_path=... [data=...] [degradation=...] [eval.protocol=standard]``.

Rebuilds the network from the checkpoint's saved run config (no training overrides to repeat), takes the
data and degradations from that config too unless ``data=``/``degradation=`` replace them, and writes the
report folder of :mod:`denoise_lab.reporting.report` into the Hydra run dir (the same report every training
run ends with: :mod:`denoise_lab.evaluation.run`).
"""

from __future__ import annotations

from pathlib import Path

import hydra
import pandas as pd
from omegaconf import DictConfig

from denoise_lab.config import CONFIG_DIR, check_eval, user_errors_in_one_line
from denoise_lab.console import quiet_console
from denoise_lab.data import build_datamodule
from denoise_lab.data.sources import limit_megapixels
from denoise_lab.evaluation.run import write_evaluation
from denoise_lab.inference.checkpoints import load_checkpoint
from denoise_lab.reporting.tables import per_degradation_table, write_test_report


def evaluate(cfg: DictConfig) -> pd.DataFrame:
    """The ``evaluate`` task: rebuild from the checkpoint, replace data/degradation if asked, report."""
    check_eval(cfg.eval)
    limit_megapixels(cfg.max_megapixels)
    model, run_cfg = load_checkpoint(cfg.ckpt_path)
    for group in ("data", "degradation"):
        if cfg.get(group) is not None:
            run_cfg[group] = cfg[group]  # its ${seed} now resolves against the checkpoint's run config
    datamodule = build_datamodule(run_cfg)
    header = [f"checkpoint: {cfg.ckpt_path}"]
    out_dir = Path(cfg.paths.output_dir)
    records, summary = write_evaluation(model, datamodule, cfg.eval, out_dir, header)
    table = per_degradation_table(records)
    write_test_report(out_dir, table, {"checkpoint": str(cfg.ckpt_path), "protocol": cfg.eval.protocol})
    print(table.round(4).to_string())
    print(f"report: {out_dir / 'report.md'}")
    return summary


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Hydra entry: one-line messages for errors a user can cause."""
    quiet_console()
    with user_errors_in_one_line():
        evaluate(cfg)


if __name__ == "__main__":
    main()
