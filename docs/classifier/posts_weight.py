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
from dataclasses import replace
from pathlib import Path

from classifier.evaluate import CIVIL_SENTENCES
from classifier.experiment import fit_once
from classifier.train import RECIPES, prepare

SOURCES = ("jigsaw", CIVIL_SENTENCES, "civil", "olid", "davidson", "stormfront")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", type=float, help="factors for Civil's whole posts")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--recipe", default="default")
    args = parser.parse_args(argv)

    base = RECIPES[args.recipe]
    splits = prepare(base, args.data_dir, log=lambda *_: None)
    print("| posts' weight | set | " + " | ".join(SOURCES) + " | functional toxicity / identity_attack |")
    print("| --- | --- |" + " --- |" * (len(SOURCES) + 1))
    for factor in args.weights:
        fit = fit_once(replace(base, civil_posts_weight=factor), splits)
        functional_aucs = fit.functional()
        for name in fit.sets:
            cells = [f"{auc:.4f}" for auc in fit.source_aucs(name, SOURCES)]
            functional = (
                f"{functional_aucs['roc_auc_toxicity']:.3f} / {functional_aucs['roc_auc_identity_attack']:.3f}"
                if name == "test"
                else ""
            )
            print(f"| {factor:g} | {name} | " + " | ".join(cells) + f" | {functional} |")
        print(f"<!-- {factor:g}: {fit.seconds:.0f}s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
