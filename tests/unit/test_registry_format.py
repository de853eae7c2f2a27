"""The artifact archive is a trust boundary: only the two known regular files get through."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from classifier import default_model_path, load_model
from classifier.registry_format import ArchiveError, pack_artifact, unpack_artifact


def zip_of(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_pack_is_deterministic_and_round_trips_to_a_loadable_model(tmp_path: Path) -> None:
    first, second = pack_artifact(default_model_path()), pack_artifact(default_model_path())
    assert first == second and len(first.sha256) == 64
    unpack_artifact(first.data, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["arrays.npz", "manifest.json"]
    assert load_model(tmp_path / "out").version == load_model(default_model_path()).version


def test_a_zip_under_one_top_level_directory_is_accepted(tmp_path: Path) -> None:
    src = default_model_path()
    data = zip_of({f"model/{n}": (src / n).read_bytes() for n in ("manifest.json", "arrays.npz")})
    unpack_artifact(data, tmp_path / "out")
    assert (tmp_path / "out" / "arrays.npz").read_bytes() == (src / "arrays.npz").read_bytes()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (zip_of({"../../manifest.json": b"{}", "arrays.npz": b""}), "leaves the archive"),
        (zip_of({"manifest.json": b"{}"}, symlink="arrays.npz"), "not a regular file"),
        (zip_of({"a/b/manifest.json": b"{}", "arrays.npz": b""}), "nested too deeply"),
        (zip_of({"manifest.json": b"{}", "x/manifest.json": b"{}", "arrays.npz": b""}), "appears twice"),
        (zip_of({"manifest.json": b"{}"}), "lacks ['arrays.npz']"),
        (zip_of({"manifest.json": b"x" * ((1 << 20) + 1), "arrays.npz": b""}), "larger than"),
        (b"", "not a tar or zip"),
    ],
)
def test_hostile_archives_are_refused(tmp_path: Path, data: bytes, why: str) -> None:
    with pytest.raises(ArchiveError, match=why.replace("[", r"\[").replace("]", r"\]")):
        unpack_artifact(data, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_hard_link_in_a_tar_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("arrays.npz")
        info.type = tarfile.LNKTYPE
        info.linkname = "manifest.json"
        tar.addfile(info)
    with pytest.raises(ArchiveError, match="not a regular file"):
        unpack_artifact(buffer.getvalue(), tmp_path / "out")


def test_total_size_is_bounded(tmp_path: Path) -> None:
    data = zip_of({"manifest.json": b"{}", "arrays.npz": b"0" * 5000})
    with pytest.raises(ArchiveError, match="unpacks to more than"):
        unpack_artifact(data, tmp_path / "out", max_total_bytes=1000)
