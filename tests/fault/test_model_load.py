"""A model that fails to load leaves the old one serving.

Hot swap of a running service's model is not built yet (issue 6): what exists is
``classifier.load_model`` (verifies the manifest, the artifact's sha256, array shapes and a
smoke test, raising ``ModelLoadError``) and ``Scorer.swap``. These tests hold that level:
every kind of broken artifact is refused before it could reach ``swap``, the Scorer keeps
scoring with the old model, and ``moderation serve`` refuses to start on a broken artifact
instead of serving without a model.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from classifier import Model, ModelLoadError, default_model_path, load_model
from service.ml.scorer import Scorer, load_model_from
from tests.e2e.conftest import MODERATION, cli_env, free_port


def _flip_a_byte(d: Path) -> None:
    data = bytearray((d / "arrays.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (d / "arrays.npz").write_bytes(bytes(data))


def _truncate(d: Path) -> None:
    (d / "arrays.npz").write_bytes((d / "arrays.npz").read_bytes()[:1000])


def _delete_arrays(d: Path) -> None:
    (d / "arrays.npz").unlink()


def _garbage_manifest(d: Path) -> None:
    (d / "manifest.json").write_text("{not json")


def _manifest_lies_about_labels(d: Path) -> None:
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["labels"] = manifest["labels"][:-1]
    (d / "manifest.json").write_text(json.dumps(manifest))


def _valid_hash_bad_arrays(d: Path) -> None:
    """Consistent manifest and file, but arrays of the wrong shape and NaNs: the deep checks."""
    with np.load(d / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    name = next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.ndim >= 1)
    arrays[name] = np.full_like(arrays[name], np.nan)
    np.savez(d / "arrays.npz", **arrays)
    import hashlib

    manifest = json.loads((d / "manifest.json").read_text())
    manifest["files"]["arrays.npz"] = hashlib.sha256((d / "arrays.npz").read_bytes()).hexdigest()
    (d / "manifest.json").write_text(json.dumps(manifest))


def _pickled_object_array(d: Path) -> None:
    """An artifact that would run code if loaded with pickle: must be refused, not executed."""
    import hashlib

    np.savez(d / "arrays.npz", evil=np.array([object()], dtype=object))
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["files"]["arrays.npz"] = hashlib.sha256((d / "arrays.npz").read_bytes()).hexdigest()
    (d / "manifest.json").write_text(json.dumps(manifest))


BREAKAGES: dict[str, Callable[[Path], None]] = {
    "flipped byte": _flip_a_byte,
    "truncated arrays": _truncate,
    "missing arrays": _delete_arrays,
    "garbage manifest": _garbage_manifest,
    "manifest labels": _manifest_lies_about_labels,
    "NaN arrays with a matching hash": _valid_hash_bad_arrays,
    "pickled object array": _pickled_object_array,
}


@pytest.fixture(scope="module")
def current_model() -> Model:
    return load_model(default_model_path())


def broken_copy(tmp_path: Path, breakage: Callable[[Path], None]) -> Path:
    d = tmp_path / "broken"
    shutil.copytree(default_model_path(), d)
    breakage(d)
    return d


@pytest.mark.parametrize("name", BREAKAGES)
async def test_a_broken_artifact_is_refused_and_the_old_model_keeps_serving(
    tmp_path: Path, current_model: Model, name: str
) -> None:
    scorer = Scorer(current_model)
    try:
        before = await scorer.score("You are a wonderful writer.")
        with pytest.raises(ModelLoadError):
            candidate = load_model_from(broken_copy(tmp_path, BREAKAGES[name]))
            scorer.swap(candidate)  # never reached: the load refuses first
        assert scorer.model is current_model
        after = await scorer.score("You are a wonderful writer.")
        assert after == before and after.model_version == current_model.version
    finally:
        scorer.close()


def test_serve_refuses_to_start_on_a_broken_artifact(tmp_path: Path) -> None:
    """No silent model-less service: the process exits non-zero and says why."""
    broken = broken_copy(tmp_path, _flip_a_byte)
    env = cli_env(
        tmp_path,
        {
            # A database that is not there: the pool is lazy and --no-migrate skips the wait,
            # so the model is what the start-up trips on.
            "MODERATION_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
            "MODERATION_MODEL_PATH": str(broken),
        },
    )
    done = subprocess.run(
        [MODERATION, "serve", "--no-migrate", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "ModelLoadError" in done.stderr and "sha256 mismatch" in done.stderr
