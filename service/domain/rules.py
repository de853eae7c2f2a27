"""The facts the policy decides on, besides scores: site settings, author standing and activity,
links. Plain values, no I/O; the service layer gathers them."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from service.domain.types import ArticleMode


class Standing(StrEnum):
    ACTIVE = "active"
    BANNED = "banned"
    SUSPENDED = "suspended"
    ALWAYS_REVIEW = "always_review"
    TRUSTED = "trusted"


class RepeatAction(StrEnum):
    REJECT = "reject"
    REVIEW = "review"


class FloodAction(StrEnum):
    THROTTLE = "throttle"  # refuse with 429 and Retry-After; nothing is stored
    REVIEW = "review"  # store and hold for a moderator


@dataclass(frozen=True)
class SitePolicy:
    """A site's moderation settings. Defaults are what a site gets before an administrator sets any."""

    default_mode: ArticleMode = ArticleMode.POSTMOD
    # Per-label {"review": p, "reject": p} overriding the model's (and the service-wide) thresholds.
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # More links than this hold the comment for review; None: no limit.
    max_links: int | None = 3
    allowed_domains: tuple[str, ...] = ()  # when non-empty, links elsewhere are held for review
    blocked_domains: tuple[str, ...] = ()  # links here reject the comment (subdomains included)
    # A comment with a link (outside allowed_domains) is held for review until its author has this
    # many approved comments; 0: off. Comment spam sells through links from new accounts, and the
    # classifier learned spam from YouTube comments only (docs/classifier/MODEL_CARD.md).
    link_min_approved: int = 1
    repeat_window_s: int = 600  # the same text from the same author within this window; 0: off
    repeat_action: RepeatAction = RepeatAction.REVIEW
    flood_max_per_minute: int = 10  # comments per author per minute; 0: off
    flood_action: FloodAction = FloodAction.THROTTLE
    new_author_min_approved: int = 0  # review an author's comments until this many were approved
    rejection_rate_max: float = 0.5  # review when more than this share of recent decisions were rejections
    rejection_rate_min_decided: int = 5  # ... once at least this many were decided in the window
    rejection_rate_window_days: int = 30
    language_check: bool = True
    # Reject comments that name an identity group on the classifier's scores alone. Off: they go to
    # review (reason names_group_held); the model ranks them less reliably (REPORT.md).
    auto_reject_group_mentions: bool = False
    retention_days: int | None = None  # purge rejected comments' text after this many days
    webhook_url: str | None = None
    webhook_secret: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SitePolicy:
        """Build from the stored JSON (validated at the API edge); unknown keys are ignored."""
        known = {f for f in cls.__dataclass_fields__}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known and v is not None}
        if "default_mode" in values:
            values["default_mode"] = ArticleMode(values["default_mode"])
        if "repeat_action" in values:
            values["repeat_action"] = RepeatAction(values["repeat_action"])
        if "flood_action" in values:
            values["flood_action"] = FloodAction(values["flood_action"])
        for key in ("allowed_domains", "blocked_domains"):
            if key in values:
                values[key] = tuple(normalize_domain(d) for d in values[key])
        if "max_links" in data and data["max_links"] is None:
            values["max_links"] = None
        return cls(**values)


# The site settings an article may override.
ARTICLE_OVERRIDES = (
    "thresholds",
    "max_links",
    "allowed_domains",
    "blocked_domains",
    "link_min_approved",
    "new_author_min_approved",
    "language_check",
    "auto_reject_group_mentions",
)


def article_settings(site: Mapping[str, Any], article: Mapping[str, Any]) -> dict[str, Any]:
    """A site's settings with an article's overrides applied (thresholds label by label)."""
    merged = dict(site)
    for key in ARTICLE_OVERRIDES:
        if key not in article:
            continue
        if key == "thresholds":
            merged["thresholds"] = {**(site.get("thresholds") or {}), **article["thresholds"]}
        else:
            merged[key] = article[key]
    return merged


@dataclass(frozen=True)
class AuthorFacts:
    """An author's standing and lifetime tallies."""

    standing: Standing = Standing.ACTIVE
    suspended_until: dt.datetime | None = None
    approved_count: int = 0
    rejected_count: int = 0


@dataclass(frozen=True)
class AuthorActivity:
    """What the author did recently (windows from the site's settings)."""

    last_minute: int = 0  # comments in the last 60 s
    oldest_in_last_minute_age_s: float = 0.0
    repeats: int = 0  # comments with the same fingerprint within the repeat window
    window_approved: int = 0  # decisions within the rejection-rate window
    window_rejected: int = 0


FLOOD_WINDOW_S = 60


def flood_retry_after(site: SitePolicy, activity: AuthorActivity) -> int | None:
    """Seconds until the author may post again when the site throttles floods; None when not flooding."""
    if site.flood_max_per_minute <= 0 or site.flood_action is not FloodAction.THROTTLE:
        return None
    if activity.last_minute < site.flood_max_per_minute:
        return None
    # The window frees a slot when its oldest comment turns 60 s old.
    return max(1, math.ceil(FLOOD_WINDOW_S - activity.oldest_in_last_minute_age_s))


def normalize_domain(domain: str) -> str:
    return domain.strip().lower().rstrip(".").removeprefix("www.")


_LINK_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24})(?=[/:?#\s]|$|[,;!)\]])(?:/[^\s<>\"']*)?",
    re.I,
)
_HOST_RE = re.compile(r"^(?:https?://)?(?:[^@/\s]*@)?([^/:?#\s]+)", re.I)
# Bare "word.word" is a link only when its last part is a common top-level domain; otherwise
# sentences without a space after the full stop ("end.Start") would count as links.
_BARE_TLDS = frozenset(
    "com net org info biz io co ly me tv us uk de fr ru cn xyz top online site club app dev gg to in eu news".split()
)


# Every link _LINK_RE finds holds one of these (a bare link: a label's last character, a full stop
# and its top-level domain's first letter): one cheap scan rules out most comments.
_LINK_HINT_RE = re.compile(r"://|www\.|[a-z0-9]\.[a-z]", re.I)


def extract_link_hosts(text: str) -> tuple[str, ...]:
    """The host of every link in ``text`` (scheme links, ``www.`` links and bare ``name.tld`` links)."""
    if _LINK_HINT_RE.search(text) is None:
        return ()
    hosts = []
    for match in _LINK_RE.finditer(text):
        link = match.group(0)
        host_match = _HOST_RE.match(link)
        if host_match is None:
            continue
        host = normalize_domain(host_match.group(1))
        explicit = link.lower().startswith(("http://", "https://", "www."))
        if not explicit and host.rsplit(".", 1)[-1] not in _BARE_TLDS:
            continue
        if "." in host:
            hosts.append(host)
    return tuple(hosts)


def domain_in(host: str, domains: tuple[str, ...]) -> str | None:
    """The listed domain ``host`` belongs to (itself or a subdomain of it), if any."""
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return domain
    return None
