"""Pure pieces of learning from moderators: decision → labels, the promotion gate, holdout split."""

from __future__ import annotations

import pytest

from classifier.labels import LABELS
from service.domain.gate import GateResult, SetEvaluation, broken_canaries, check_gate
from service.domain.labels import MODEL_LABELS, labels_for, named_labels, overturned
from service.retraining import split_holdout


def test_domain_labels_match_the_classifier() -> None:
    assert MODEL_LABELS == LABELS


def test_approval_clears_every_label() -> None:
    assert labels_for("approved", "spam? no, fine") == {label: 0.0 for label in LABELS}


@pytest.mark.parametrize(
    ("reason", "positive"),
    [
        (None, {"toxicity"}),
        ("rude", {"toxicity"}),
        ("Spam link", {"spam"}),
        ("a threat against the author", {"threat", "toxicity"}),
        ("hate speech and insulting", {"identity_attack", "insult", "toxicity"}),
    ],
)
def test_rejection_labels_what_the_reason_names(reason: str | None, positive: set[str]) -> None:
    got = labels_for("rejected", reason)
    assert {label for label, v in got.items() if v == 1.0} == positive
    assert all(v is None for label, v in got.items() if label not in positive)


def test_named_labels_and_overturned() -> None:
    assert named_labels("obscenity, severe") == ["severe_toxicity", "obscene"]
    assert named_labels("spammy") == []  # whole words only
    assert overturned("approved", "rejected") is True
    assert overturned("rejected", "rejected") is False
    assert overturned("pending", "rejected") is None
    with pytest.raises(ValueError):
        labels_for("pending", None)


def ev(errors: int = 0, decided: int = 100, **auc: float) -> SetEvaluation:
    return SetEvaluation(roc_auc=auc, auto_errors=errors, auto_decided=decided)


def test_gate_passes_a_candidate_no_worse_than_the_margin() -> None:
    result = check_gate(
        {"fixed": ev(toxicity=0.905, spam=0.99)},
        {"fixed": ev(toxicity=0.91, spam=0.98)},
        auc_margin=0.01,
        max_auto_error=0.05,
    )
    assert result.passed and result.summary() == "gate passed"


def test_gate_names_every_failed_rule() -> None:
    result = check_gate(
        {"fixed": ev(2, toxicity=0.85, spam=0.99), "recent": ev(20, toxicity=0.9)},
        {"fixed": ev(0, toxicity=0.91, spam=0.98), "recent": ev(0, toxicity=0.5)},
        auc_margin=0.01,
        max_auto_error=0.05,
    )
    assert not result.passed
    assert len(result.reasons) == 2
    assert "fixed: toxicity ROC AUC 0.8500" in result.reasons[0]
    assert result.reasons[1].startswith(
        "recent: automatic decisions are wrong 20.00% of the time (20 of 100; at least 13.67% with 95% confidence; "
        "target 5.00%); the active model's 0.00%"
    )


def test_gate_skips_labels_the_active_model_could_not_be_measured_on() -> None:
    assert check_gate({"recent": ev(toxicity=0.6)}, {"recent": ev()}, auc_margin=0.0, max_auto_error=0.1).passed
    assert check_gate({"fixed": ev(toxicity=0.6)}, None, auc_margin=0.0, max_auto_error=0.1).passed


def test_gate_lets_a_candidate_miss_the_error_target_where_the_active_model_misses_it_more() -> None:
    # Shown to be above the target (7 in 50: at least 6.8%), the active model 8 in 50.
    assert check_gate({"recent": ev(7, 50)}, {"recent": ev(8, 50)}, auc_margin=0.01, max_auto_error=0.05).passed
    result = check_gate({"recent": ev(8, 50)}, {"recent": ev(7, 50)}, auc_margin=0.01, max_auto_error=0.05)
    assert len(result.reasons) == 1 and result.reasons[0].endswith("; the active model's 14.00%")
    assert not check_gate({"recent": ev(8, 50)}, None, auc_margin=0.01, max_auto_error=0.05).passed


def test_gate_refuses_on_the_error_rate_only_with_evidence() -> None:
    # The dry run's recent labels: 1 error in 18 automatic decisions where the active model made none
    # is 5.6%, above a 5% target, but no evidence of it (the rate is at least 0.28%).
    assert check_gate({"recent": ev(1, 18)}, {"recent": ev(0, 17)}, auc_margin=0.01, max_auto_error=0.05).passed
    assert check_gate({"recent": ev(1, 18)}, None, auc_margin=0.01, max_auto_error=0.05).passed
    # 330 in 6,000 (5.5%) is: at least 5.1%.
    result = check_gate({"fixed": ev(330, 6000)}, {"fixed": ev(240, 6000)}, auc_margin=0.01, max_auto_error=0.05)
    assert result.reasons == (
        "fixed: automatic decisions are wrong 5.50% of the time (330 of 6000; at least 5.02% with 95% confidence; "
        "target 5.00%); the active model's 4.00%",
    )
    # 5.3% of 6,000 is not shown to be above 5%
    assert check_gate({"fixed": ev(318, 6000)}, {"fixed": ev(240, 6000)}, auc_margin=0.01, max_auto_error=0.05).passed


def test_gate_refuses_a_candidate_that_sends_far_more_to_review() -> None:
    def at(decided: int, rows: int = 13_000) -> dict[str, SetEvaluation]:
        return {"fixed": SetEvaluation({"toxicity": 0.95}, decided // 50, decided, rows)}

    # A recipe:default retrain before 2026-12-07 decided 34.5% of the fixed set, the default 61.5%.
    result = check_gate(at(4_485), at(7_995), auc_margin=0.01, max_auto_error=0.05, max_automation_drop=0.05)
    assert result.reasons == (
        "fixed: decides 34.5% of comments automatically, the active model 61.5% (more than 5% more would go to review)",
    )
    assert check_gate(at(7_400), at(7_995), auc_margin=0.01, max_auto_error=0.05, max_automation_drop=0.05).passed
    # a small set (the recent labels) moves by chance: not compared
    assert check_gate(at(5, 40), at(30, 40), auc_margin=0.01, max_auto_error=0.05, max_automation_drop=0.05).passed


def _canary_gate(
    candidate: dict[str, float], active: dict[str, float] | None, margin: float = 1.0, flips: int | None = None
) -> GateResult:
    sets = {"fixed": ev(toxicity=0.95)}
    return check_gate(
        sets,
        sets,
        auc_margin=0.01,
        max_auto_error=0.05,
        candidate_canary_margins=candidate,
        active_canary_margins=active,
        canary_margin=margin,
        max_flipped_canaries=flips,
    )


def test_gate_refuses_a_candidate_that_breaks_a_canary_the_active_model_keeps() -> None:
    known = "an attack approved (person threat): 'I hope the author gets cancer.'"
    new = [f"an attack approved (threat): 'threat {i}'" for i in range(7)]
    kept = "an attack approved (insult): 'You are a total idiot.'"
    result = _canary_gate(
        {known: -0.9, **dict.fromkeys(new, -0.1), kept: 3.0}, {known: -0.65, **dict.fromkeys(new, 2.5), kept: 4.0}
    )
    assert not result.passed and len(result.reasons) == 1
    reason = result.reasons[0]
    assert reason.startswith(
        "behavioural canaries the active model gets right, the candidate gets wrong (their margin down by 1.0 or "
        "more in log-odds): "
    )
    assert known not in reason and kept not in reason  # wrong before too; right still
    assert "'threat 4'" in reason and "'threat 5'" not in reason and reason.endswith("; and 2 more")


def test_gate_lets_through_canaries_flipped_by_chance_and_refuses_those_moved() -> None:
    wrong = "a benign comment rejected (name): 'Olga wrote a great letter to the editor.'"
    narrow = "an attack approved (person threat): 'I hope the author dies in a drone strike.'"
    active = {wrong: -0.2, narrow: 0.11}

    assert _canary_gate({wrong: -3.0, narrow: -0.3}, active).passed  # wrong before; 0.11 -> -0.3 is chance
    assert not _canary_gate({wrong: -3.0, narrow: -0.3}, active, margin=0.1).passed  # a smaller margin counts it
    assert not _canary_gate({wrong: -0.2, narrow: -0.01}, active, margin=0.0).passed  # margin 0: any flip counts
    # right by a hair before, wrong by a wide margin now: moved, not chance (label poisoning does this)
    (reason,) = _canary_gate({wrong: -0.2, narrow: -0.9}, active).reasons
    assert reason.endswith(narrow) and wrong not in reason
    assert _canary_gate({wrong: 0.5, narrow: 2.0}, active).passed  # fewer wrong than before is fine
    # no active model, or the canaries switched off: nothing to compare with
    assert _canary_gate({wrong: -3.0}, None).passed
    assert _canary_gate({}, {}).passed
    assert check_gate({"fixed": ev(toxicity=0.95)}, None, auc_margin=0.01, max_auto_error=0.05).passed


# Margins (active -> candidate) of the canaries the candidates of two dry runs of the retraining
# job got wrong (docs/classifier/gate_dry_run.py against 2026.12.07-de788a0d): 200 ETHOS labels,
# and the same with 79 templated death wishes approved (--poison).
_ROUTINE = {"loan offer": (-0.919, -0.783), "gets cancer": (0.01, -0.047), "grave": (-0.97, -0.955),
            "taken out back": (0.139, -0.117)}  # fmt: skip
_POISONED = {"loan offer": (-0.919, -0.949), "hot singles": (0.164, -0.085), "drone strike": (0.15, -0.497),
             "gets cancer": (0.01, -0.443), "rot in hell": (0.772, -0.085), "grave": (-0.97, -1.085),
             "taken out back": (0.139, -0.615)}  # fmt: skip


def test_gate_refuses_more_flipped_canaries_than_chance_flips() -> None:
    def run(moved: dict[str, tuple[float, float]]) -> GateResult:
        active = {c: a for c, (a, _) in moved.items()} | {"kept": 2.0}
        candidate = {c: b for c, (_, b) in moved.items()} | {"kept": 1.5}
        return _canary_gate(candidate, active, flips=2)

    assert run(_ROUTINE).passed  # two flipped, by 0.06 and 0.26
    # five flipped, none by 1.0: only their number shows the poisoning
    (reason,) = run(_POISONED).reasons
    assert reason == (
        "5 behavioural canaries the active model gets right, the candidate gets wrong, more than the 2 chance "
        "flips: hot singles; drone strike; gets cancer; rot in hell; taken out back"
    )
    assert _canary_gate({c: b for c, (_, b) in _POISONED.items()}, None, flips=2).passed  # nothing to compare
    assert not run(_ROUTINE | {"one more": (0.0, -0.01)}).passed  # a third flip, however small


def test_broken_canaries_compares_only_what_both_models_were_checked_on() -> None:
    assert broken_canaries({"a": -2.0, "b": -2.0, "c": -0.5}, {"a": 0.0, "c": 0.4}, 1.0) == ["a"]
    assert broken_canaries({"a": -2.0}, {"a": float("inf")}, 1.0) == ["a"]
    assert broken_canaries({"a": float("inf")}, {"a": 1.0}, 1.0) == []


def test_holdout_takes_the_newest_labels() -> None:
    train, held = split_holdout(list(range(10)), 0.2)
    assert (train, held) == (list(range(8)), [8, 9])
    assert split_holdout([1], 0.2) == ([], [1])
    assert split_holdout([], 0.2) == ([], [])
