"""Stable reason codes: what each means to a moderator and what the author may be told.

Codes are an API contract (websites map them to their own wording); never rename one, add new ones.
``docs/reason-codes.md`` renders this table and a unit test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ReasonCode:
    code: str
    meaning: str
    public_message: str


_CODES: tuple[ReasonCode, ...] = (
    ReasonCode("below_thresholds", "no rule fired and no label reached its review threshold", "published"),
    ReasonCode("author_banned", "the author is banned on this site", "your account cannot post comments"),
    ReasonCode(
        "author_suspended",
        "the author is suspended until a given time",
        "your account is suspended from commenting for now",
    ),
    ReasonCode("flooding", "the author posted too many comments in the last minute", "you are posting too fast"),
    ReasonCode("banned_word", "the text contains a term on the site's banned list", "contains a banned word"),
    ReasonCode("suspect_word", "the text contains a term on the site's suspect list", "held for review by a moderator"),
    ReasonCode("blocked_domain", "the text links to a blocked domain", "contains a link that is not allowed"),
    ReasonCode(
        "link_not_allowed",
        "the text links to a domain outside the site's allowed list",
        "held for review: contains a link",
    ),
    ReasonCode("too_many_links", "the text has more links than the site allows", "held for review: too many links"),
    ReasonCode(
        "new_author_link",
        "the text has a link and its author has fewer approved comments than the site asks of links",
        "held for review: contains a link",
    ),
    ReasonCode(
        "repeated_comment",
        "the same author posted the same text within the repeat window",
        "looks like a repeated comment",
    ),
    ReasonCode(
        "unsupported_language",
        "the text is in a language the classifier was not trained on; a person must read it",
        "held for review by a moderator",
    ),
    ReasonCode("spam_detected", "the classifier's spam score reached its reject threshold", "looks like spam"),
    ReasonCode("possible_spam", "the classifier's spam score reached its review threshold", "held for review"),
    ReasonCode(
        "score_above_reject",
        "a label's score reached its reject threshold (label, score and threshold given)",
        "breaks the community guidelines",
    ),
    ReasonCode(
        "names_group_held",
        "a label's score reached its reject threshold, but the comment names an identity group, where the "
        "classifier is less reliable, so a moderator decides (label, score and threshold given; the site "
        "setting auto_reject_group_mentions turns this off)",
        "held for review by a moderator",
    ),
    ReasonCode(
        "score_above_review",
        "a label's score reached its review threshold (label, score and threshold given)",
        "held for review by a moderator",
    ),
    ReasonCode(
        "author_always_review",
        "a moderator set this author to always be reviewed",
        "held for review by a moderator",
    ),
    ReasonCode(
        "new_author",
        "the author has fewer approved comments than the site requires before publishing directly",
        "held for review: new commenters are reviewed first",
    ),
    ReasonCode(
        "author_rejection_rate",
        "too many of the author's recent comments were rejected",
        "held for review by a moderator",
    ),
    ReasonCode(
        "article_premoderated", "the article is pre-moderated", "held for review: this article is pre-moderated"
    ),
    ReasonCode(
        "moderator_decision", "a moderator decided (their reason, if any, is the message)", "decided by a moderator"
    ),
    ReasonCode(
        "author_banned_pending_rejected",
        "rejected because a moderator banned the author with 'reject pending comments'",
        "your account cannot post comments",
    ),
)

REASON_CODES: Mapping[str, ReasonCode] = {c.code: c for c in _CODES}


def public_message(code: str) -> str:
    """The author-facing wording of a reason code; a generic hold for a code not in the table."""
    found = REASON_CODES.get(code)
    return found.public_message if found else "held for review by a moderator"


def markdown_table() -> str:
    """The table of ``docs/reason-codes.md``."""
    lines = ["| code | meaning | author-facing text (`public_message`) |", "| --- | --- | --- |"]
    lines += [f"| `{c.code}` | {c.meaning} | {c.public_message} |" for c in _CODES]
    return "\n".join(lines)
