"""The promotion gate: pure comparison of a candidate's and the active model's evaluations.

A candidate is promoted only when, on every evaluation set (the fixed base test set and the most
recent moderator labels held out from training), no label's ROC AUC is worse than the active
model's by more than ``auc_margin``, and the error rate of its automatic decisions (approvals and
rejections without a human) is not shown to exceed ``max_auto_error`` on any set (the lower end of
its one-sided 95% confidence interval stays within the target: one error in 18 recent decisions
is no evidence, 300 in 6,000 is; and where the active model misses the target too, the
candidate only has to do no worse than it), and on every set of at least
``MIN_ROWS_FOR_AUTOMATION`` rows it decides automatically no smaller a share than the active model
does, less ``max_automation_drop`` (fewer automatic decisions are also fewer wrong ones: without
this rule a candidate that sends most comments to review looks better). Labels an evaluation set
cannot measure (fewer than 10 rows of a class) are not compared there. And it may not get a behavioural canary
wrong (``classifier/canaries.py``: an attack approved, a benign comment rejected without a human)
that the active model gets right when its margin (log-odds from the cut-off that would make it
wrong) fell by at least ``canary_margin``: another seed moves a margin by a little, so a canary
decided right by a hair and wrong by a hair flipped by chance, but one the active model holds by
a hair and the candidate gets wrong by a wide margin was moved, as one held with room to spare
and now wrong was. Nor may it get more than ``max_flipped_canaries`` wrong that the active model
gets right, by however little: chance flips one or two, but labels that teach a family to pass
(moderators approving death wishes) move each of its canaries a little and several at once.
Metrics average over thousands of comments, and consistent label poisoning moves no held-out
metric. Every failed rule becomes a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scipy.stats import beta

# A reason names at most this many broken canaries (the report lists them all).
MAX_CANARIES_SHOWN = 5


# Sets smaller than this are not compared on their share of automatic decisions: on the few
# dozen recent labels a share moves by chance.
MIN_ROWS_FOR_AUTOMATION = 1000

# Confidence with which an error rate must be shown to exceed the target before it refuses.
ERROR_CONFIDENCE = 0.95


@dataclass(frozen=True)
class SetEvaluation:
    roc_auc: Mapping[str, float]
    auto_errors: int
    auto_decided: int
    rows: int = 0

    @property
    def auto_error_rate(self) -> float:
        return self.auto_errors / self.auto_decided if self.auto_decided else 0.0

    @property
    def auto_error_lower_bound(self) -> float:
        """One-sided lower confidence bound of the error rate (exact, Clopper-Pearson); 0 without errors."""
        if not self.auto_errors:
            return 0.0
        return float(beta.ppf(1.0 - ERROR_CONFIDENCE, self.auto_errors, self.auto_decided - self.auto_errors + 1))

    @property
    def automated(self) -> float:
        """Share of the set decided without a human."""
        return self.auto_decided / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        return "gate passed" if self.passed else "gate failed: " + "; ".join(self.reasons)


def check_gate(
    candidate: Mapping[str, SetEvaluation],
    active: Mapping[str, SetEvaluation] | None,
    *,
    auc_margin: float,
    max_auto_error: float,
    max_automation_drop: float = 1.0,
    candidate_canary_margins: Mapping[str, float] | None = None,
    active_canary_margins: Mapping[str, float] | None = None,
    canary_margin: float = 0.0,
    max_flipped_canaries: int | None = None,
) -> GateResult:
    """Compare per evaluation set; ``active`` None means there is nothing to be worse than.

    The canary margins map every canary (by name) to each model's margin (negative: wrong); None:
    the canaries were not checked (or, for the active model, there is none to compare with).
    ``max_flipped_canaries`` None: no limit on how many may flip by less than ``canary_margin``."""
    reasons: list[str] = []
    for set_name, cand in candidate.items():
        current = active.get(set_name) if active is not None else None
        if current is not None:
            for label, auc in sorted(cand.roc_auc.items()):
                before = current.roc_auc.get(label)
                if before is not None and auc < before - auc_margin:
                    reasons.append(
                        f"{set_name}: {label} ROC AUC {auc:.4f} is below the active model's {before:.4f} "
                        f"by more than {auc_margin}"
                    )
        # Shown to be above the target and worse than the active model on the same rows: a few
        # dozen recent labels hold a handful of automatic decisions, where one error is chance;
        # and a set where the active model misses the target too (the recent labels are the hard,
        # borderline comments) does not refuse a candidate that does no worse there.
        worse = current is None or not current.auto_decided or cand.auto_error_rate > current.auto_error_rate
        if cand.auto_error_lower_bound > max_auto_error and worse:
            reasons.append(
                f"{set_name}: automatic decisions are wrong {cand.auto_error_rate:.2%} of the time "
                f"({cand.auto_errors} of {cand.auto_decided}; at least {cand.auto_error_lower_bound:.2%} "
                f"with {ERROR_CONFIDENCE:.0%} confidence; target {max_auto_error:.2%})"
                + (f"; the active model's {current.auto_error_rate:.2%}" if current and current.auto_decided else "")
            )
        if current is not None and min(cand.rows, current.rows) >= MIN_ROWS_FOR_AUTOMATION:
            if cand.automated < current.automated - max_automation_drop:
                reasons.append(
                    f"{set_name}: decides {cand.automated:.1%} of comments automatically, the active model "
                    f"{current.automated:.1%} (more than {max_automation_drop:.0%} more would go to review)"
                )
    if candidate_canary_margins is not None and active_canary_margins is not None:
        broken = broken_canaries(candidate_canary_margins, active_canary_margins, canary_margin)
        if broken:
            reasons.append(
                f"behavioural canaries the active model gets right, the candidate gets wrong (their margin "
                f"down by {canary_margin} or more in log-odds): {_listed(broken)}"
            )
        flipped = broken_canaries(candidate_canary_margins, active_canary_margins, 0.0)
        if max_flipped_canaries is not None and len(flipped) > max_flipped_canaries:
            reasons.append(
                f"{len(flipped)} behavioural canaries the active model gets right, the candidate gets wrong, "
                f"more than the {max_flipped_canaries} chance flips: {_listed(flipped)}"
            )
    return GateResult(not reasons, tuple(reasons))


def _listed(canaries: list[str]) -> str:
    shown = "; ".join(canaries[:MAX_CANARIES_SHOWN])
    return shown + (f"; and {len(canaries) - MAX_CANARIES_SHOWN} more" if len(canaries) > MAX_CANARIES_SHOWN else "")


def broken_canaries(candidate: Mapping[str, float], active: Mapping[str, float], canary_margin: float) -> list[str]:
    """The canaries (in the candidate's order) the active model gets right and the candidate gets
    wrong, their margin down by at least ``canary_margin``; canaries the active model was not
    checked on do not count."""
    return [
        c
        for c, margin in candidate.items()
        if margin < 0 and c in active and active[c] >= 0 and active[c] - margin >= canary_margin
    ]
