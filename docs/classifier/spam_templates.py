"""The recipe of 2026.12.07-20ef1ce1 against it with templated web spam and spam through the dense blocks; one fit each.

YouTube's comment spam (2015) is the only spam source, mostly "check out my channel". This
measures whether the "web_spam" templates (classifier/augment.py: comment spam selling things,
ordinary comments that cite a source by its link or talk about prices) pay: one fit per variant
on the fixed split (no cross-fitting, no thresholds: n-grams, embedding and window blocks,
calibrated on validation rows), then spam on the held-out canaries written before the templates
(WEB_SPAM against LINK_DISCUSSION, and against every held-out row of the other sources), spam
ROC AUC on YouTube's held-out rows, toxicity ROC AUC per source and the functional suite, to see
what else moves. About 5 minutes per variant on two cores:

    python docs/classifier/spam_templates.py --data-dir ../shared/data [VARIANT ...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier import LABELS
from classifier.canaries import LINK_DISCUSSION, WEB_SPAM
from classifier.experiment import fit_once
from classifier.train import RECIPES, Recipe, prepare

PREVIOUS = RECIPES["group_statements"]  # the default before the web spam (2026.12.07-20ef1ce1)
VARIANTS = {
    "group_statements": PREVIOUS,
    "web_spam": replace(PREVIOUS, augment_extra=(*PREVIOUS.augment_extra, "web_spam")),
    # spam through the embedding and window blocks too (its 600 positives are under the default's
    # embedding_min_positives)
    "dense": replace(PREVIOUS, embedding_labels=("spam",)),
    # both: the recipe of 2026.12.07-10c43964 (the default since adds templated threats)
    "both": RECIPES["web_spam"],
}

SRC = ("jigsaw", "civil sentences", "olid", "davidson", "stormfront")
# 2026.12.07-20ef1ce1's spam review cut-off, for counts on the same scale (one fit's calibration
# is not the full recipe's, so read the counts beside the AUCs).
SPAM_REVIEW = 0.283
SPAM = LABELS.index("spam")


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    return float(roc_auc_score(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative]))


def run(name: str, recipe: Recipe, data_dir: Path) -> None:
    """Fit ``recipe`` once and print its figures."""
    t0 = time.perf_counter()
    fit = fit_once(recipe, prepare(recipe, data_dir, log=lambda *_: None))
    data, source = fit.splits.data, np.array(fit.splits.data.source)
    web, links = fit.score_texts(list(WEB_SPAM))[:, SPAM], fit.score_texts(list(LINK_DISCUSSION))[:, SPAM]
    test = fit.sets["test"]
    z_test = fit.score_rows(test)
    youtube = source[test] == "youtube"
    others = z_test[~youtube, SPAM]
    print(f"## {name} ({time.perf_counter() - t0:.0f}s)")
    print(f"spam ROC AUC: YouTube test {roc_auc_score(data.y[test[youtube], SPAM], z_test[youtube, SPAM]):.4f}")
    print(f"  web spam ({len(web)}) vs link discussion ({len(links)}): {_auc(web, links):.3f}")
    print(f"  web spam vs the other sources' test rows ({len(others)}): {_auc(web, others):.3f}")
    flagged = [int((x >= SPAM_REVIEW).sum()) for x in (web, links)]
    print(
        f"  at spam >= {SPAM_REVIEW}: web spam {flagged[0]}/{len(web)}, link discussion {flagged[1]}/{len(links)}, "
        f"other sources' test rows {np.mean(others >= SPAM_REVIEW):.2%}"
    )
    print("  web spam:", " ".join(f"{p:.2f}" for p in web))
    print("  links:   ", " ".join(f"{p:.2f}" for p in links))
    functional = fit.functional()
    print(
        "functional toxicity / identity_attack: "
        f"{functional['roc_auc_toxicity']:.3f} / {functional['roc_auc_identity_attack']:.3f}"
    )
    for sname in fit.sets:
        cells = [f"{s} {auc:.4f}" for s, auc in zip(SRC, fit.source_aucs(sname, SRC), strict=True)]
        print(f"toxicity {sname}: " + "; ".join(cells), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help=f"{', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    for name in args.variants or list(VARIANTS):
        run(name, VARIANTS[name], args.data_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
