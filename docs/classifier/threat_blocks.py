"""The default recipe against the same with threat through the embedding and window blocks; one fit each.

Threat keeps to the n-grams (it has fewer than the recipe's ``embedding_min_positives``), so
death wishes about the author or an official reach review on toxicity, most by thin margins, and
score threat 0.00-0.16. This measures whether the dense blocks, which let a word borrow from its
MiniLM neighbours ("cancer", "grave", "burn"), lift threat on them now that the templated
threats about a third person are training rows, and what it costs on Jigsaw's held-out threats
and the behavioural threats said to the reader. One fit per variant on the fixed split (no
cross-fitting, no thresholds; calibrated on validation rows), about 5 minutes each on two cores:

    python docs/classifier/threat_blocks.py --data-dir ../shared/data [VARIANT ...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier import LABELS
from classifier.canaries import PERSON_CONTRASTS, PERSON_THREATS, THREATS
from classifier.evaluate import functional_figures, label_metrics
from classifier.experiment import fit_once
from classifier.functional import functional_cases
from classifier.train import RECIPES, Recipe, Splits, prepare

DEFAULT = RECIPES["default"]
VARIANTS = {
    "default": DEFAULT,
    "threat_dense": replace(DEFAULT, embedding_labels=(*DEFAULT.embedding_labels, "threat")),
}
THREAT, TOXICITY = LABELS.index("threat"), LABELS.index("toxicity")


def run(name: str, recipe: Recipe, splits: Splits) -> None:
    """Fit ``recipe`` once and print its figures."""
    fit = fit_once(recipe, splits)
    test = fit.sets["test"]
    y = fit.splits.data.y[test, THREAT]
    known = ~np.isnan(y)
    held = label_metrics(fit.score_rows(test[known])[:, THREAT], y[known])
    print(f"## {name} ({fit.seconds:.0f}s)")
    print(
        f"threat, held-out rows ({held['positives']} threats): ROC AUC {held['roc_auc']:.4f}, "
        f"PR AUC {held['pr_auc']:.3f}"
    )
    for family, texts in (
        ("death wishes", PERSON_THREATS),
        ("their contrasts", PERSON_CONTRASTS),
        ("threats", THREATS),
    ):
        p = fit.score_texts(list(texts))
        print(f"  {family}, threat:   " + " ".join(f"{v:.2f}" for v in p[:, THREAT]))
        print(f"  {family}, toxicity: " + " ".join(f"{v:.2f}" for v in p[:, TOXICITY]))
    cases = functional_cases()
    p = fit.score_texts([c.text for c in cases])
    threat_cases = np.array([c.functionality == "threat" for c in cases])
    functional = functional_figures(cases, p, None)  # fit.functional() of the scores just computed
    print(
        f"functional toxicity / identity_attack: {functional['roc_auc_toxicity']:.3f} / "
        f"{functional['roc_auc_identity_attack']:.3f}; threat score, threat cases against the rest: "
        f"{roc_auc_score(threat_cases, p[:, THREAT]):.3f}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help=f"{', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    splits = prepare(DEFAULT, args.data_dir, log=lambda *_: None)  # the variants share the data
    print(f"prepared in {time.perf_counter() - started:.0f}s")
    for name in args.variants or list(VARIANTS):
        run(name, VARIANTS[name], splits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
