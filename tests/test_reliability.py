"""Nothing lost, nothing silently wrong: each case asserts the exact outcome, files untouched by hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import write_image
from tests.test_predict import predict_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path, with its hash."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_predict_into_a_subfolder_of_its_input_never_replaces_an_original_nor_reads_its_own_outputs(
    tmp_path, identity_checkpoint
):
    nested = tmp_path / "ds" / "nested"
    write_image(nested / "a.png", seed=1)
    write_image(nested / "sub" / "a.png", seed=2)
    before = snapshot(tmp_path / "ds")
    result = predict_cli(
        f"ckpt_path={identity_checkpoint}", f"input={nested}", f"output={nested / 'sub'}", cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"refused to overwrite 1 existing file(s) in '{nested / 'sub'}' (overwrite=true)"
    )
    assert f"refusing to overwrite {nested / 'sub' / 'a.png'}, which exists" in result.stdout
    assert "restored 0 of 1 images" in result.stdout and "refused 1 existing" in result.stdout
    assert snapshot(tmp_path / "ds") == before  # sub/a.png is the original, and no sub/sub/a.png


def test_a_single_file_into_a_folder_holding_its_name_is_refused_unless_overwrite(
    tmp_path, identity_checkpoint
):
    photo = write_image(tmp_path / "in" / "a.png", seed=1)
    existing = write_image(tmp_path / "out" / "a.png", seed=2)
    kept = digest(existing)
    refused = predict_cli(f"ckpt_path={identity_checkpoint}", f"input={photo}", "output=out", cwd=tmp_path)
    assert refused.returncode == 1 and digest(existing) == kept
    replaced = predict_cli(
        f"ckpt_path={identity_checkpoint}", f"input={photo}", "output=out", "overwrite=true", cwd=tmp_path
    )
    assert replaced.returncode == 0 and "restored 1 of 1 images" in replaced.stdout
    assert digest(existing) == digest(photo)  # the identity network: the restored photo is the input


def test_output_inside_input_is_never_restored_again_on_the_next_run(tmp_path, identity_checkpoint):
    photos = tmp_path / "photos"
    write_image(photos / "x.png")
    first = predict_cli(
        f"ckpt_path={identity_checkpoint}", f"input={photos}", f"output={photos / 'restored'}", cwd=tmp_path
    )
    assert first.returncode == 0 and "restored 1 of 1 images" in first.stdout
    again = predict_cli(
        f"ckpt_path={identity_checkpoint}",
        f"input={photos}",
        f"output={photos / 'restored'}",
        "overwrite=true",
        cwd=tmp_path,
    )
    assert (
        again.returncode == 0 and "restored 1 of 1 images" in again.stdout
    )  # x.png only, not restored/x.png
    assert sorted(snapshot(photos)) == ["restored/x.png", "x.png"]
