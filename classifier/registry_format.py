"""How a model artifact travels between instances: one archive of the artifact directory.

The registry stores a plain tar of ``manifest.json`` + ``arrays.npz`` (the arrays are already
compressed). Uploads may be tar (optionally gzip) or zip. An uploaded archive is untrusted input,
so unpacking is deliberately narrow: only regular files, only the artifact's known file names
(optionally under one top-level directory), no absolute paths, no ``..``, no links or devices,
bounded sizes — and nothing is ever unpickled (``load_model`` reads arrays with
``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from classifier.model import ARRAYS_FILE, MANIFEST_FILE

ARTIFACT_FILES: frozenset[str] = frozenset({MANIFEST_FILE, ARRAYS_FILE})
# The default artifact is about 6 MB; a manifest is a few KB.
MAX_MEMBER_BYTES: dict[str, int] = {MANIFEST_FILE: 1 << 20, ARRAYS_FILE: 256 << 20}


class ArchiveError(ValueError):
    """The archive is not an acceptable artifact archive; the message says why."""


@dataclass(frozen=True)
class PackedArtifact:
    data: bytes
    sha256: str


def pack_artifact(directory: Path) -> PackedArtifact:
    """A deterministic tar of the artifact directory's two files, and its sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(ARTIFACT_FILES):
            payload = (directory / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mode = 0o644
            info.mtime = 0  # same files → same bytes → same hash
            tar.addfile(info, io.BytesIO(payload))
    data = buffer.getvalue()
    return PackedArtifact(data, hashlib.sha256(data).hexdigest())


def _member_name(raw: str) -> str:
    """The artifact file a member name stands for; ArchiveError for anything else."""
    if not raw or "\\" in raw or "\x00" in raw:
        raise ArchiveError(f"invalid member name {raw!r}")
    path = PurePosixPath(raw)
    if path.is_absolute():
        raise ArchiveError(f"absolute member path {raw!r}")
    parts = [p for p in path.parts if p != "."]
    if any(p == ".." for p in parts):
        raise ArchiveError(f"member path {raw!r} leaves the archive")
    if len(parts) > 2:
        raise ArchiveError(f"member {raw!r} is nested too deeply")
    name = parts[-1] if parts else ""
    if name not in ARTIFACT_FILES:
        raise ArchiveError(f"unexpected member {raw!r}; an artifact holds {sorted(ARTIFACT_FILES)}")
    return name


def _check_size(name: str, size: int, total: int, limit: int) -> None:
    if size > MAX_MEMBER_BYTES[name]:
        raise ArchiveError(f"{name} is larger than {MAX_MEMBER_BYTES[name]} bytes")
    if total > limit:
        raise ArchiveError(f"the archive unpacks to more than {limit} bytes")


def unpack_artifact(data: bytes, dest: Path, *, max_total_bytes: int = 300 << 20) -> None:
    """Unpack an artifact archive (tar, tar.gz or zip) into the empty directory ``dest``.

    Reads member contents only through the archive library (never ``extractall``) and writes
    each file under its known name, so nothing can land outside ``dest``.
    """
    files: dict[str, bytes] = {}
    total = 0
    # Decide by the leading magic, not zipfile.is_zipfile: that looks for a zip trailer near the
    # end, and a tar whose member is an .npz (itself a zip) has one.
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zipped:
            for info in zipped.infolist():
                if info.is_dir():
                    continue
                # Unix mode bits in the high word: a symlink stored in a zip is a "file" otherwise.
                if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
                    raise ArchiveError(f"member {info.filename!r} is not a regular file")
                name = _member_name(info.filename)
                if name in files:
                    raise ArchiveError(f"{name} appears twice")
                total += info.file_size
                _check_size(name, info.file_size, total, max_total_bytes)
                with zipped.open(info) as fh:
                    payload = fh.read(MAX_MEMBER_BYTES[name] + 1)
                _check_size(name, len(payload), total, max_total_bytes)
                files[name] = payload
    else:
        try:
            tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError("not a tar or zip archive") from exc
        with tar:
            try:
                for member in tar:
                    if member.isdir():
                        continue
                    if not member.isreg():
                        raise ArchiveError(f"member {member.name!r} is not a regular file")
                    name = _member_name(member.name)
                    if name in files:
                        raise ArchiveError(f"{name} appears twice")
                    total += member.size
                    _check_size(name, member.size, total, max_total_bytes)
                    content = tar.extractfile(member)
                    if content is None:
                        raise ArchiveError(f"member {member.name!r} has no content")
                    files[name] = content.read()
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise ArchiveError(f"corrupt archive: {exc.__class__.__name__}") from exc
    missing = ARTIFACT_FILES - set(files)
    if missing:
        raise ArchiveError(f"the archive lacks {sorted(missing)}")
    dest.mkdir(parents=True, exist_ok=True)
    for name, payload in files.items():
        (dest / name).write_bytes(payload)
