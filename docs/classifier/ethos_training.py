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

import classifier.data as cdata
import classifier.train as ctrain
from classifier.experiment import fit_once
from classifier.train import RECIPES, prepare

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
for name, recipe in variants.items():
    t0 = time.perf_counter()
    fit = fit_once(recipe, prepare(recipe, data_dir, log=lambda *_: None), eval_sources=(*base.sources, "ethos"))
    source = np.array(fit.splits.data.source)
    print(name, "train rows", len(fit.train_rows), "ethos train rows", int((source[fit.train_rows] == "ethos").sum()))
    functional = fit.functional()
    print(name, f"functional {functional['roc_auc_toxicity']:.3f} / {functional['roc_auc_identity_attack']:.3f}")
    for functionality, f in functional["per_functionality"].items():
        print(f"   {functionality:40s} tox {f['mean_toxicity']:.3f} ia {f['mean_identity_attack']:.3f}")
    for sname in fit.sets:
        cells = [f"{s} {auc:.4f}" for s, auc in zip(SRC, fit.source_aucs(sname, SRC), strict=True)]
        print(name, sname, "; ".join(cells))
    print(name, f"{time.perf_counter() - t0:.0f}s", flush=True)
