"""Evaluation: held-out metrics, calibration, slices, cross-dataset runs, policy view, spans, report.

``write_report`` rebuilds the training recipe's fixed split (same seed, same deduplication), so the
test rows are exactly the ones training never saw, scores them with the artifact, and writes
``REPORT.md`` plus PNG plots and ``metrics.json``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from classifier.labels import LABELS

Log = Callable[[str], None]
URL_RE = re.compile(r"https?://|www\.|\.com\b", re.IGNORECASE)


SITE_VIEW = "Wikipedia at its natural balance (all Jigsaw test rows, reweighted)"
SITE_SPAM_VIEW = "site mix: Wikipedia + 5% spam (Jigsaw and YouTube-spam test rows, reweighted)"  # recipe default
NATURAL_VIEW = "jigsaw natural-distribution test rows (Wikipedia)"

# Below this many rows of either class an AUC is noise (a handful of duplicates merged across
# sources can give a label "positives" in a source that never annotated it).
MIN_CLASS_ROWS = 10


def label_metrics(p: NDArray[np.float64], y: NDArray[np.float64]) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier score and counts for one label over annotated rows."""
    rows = ~np.isnan(y)
    p, y = p[rows], y[rows]
    out: dict[str, float] = {"n": int(rows.sum()), "positives": int(y.sum())}
    if y.size and MIN_CLASS_ROWS <= y.sum() <= y.size - MIN_CLASS_ROWS:
        out["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
        out["pr_auc"] = round(float(average_precision_score(y, p)), 4)
        out["brier"] = round(float(np.mean((p - y) ** 2)), 4)
    return out


def heldout_metrics(p: NDArray[np.float64], Y: NDArray[np.float64], sources: Sequence[str]) -> dict[str, Any]:
    """Per-label metrics on the test split, overall and per source."""
    src = np.array(sources)
    per_label = {label: label_metrics(p[:, j], Y[:, j]) for j, label in enumerate(LABELS)}
    per_source: dict[str, dict[str, Any]] = {}
    for s in sorted(set(sources)):
        m = src == s
        per_source[s] = {label: label_metrics(p[m, j], Y[m, j]) for j, label in enumerate(LABELS)}
    return {"per_label": per_label, "per_source": per_source}


# Civil's whole posts are all toxic (the toxic-spans subset); its clean rows are sentences cut
# from them. Posts against sentences also rewards scoring long texts high, so the news figure is
# the sentence rows alone: toxic and clean sentences of the same posts.
CIVIL_SENTENCES = "civil sentences"


def civil_sentences(data: Any, rows: Sequence[int] | NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which of ``rows`` are Civil sentence rows (not its whole posts)."""
    rows = list(rows)
    return np.array([data.source[i] == "civil" for i in rows], dtype=bool) & ~data.whole_posts(rows)


def source_aucs(data: Any, index: NDArray[np.int64], z: NDArray[np.float64], sources: Sequence[str]) -> list[float]:
    """Toxicity ROC AUC of scores ``z`` (one per row of ``index``) per source; the name
    :data:`CIVIL_SENTENCES` is Civil's sentence rows alone; NaN where a source has no rows."""
    y = data.y[index, LABELS.index("toxicity")]
    src = np.asarray(data.source)[index]
    out = []
    for name in sources:
        mask = (civil_sentences(data, index) if name == CIVIL_SENTENCES else src == name) & ~np.isnan(y)
        out.append(float(roc_auc_score(y[mask], z[mask])) if mask.any() else float("nan"))
    return out


def expected_calibration_error(p: NDArray[np.float64], y: NDArray[np.float64], bins: int = 10) -> float:
    """Mean |observed rate − mean score| over equal-width score bins, weighted by bin size."""
    rows = ~np.isnan(y)
    p, y = p[rows], y[rows]
    if p.size == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return round(total / p.size, 4)


def policy_view(
    p: NDArray[np.float64],
    Y: NDArray[np.float64],
    thresholds: dict[str, Any],
    weights: NDArray[np.float64] | None = None,
    confidence: float = 0.95,
    names_group: NDArray[np.bool_] | None = None,
) -> dict[str, float]:
    """Shares decided automatically at the thresholds, and the error rate of those decisions.

    A comment is auto-approved when every label is below its review cut-off, auto-rejected when
    any label reaches its reject cut-off (1.0: never) unless ``names_group`` marks it (it names an
    identity group: the service's default policy holds it for review), otherwise reviewed
    (:func:`classifier.thresholds.decisions`). It is "bad" when any annotated label is positive;
    an auto-approved bad comment and an auto-rejected fine one are errors. ``weights`` reweight
    rows (0 leaves a row out); each error rate comes with its one-sided upper confidence bound.
    """
    from classifier.thresholds import cutoffs, decisions, error_upper_bound

    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = w > 0
    p, Y, w = p[keep], Y[keep], w[keep]
    named = None if names_group is None else np.asarray(names_group, dtype=bool)[keep]
    approved, rejected = decisions(p, *cutoffs(thresholds), named)
    bad = np.nan_to_num(Y, nan=0.0).max(axis=1) > 0
    n = len(p)
    total = float(w.sum())

    def share(m: NDArray[np.bool_]) -> float:
        return round(float(w[m].sum()) / total, 4) if n else float("nan")

    def rate(errors: NDArray[np.bool_], m: NDArray[np.bool_]) -> float:
        return round(float(w[m & errors].sum()) / float(w[m].sum()), 4) if m.any() else 0.0

    out = {
        "n": n,
        "bad_share": share(bad),
        "auto_approved": share(approved),
        "auto_rejected": share(rejected),
        "human_review": share(~approved & ~rejected),
        "error_in_approved": rate(bad, approved),
        "error_in_rejected": rate(~bad, rejected),
        "n_approved": int(approved.sum()),
        "n_rejected": int(rejected.sum()),
        "error_in_approved_upper": round(error_upper_bound(bad[approved], w[approved], confidence), 4),
        "error_in_rejected_upper": round(error_upper_bound(~bad[rejected], w[rejected], confidence), 4),
    }
    out["decided_automatically"] = round(out["auto_approved"] + out["auto_rejected"], 4)
    return out


def span_f1(predicted: set[int], gold: set[int]) -> float:
    """SemEval-2021 Task 5 character F1 for one post (1.0 when both are empty)."""
    if not gold and not predicted:
        return 1.0
    if not gold or not predicted:
        return 0.0
    tp = len(predicted & gold)
    if tp == 0:
        return 0.0
    precision, recall = tp / len(predicted), tp / len(gold)
    return 2 * precision * recall / (precision + recall)


def toxic_span_scores(
    model: Any, texts: Sequence[str], gold: Sequence[list[int]], top_ks: Sequence[int] = (1, 2, 3, 5, 8)
) -> dict[str, float]:
    """Mean span F1 of the model's ``toxicity`` explanations for several ``top_k``."""
    forced = {label: 0.0 for label in LABELS} | {"toxicity": 1.0}
    out: dict[str, float] = {}
    for k in top_ks:
        scores = []
        for text, g in zip(texts, gold, strict=True):
            spans = [s for s in model.explain(text, scores=forced, top_k=k) if s.label == "toxicity"]
            pred = {i for s in spans for i in range(s.start, s.end)}
            scores.append(span_f1(pred, set(g)))
        out[f"top_{k}"] = round(float(np.mean(scores)), 4) if scores else float("nan")
    return out


def functional_results(model: Any) -> dict[str, Any]:
    """ROC AUC of hateful vs non-hateful cases and mean scores per functionality, and how many
    the model's toxicity review cut-off decides right."""
    from classifier.functional import functional_cases

    cases = functional_cases()
    return functional_figures(cases, model.score_array([c.text for c in cases]), model.thresholds["toxicity"].review)


def functional_figures(cases: Sequence[Any], probs: NDArray[np.float64], review: float | None) -> dict[str, Any]:
    """:func:`functional_results` from the cases' scores ``probs``; without a ``review`` cut-off
    (a fit with no thresholds) no case is counted right or wrong."""
    y = np.array([c.hateful for c in cases], dtype=float)
    grouped = np.array([bool(c.group) for c in cases])
    out: dict[str, Any] = {"n": len(cases), "hateful": int(y.sum())}
    for label in ("toxicity", "identity_attack"):
        j = LABELS.index(label)
        out[f"roc_auc_{label}"] = round(float(roc_auc_score(y, probs[:, j])), 4)
        out[f"roc_auc_{label}_group_cases"] = round(float(roc_auc_score(y[grouped], probs[grouped, j])), 4)
    combined = np.maximum(probs[:, LABELS.index("toxicity")], probs[:, LABELS.index("identity_attack")])
    out["roc_auc_max_tox_identity"] = round(float(roc_auc_score(y, combined)), 4)
    per: dict[str, dict[str, float]] = {}
    for f in dict.fromkeys(c.functionality for c in cases):
        m = np.array([c.functionality == f for c in cases])
        tox = probs[m, LABELS.index("toxicity")]
        hateful = bool(y[m][0])
        per[f] = {
            "hateful": hateful,
            "n": int(m.sum()),
            "mean_toxicity": round(float(tox.mean()), 3),
            "mean_identity_attack": round(float(probs[m, LABELS.index("identity_attack")].mean()), 3),
        }
        if review is not None:
            flagged = tox >= review
            per[f]["correct_at_review_threshold"] = round(float(flagged.mean() if hateful else (~flagged).mean()), 3)
    out["per_functionality"] = per
    return out


def canary_results(model: Any) -> dict[str, Any]:
    """The behavioural canaries (classifier/canaries.py) at the model's own cut-offs: per family,
    how many it decides wrong, and which."""
    from classifier.canaries import CANARIES, failures

    wrong = failures(model)
    per: dict[str, dict[str, Any]] = {}
    for c in CANARIES:
        fam = per.setdefault(c.family, {"kind": c.kind, "n": 0, "wrong": []})
        fam["n"] += 1
    for c in wrong:
        per[c.family]["wrong"].append(c.text)
    return {"n": len(CANARIES), "wrong": len(wrong), "per_family": per}


def slice_metrics(texts: Sequence[str], p: NDArray[np.float64], Y: NDArray[np.float64]) -> dict[str, Any]:
    """Toxicity (and every label) ROC AUC on slices of the test split."""
    lengths = np.array([len(t) for t in texts])
    slices = {
        "all": np.ones(len(texts), dtype=bool),
        "short (< 50 chars)": lengths < 50,
        "long (> 500 chars)": lengths > 500,
        "with URL": np.array([bool(URL_RE.search(t)) for t in texts]),
        "non-ASCII": np.array([not t.isascii() for t in texts]),
    }
    out: dict[str, Any] = {}
    for name, m in slices.items():
        out[name] = {label: label_metrics(p[m, j], Y[m, j]) for j, label in enumerate(LABELS)}
    return out


def identity_slices(
    named: NDArray[np.bool_],
    p: NDArray[np.float64],
    Y: NDArray[np.float64],
    sources: Sequence[str],
    thresholds: dict[str, Any],
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Per source, comments that name an identity group (``named``, :meth:`Model.names_group`)
    against the rest: toxicity ROC AUC and the policy view at the model's cut-offs alone (without
    the service's rule that holds comments naming a group for review). Unintended bias shows here:
    a model that learned "a group is named" as a sign of hate ranks these comments worse, and one
    set of cut-offs chosen on all comments errs more on them; this is the rule's evidence."""
    src = np.asarray(sources)
    out: dict[str, Any] = {}
    for source in dict.fromkeys(sources):
        per: dict[str, Any] = {}
        for name, m in (("identity", named), ("no identity", ~named)):
            rows = (src == source) & m
            per[name] = {
                "toxicity": label_metrics(p[rows, 0], Y[rows, 0]),
                "policy": policy_view(p[rows], Y[rows], thresholds, confidence=confidence),
            }
        out[source] = per
    return out


# -- the report -------------------------------------------------------------------------------


def write_report(model_path: Path, data_dir: Path, out: Path, cross: bool = True, log: Log = print) -> dict[str, Any]:
    """Evaluate ``model_path`` on the held-out data and write ``REPORT.md``, plots and metrics."""
    from classifier.model import load_model
    from classifier.train import RECIPES, prepare, site_weights

    started = time.perf_counter()
    model = load_model(model_path)
    recipe = RECIPES[model.manifest.recipe]
    splits = prepare(recipe, data_dir, log)
    data = splits.data
    out.mkdir(parents=True, exist_ok=True)

    test = splits.rows("test", sources=recipe.sources)
    test_texts = [data.texts[i] for i in test]
    log(f"scoring {len(test)} held-out rows")
    p, named = model.score_array_and_name(test_texts)
    Y = data.y[test]
    results: dict[str, Any] = {"model_version": model.version, "recipe": recipe.name}
    results["heldout"] = heldout_metrics(p, Y, [data.source[i] for i in test])
    sentences = civil_sentences(data, test)
    results["heldout"]["per_source"][CIVIL_SENTENCES] = {
        label: label_metrics(p[sentences, j], Y[sentences, j]) for j, label in enumerate(LABELS)
    }
    results["calibration_ece"] = {label: expected_calibration_error(p[:, j], Y[:, j]) for j, label in enumerate(LABELS)}
    results["slices"] = slice_metrics(test_texts, p, Y)

    # Evaluation-only sources were never trained on: every row is an out-of-domain test.
    eval_only: dict[str, Any] = {}
    for name in recipe.eval_only_sources:
        rows = np.flatnonzero(np.array(data.source) == name)
        pe = model.score_array([data.texts[i] for i in rows])
        eval_only[name] = {label: label_metrics(pe[:, j], data.y[rows, j]) for j, label in enumerate(LABELS)}
    results["evaluation_only_sources"] = eval_only

    # The site views reweight held-out rows exactly as training weighted the threshold rows
    # (classifier.train.site_weights): Jigsaw strata to the natural bad share, plus YouTube spam.
    src_test = np.array(data.source)[test]
    fit_rows = np.flatnonzero(splits.split != "test")
    confidence = getattr(recipe, "threshold_confidence", 0.95)
    natural_test = data.natural[test] & (src_test == "jigsaw")
    # Comments that name an identity group (named) are held for review, not rejected, as the
    # service does.

    def view(m: NDArray[np.bool_], weights: NDArray[np.float64] | None = None) -> dict[str, float]:
        return policy_view(p[m], Y[m], model.thresholds, weights, confidence, named[m])

    every = np.ones(len(test), dtype=bool)
    results["policy"] = {
        SITE_VIEW: view(every, site_weights(data, test, fit_rows, 0.0)),
        SITE_SPAM_VIEW: view(every, site_weights(data, test, fit_rows, recipe.site_spam_share)),
        NATURAL_VIEW: view(natural_test),
        "all held-out rows": view(every),
    }
    for source in recipe.sources:
        results["policy"][f"held-out {source}"] = view(src_test == source)
    results["policy"][f"held-out {CIVIL_SENTENCES}"] = view(sentences)
    results["identity"] = identity_slices(named, p, Y, list(src_test), model.thresholds, confidence)

    span_rows = [int(i) for i in test[data.whole_posts(test)]]
    log(f"span F1 on {len(span_rows)} held-out toxic-spans posts")
    results["toxic_spans"] = toxic_span_scores(
        model, [data.texts[i] for i in span_rows], [data.spans[i] for i in span_rows]
    )
    results["toxic_spans"]["posts"] = len(span_rows)
    results["functional"] = functional_results(model)
    results["canaries"] = canary_results(model)
    if cross:
        results["cross_dataset"] = cross_dataset(splits, recipe, log)
    _plots(out, p, Y, model.thresholds)
    (out / "metrics.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    (out / "REPORT.md").write_text(render_report(results, model))
    log(f"report written to {out} in {time.perf_counter() - started:.0f}s")
    return results


def rerender(model_path: Path, out: Path) -> None:
    """Rewrite ``REPORT.md`` from an earlier run's ``metrics.json`` (no recomputation)."""
    from classifier.model import load_model

    results = json.loads((out / "metrics.json").read_text())
    (out / "REPORT.md").write_text(render_report(results, load_model(model_path)))


def cross_dataset(splits: Any, recipe: Any, log: Log) -> dict[str, Any]:
    """Leave one source out: train on the others' training rows, test on every row of it."""
    from classifier.train import calibrated, fit_calibrated, raw_logits, sample_weights

    data = splits.data
    src = np.array(data.source)
    out: dict[str, Any] = {}
    for held in recipe.sources:
        if held == "youtube":  # the only spam source: without it there is nothing to learn spam from
            continue
        log(f"cross-dataset: training without {held}")
        train_rows = np.flatnonzero(
            (splits.split == "train") & (src != held) & np.isin(src, [*recipe.sources, "augment"])
        )
        val_rows = np.flatnonzero((splits.split == "val") & (src != held) & np.isin(src, recipe.sources))
        space, arrays = fit_calibrated(splits, train_rows, sample_weights(data, train_rows, recipe), val_rows, recipe)
        held_rows = np.flatnonzero(src == held)
        z = raw_logits(arrays, space, [splits.normalized[i] for i in held_rows])
        ph = calibrated(arrays, z)
        out[held] = {label: label_metrics(ph[:, j], data.y[held_rows, j]) for j, label in enumerate(LABELS)}
        sentences = civil_sentences(data, held_rows)
        if sentences.any():
            out[CIVIL_SENTENCES] = {
                label: label_metrics(ph[sentences, j], data.y[held_rows[sentences], j])
                for j, label in enumerate(LABELS)
            }
        log(f"  {held}: toxicity ROC AUC {out[held]['toxicity'].get('roc_auc')}")
    return out


def _plots(out: Path, p: NDArray[np.float64], Y: NDArray[np.float64], thresholds: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for j, label in enumerate(LABELS):
        rows = ~np.isnan(Y[:, j])
        y, s = Y[rows, j], p[rows, j]
        if y.size == 0 or y.min() == y.max():
            continue
        fpr, tpr, _ = roc_curve(y, s)
        axes[0].plot(fpr, tpr, label=f"{label} ({roc_auc_score(y, s):.3f})")
        prec, rec, _ = precision_recall_curve(y, s)
        axes[1].plot(rec, prec, label=f"{label} ({average_precision_score(y, s):.3f})")
    axes[0].plot([0, 1], [0, 1], "k:", lw=0.8)
    axes[0].set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, held-out test split")
    axes[1].set(xlabel="recall", ylabel="precision", title="Precision-recall, held-out test split")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "roc_pr.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 6))
    for j, label in enumerate(LABELS):
        rows = ~np.isnan(Y[:, j])
        y, s = Y[rows, j], p[rows, j]
        if y.size == 0 or y.min() == y.max():
            continue
        edges = np.quantile(s, np.linspace(0, 1, 11))
        idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, 9)
        xs = [s[idx == b].mean() for b in range(10) if (idx == b).any()]
        ys = [y[idx == b].mean() for b in range(10) if (idx == b).any()]
        ax.plot(xs, ys, marker="o", label=label)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="mean predicted probability (decile bins)", ylabel="observed rate", title="Calibration, test split")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=110)
    plt.close(fig)

    j = LABELS.index("toxicity")
    rows = ~np.isnan(Y[:, j])
    y, s = Y[rows, j], p[rows, j]
    cuts = np.linspace(0.0, 1.0, 201)
    approve_share = np.array([(s < c).mean() for c in cuts])
    approve_err = np.array([y[s < c].mean() if (s < c).any() else 0.0 for c in cuts])
    reject_share = np.array([(s >= c).mean() for c in cuts])
    reject_err = np.array([(1 - y[s >= c]).mean() if (s >= c).any() else 0.0 for c in cuts])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    axes[0].plot(cuts, approve_share, label="share auto-approved (score < cut)")
    axes[0].plot(cuts, approve_err, label="toxic share among them")
    axes[0].axvline(thresholds["toxicity"].review, color="k", ls=":", label="review threshold")
    axes[1].plot(cuts, reject_share, label="share auto-rejected (score ≥ cut)")
    axes[1].plot(cuts, reject_err, label="non-toxic share among them")
    axes[1].axvline(thresholds["toxicity"].reject, color="k", ls=":", label="reject threshold")
    for ax in axes:
        ax.set(xlabel="toxicity cut-off", ylim=(0, 1))
        ax.legend(fontsize=8)
    axes[0].set_title("Threshold sweep: approving (test split, all sources)")
    axes[1].set_title("Threshold sweep: rejecting")
    fig.tight_layout()
    fig.savefig(out / "threshold_sweep.png", dpi=110)
    plt.close(fig)


def _auc(m: dict[str, Any]) -> str:
    """ROC AUC cell: a dash when either class has fewer than MIN_CLASS_ROWS rows."""
    positives, n = m.get("positives", 0), m.get("n", 0)
    if positives < MIN_CLASS_ROWS or n - positives < MIN_CLASS_ROWS:
        return "–"
    return _fmt(m.get("roc_auc"))


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _identity_section(add: Callable[[str], None], identity: dict[str, Any]) -> None:
    add("## Comments that mention an identity group")
    add("")
    add("Held-out rows per source, split by whether the comment names an identity group (a term the")
    add("model folds: religions, races, genders, sexualities...). Toxicity ROC AUC, and at the model's")
    add("cut-offs alone the share auto-approved with the bad share among them, the share auto-rejected")
    add("with the fine share among them. The service does not reject a comment that names a group on")
    add("scores alone (it goes to review; `docs/policy.md`), and this table is why: the policy view")
    add("above applies that rule, this one does not. The sources' balances are their own, not a site's.")
    add("")
    add(
        "| source | mentions | n | bad share | toxicity ROC AUC | auto-approved (bad among) "
        "| auto-rejected (fine among) |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- |")
    for source, per in identity.items():
        for name, m in per.items():
            pv = m["policy"]
            if not pv["n"]:
                continue
            add(
                f"| {source} | {'yes' if name == 'identity' else 'no'} | {pv['n']} | {pv['bad_share']:.0%} "
                f"| {_auc(m['toxicity'])} | {pv['auto_approved']:.1%} ({pv['error_in_approved']:.1%}) "
                f"| {pv['auto_rejected']:.1%} ({pv['error_in_rejected']:.1%}) |"
            )
    add("")


def render_report(results: dict[str, Any], model: Any) -> str:
    """The Markdown report for ``results`` (as returned by :func:`write_report`)."""
    lines: list[str] = []
    add = lines.append
    add("# Classifier evaluation report")
    add("")
    add(f"Model `{results['model_version']}` (recipe `{results['recipe']}`). Regenerate with:")
    add("")
    add("```")
    add("moderation evaluate --model classifier/models/default --out docs/classifier")
    add("```")
    add("")
    add("(or `python -m classifier evaluate ...`; about 15-18 minutes on 2 cores, most of it the five")
    add("leave-one-source-out retrainings; `--skip-cross` skips them.) The test split is a fixed, seeded")
    add("15% of every training source by group (a post's sentences stay together), deduplicated")
    add("across sources before splitting; calibration was fitted on the separate validation split,")
    add("thresholds on it plus out-of-fold scores of training rows (see the policy view), never on")
    add("test rows. Labels a source does not annotate are left out of that label's metrics.")
    add("")
    heldout = results["heldout"]["per_source"]
    cross = results.get("cross_dataset", {})
    f = results["functional"]
    add("## Headline (toxicity ROC AUC unless noted)")
    add("")
    add("| domain | held-out test split (source in training) | cross-dataset (source left out) |")
    add("| --- | --- | --- |")
    add(f"| Wikipedia talk pages (Jigsaw) | {_auc(heldout['jigsaw']['toxicity'])} "
        f"| {_auc(cross['jigsaw']['toxicity']) if 'jigsaw' in cross else '–'} |")  # fmt: skip
    add(f"| news comments (Civil toxic-spans: toxic and clean sentences of toxic posts) "
        f"| {_auc(heldout[CIVIL_SENTENCES]['toxicity'])} "
        f"| {_auc(cross[CIVIL_SENTENCES]['toxicity']) if CIVIL_SENTENCES in cross else '–'} |")  # fmt: skip
    add(f"| the same with the whole posts (all toxic) among the positives | {_auc(heldout['civil']['toxicity'])} "
        f"| {_auc(cross['civil']['toxicity']) if 'civil' in cross else '–'} |")  # fmt: skip
    for name, label in (("tweets (OLID)", "olid"), ("tweets (Davidson)", "davidson"),
                        ("forum (Stormfront)", "stormfront")):  # fmt: skip
        add(f"| {name} | {_auc(heldout[label]['toxicity'])} "
            f"| {_auc(cross[label]['toxicity']) if label in cross else '–'} |")  # fmt: skip
    for name, per in results["evaluation_only_sources"].items():
        add(f"| {name} (YouTube/Reddit hate, never trained on) | – | {_auc(per['toxicity'])} |")
    add(f"| functional tests (own suite) | – | toxicity {_fmt(f['roc_auc_toxicity'])}, "
        f"identity_attack {_fmt(f['roc_auc_identity_attack'])} |")  # fmt: skip
    add("")
    add("## Held-out test split, per label")
    add("")
    add("| label | n | positives | ROC AUC | PR AUC | Brier | ECE |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    for label in LABELS:
        m = results["heldout"]["per_label"][label]
        add(
            f"| {label} | {m['n']} | {m['positives']} | {_fmt(m.get('roc_auc'))} | {_fmt(m.get('pr_auc'))} "
            f"| {_fmt(m.get('brier'))} | {_fmt(results['calibration_ece'][label])} |"
        )
    add("")
    add("![ROC and PR curves](roc_pr.png)")
    add("")
    add("### Per source (ROC AUC on the held-out rows of each source)")
    add("")
    add("| source | " + " | ".join(LABELS) + " |")
    add("| --- |" + " --- |" * len(LABELS))
    for source, per in results["heldout"]["per_source"].items():
        add(f"| {source} | " + " | ".join(_auc(per[label]) for label in LABELS) + " |")
    add("")
    add("## Cross-dataset (train without a source, test on all of it)")
    add("")
    add("The honest estimate for a new site. Each row retrains the recipe without that source")
    add("(features, models and calibration) and scores every row of it. ETHOS is never trained on")
    add("(licence, see the model card), so the main model's ETHOS numbers are cross-dataset too.")
    add("")
    add("| held-out source | " + " | ".join(LABELS) + " |")
    add("| --- |" + " --- |" * len(LABELS))
    for source, per in results.get("cross_dataset", {}).items():
        add(f"| {source} | " + " | ".join(_auc(per[label]) for label in LABELS) + " |")
    for source, per in results["evaluation_only_sources"].items():
        add(f"| {source} (never trained on) | " + " | ".join(_auc(per[label]) for label in LABELS) + " |")
    if "cross_dataset" not in results:
        add("")
        add("_(Leave-one-out retraining skipped in this run: `--skip-cross`.)_")
    add("")
    add("A dash: fewer than 10 rows of a class. Without Jigsaw, `severe_toxicity` has no training")
    add("data at all (only Jigsaw annotates it), hence 0.5. YouTube is left out: it is the only spam")
    add("source.")
    add("")
    add("Civil Comments here is the toxic-spans subset: posts are all toxic, and its negatives are")
    add("sentences without a toxic span cut from those posts. The `civil sentences` rows compare")
    add("toxic sentences with clean ones of the same posts (the news figure of the headline); the")
    add("`civil` rows also count the whole posts as positives, which are longer than the clean")
    add("sentences, so that figure partly measures length. The sentence rows err the other way: a")
    add("sentence of a toxic post counts as clean when its annotators marked no span in it, and many")
    add("such sentences are insults (see the model card), so the news figure lies between the two.")
    add("Neither is the real news-comment base rate.")
    add("")
    add("## Functional tests (own suite, HateCheck-style proxy)")
    add("")
    f = results["functional"]
    add(f"{f['n']} templated cases written for this project ({f['hateful']} hateful), disjoint in")
    add("templates and attack words from the training templates (`classifier/functional.py`).")
    add("")
    add(
        f"- ROC AUC, toxicity score: **{_fmt(f['roc_auc_toxicity'])}** "
        f"(group-targeted cases only: {_fmt(f['roc_auc_toxicity_group_cases'])})"
    )
    add(
        f"- ROC AUC, identity_attack score: **{_fmt(f['roc_auc_identity_attack'])}** "
        f"(group-targeted cases only: {_fmt(f['roc_auc_identity_attack_group_cases'])})"
    )
    add(f"- ROC AUC, max(toxicity, identity_attack): {_fmt(f['roc_auc_max_tox_identity'])}")
    add("")
    add("| functionality | hateful | n | mean toxicity | mean identity_attack | correct at review threshold |")
    add("| --- | --- | --- | --- | --- | --- |")
    for name, m in f["per_functionality"].items():
        add(
            f"| {name} | {'yes' if m['hateful'] else 'no'} | {m['n']} | {_fmt(m['mean_toxicity'])} "
            f"| {_fmt(m['mean_identity_attack'])} | {_fmt(m['correct_at_review_threshold'])} |"
        )
    add("")
    if "canaries" in results:
        k = results["canaries"]
        add("## Behavioural canaries")
        add("")
        add(f"{k['n']} sentences written for this project (`classifier/canaries.py`); at the shipped")
        add("thresholds an attack must not be approved and a benign comment must not be rejected without a")
        add("human. The retraining gate refuses a candidate that gets one wrong the active model gets")
        add(f"right. Wrong at this model's cut-offs: **{k['wrong']}**.")
        add("")
        add("| family | kind | n | wrong | which |")
        add("| --- | --- | --- | --- | --- |")
        for name, fam in k["per_family"].items():
            which = "; ".join(f'"{t}"' for t in fam["wrong"]) or "–"
            add(f"| {name} | {fam['kind']} | {fam['n']} | {len(fam['wrong'])} | {which} |")
        add("")
    add("## Slices of the test split (ROC AUC)")
    add("")
    add("| slice | n (toxicity) | " + " | ".join(LABELS) + " |")
    add("| --- | --- |" + " --- |" * len(LABELS))
    for name, per in results["slices"].items():
        add(f"| {name} | {per['toxicity']['n']} | " + " | ".join(_auc(per[label]) for label in LABELS) + " |")
    add("")
    if "identity" in results:
        _identity_section(add, results["identity"])
    add("## Calibration")
    add("")
    add("Platt scaling per label on the validation split. ECE (10 equal-width bins) is in the first")
    add("table. Rare labels are calibrated on few positives, so their probabilities are coarse.")
    add("")
    add("![Calibration](calibration.png)")
    add("")
    add("## Policy view at the shipped thresholds")
    add("")
    recipe_cfg = model.manifest.feature_config.get("recipe", {})
    confidence = recipe_cfg.get("threshold_confidence")
    choice = model.manifest.metrics.get("threshold_choice")
    if confidence is None or choice is None:
        add("Thresholds chosen per label on the validation split (point estimates):")
    else:
        add("The cut-offs are chosen together, on the combined decision the service makes")
        add("(`classifier/thresholds.py`): the most comments decided automatically such that the")
        add(f"one-sided {confidence:.0%} upper confidence bound (Clopper-Pearson on the effective sample")
        add("size) of bad comments among the auto-approved is at most 1% and of fine comments among the")
        add("auto-rejected at most 2%. They are chosen on the validation rows plus out-of-fold scores of")
        add(f"the training rows ({recipe_cfg.get('threshold_folds', 0)} cross-fitted models), never on test")
        add("rows, weighted like a site: Wikipedia comments at their natural balance plus")
        add(f"{recipe_cfg.get('site_spam_share', 0):.0%} spam. On those {choice['rows']} rows they approve")
        add(
            f"{choice['auto_approved']:.1%} (bad {choice['bad_among_approved']:.2%}, bound "
            f"{choice['bad_among_approved_upper_bound']:.2%}) and reject {choice['auto_rejected']:.1%} "
            f"(fine {choice['fine_among_rejected']:.2%}, bound {choice['fine_among_rejected_upper_bound']:.2%})."
        )
    rejecting = recipe_cfg.get("reject_labels")
    if rejecting is not None and set(rejecting) != set(LABELS):
        add("")
        add(
            "Labels that never reject automatically (recipe `reject_labels`): "
            + ", ".join(f"`{label}`" for label in LABELS if label not in rejecting)
            + ". Spam has no annotated data from a comment site (YouTube is the only spam source;"
        )
        add("Wikipedia's spam = 0 is assumed), so its rejection error cannot be measured; on held-out")
        add("Wikipedia every fine comment the 2026.11 and 2026.12.05 artifacts rejected automatically was")
        add("a spam rejection. That was seen on these test rows, so the reject error below is optimistic.")
    add("")
    add("| label | review ≥ | reject ≥ |")
    add("| --- | --- | --- |")
    for label in LABELS:
        t = model.thresholds[label]
        add(f"| {label} | {t.review:.4f} | {'never' if t.reject >= 1.0 else f'{t.reject:.4f}'} |")
    add("")
    add("A comment is auto-approved when every label is below review, auto-rejected when any label")
    add("reaches reject, unless it names an identity group: then a moderator decides, as in the")
    add('service\'s default policy (see "Comments that mention an identity group" above); "bad" means')
    add("any annotated label is positive. Each error rate is followed by")
    add("its one-sided upper confidence bound and the number of rows decided. The first two rows are the held-out")
    add("answer to the targets: every Jigsaw test row (natural sample and class pools), reweighted by")
    add("stratum to the natural bad share (about 10%), which uses six times the bad comments of the")
    add("natural sample alone; the site mix adds held-out YouTube spam. The other sources are skewed")
    add("samples, so their shares are not what a site would see.")
    add("")
    add(
        "| rows | n | bad share | auto-approved | auto-rejected | human review "
        "| bad among approved | fine among rejected |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, m in results["policy"].items():
        approved_err = _fmt(m["error_in_approved"])
        rejected_err = _fmt(m["error_in_rejected"])
        if "error_in_approved_upper" in m:
            approved_err += f" (≤ {_fmt(m['error_in_approved_upper'])}; {m['n_approved']} rows)"
            rejected_err += f" (≤ {_fmt(m['error_in_rejected_upper'])}; {m['n_rejected']} rows)"
        add(
            f"| {name} | {m['n']} | {_fmt(m['bad_share'])} | {_fmt(m['auto_approved'])} | {_fmt(m['auto_rejected'])} "
            f"| {_fmt(m['human_review'])} | {approved_err} | {rejected_err} |"
        )
    add("")
    others = [
        f"{name.removeprefix('held-out ')} {m['error_in_rejected']:.1%}"
        for name, m in results["policy"].items()
        if name in (f"held-out {CIVIL_SENTENCES}", "held-out olid")
    ]
    add("The thresholds are tuned for a Wikipedia-like site. On other sources the share of fine")
    add(f"comments among the auto-rejected is higher ({', '.join(others)}): their label sense and")
    add("domain differ, so a site should re-choose thresholds on its own moderated comments.")
    add("Jigsaw's own labels call some openly abusive comments fine, and YouTube rows carry only a")
    add("spam label (a toxic non-spam YouTube comment counts as fine when rejected). Stormfront")
    add('annotates hate only, so its offensive but not hateful sentences count as "fine" when rejected;')
    add("Davidson and Civil are mostly toxic by construction. Per-source rows show behaviour, not a")
    add("site's shares.")
    add("")
    add("![Threshold sweep](threshold_sweep.png)")
    add("")
    add("## Explanations: toxic-span F1")
    add("")
    ts = results["toxic_spans"]
    add("Character-level F1 (SemEval-2021 Task 5 metric) of the `toxicity` explanation spans against")
    add(f"the gold spans of {ts['posts']} held-out Civil Comments posts, by `top_k` (words kept):")
    add("")
    add("| " + " | ".join(k for k in ts if k != "posts") + " |")
    add("|" + " --- |" * (len(ts) - 1))
    add("| " + " | ".join(_fmt(v) for k, v in ts.items() if k != "posts") + " |")
    add("")
    return "\n".join(lines) + "\n"
