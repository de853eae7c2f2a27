"""The decision policy: scores + author standing + rule findings + word-list matches + language +
article mode + site settings -> status and reasons.

Pure and ordered, after Coral Talk's moderation phases: each phase looks at the comment and may
find something; a rejection ends the run (the first decisive phase wins), a hold for review is kept
while later phases still add their findings, and every finding is recorded as a reason so a
moderator (and the author) can see why. The order puts the cheapest and surest facts first:

    standing -> flooding -> banned/suspect words -> links -> repeats -> language -> spam score
    -> label scores -> reputation -> article mode
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from service.domain.rules import (
    AuthorActivity,
    AuthorFacts,
    FloodAction,
    RepeatAction,
    SitePolicy,
    Standing,
    domain_in,
)
from service.domain.types import ArticleMode, Decision, LabelThresholds, Reason, Status
from service.domain.wordlist import BANNED, WordHit

# Human wording for each label, used in reason messages.
LABEL_WORDS: Mapping[str, str] = {
    "toxicity": "toxic language",
    "severe_toxicity": "severely toxic language",
    "obscene": "obscene language",
    "threat": "a threat",
    "insult": "an insult",
    "identity_attack": "an attack on an identity group",
    "spam": "spam",
}

SPAM_LABEL = "spam"
DEFAULT_LANGUAGES: frozenset[str] = frozenset({"en"})


@dataclass(frozen=True)
class PolicyInput:
    scores: Mapping[str, float]
    thresholds: Mapping[str, LabelThresholds]
    mode: ArticleMode = ArticleMode.POSTMOD
    site: SitePolicy = field(default_factory=SitePolicy)
    author: AuthorFacts | None = None  # None: no author (a pre-submit score)
    activity: AuthorActivity = field(default_factory=AuthorActivity)
    word_hits: tuple[WordHit, ...] = ()
    link_hosts: tuple[str, ...] = ()
    # The detected language, or None when the text is too short or the guess unsure.
    language: str | None = None
    supported_languages: frozenset[str] = DEFAULT_LANGUAGES
    now: dt.datetime | None = None  # needed for timed suspensions
    # The text names an identity group (the model's own finding, classifier Model.names_group).
    names_group: bool = False

    @property
    def language_unsupported(self) -> bool:
        return self.site.language_check and self.language is not None and self.language not in self.supported_languages


@dataclass(frozen=True)
class Finding:
    status: Status | None  # None: nothing to say; PENDING: hold; REJECTED: decisive
    reasons: tuple[Reason, ...] = ()


Phase = Callable[[PolicyInput], Finding]
NOTHING = Finding(None)


def standing_phase(inp: PolicyInput) -> Finding:
    """Banned authors and authors suspended right now are rejected."""
    author = inp.author
    if author is None:
        return NOTHING
    if author.standing is Standing.BANNED:
        return Finding(Status.REJECTED, (Reason("author_banned", "the author is banned"),))
    if author.standing is Standing.SUSPENDED:
        until = author.suspended_until
        if until is None or inp.now is None or inp.now < until:
            when = until.isoformat() if until else "further notice"
            return Finding(Status.REJECTED, (Reason("author_suspended", f"the author is suspended until {when}"),))
    return NOTHING


def flood_phase(inp: PolicyInput) -> Finding:
    """Too many comments in a minute hold for review (throttling sites refuse them before deciding)."""
    site = inp.site
    if inp.author is None or site.flood_max_per_minute <= 0 or site.flood_action is not FloodAction.REVIEW:
        return NOTHING
    if inp.activity.last_minute >= site.flood_max_per_minute:
        message = f"{inp.activity.last_minute} comments in the last minute (limit {site.flood_max_per_minute})"
        return Finding(Status.PENDING, (Reason("flooding", message),))
    return NOTHING


def word_list_phase(inp: PolicyInput) -> Finding:
    """A banned term rejects; a suspect term holds for review. Every matched term is named."""
    banned = [h for h in inp.word_hits if h.kind == BANNED]
    suspect = [h for h in inp.word_hits if h.kind != BANNED]
    reasons = [Reason("banned_word", "contains a banned term", detail=h.term) for h in _unique_terms(banned)]
    reasons += [Reason("suspect_word", "contains a suspect term", detail=h.term) for h in _unique_terms(suspect)]
    if banned:
        return Finding(Status.REJECTED, tuple(reasons))
    if suspect:
        return Finding(Status.PENDING, tuple(reasons))
    return NOTHING


def _unique_terms(hits: list[WordHit]) -> list[WordHit]:
    seen: dict[str, WordHit] = {}
    for hit in hits:
        seen.setdefault(hit.term, hit)
    return list(seen.values())


def link_phase(inp: PolicyInput) -> Finding:
    """Blocked domains reject; links outside an allow-list, too many links, or a link (outside the
    allow-list) from an author with fewer approved comments than ``link_min_approved`` hold."""
    site = inp.site
    hosts = inp.link_hosts
    if not hosts:
        return NOTHING
    blocked = sorted({d for h in hosts if (d := domain_in(h, site.blocked_domains))})
    if blocked:
        return Finding(
            Status.REJECTED, tuple(Reason("blocked_domain", "links to a blocked domain", detail=d) for d in blocked)
        )
    reasons: list[Reason] = []
    others = sorted({h for h in hosts if domain_in(h, site.allowed_domains) is None})
    if site.allowed_domains:
        reasons += [Reason("link_not_allowed", "links outside the allowed domains", detail=h) for h in others]
    if site.max_links is not None and len(hosts) > site.max_links:
        reasons.append(Reason("too_many_links", f"{len(hosts)} links (limit {site.max_links})"))
    author = inp.author
    if (
        others
        and author is not None
        and author.standing is not Standing.TRUSTED
        and author.approved_count < site.link_min_approved
    ):
        reasons.append(
            Reason(
                "new_author_link",
                f"a link from an author with {author.approved_count} approved comments "
                f"(links need {site.link_min_approved})",
                detail=others[0],
            )
        )
    return Finding(Status.PENDING, tuple(reasons)) if reasons else NOTHING


def repeat_phase(inp: PolicyInput) -> Finding:
    """The same (normalized) text from the same author within the window."""
    site = inp.site
    if inp.author is None or site.repeat_window_s <= 0 or inp.activity.repeats <= 0:
        return NOTHING
    reason = Reason("repeated_comment", f"the author posted this text in the last {site.repeat_window_s} s")
    status = Status.REJECTED if site.repeat_action is RepeatAction.REJECT else Status.PENDING
    return Finding(status, (reason,))


def language_phase(inp: PolicyInput) -> Finding:
    """A language the model was not trained on goes to a person instead of being scored as English."""
    if inp.language_unsupported:
        message = f"written in '{inp.language}', which the classifier was not trained on"
        return Finding(Status.PENDING, (Reason("unsupported_language", message, detail=inp.language),))
    return NOTHING


# A threshold of 1.0 means "never": the model found no cut-off meeting its error target
# (a probability rounded up to 1.0 must not trigger it).
NEVER = 1.0


def crossed(score: float, threshold: float) -> bool:
    """Whether ``score`` reaches ``threshold``; a threshold of 1.0 is never reached."""
    return threshold < NEVER and score >= threshold


def spam_phase(inp: PolicyInput) -> Finding:
    """The classifier's spam label, with spam's own reason codes."""
    limits = inp.thresholds.get(SPAM_LABEL)
    if inp.language_unsupported or limits is None or SPAM_LABEL not in inp.scores:
        return NOTHING
    # Compare the raw score, as score_phase does; reasons show score and threshold rounded alike.
    raw = float(inp.scores[SPAM_LABEL])
    score = round(raw, 4)
    if crossed(raw, limits.reject):
        return Finding(
            Status.REJECTED,
            (Reason("spam_detected", "very likely spam", SPAM_LABEL, score, round(limits.reject, 4)),),
        )
    if crossed(raw, limits.review):
        return Finding(
            Status.PENDING, (Reason("possible_spam", "possibly spam", SPAM_LABEL, score, round(limits.review, 4)),)
        )
    return NOTHING


def score_phase(inp: PolicyInput) -> Finding:
    """Compare every other label's score with its thresholds; labels without thresholds are ignored."""
    if inp.language_unsupported:
        return NOTHING
    rejects: list[Reason] = []
    reviews: list[Reason] = []
    for label in sorted(inp.scores):
        limits = inp.thresholds.get(label)
        if limits is None or label == SPAM_LABEL:
            continue
        score = float(inp.scores[label])
        words = LABEL_WORDS.get(label, label)
        if crossed(score, limits.reject):
            rejects.append(
                Reason("score_above_reject", f"very likely {words}", label, round(score, 4), round(limits.reject, 4))
            )
        elif crossed(score, limits.review):
            reviews.append(
                Reason("score_above_review", f"possibly {words}", label, round(score, 4), round(limits.review, 4))
            )
    if rejects and inp.names_group and not inp.site.auto_reject_group_mentions:
        # The model ranks comments that name a group less reliably ("Muslims in India deserve equal
        # rights." reached the identity_attack reject cut-off): a moderator decides.
        held = tuple(
            Reason(
                "names_group_held",
                f"{r.message}; held for a moderator because it names an identity group",
                r.label,
                r.score,
                r.threshold,
            )
            for r in rejects
        )
        return Finding(Status.PENDING, held + tuple(reviews))
    if rejects:
        return Finding(Status.REJECTED, tuple(rejects + reviews))
    if reviews:
        return Finding(Status.PENDING, tuple(reviews))
    return NOTHING


def reputation_phase(inp: PolicyInput) -> Finding:
    """Always-review authors, new authors and authors whose recent comments were mostly rejected."""
    author, site, activity = inp.author, inp.site, inp.activity
    if author is None or author.standing is Standing.TRUSTED:
        return NOTHING
    reasons: list[Reason] = []
    if author.standing is Standing.ALWAYS_REVIEW:
        reasons.append(Reason("author_always_review", "a moderator asked to review this author's comments"))
    if author.approved_count < site.new_author_min_approved:
        reasons.append(
            Reason(
                "new_author",
                f"{author.approved_count} approved comments so far (needs {site.new_author_min_approved})",
            )
        )
    decided = activity.window_approved + activity.window_rejected
    if decided >= max(1, site.rejection_rate_min_decided):
        rate = activity.window_rejected / decided
        if rate > site.rejection_rate_max:
            reasons.append(
                Reason(
                    "author_rejection_rate",
                    f"{activity.window_rejected} of the author's last {decided} decided comments were rejected",
                    score=round(rate, 4),
                    threshold=site.rejection_rate_max,
                )
            )
    return Finding(Status.PENDING, tuple(reasons)) if reasons else NOTHING


def mode_phase(inp: PolicyInput) -> Finding:
    """Pre-moderated articles hold every comment the earlier phases did not reject."""
    if inp.mode is ArticleMode.PREMOD:
        return Finding(Status.PENDING, (Reason("article_premoderated", "the article is pre-moderated"),))
    return NOTHING


PHASES: tuple[Phase, ...] = (
    standing_phase,
    flood_phase,
    word_list_phase,
    link_phase,
    repeat_phase,
    language_phase,
    spam_phase,
    score_phase,
    reputation_phase,
    mode_phase,
)


def decide(inp: PolicyInput, phases: tuple[Phase, ...] = PHASES) -> Decision:
    """Run the phases in order; the first rejection wins, any hold makes the comment pending."""
    if inp.mode is ArticleMode.CLOSED:
        raise ValueError("closed articles take no comments; refuse before deciding")
    reasons: list[Reason] = []
    status = Status.APPROVED
    for phase in phases:
        finding = phase(inp)
        reasons.extend(finding.reasons)
        if finding.status is Status.REJECTED:
            return Decision(Status.REJECTED, tuple(reasons))
        if finding.status is Status.PENDING:
            status = Status.PENDING
    if not reasons:
        reasons.append(Reason("below_thresholds", "no label reached its review threshold"))
    return Decision(status, tuple(reasons))


def merge_thresholds(
    model: Mapping[str, LabelThresholds], overrides: Mapping[str, Mapping[str, float]]
) -> dict[str, LabelThresholds]:
    """The model's thresholds with operator overrides applied label by label."""
    merged = dict(model)
    for label, values in overrides.items():
        base = merged.get(label)
        review = values.get("review", base.review if base else 1.0)
        reject = values.get("reject", base.reject if base else 1.0)
        merged[label] = LabelThresholds(review=float(review), reject=float(reject))
    return merged
