"""Would weighing an artifact's feature families against each other beat their plain sum?

An artifact's logit is the sum of its n-gram part, its embedding block's token sum and its window
block's logit (the window block is trained on its own, not on the others' residual), and one Platt
slope per label calibrates that sum. Here a logistic regression per label on the validation rows
gives each family its own slope instead (the sum's logit, then the linear families against the
window block, then all three apart), and the test rows and the functional suite say whether it
pays. A weighting that did would fold into the artifact for free (scale the family's weights).
Under two minutes on two cores, most of it loading the data (13 s on a second run):

    python docs/classifier/block_stacking.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from classifier import LABELS, load_model
from classifier.evaluate import CIVIL_SENTENCES, label_metrics, source_aucs
from classifier.experiment import block_logits
from classifier.functional import functional_cases
from classifier.model import default_model_path, prepare_batch
from classifier.train import RECIPES, prepare

SOURCES = ("jigsaw", CIVIL_SENTENCES, "civil", "olid", "davidson", "stormfront")
Parts = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
WEIGHINGS: dict[str, Callable[[NDArray[Any], NDArray[Any], NDArray[Any]], NDArray[Any]]] = {
    "sum (the artifact)": lambda n, t, w: np.c_[n + t + w],
    "two slopes: n-grams and tokens, window": lambda n, t, w: np.c_[n + t, w],
    "three slopes: n-grams, tokens, window": lambda n, t, w: np.c_[n, t, w],
}


def label(parts: Parts, j: int) -> Parts:
    """The families' logits of one label (column ``j``)."""
    return parts[0][:, j], parts[1][:, j], parts[2][:, j]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None, help="artifact (default: the packaged default)")
    args = parser.parse_args(argv)

    model = load_model(args.model or default_model_path())
    recipe = RECIPES[model.manifest.recipe]
    splits = prepare(recipe, args.data_dir, log=lambda *_: None)
    rows = {name: splits.rows(name, sources=recipe.sources) for name in ("val", "test")}
    parts: dict[str, Parts] = {
        name: block_logits(model, [splits.normalized[i] for i in index]) for name, index in rows.items()
    }
    cases = functional_cases()
    prepared = prepare_batch([c.text for c in cases], recipe.identity_mask, recipe.identity_terms)
    functional = block_logits(model, prepared)
    hateful = np.array([c.hateful for c in cases])

    print(
        "| label | weighting | slopes | set | "
        + " | ".join(SOURCES)
        + " | all | functional |\n| --- | --- | --- | --- |"
        + " --- |" * (len(SOURCES) + 2)
    )
    for target in ("toxicity", "identity_attack"):
        j = LABELS.index(target)
        for title, columns in WEIGHINGS.items():
            y = splits.data.y[rows["val"], j]
            known = ~np.isnan(y)
            stack = LogisticRegression(C=100.0, max_iter=1000).fit(columns(*label(parts["val"], j))[known], y[known])
            slopes = " / ".join(f"{c:.3f}" for c in stack.coef_[0])
            fz = roc_auc_score(hateful, stack.decision_function(columns(*label(functional, j))))
            for name, index in rows.items():
                z = stack.decision_function(columns(*label(parts[name], j)))
                cells = source_aucs(splits.data, index, z, SOURCES) if target == "toxicity" else [np.nan] * len(SOURCES)
                every = label_metrics(z, splits.data.y[index, j])["roc_auc"]
                print(
                    f"| {target} | {title} | {slopes} | {name} | "
                    + " | ".join("–" if np.isnan(c) else f"{c:.4f}" for c in cells)
                    + f" | {every:.4f} | {f'{fz:.3f}' if name == 'test' else ''} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
