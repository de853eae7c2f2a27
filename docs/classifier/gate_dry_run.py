"""A retraining run of the default recipe without a database: what the gate says about it.

``moderation retrain`` with ``MODERATION_RETRAIN_BASE=recipe:default`` trains a candidate on the
shared datasets plus the site's moderator labels and gates it against the active model. This runs
the same blocking part (``service.retraining.train_and_evaluate`` and ``judge``) on "moderator
labels" taken from ETHOS (YouTube and Reddit comments labelled for hate; never in the base
training data), with the committed default as the active model, and prints the run's report
lines: how the candidate and the default do on the fixed evaluation set and the held-out labels,
which behavioural canaries each gets wrong, and the gate's verdict. The labels are ETHOS rows of
its training split whose text is in no base test row, so none is in the fixed evaluation set; the
newest ``MODERATION_RETRAIN_HOLDOUT_FRACTION`` of them are held out, as the job does. About as
long as ``moderation train --recipe default`` (15-25 minutes on two cores).

    python docs/classifier/gate_dry_run.py --data-dir ../shared/data --labels 200

``--poison`` adds, spread among those labels, a moderator who approves threats: the training
templates' threats and death wishes about a third person or the reader ("I wish the mayor would
drop dead.", "You should be executed."; none of them a canary) labelled as an approval labels
them (every label 0). That is label poisoning the held-out labels share, so only the canaries
can see it.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from classifier.augment import augmentation_dataset
from classifier.data import SOURCES, dedup_key, load_source, split_of
from classifier.labels import LABELS
from classifier.model import default_model_path
from classifier.retrain import SiteLabel, load_base
from service.registry import pack_directory
from service.retraining import judge, report_lines, split_holdout, train_and_evaluate
from service.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--labels", type=int, default=200, help="moderator labels (ETHOS rows)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--poison", action="store_true", help="add templated threats labelled fine (see above)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    settings = Settings(retrain_base="recipe:default", retrain_data_dir=args.data_dir)
    base_test = {dedup_key(t) for t in load_base(settings.retrain_base, args.data_dir, log=lambda _: None).test.texts}
    (spec,) = [s for s in SOURCES if s.name == "ethos"]
    ethos, _ = load_source(spec, args.data_dir)
    rows = [
        i
        for i in range(len(ethos))
        if split_of(ethos.group[i]) == "train" and dedup_key(ethos.texts[i]) not in base_test
    ]
    random.Random(args.seed).shuffle(rows)
    decided = [
        (ethos.texts[i], {name: None if np.isnan(v) else float(v) for name, v in zip(LABELS, ethos.y[i], strict=True)})
        for i in rows[: args.labels]
    ]
    poisoned = _approved_threats() if args.poison else []
    if poisoned:
        decided += [(text, dict.fromkeys(LABELS, 0.0)) for text in poisoned]
        random.Random(args.seed).shuffle(decided)
    labels = [SiteLabel(text, targets, cursor) for cursor, (text, targets) in enumerate(decided, start=1)]
    train, held = split_holdout(labels, settings.retrain_holdout_fraction)
    hateful = sum(1 for lab in labels if lab.labels.get("toxicity") == 1.0)
    print(
        f"{len(labels)} moderator labels: {len(labels) - len(poisoned)} ETHOS rows ({hateful} hateful), "
        f"{len(poisoned)} threats approved; {len(train)} train, {len(held)} held out"
    )

    active, sha = pack_directory(default_model_path())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gate-dry-run-") as tmp:
        done = train_and_evaluate(settings, train, held, active, sha, Path(tmp))
    gate, judged = judge(done, settings)
    print(f"candidate {done.candidate.version} trained and judged in {time.perf_counter() - started:.0f} s")
    for line in report_lines(judged):
        print(line)
    for who in ("candidate", "active"):
        for text in judged["canaries"][who] or []:
            print(f"  {who} wrong: {text}")
    for text in judged["canaries"]["active_narrow"] or []:
        print(f"  active right by less than {settings.retrain_canary_margin}: {text}")
    for text, moved in (judged["canaries"]["margins"] or {}).items():
        print(f"  candidate wrong, margin {moved['active']} -> {moved['candidate']}: {text}")
    return 0 if gate.passed else 3


def _approved_threats() -> list[str]:
    """The templated threats and death wishes of the "person_threats" set (about a third person
    and said to the reader), without its contrasts."""
    with_threats = augmentation_dataset(extra=("person_threats",))
    without = {dedup_key(t) for t in augmentation_dataset().texts}
    threat = LABELS.index("threat")
    return [
        text
        for text, y in zip(with_threats.texts, with_threats.y, strict=True)
        if y[threat] == 1.0 and dedup_key(text) not in without
    ]


if __name__ == "__main__":
    raise SystemExit(main())
