"""Would a cascade do: the encoder rescoring only the comments the default model is unsure of?

Reads the encoder's logits that ``contextual_finetune.py --save FILE`` wrote (a run without
``--leave-out``, so the linear model is the packaged artifact) and, for each fraction f of
comments, replaces the artifact's toxicity logit with the blend of artifact and encoder (weights
fitted on the validation rows, as the experiment does) for the f of comments whose artifact logit
lies nearest a centre; the centre is the one of 25 between -4 and 2 that gives the best mean of
Jigsaw and Civil-sentence validation ROC AUC. Prints validation / test toxicity ROC AUC on
Jigsaw and Civil sentences and the functional suite (whose own middle f is rescored). f = 0 is
the artifact, f = 1 the blend everywhere. Then, per part of the functional suite, the share of
its cases above the scorer's own median on the suite, for the artifact and the encoder alone.
Seconds; no torch needed.

    python docs/classifier/encoder_cascade.py --data-dir ../shared/data --logits /tmp/ft3_in.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from classifier import load_model
from classifier.evaluate import CIVIL_SENTENCES, source_aucs
from classifier.experiment import TOXICITY
from classifier.functional import functional_cases
from classifier.model import default_model_path
from classifier.train import RECIPES, prepare

FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
CENTRES = np.linspace(-4.0, 2.0, 25)


def rescore(linear: NDArray[np.float64], blend: NDArray[np.float64], f: float, centre: float) -> NDArray[np.float64]:
    """``linear``, with the share ``f`` of values nearest ``centre`` replaced by ``blend``'s."""
    distance = np.abs(linear - centre)
    chosen = distance <= np.quantile(distance, f) if f > 0 else np.zeros(len(linear), dtype=bool)
    return np.where(chosen, blend, linear)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--logits", type=Path, required=True, help="contextual_finetune.py --save output")
    args = parser.parse_args(argv)
    base = RECIPES["default"]
    splits = prepare(base, args.data_dir, log=lambda *_: None)
    data = splits.data
    sets = {name: splits.rows(name, sources=base.sources) for name in ("val", "test")}
    model = load_model(default_model_path())
    cases = functional_cases()
    hateful = np.array([c.hateful for c in cases])
    linear = {name: model.logits([data.texts[i] for i in rows])[:, TOXICITY] for name, rows in sets.items()}
    linear["functional"] = model.logits([c.text for c in cases])[:, TOXICITY]
    with np.load(args.logits, allow_pickle=False) as saved:
        encoder = {name: saved[name][:, TOXICITY] for name in linear}
    y_val = data.y[sets["val"], TOXICITY]
    known = ~np.isnan(y_val)
    fit = LogisticRegression(C=1e4).fit(np.c_[linear["val"], encoder["val"]][known], y_val[known].astype(int))
    blend = {name: fit.decision_function(np.c_[linear[name], encoder[name]]) for name in linear}
    sources = ("jigsaw", CIVIL_SENTENCES)

    def figures(name: str, z: NDArray[np.float64]) -> list[float]:
        return source_aucs(data, sets[name], z, sources)

    print("| rescored | centre | Jigsaw val / test | Civil sentences val / test | functional toxicity |")
    print("| --- | --- | --- | --- | --- |")
    for f in FRACTIONS:
        centre = max(CENTRES, key=lambda c: float(np.mean(figures("val", rescore(linear["val"], blend["val"], f, c)))))
        val, test = (figures(n, rescore(linear[n], blend[n], f, centre)) for n in ("val", "test"))
        functional = roc_auc_score(hateful, rescore(linear["functional"], blend["functional"], f, centre))
        where = f"{centre:.2f}" if 0 < f < 1 else "–"  # the centre matters only for a part
        print(f"| {f:.0%} | {where} | {val[0]:.4f} / {test[0]:.4f} | {val[1]:.4f} / {test[1]:.4f} | {functional:.3f} |")
    print("\n| functional part | hateful | cases | artifact above its median | encoder above its median |")
    print("| --- | --- | --- | --- | --- |")
    parts: dict[tuple[str, bool], list[int]] = {}
    for i, case in enumerate(cases):
        parts.setdefault((case.functionality, case.hateful), []).append(i)
    above = {
        name: z["functional"] > np.median(z["functional"]) for name, z in (("linear", linear), ("encoder", encoder))
    }
    for (part, is_hateful), index in sorted(parts.items()):
        shares = " | ".join(f"{above[name][index].mean():.0%}" for name in ("linear", "encoder"))
        print(f"| {part} | {'yes' if is_hateful else 'no'} | {len(index)} | {shares} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
