"""Standard datasets by name (``data=cbsd68``): the registry, the download cache, the checks, the sources.

Nothing here reaches the internet: the fetching tests serve a fake set from a mirror built in tmp_path
through file:// URLs, and every test's cache is below tmp_path (``$DENOISE_LAB_DATA``). The real manifests
are checked for form only; their checksums were taken from, and checked against, the published files.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import urllib.error
import urllib.request
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

from denoise_lab.config import ConfigError, config_options, validate
from denoise_lab.data import DenoiseDataModule, build_datamodule
from denoise_lab.data.sources import pair_by_suffix, read_rgb
from denoise_lab.datasets import DATASETS, Dataset, cache_root, local_copy, lookup, registry, store
from denoise_lab.evaluate import evaluate
from tests.conftest import compose_config, write_image
from tests.test_evaluate import evaluate_config, rows

COMMIT = "0123456789abcdef0123456789abcdef01234567"
PINNED = re.compile(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/(.+)")
SIZES = {
    "cbsd68": 68,
    "bsd68": 68,
    "kodak24": 24,
    "mcmaster": 18,
    "cbsd432": 432,
    "bsd400": 400,
    "polyu": 200,
    "polyu_canon_full": 32,
}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test's cache root, below tmp_path (never ~/.cache)."""
    monkeypatch.setenv(store.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def downloads(monkeypatch) -> list[str]:
    """The URLs fetched, in order (the real ``urlopen`` serves them: file:// URLs only)."""
    fetched, urlopen = [], urllib.request.urlopen

    def counting(url, *args, **kwargs):
        assert url.startswith("file://"), url
        fetched.append(url)
        return urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counting)
    return fetched


def publish(tmp_path: Path, monkeypatch, entry: Dataset, files: dict[str, Path]) -> Path:
    """Serve ``files`` (name: image) as ``entry`` from a mirror folder pinned like the real ones, with its
    manifest, and register it for the test; returns the mirror folder."""
    mirror = tmp_path / "mirror" / COMMIT / "set"
    mirror.mkdir(parents=True)
    manifests = tmp_path / "manifests"
    manifests.mkdir(exist_ok=True)
    with (manifests / f"{entry.name}.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "sha256", "url"])
        for name, source in sorted(files.items()):
            shutil.copy(source, mirror / name)
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
            writer.writerow([name, digest, (mirror / name).as_uri()])
    monkeypatch.setattr(registry, "MANIFESTS", manifests)
    monkeypatch.setitem(DATASETS, entry.name, entry)
    return mirror


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> Dataset:
    """A test set of three small photos on the local mirror."""
    entry = Dataset("tiny", "three small photos", "none", train=())
    photos = {f"{i}.png": write_image(tmp_path / "photos" / f"{i}.png", 40, 48, seed=i) for i in range(3)}
    publish(tmp_path, monkeypatch, entry, photos)
    return entry


def test_a_set_is_downloaded_once_then_read_from_the_cache(tiny, cache, downloads):
    folder = local_copy(tiny, tiny.files(), None, None)
    assert folder == cache / "tiny" and len(downloads) == 3
    assert sorted(p.name for p in folder.iterdir()) == ["0.png", "1.png", "2.png"]  # no temporary left
    assert local_copy(tiny, tiny.files(), None, None) == folder and len(downloads) == 3
    assert local_copy(tiny, tiny.files(), None, str(cache / "elsewhere")) == cache / "elsewhere" / "tiny"


def test_the_cache_root_is_the_setting_else_the_variable_else_the_home_cache(monkeypatch, tmp_path):
    assert cache_root(str(tmp_path / "set")) == tmp_path / "set"
    assert cache_root(None) == tmp_path / "cache"
    monkeypatch.delenv(store.CACHE_ENV)
    assert cache_root(None) == Path.home() / ".cache" / "denoise_lab" / "datasets"


def test_a_wrong_checksum_is_refused_naming_file_and_url_keeping_nothing(tiny, tmp_path, cache, downloads):
    bad = tmp_path / "mirror" / COMMIT / "set" / "0.png"
    bad.write_bytes(bad.read_bytes() + b"tampered")
    with pytest.raises(FileNotFoundError, match="sha256") as error:
        local_copy(tiny, tiny.files(), None, None)
    assert f"'0.png' downloaded from {bad.as_uri()} has sha256" in str(error.value)
    assert list((cache / "tiny").iterdir()) == []  # the first file: neither it nor a partial copy stays


def test_no_network_leaves_nothing_and_says_where_to_put_which_files(tiny, cache, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError) as error:
        local_copy(tiny, tiny.files(), None, None)
    message = str(error.value)
    assert "\n" not in message and "Temporary failure in name resolution" in message
    url = tiny.files()[0].url
    assert f"downloading '0.png' from {url} failed" in message
    assert f"put the 3 files of tiny from {url.rsplit('/', 1)[0]} into '{cache / 'tiny'}'" in message
    assert list((cache / "tiny").iterdir()) == []


def test_the_folder_named_is_the_repository_folder_at_its_commit():
    files = DATASETS["cbsd68"].files()
    assert store.source_folder(files) == (
        "https://github.com/cszn/FFDNet/tree/e787f46df2f374ff3591186706229cb9a0591fea/testsets/CBSD68"
    )


def test_a_tampered_file_in_the_cache_is_refused_not_fetched_again(tiny, cache, downloads):
    folder = local_copy(tiny, tiny.files(), None, None)
    (folder / "1.png").write_bytes(b"not the published file")
    with pytest.raises(FileNotFoundError, match=r"1\.png' has sha256 .* delete it to download it again"):
        local_copy(tiny, tiny.files(), None, None)
    assert len(downloads) == 3


def test_a_users_folder_is_checked_and_never_written(tiny, tmp_path, downloads):
    mine = tmp_path / "mine"
    shutil.copytree(tmp_path / "mirror" / COMMIT / "set", mine)
    (mine / "notes.txt").write_text("other files are left alone")
    assert local_copy(tiny, tiny.files(), str(mine), None) == mine and downloads == []
    (mine / "2.png").write_bytes(b"edited")
    with pytest.raises(FileNotFoundError, match=r"2\.png' has sha256 .* replace it with the published file"):
        local_copy(tiny, tiny.files(), str(mine), None)
    (mine / "2.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks 1 of the 3 files of tiny \(first: 2\.png\); put"):
        local_copy(tiny, tiny.files(), str(mine), None)
    assert sorted(p.name for p in mine.iterdir()) == ["0.png", "1.png", "notes.txt"] and downloads == []


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as error:
        lookup("cbsd69")
    assert str(error.value) == f"unknown dataset 'cbsd69'; known: {', '.join(DATASETS)}"
    # from a config too, in the source's words rather than wrapped in Hydra's InstantiationException
    with pytest.raises(ConfigError, match="unknown dataset 'cbsd69'; known: cbsd68, "):
        build_datamodule(compose_config(["data=cbsd68", "data.name=cbsd69"]))


@pytest.mark.parametrize("name", SIZES)
def test_the_manifests_list_every_file_pinned_to_a_commit(name):
    files = DATASETS[name].files()
    assert len(files) == SIZES[name] == len({f.path for f in files})
    assert all(re.fullmatch(r"[0-9a-f]{64}", f.sha256) for f in files)
    folders = set()
    for f in files:
        match = PINNED.fullmatch(f.url)
        assert match and match.group(1).endswith(f"/{f.path}"), f.url
        folders.add(match.group(1).removesuffix(f"/{f.path}"))
    assert len(folders) == 1  # one repository folder at one commit


def test_cbsd432_is_the_bsd_photos_not_in_cbsd68():
    def stems(name):
        return {Path(f.path).stem for f in DATASETS[name].files()}

    assert not stems("cbsd432") & stems("cbsd68")


def test_the_manifests_ship_in_the_wheel():
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = root / "src" / "denoise_lab"
    for manifest in (package / "datasets" / "manifests").iterdir():
        assert any(fnmatch(str(manifest.relative_to(package)), g) for g in globs["denoise_lab"]), manifest


def test_polyu_is_100_pairs_and_only_canon_crops_may_train():
    polyu = DATASETS["polyu"]
    pairs = pair_by_suffix([Path(f.path) for f in polyu.files()], *polyu.pairs)
    assert len(pairs) == 100
    assert all(low.name.endswith("_real.JPG") and high.name.endswith("_mean.JPG") for _, low, high in pairs)
    cameras = Counter(polyu.camera(key) for key, _, _ in pairs)
    assert {c: n for c, n in cameras.items() if c.startswith("Canon")} == {
        "Canon5D2": 29,
        "Canon600D": 11,
        "Canon80D": 15,
    }
    assert [polyu.may_train(f"{c}_x_real.JPG") for c in polyu.cameras] == [True, True, True, False, False]
    assert len(polyu.select(["Canon*"])) == 2 * 55 and len(polyu.select(["NikonD800", "Sony"])) == 200 - 110


def test_pairs_in_one_folder_are_matched_by_suffix(tmp_path, caplog):
    files = [tmp_path / n for n in ("a_real.JPG", "a_mean.JPG", "b_real.JPG", "b_mean.JPG", "c_real.JPG")]
    assert pair_by_suffix(files, "_real", "_mean") == [("a", files[0], files[1]), ("b", files[2], files[3])]
    assert "1 files have no partner" in caplog.text


@pytest.fixture
def cameras(tmp_path, monkeypatch) -> Dataset:
    """A PolyU-like set: noisy/clean pairs of three cameras in one folder, Canon's trainable."""
    entry = Dataset(
        "pairs",
        "pairs of three cameras",
        "none",
        train=("Canon*",),
        pairs=("_real", "_mean"),
        cameras=("Canon5D2", "NikonD800", "Sony"),
    )
    files = {}
    for i, scene in enumerate(["Canon5D2_desk_1", "Canon5D2_desk_2", "NikonD800_plant_1", "Sony_room_1"]):
        for j, suffix in enumerate(["_real", "_mean"]):
            name = f"{scene}{suffix}.JPG"
            files[name] = write_image(tmp_path / "crops" / f"{scene}{suffix}.png", 32, 32, seed=2 * i + j)
    publish(tmp_path, monkeypatch, entry, files)
    return entry


def test_a_paired_set_trains_on_its_trainable_cameras_and_tests_on_the_others(cameras, tmp_path, downloads):
    data = DenoiseDataModule.from_dataset("pairs", val_ratio=0.5)
    train, val = data.splits()
    assert sorted(im.name for im in train + val) == ["Canon5D2_desk_1", "Canon5D2_desk_2"]
    assert [im.name for im in data.heldout_images()] == ["NikonD800_plant_1", "Sony_room_1"]
    sony = data.heldout_images()[1]
    crops = tmp_path / "crops"
    assert np.array_equal(sony.degraded, read_rgb(crops / "Sony_room_1_real.png"))
    assert np.array_equal(sony.clean, read_rgb(crops / "Sony_room_1_mean.png"))
    assert data.op_names == ["paired"] and len(downloads) == 8


def test_cameras_select_files_and_a_test_only_selection_cannot_train(cameras):
    sony = DenoiseDataModule.from_dataset("pairs", cameras=["Sony"])
    assert [im.name for im in sony.heldout_images()] == ["Sony_room_1"]
    with pytest.raises(ConfigError, match=r"data=pairs data.cameras=\['Sony'\] \(role: .*\) holds nothing"):
        sony.splits()
    with pytest.raises(ConfigError, match=r"data.cameras 'Nikon' matches none of pairs's cameras \["):
        DenoiseDataModule.from_dataset("pairs", cameras=["Nikon"])
    with pytest.raises(ConfigError, match=r"data\.cameras selects among the cameras of"):
        DenoiseDataModule.from_dataset("cbsd68", cameras=["Canon*"])


def test_every_set_has_a_data_option_that_composes_and_validates():
    assert set(DATASETS) <= set(config_options("data"))
    cfg = compose_config(["data=polyu", "data.cameras=[Canon*]", "data.cache_dir=/tmp/sets"])
    validate(cfg)
    assert cfg.data._target_.endswith("from_dataset") and list(cfg.data.cameras) == ["Canon*"]
    cfg = compose_config(["data=cbsd68"])
    validate(cfg)
    assert (cfg.data.name, cfg.data.dir, cfg.data.cache_dir) == ("cbsd68", None, None)


@pytest.mark.parametrize("images", ["heldout", "all"])
def test_evaluating_a_test_set_scores_all_of_it(tiny, tmp_path, identity_checkpoint, images):
    cfg = evaluate_config(
        tmp_path,
        f"ckpt_path={identity_checkpoint}",
        "data=cbsd68",
        "data.name=tiny",
        "eval.protocol=standard",
        f"eval.images={images}",
        "eval.sigmas=[25]",
        "eval.baselines.methods=[]",
    )
    assert rows(evaluate(cfg), "gaussian_noise_25").loc["model", "images"] == 3


def test_the_command_line_lists_the_sets_and_fetches_one_printing_its_folder(
    tiny, cache, downloads, capsys, monkeypatch
):
    from denoise_lab.datasets import __main__ as command
    from denoise_lab.datasets.__main__ import main

    monkeypatch.setattr(command, "DATASETS", {"tiny": tiny})  # the mirror serves this set alone
    main([])
    listing = capsys.readouterr().out
    assert listing.startswith("tiny              test") and "3 files, 0/3 cached" in listing
    main(["fetch", "tiny"])
    assert capsys.readouterr().out.strip() == str(cache / "tiny") and len(downloads) == 3
    main([])
    assert "3 files, cached" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="error: unknown dataset 'nonesuch'; known: "):
        main(["fetch", "nonesuch"])
