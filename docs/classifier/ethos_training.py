"""The default recipe against the same with ETHOS (GPLv3) as a training source; one fit each.

ETHOS is evaluation-only for its licence (see the model card). This measures whether training on
its 699 training-split rows would pay: one fit per variant on the fixed split (no cross-fitting,
no thresholds: n-grams, embedding and window blocks, calibrated on validation rows), then the
functional suite (per family) and toxicity ROC AUC per source, ETHOS's held-out rows included.
About 5 to 8 minutes per variant on two cores:

    python docs/classifier/ethos_training.py --data-dir ../shared/data [default] [ethos]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

import classifier.data as cdata
import classifier.train as ctrain
from classifier import LABELS
from classifier.evaluate import source_aucs
from classifier.functional import functional_cases
from classifier.identity import prepare_text
from classifier.train import RECIPES, calibrated, fit_calibrated, prepare, raw_logits, sample_weights

# Let ETHOS be a training source for this run only.
specs = tuple(replace(s, train=True) if s.name == "ethos" else s for s in cdata.SOURCES)
cdata.SOURCES = specs
ctrain.SOURCES = specs  # type: ignore[attr-defined]
SRC = ("jigsaw", "civil sentences", "olid", "davidson", "stormfront", "ethos")
base = RECIPES["default"]
variants = {
    "default": base,
    "ethos": replace(base, name="ethos", sources=(*base.sources, "ethos"), eval_only_sources=()),
}
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("variants", nargs="*", default=list(variants), choices=list(variants))
parser.add_argument("--data-dir", type=Path, required=True)
args = parser.parse_args()
data_dir = args.data_dir
variants = {k: v for k, v in variants.items() if k in args.variants}
cases = functional_cases()
hateful = np.array([c.hateful for c in cases])
funcs = [c.functionality for c in cases]
tox, attack = LABELS.index("toxicity"), LABELS.index("identity_attack")
for name, recipe in variants.items():
    t0 = time.perf_counter()
    splits = prepare(recipe, data_dir, log=lambda *_: None)
    data, source = splits.data, np.array(splits.data.source)
    train = splits.rows("train", sources=(*recipe.sources, "augment"))
    evsrc = (*base.sources, "ethos")
    sets = {n: splits.rows(n, sources=evsrc) for n in ("val", "test")}
    functional = [prepare_text(c.text, recipe.identity_mask, recipe.identity_terms) for c in cases]
    weights = sample_weights(data, train, recipe)
    rows = train[weights > 0]
    print(name, "train rows", len(rows), "ethos train rows", int((source[rows] == "ethos").sum()), flush=True)
    space, arrays = fit_calibrated(splits, rows, weights[weights > 0], sets["val"], recipe)
    zf = calibrated(arrays, raw_logits(arrays, space, functional))
    print(name, "functional", " / ".join(f"{roc_auc_score(hateful, zf[:, j]):.3f}" for j in (tox, attack)))
    for f in dict.fromkeys(funcs):
        m = np.array([x == f for x in funcs])
        print(f"   {f:40s} tox {zf[m, tox].mean():.3f} ia {zf[m, attack].mean():.3f}")
    for sname, index in sets.items():
        z = calibrated(arrays, raw_logits(arrays, space, [splits.normalized[i] for i in index]))[:, tox]
        cells = [f"{s} {auc:.4f}" for s, auc in zip(SRC, source_aucs(data, index, z, SRC), strict=True)]
        print(name, sname, "; ".join(cells))
    print(name, f"{time.perf_counter() - t0:.0f}s", flush=True)
