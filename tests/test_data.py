"""Clean-image sources and the DataModule: decoding, splits, crops, bad input, device-side degradation."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from denoise_lab.config import ConfigError
from denoise_lab.data import DenoiseDataModule, ImageFolder, PairedFolders, SampleImages
from denoise_lab.data import dead_leaves as dead_leaves_module
from denoise_lab.data.datamodule import auto_workers, split_by_image
from denoise_lab.data.datasets import FixedCrops, fit_to_size, rescaled_copies
from denoise_lab.data.dead_leaves import dead_leaves, dead_leaves_images, disk_radii
from denoise_lab.data.sources import LoadedImage, read_rgb
from denoise_lab.evaluation.cases import crop_cases
from tests.conftest import compose_config, write_image


def test_bundled_samples_load_as_rgb_uint8():
    names = list(compose_config([]).data.names)
    images = SampleImages(names).load()
    assert [im.name.split(".")[0] for im in images] == names
    assert all(im.clean.dtype == np.uint8 and im.clean.ndim == 3 and im.clean.shape[2] == 3 for im in images)


def test_unknown_sample_name_lists_what_exists():
    with pytest.raises(FileNotFoundError, match=r"no bundled scikit-image photo named 'nope'.*astronaut"):
        SampleImages(["nope"]).load()


def test_grayscale_rgba_and_16_bit_become_rgb(tmp_path):
    gray = read_rgb(write_image(tmp_path / "g.png", mode="L"))
    assert gray.shape == (40, 56, 3) and (gray[..., 0] == gray[..., 2]).all()
    rgba = read_rgb(write_image(tmp_path / "a.png", mode="RGBA"))
    assert rgba.shape == (40, 56, 3) and rgba.dtype == np.uint8
    deep = read_rgb(write_image(tmp_path / "d.png", mode="I;16"))
    assert deep.shape == (40, 56, 3) and deep.dtype == np.uint8 and deep.max() > 200


def test_32_bit_integer_mode_holding_16_bit_data_keeps_its_top_byte(tmp_path):
    values = (np.arange(40 * 56).reshape(40, 56) * 29).astype(np.int32)  # 0..64931, as 16-bit TIFFs decode
    Image.fromarray(values).save(tmp_path / "wide.tif")
    decoded = read_rgb(tmp_path / "wide.tif")
    assert np.array_equal(decoded[..., 0], (values >> 8).astype(np.uint8))


def test_folder_is_recursive_and_skips_unreadable_files_with_a_count(tmp_path, caplog):
    write_image(tmp_path / "a.png")
    write_image(tmp_path / "sub" / "b.jpg", seed=1)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored: not an image format")
    with caplog.at_level(logging.WARNING):
        images = ImageFolder(str(tmp_path)).load()
    assert sorted(im.name for im in images) == ["a.png", "sub/b.jpg"]
    assert "skipped 1 unreadable of 3 image files" in caplog.text


def test_missing_and_empty_folders_name_the_path_and_the_formats(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'.*nowhere' does not exist.*\.png.*\.jpg"):
        ImageFolder(str(tmp_path / "nowhere")).load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"'.*empty' holds no images \(accepted formats: \.png"):
        ImageFolder(str(tmp_path / "empty")).load()


def test_paired_folders_match_by_name(tmp_path, caplog):
    for name in ("x", "y"):
        write_image(tmp_path / "low" / f"{name}.png", seed=1)
        write_image(tmp_path / "high" / f"{name}.png", seed=2)
    write_image(tmp_path / "low" / "orphan.png")
    with caplog.at_level(logging.WARNING):
        pairs = PairedFolders(str(tmp_path)).load()
    assert [p.name for p in pairs] == ["x", "y"]
    assert all(p.degraded is not None and p.degraded.shape == p.clean.shape for p in pairs)
    assert not np.array_equal(pairs[0].clean, pairs[0].degraded)
    assert "1 files in low/high have no partner" in caplog.text


def test_split_is_by_whole_image_and_seeded():
    images = [LoadedImage(str(i), np.zeros((8, 8, 3), np.uint8)) for i in range(8)]
    train, val = split_by_image(images, 0.25, seed=3)
    assert len(val) == 2 and len(train) == 6
    assert not {im.name for im in train} & {im.name for im in val}
    assert [im.name for im in split_by_image(images, 0.25, seed=3)[1]] == [im.name for im in val]
    with pytest.raises(ValueError, match="at least 2 images"):
        split_by_image(images[:1], 0.25, seed=0)


def test_small_images_are_padded_or_skipped_with_a_count(caplog):
    images = [
        LoadedImage("small", np.ones((20, 30, 3), np.uint8)),
        LoadedImage("big", np.ones((64, 64, 3), np.uint8)),
    ]
    with caplog.at_level(logging.WARNING):
        padded = fit_to_size(images, 32, "pad", "train")
    assert padded[0].clean.shape == (32, 32, 3)
    assert "1 of 2 images are smaller than 32 px and were reflect-padded" in caplog.text
    assert [im.name for im in fit_to_size(images, 32, "skip", "train")] == ["big"]


def test_scales_add_smaller_copies_of_each_training_image_and_only_of_clean_ones():
    rng = np.random.default_rng(0)
    noisy = LoadedImage("photo", rng.integers(0, 256, (100, 60, 3), dtype=np.uint8))
    copies = rescaled_copies([noisy], [1, 0.5])
    assert [(c.name, c.clean.shape) for c in copies] == [
        ("photo@1", (100, 60, 3)),
        ("photo@0.5", (50, 30, 3)),
    ]
    assert copies[0].clean is noisy.clean
    assert copies[1].clean.std() < noisy.clean.std() / 1.5  # shrinking averages the pixel noise away
    assert rescaled_copies([noisy], [1.0]) == [noisy]
    with pytest.raises(ConfigError, match=r"data.scales must be in \(0, 1\], got \[1, 1.5\]"):
        rescaled_copies([noisy], [1, 1.5])
    paired = LoadedImage("pair", noisy.clean, noisy.clean)
    with pytest.raises(ConfigError, match=r"paired data needs data.scales=\[1.0\]"):
        rescaled_copies([paired], [1, 0.5])


def test_the_datamodule_trains_on_every_image_at_every_scale():
    datamodule = make_datamodule("data.scales=[1,0.75]")
    names = [im.name for im in datamodule.train_set.images]
    assert len(names) == 2 * len(datamodule.splits()[0]) and names[1].endswith("@0.75")


def test_dead_leaves_cover_the_image_with_disks_of_power_law_radii():
    radii = disk_radii(np.random.default_rng(0), 100_000, 1.0, 256.0, 3.0)
    assert radii.min() >= 1.0 and radii.max() <= 256.0
    assert np.median(radii) == pytest.approx(np.sqrt(2), rel=0.02)  # density r^-3: half the disks below 1.41
    red_or_blue = np.array([[200, 0, 0], [0, 0, 200]], np.uint8)
    image = dead_leaves(48, red_or_blue, np.random.default_rng(1))
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    total = image[..., 0].astype(int) + image[..., 2]
    assert (image[..., 1] == 0).all() and (abs(total - 200) <= 1).all()  # covered: no black left
    assert (image[..., 0] > 150).any() and (image[..., 2] > 150).any()
    assert np.array_equal(image, dead_leaves(48, red_or_blue, np.random.default_rng(1)))


def test_synthetic_images_join_the_training_images_only(monkeypatch):
    monkeypatch.setattr(dead_leaves_module, "SIZE", 64)
    datamodule = make_datamodule("data.synthetic=2")
    names = [im.name for im in datamodule.train_set.images]
    assert names[-2:] == ["dead_leaves_0", "dead_leaves_1"] and len(names) == len(datamodule.splits()[0]) + 2
    assert not any(im.name.startswith("dead_leaves") for im in datamodule.val_set.images)
    photos = [LoadedImage("photo", np.zeros((8, 8, 3), np.uint8))]
    with pytest.raises(ConfigError, match=r"data\.synthetic is a number of images, 0 or more, got -1"):
        dead_leaves_images(-1, photos, 0)
    with pytest.raises(ConfigError, match=r"paired data needs data\.synthetic=0"):
        dead_leaves_images(1, [LoadedImage("pair", photos[0].clean, photos[0].clean)], 0)


def test_validation_crops_are_fixed_and_keyed():
    image = LoadedImage("a", np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8))
    crops = FixedCrops([image], crop_size=32, crops_per_image=4)
    assert len(crops) == 4
    assert [int(crops[i]["index"]) for i in range(4)] == [0, 1, 2, 3]
    assert torch.equal(crops[3]["clean"], FixedCrops([image], 32, 4)[3]["clean"])
    assert crops[3]["clean"].shape == (3, 32, 32)


class FakeTrainer:
    """Just the stage flags DenoiseDataModule.on_after_batch_transfer reads, and the device it trains on."""

    def __init__(self, stage: str, device: str = "cpu") -> None:
        self.training = stage == "train"
        self.strategy = SimpleNamespace(root_device=torch.device(device))


def make_datamodule(*overrides: str) -> DenoiseDataModule:
    cfg = compose_config(["debug=fast", *overrides])
    datamodule = instantiate(cfg.data, bank=instantiate(cfg.degradation, _convert_="all"))
    datamodule.setup("fit")
    return datamodule


def test_datamodule_degrades_on_transfer_round_robin_in_val_and_evaluation_cases_apply_every_op():
    datamodule = make_datamodule()
    n_ops = len(datamodule.op_names)
    batch = next(iter(datamodule.val_dataloader()))
    datamodule.trainer = FakeTrainer("val")
    val = datamodule.on_after_batch_transfer(dict(batch), 0)
    assert torch.equal(val["op"], batch["index"] % n_ops)
    assert val["degraded"].shape == batch["clean"].shape
    again = datamodule.on_after_batch_transfer(dict(batch), 0)
    assert torch.equal(val["degraded"], again["degraded"])

    batch_size = len(batch["clean"])
    cases = list(crop_cases(datamodule.val_set, datamodule.bank, batch_size, torch.device("cpu")))
    assert [case.op for case in cases[:n_ops]] == datamodule.op_names  # every op on the first batch
    for k, case in enumerate(cases[:n_ops]):
        # the evaluation case with a crop's validation op is that validation sample itself
        same = batch["index"] % n_ops == k
        assert case.keys == batch["index"].tolist()
        assert torch.equal(case.degraded[same], val["degraded"][same])

    datamodule.trainer = FakeTrainer("train")
    train_batch = next(iter(datamodule.train_dataloader()))
    train = datamodule.on_after_batch_transfer(dict(train_batch), 0)
    assert set(train) >= {"clean", "degraded", "op", "severity"}
    assert train["degraded"].shape == train_batch["clean"].shape == (8, 3, 32, 32)


def first_batch(datamodule: DenoiseDataModule, epoch: int, workers: int) -> torch.Tensor:
    datamodule.num_workers = workers
    loader = datamodule.train_dataloader()
    loader.sampler.set_epoch(epoch)  # what Lightning does at every epoch start
    return next(iter(loader))["clean"]


def test_training_patches_depend_on_seed_and_epoch_only_not_on_workers():
    datamodule = make_datamodule()
    torch.manual_seed(1)
    in_process = first_batch(datamodule, epoch=3, workers=0)
    torch.manual_seed(2)  # the global RNG plays no part
    assert torch.equal(first_batch(datamodule, epoch=3, workers=2), in_process)
    assert not torch.equal(first_batch(datamodule, epoch=4, workers=0), in_process)


def test_loader_settings_left_null_follow_the_trainers_device():
    datamodule = make_datamodule()
    datamodule.trainer = FakeTrainer("train", device="cpu")
    assert datamodule.loader_settings() == {
        "num_workers": 0,
        "pin_memory": False,
        "persistent_workers": False,
    }
    datamodule.trainer = FakeTrainer("train", device="cuda")
    on_gpu = datamodule.loader_settings()
    assert on_gpu["num_workers"] == auto_workers(on_cuda=True) >= 1
    assert on_gpu["pin_memory"] and on_gpu["persistent_workers"]
    datamodule.num_workers, datamodule.pin_memory, datamodule.persistent_workers = 3, False, False
    assert datamodule.loader_settings() == {
        "num_workers": 3,
        "pin_memory": False,
        "persistent_workers": False,
    }


def test_holdout_names_the_split_whatever_else_the_data_holds():
    images = [LoadedImage(f"{n}.png", np.zeros((8, 8, 3), np.uint8)) for n in "abcdef"]
    train, val = split_by_image(images, 0.25, seed=3, holdout=["b", "e.png"])
    assert [im.name for im in val] == ["b.png", "e.png"]
    assert [im.name for im in train] == ["a.png", "c.png", "d.png", "f.png"]
    more = [*images, LoadedImage("g.png", np.zeros((8, 8, 3), np.uint8))]
    assert [im.name for im in split_by_image(more, 0.5, seed=0, holdout=["b", "e"])[1]] == ["b.png", "e.png"]
    with pytest.raises(ValueError, match=r"not found: \['z'\]"):
        split_by_image(images, 0.25, seed=3, holdout=["b", "z"])
    with pytest.raises(ValueError, match="some, not all"):
        split_by_image(images, 0.25, seed=3, holdout=list("abcdef"))
