"""``python -m denoise_lab.degrade``: a degraded copy of a folder as low/high pairs, seeded per file."""

from __future__ import annotations

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from PIL import Image

from denoise_lab.config import CONFIG_DIR, ConfigError
from denoise_lab.degrade import degrade
from tests.conftest import compose_config, write_image


def degrade_config(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="degrade", overrides=list(overrides))


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_a_folder_becomes_seeded_pairs_that_data_paired_trains_on(tmp_path):
    photos = tmp_path / "photos"
    for name in ("a.png", "sub/b.jpg"):
        write_image(photos / name, 48, 64, seed=len(name))
    counts = degrade(
        degrade_config(f"input={photos}", f"output={tmp_path / 'pairs'}", "degradation=gaussian")
    )
    assert counts == {"written": 2, "skipped": 0, "refused": 0}
    for name in ("a.png", "sub/b.png"):
        low, high = pixels(tmp_path / "pairs" / "low" / name), pixels(tmp_path / "pairs" / "high" / name)
        source = next(photos.glob(name.replace(".png", ".*")))
        assert np.array_equal(high, pixels(source))  # the photo itself, as training decodes it
        assert 10 < np.abs(low - high).mean() < 40  # Gaussian noise of sigma 25 (clipped)
    # seeded by the file's own path: another folder holding a.png alone degrades it alike
    (tmp_path / "alone").mkdir()
    (photos / "a.png").rename(tmp_path / "alone" / "a.png")
    degrade(
        degrade_config(f"input={tmp_path / 'alone'}", f"output={tmp_path / 'again'}", "degradation=gaussian")
    )
    assert np.array_equal(
        pixels(tmp_path / "again" / "low" / "a.png"), pixels(tmp_path / "pairs" / "low" / "a.png")
    )
    cfg = compose_config(["data=paired", f"data.dir={tmp_path / 'pairs'}"], tmp_path)
    from denoise_lab.data import build_datamodule

    train, val = build_datamodule(cfg).splits()
    assert len(train) + len(val) == 2


def test_existing_outputs_are_refused_and_an_output_inside_the_input_too(tmp_path):
    write_image(tmp_path / "photos" / "a.png")
    (tmp_path / "pairs" / "low").mkdir(parents=True)
    (tmp_path / "pairs" / "low" / "a.png").write_bytes(b"mine")
    counts = degrade(degrade_config(f"input={tmp_path / 'photos'}", f"output={tmp_path / 'pairs'}"))
    assert counts["refused"] == 1 and (tmp_path / "pairs" / "low" / "a.png").read_bytes() == b"mine"
    assert not (tmp_path / "pairs" / "high").exists()
    with pytest.raises(ConfigError, match="lies in the input folder"):
        degrade(degrade_config(f"input={tmp_path / 'photos'}", f"output={tmp_path / 'photos' / 'out'}"))
