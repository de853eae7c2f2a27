"""Fit variants of a recipe once each on the fixed split; toxicity ROC AUC per source.

Each variant is a JSON object of ``Recipe`` fields to change (``"window"`` takes ``WindowConfig``
fields, merged into the recipe's, as are other objects such as ``"source_weights"``; lists become
tuples). One fit per variant on the fixed split
(no cross-fitting, no thresholds: n-grams, embedding and window blocks, calibrated on validation
rows), 5-7 minutes each on two cores. Prints validation and test figures per source ("civil
sentences": the sentence rows alone), every held-out row of the training sources ("all"), and the
functional suite. Choose on the validation rows; the test rows are for the record. With
``--leave-out SOURCE`` every variant is fitted without that source (calibrated on the others'
validation rows) and still reported on all of them: the source's columns are then cross-dataset
figures on its validation and test rows.

    python docs/classifier/recipe_variants.py --data-dir ../shared/data '{}' '{"C": 4}'
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from classifier.evaluate import CIVIL_SENTENCES, label_metrics, source_aucs
from classifier.experiment import TOXICITY, fit_once, recipe_variant
from classifier.train import RECIPES, prepare

SOURCES = ("jigsaw", CIVIL_SENTENCES, "civil", "olid", "davidson", "stormfront")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help="JSON objects of Recipe fields to change ('{}': the recipe)")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--leave-out", default=None, help="a source of the recipe to fit without")
    args = parser.parse_args(argv)

    base = RECIPES[args.recipe]
    try:  # fail before the slow part
        recipes = [recipe_variant(base, json.loads(text)) for text in args.variants]
    except ValueError as exc:
        parser.error(str(exc))
    if args.leave_out is not None:
        if args.leave_out not in base.sources:
            parser.error(f"{args.leave_out!r} is not a source of recipe {base.name!r}")
        recipes = [replace(r, sources=tuple(s for s in r.sources if s != args.leave_out)) for r in recipes]
    splits = prepare(base, args.data_dir, log=lambda *_: None)
    reported = {name: splits.rows(name, sources=base.sources) for name in ("val", "test")}
    print("| variant | set | " + " | ".join(SOURCES) + " | all | functional toxicity / identity_attack |")
    print("| --- | --- |" + " --- |" * (len(SOURCES) + 2))
    for text, recipe in zip(args.variants, recipes, strict=True):
        fit = fit_once(recipe, splits)
        functional = fit.functional()
        for name, rows in reported.items():
            scores = fit.score_rows(rows)[:, TOXICITY]
            every = label_metrics(scores, splits.data.y[rows, TOXICITY])["roc_auc"]
            cells = [f"{auc:.4f}" for auc in source_aucs(splits.data, rows, scores, SOURCES)]
            figures = (
                f"{functional['roc_auc_toxicity']:.3f} / {functional['roc_auc_identity_attack']:.3f}"
                if name == "test"
                else ""
            )
            print(f"| `{text}` | {name} | " + " | ".join(cells) + f" | {every:.4f} | {figures} |")
        print(f"<!-- {text}: {fit.seconds:.0f}s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
