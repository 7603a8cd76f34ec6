"""data=cifar10 on a small fake batch set in the official format, and a short run of experiment=seed001_cifar10.

Nothing here touches the network: the download is replaced by a fake ``urlopen`` (failing, or serving an
archive built here), and the fake batches stand in for CIFAR-10 (so the run's figures are not CIFAR-10's).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate

from denoise_lab.data import cifar
from denoise_lab.data.cifar import Cifar10
from denoise_lab.training.run import run
from tests.conftest import TINY, cli, compose_config

PER_BATCH = 6  # images per fake batch: 30 training and 6 test images


def fake_images(seed: int, count: int = PER_BATCH) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """CIFAR-10's layout, written out by hand: per image the red, then green, then blue 32x32 plane, row-major."""
    return np.stack([np.concatenate([im[..., c].ravel() for c in range(3)]) for im in images])


def write_cifar(folder: Path) -> dict[str, np.ndarray]:
    """The official file set (pickled with byte keys, as the Python 2 originals); returns each batch's images."""
    folder.mkdir(parents=True, exist_ok=True)
    batches = {name: fake_images(seed) for seed, name in enumerate([*cifar.TRAIN_BATCHES, cifar.TEST_BATCH])}
    for name, images in batches.items():
        content = {b"batch_label": name.encode(), b"labels": [0] * len(images), b"data": cifar_rows(images)}
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"airplane"]}, protocol=2))
    return batches


def no_network(*args, **kwargs):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def datamodule_for(folder: Path, *overrides: str):
    cfg = compose_config(["data=cifar10", f"data.dir={folder}", "degradation=gaussian", *overrides])
    datamodule = instantiate(cfg.data, bank=instantiate(cfg.degradation, _convert_="all"))
    datamodule.setup("fit")
    return datamodule


def test_batches_decode_to_whole_rgb_images_in_cifars_own_split(tmp_path):
    batches = write_cifar(tmp_path / "cifar" / "cifar-10-batches-py")  # the archive's layout works too
    source = Cifar10(str(tmp_path / "cifar"))
    train, test = source.load(), source.load_test()
    assert len(train) == 5 * PER_BATCH and len(test) == PER_BATCH
    assert train[PER_BATCH + 2].name == "data_batch_2/00002" and test[0].name == "test_batch/00000"
    assert all(im.clean.shape == (32, 32, 3) and im.clean.dtype == np.uint8 for im in train + test)
    assert np.array_equal(train[PER_BATCH + 2].clean, batches["data_batch_2"][2])
    assert np.array_equal(np.stack([im.clean for im in test]), batches["test_batch"])


def test_validation_is_carved_from_training_images_seeded_and_test_is_the_test_batch(tmp_path):
    write_cifar(tmp_path)
    data = datamodule_for(tmp_path, "data.val_ratio=0.2")
    val_names = {im.name for im in data.val_set.images}
    test = data.heldout_images()
    assert len(data.train_set.images) == 24 and len(val_names) == 6 and len(test) == PER_BATCH
    assert not any(name.startswith("test_batch") for name in val_names)
    assert {im.name for im in test} == {f"test_batch/{i:05d}" for i in range(PER_BATCH)}
    assert {im.name for im in datamodule_for(tmp_path, "data.val_ratio=0.2").val_set.images} == val_names
    assert {
        im.name for im in datamodule_for(tmp_path, "data.val_ratio=0.2", "seed=7").val_set.images
    } != val_names
    batch = next(iter(data.train_dataloader()))
    assert batch["clean"].shape == (64, 3, 32, 32)  # whole images, drawn with replacement
    assert data.crops(test, "test")[0]["clean"].shape == (3, 32, 32)


def test_missing_batches_are_downloaded_and_an_unreachable_network_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar.urllib.request, "urlopen", no_network)
    folder = tmp_path / "new"
    with pytest.raises(FileNotFoundError) as error:
        Cifar10(str(folder)).load()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"CIFAR-10 is not in '{folder}' and downloading {cifar.URL} failed")
    assert list(folder.iterdir()) == []  # no partial file left behind


def test_a_folder_holding_something_else_names_the_expected_files_and_downloads_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(cifar.urllib.request, "urlopen", lambda *a, **k: pytest.fail("must not download"))
    (tmp_path / "photo.png").write_bytes(b"not cifar")
    with pytest.raises(FileNotFoundError) as error:
        Cifar10(str(tmp_path)).load()
    assert str(error.value) == (
        f"'{tmp_path}' holds no CIFAR-10 python batches: expected data_batch_1, data_batch_2, data_batch_3, "
        "data_batch_4, data_batch_5, test_batch, batches.meta there or in its cifar-10-batches-py/ "
        "(give an empty or new data.dir to download them)"
    )


def test_a_bad_batch_file_is_named_and_a_pickle_calling_code_is_refused(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(FileNotFoundError, match=r"data_batch_3' is not a CIFAR-10 python batch"):
        Cifar10(str(tmp_path)).load()

    class Exploit:
        def __reduce__(self):
            return (print, ("ran code from a data file",))

    (tmp_path / "data_batch_3").write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(FileNotFoundError, match=r"refusing builtins.print"):
        Cifar10(str(tmp_path)).load()


def test_the_download_is_checked_and_only_the_batches_are_extracted(tmp_path, monkeypatch):
    write_cifar(tmp_path / "src" / "cifar-10-batches-py")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
        evil = tarfile.TarInfo("cifar-10-batches-py/../../test_batch")  # path traversal: must stay unwritten
        evil.size = 4
        tar.addfile(evil, io.BytesIO(b"evil"))
    archive = buffer.getvalue()
    monkeypatch.setattr(cifar, "MD5", hashlib.md5(archive).hexdigest())
    monkeypatch.setattr(cifar.urllib.request, "urlopen", lambda *a, **k: io.BytesIO(archive))
    folder = tmp_path / "a" / "b"
    assert len(Cifar10(str(folder)).load_test()) == PER_BATCH
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-batches-py"]  # the archive is removed
    assert not (tmp_path / "a" / "test_batch").exists()

    monkeypatch.setattr(cifar, "MD5", "0" * 32)
    with pytest.raises(FileNotFoundError, match=r"has MD5 [0-9a-f]{32}, not 0{32}; try again"):
        Cifar10(str(tmp_path / "other")).load()


def test_cli_names_the_expected_files_in_one_line(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("not cifar")
    result = cli(*TINY, "experiment=seed001_cifar10", f"data.dir={tmp_path / 'junk'}", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"config error: '{tmp_path / 'junk'}' holds no CIFAR-10 python batches: expected data_batch_1"
        )
    )


def test_seed001_experiment_composes_as_its_header_says():
    cfg = compose_config(["experiment=seed001_cifar10"])
    assert cfg.model == {
        "_target_": "denoise_lab.models.cae.ConvAutoencoder",
        "in_channels": 3,
        "hidden_channels": 8,
    }
    assert cfg.data._target_.endswith("from_cifar10") and (cfg.data.patch_size, cfg.data.batch_size) == (
        32,
        64,
    )
    assert cfg.degradation.ops == {
        "gaussian_noise": {
            "_target_": "denoise_lab.degradations.noise.GaussianNoise",
            "sigma": [25.5, 25.5],
            "clamp": True,
        }
    }
    assert cfg.loss._target_.endswith("MSELoss") and cfg.trainer.max_epochs == 50 and not cfg.data.augment
    assert (cfg.optim.optimizer.lr, cfg.optim.optimizer.weight_decay, cfg.optim.scheduler) == (
        1e-3,
        0.0,
        None,
    )


def test_seed001_experiment_trains_and_reports_on_the_fake_batches(tmp_path):
    write_cifar(tmp_path / "cifar")
    cfg = compose_config(
        [
            *TINY,
            "experiment=seed001_cifar10",
            f"data.dir={tmp_path / 'cifar'}",
            "data.val_crop_size=32",
            "data.val_crops_per_image=1",
            "logger=none",
        ],
        tmp_path,
    )
    assert cfg.model._target_ == "denoise_lab.models.cae.ConvAutoencoder" and cfg.model.hidden_channels == 8
    assert list(cfg.degradation.ops) == ["gaussian_noise"] and cfg.trainer.max_epochs == 1  # TINY shortens
    metrics = run(cfg)
    run_dir = Path(cfg.paths.output_dir)
    report = json.loads((run_dir / "metrics.json").read_text())
    assert list(report["per_degradation"]) == ["gaussian_noise"]
    assert np.isfinite(metrics["test/psnr"]) and np.isfinite(metrics["test/ssim"])
    table = pd.read_csv(run_dir / "metrics.csv")
    model = table[(table["scope"] == "all") & (table["method"] == "model")]
    assert model["images"].tolist() == [PER_BATCH]  # the report scores CIFAR's test split
    assert (run_dir / "grid.png").stat().st_size > 0
