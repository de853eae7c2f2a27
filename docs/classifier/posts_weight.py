"""Fit the recipe with Civil's whole posts weighted differently; toxicity ROC AUC per source.

Civil's toxic-spans posts are all toxic; their sentences are rows of their own, toxic when they
hold a span. The posts help telling toxic news sentences from clean ones and cost Wikipedia. One
fit per weight on the fixed split (no cross-fitting, no thresholds: n-grams, embedding and window
blocks, calibrated on validation rows), about 3.5 minutes each on two cores. Prints validation
and test figures ("civil sentences": the sentence rows alone) and the functional suite:

    python docs/classifier/posts_weight.py --data-dir ../shared/data 1 0.3 0
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier import LABELS
from classifier.evaluate import CIVIL_SENTENCES, source_aucs
from classifier.functional import functional_cases
from classifier.identity import prepare_text
from classifier.train import RECIPES, calibrated, fit_calibrated, prepare, raw_logits, sample_weights

SOURCES = ("jigsaw", CIVIL_SENTENCES, "civil", "olid", "davidson", "stormfront")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", type=float, help="factors for Civil's whole posts")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--recipe", default="default")
    args = parser.parse_args(argv)

    base = RECIPES[args.recipe]
    splits = prepare(base, args.data_dir, log=lambda *_: None)
    data = splits.data
    train = splits.rows("train", sources=(*base.sources, "augment"))
    sets = {name: splits.rows(name, sources=base.sources) for name in ("val", "test")}
    cases = functional_cases()
    hateful = np.array([c.hateful for c in cases])
    functional = [prepare_text(c.text, base.identity_mask, base.identity_terms) for c in cases]
    tox, attack = LABELS.index("toxicity"), LABELS.index("identity_attack")

    print("| posts' weight | set | " + " | ".join(SOURCES) + " | functional toxicity / identity_attack |")
    print("| --- | --- |" + " --- |" * (len(SOURCES) + 1))
    for factor in args.weights:
        started = time.perf_counter()
        recipe = replace(base, civil_posts_weight=factor)
        weights = sample_weights(data, train, recipe)
        rows = train[weights > 0]
        space, arrays = fit_calibrated(splits, rows, weights[weights > 0], sets["val"], recipe)

        z_functional = calibrated(arrays, raw_logits(arrays, space, functional))
        functional_auc = " / ".join(f"{roc_auc_score(hateful, z_functional[:, j]):.3f}" for j in (tox, attack))
        for name, index in sets.items():
            z = calibrated(arrays, raw_logits(arrays, space, [splits.normalized[i] for i in index]))[:, tox]
            cells = [f"{auc:.4f}" for auc in source_aucs(data, index, z, SOURCES)]
            print(f"| {factor:g} | {name} | " + " | ".join(cells) + f" | {functional_auc if name == 'test' else ''} |")
        print(f"<!-- {factor:g}: {time.perf_counter() - started:.0f}s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
