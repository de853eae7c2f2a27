"""Refit the window block alone, keep the rest of an artifact, and compare toxicity ROC AUC.

How much of the model card's figures is the window block's seed, and whether another shape of
the block does better: each variant is a ``WindowConfig`` change (JSON), fitted on the recipe's
training rows exactly as ``moderation train`` fits it (same rows, weights and labels kept), and
added to the artifact's own n-gram and embedding logits. Prints a Markdown table (the model
card's "How much of these figures is the seed"), with the behavioural canaries each variant gets
wrong at the artifact's cut-offs and, in brackets, how many of those the artifact gets right: a
seed's share of what the retraining gate's canary rule would refuse. 80-90 s per variant on two
cores, plus a minute to load the data.

    python docs/classifier/window_variants.py --data-dir ../shared/data '{"seed": 14}' '{"epochs": 6}'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from classifier import LABELS, load_model
from classifier.canaries import CANARIES, margins_of
from classifier.embedding import load_static_vectors, static_vectors_path
from classifier.experiment import block_logits, recipe_variant
from classifier.functional import functional_cases
from classifier.identity import prepare_text
from classifier.model import default_model_path
from classifier.thresholds import cutoffs
from classifier.train import RECIPES, dense_labels, prepare, sample_weights
from classifier.window import WindowNet, WindowScorer, encode_with_identity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help="WindowConfig changes as JSON, e.g. '{\"seed\": 14}'")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None, help="artifact (default: the packaged default)")
    args = parser.parse_args(argv)

    model = load_model(args.model or default_model_path())
    recipe = RECIPES[model.manifest.recipe]
    assert recipe.window is not None and recipe.embedding is not None, "the recipe has no window block"
    splits = prepare(recipe, args.data_dir, log=lambda *_: None)
    data, source = splits.data, np.array(splits.data.source)
    train = splits.rows("train", sources=(*recipe.sources, "augment"))
    assert model._tokens is not None
    tokenizer = model._tokens.tokenizer
    tokens = encode_with_identity(tokenizer, [splits.normalized[i] for i in train])
    seqs = [tokens.ids[tokens.indptr[i] : tokens.indptr[i + 1]] for i in range(len(train))]
    static = load_static_vectors(static_vectors_path(recipe.embedding))
    keep = dense_labels(recipe, data.y[train])

    sets: dict[str, tuple[NDArray[np.int64] | None, list[str]]] = {}
    for name in ("val", "test"):
        rows = splits.rows(name, sources=recipe.sources)
        sets[name] = (rows, [splits.normalized[i] for i in rows])
    cases = functional_cases()
    sets["functional"] = (None, [prepare_text(c.text, recipe.identity_mask, recipe.identity_terms) for c in cases])
    hateful = np.array([c.hateful for c in cases])
    # The behavioural canaries, decided at the artifact's cut-offs (its calibration kept): how many
    # a variant gets wrong, and how many of those the artifact gets right (the retraining gate's rule).
    sets["canaries"] = (None, [prepare_text(c.text, recipe.identity_mask, recipe.identity_terms) for c in CANARIES])
    review, reject = cutoffs(model.thresholds)
    kinds = [c.kind for c in CANARIES]
    named = np.array(model.names_group([c.text for c in CANARIES]), dtype=bool)
    baseline: dict[str, NDArray[Any]] = {}
    flips: dict[str, tuple[list[str], NDArray[Any]]] = {}

    def canary_margins(z: NDArray[Any]) -> NDArray[Any]:
        return margins_of(1.0 / (1.0 + np.exp(-(z * model._slope + model._bias))), review, reject, kinds, named)

    tox, attack = LABELS.index("toxicity"), LABELS.index("identity_attack")

    def auc(name: str, z: NDArray[Any], only: str | None = None, label: int = tox) -> float:
        rows, _ = sets[name]
        if rows is None:
            return float(roc_auc_score(hateful, z[:, label]))
        y = data.y[rows, label]
        mask = ~np.isnan(y) & ((source[rows] == only) if only else True)
        return float(roc_auc_score(y[mask], z[mask, label]))

    def row(title: str, scorer: WindowScorer | None) -> str:
        z = {name: sum(block_logits(model, texts, scorer)) for name, (_, texts) in sets.items()}
        cells = [
            auc("val", z["val"], "jigsaw"),
            auc("val", z["val"], "civil"),
            auc("test", z["test"], "jigsaw"),
            auc("test", z["test"], "civil"),
            auc("test", z["test"]),
        ]
        functional = [auc("functional", z["functional"]), auc("functional", z["functional"], label=attack)]
        margin = canary_margins(z["canaries"])
        wrong = {c.text for c, m in zip(CANARIES, margin, strict=True) if m < 0}
        if scorer is None:
            baseline["margin"] = margin
        right_before = {c.text for c, m in zip(CANARIES, baseline["margin"], strict=True) if m >= 0}
        if scorer is not None:
            flips[title] = (sorted(wrong & right_before), margin - baseline["margin"])
        return (
            f"| {title} | "
            + " | ".join(f"{c:.4f}" for c in cells)
            + " | "
            + " | ".join(f"{c:.3f}" for c in functional)
            + f" | {len(wrong)} ({len(wrong & right_before)}) |"
        )

    print(
        "| window block | Jigsaw val | Civil val | Jigsaw test | Civil test | all test "
        "| functional toxicity | functional identity_attack | canaries wrong (new) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(row(f"the artifact's ({model.manifest.version})", None), flush=True)
    for variant in args.variants:
        config = recipe_variant(recipe, {"window": json.loads(variant)}).window
        assert config is not None
        net = WindowNet(static.vectors, len(LABELS), config).fit(
            seqs, data.y[train], sample_weights(data, train, recipe), log=lambda *_: None
        )
        scorer = WindowScorer(net.arrays("00" * 32, keep=keep), tokenizer.n_tokens, static=static.vectors)
        print(row(variant, scorer), flush=True)
    for title, (texts, moved) in flips.items():
        worst = int(np.argmin(moved))
        print(
            f"\n{title}: canaries the artifact gets right and this variant wrong: {texts or 'none'}; "
            f"margins moved by {np.percentile(np.abs(moved), 50):.2f} (median), {np.abs(moved).max():.2f} (most); "
            f"the largest fall {moved[worst]:+.2f}: {CANARIES[worst].text!r}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
