"""Evaluation: the cases a model is measured on, the measures, the classical baselines, and one run of them
whose per-image records every report, table and figure reads."""
