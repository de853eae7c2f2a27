"""Each phase of the newsroom policy, on the pure function: no I/O, no clock, no database."""

from __future__ import annotations

import datetime as dt
import inspect
import re

import pytest

from service.domain.policy import LABEL_WORDS, PHASES, PolicyInput, decide
from service.domain.reasons import REASON_CODES
from service.domain.rules import (
    AuthorActivity,
    AuthorFacts,
    FloodAction,
    RepeatAction,
    SitePolicy,
    Standing,
    extract_link_hosts,
    flood_retry_after,
)
from service.domain.types import ArticleMode, LabelThresholds, Status
from service.domain.wordlist import BANNED, SUSPECT, WordHit

T = {label: LabelThresholds(review=0.5, reject=0.9) for label in LABEL_WORDS}
ZERO = dict.fromkeys(LABEL_WORDS, 0.01)
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
AUTHOR = AuthorFacts()
KNOWN = AuthorFacts(approved_count=3)  # past link_min_approved


def run(**kw: object) -> tuple[Status, list[str]]:
    base: dict[str, object] = {"scores": ZERO, "thresholds": T, "author": AUTHOR, "now": NOW}
    decision = decide(PolicyInput(**{**base, **kw}))  # type: ignore[arg-type]
    return decision.status, [r.code for r in decision.reasons]


# -- standing -------------------------------------------------------------------------------


def test_banned_author_is_rejected_first_even_with_clean_text() -> None:
    assert run(author=AuthorFacts(Standing.BANNED)) == (Status.REJECTED, ["author_banned"])


def test_suspended_author_is_rejected_until_the_suspension_ends() -> None:
    during = AuthorFacts(Standing.SUSPENDED, suspended_until=NOW + dt.timedelta(hours=1))
    after = AuthorFacts(Standing.SUSPENDED, suspended_until=NOW - dt.timedelta(seconds=1))
    assert run(author=during) == (Status.REJECTED, ["author_suspended"])
    assert run(author=after) == (Status.APPROVED, ["below_thresholds"])


def test_always_review_author_is_held() -> None:
    assert run(author=AuthorFacts(Standing.ALWAYS_REVIEW)) == (Status.PENDING, ["author_always_review"])


# -- flooding -------------------------------------------------------------------------------


def test_flooding_holds_for_review_when_the_site_says_review() -> None:
    site = SitePolicy(flood_max_per_minute=3, flood_action=FloodAction.REVIEW)
    assert run(site=site, activity=AuthorActivity(last_minute=3)) == (Status.PENDING, ["flooding"])
    assert run(site=site, activity=AuthorActivity(last_minute=2))[0] is Status.APPROVED


def test_throttling_sites_refuse_before_deciding_with_a_retry_after() -> None:
    site = SitePolicy(flood_max_per_minute=3, flood_action=FloodAction.THROTTLE)
    assert flood_retry_after(site, AuthorActivity(last_minute=3, oldest_in_last_minute_age_s=45.2)) == 15
    assert flood_retry_after(site, AuthorActivity(last_minute=3, oldest_in_last_minute_age_s=60.0)) == 1
    assert flood_retry_after(site, AuthorActivity(last_minute=2)) is None
    assert flood_retry_after(SitePolicy(flood_max_per_minute=0), AuthorActivity(last_minute=99)) is None
    # A throttling site does not also hold: the service refused the comment already.
    assert run(site=site, activity=AuthorActivity(last_minute=3))[0] is Status.APPROVED


# -- word lists -----------------------------------------------------------------------------


def test_banned_word_rejects_and_names_every_term() -> None:
    hits = (WordHit(BANNED, "fuck", 0, 4), WordHit(SUSPECT, "idiot", 5, 10))
    decision = decide(PolicyInput(ZERO, T, word_hits=hits))
    assert decision.status is Status.REJECTED
    assert [(r.code, r.detail) for r in decision.reasons] == [("banned_word", "fuck"), ("suspect_word", "idiot")]


def test_suspect_word_holds_for_review() -> None:
    assert run(word_hits=(WordHit(SUSPECT, "idiot", 0, 5),)) == (Status.PENDING, ["suspect_word"])


# -- links ----------------------------------------------------------------------------------


def test_blocked_domain_rejects_including_subdomains() -> None:
    site = SitePolicy(blocked_domains=("spam.example",))
    assert run(site=site, link_hosts=("shop.spam.example",)) == (Status.REJECTED, ["blocked_domain"])
    assert run(site=site, link_hosts=("notspam.example",), author=KNOWN)[0] is Status.APPROVED


def test_links_outside_the_allow_list_are_held() -> None:
    site = SitePolicy(allowed_domains=("newsroom.example",))
    assert run(site=site, link_hosts=("newsroom.example", "www.newsroom.example"))[0] is Status.APPROVED
    assert run(site=site, link_hosts=("elsewhere.example",), author=KNOWN) == (Status.PENDING, ["link_not_allowed"])


def test_too_many_links_are_held() -> None:
    site = SitePolicy(max_links=2)
    assert run(site=site, link_hosts=("a.com", "b.com"), author=KNOWN)[0] is Status.APPROVED
    assert run(site=site, link_hosts=("a.com", "b.com", "c.com"), author=KNOWN) == (Status.PENDING, ["too_many_links"])
    assert run(site=SitePolicy(max_links=None), link_hosts=("a.com",) * 50, author=KNOWN)[0] is Status.APPROVED


def test_a_link_from_an_author_without_approvals_is_held() -> None:
    assert run(link_hosts=("cheap-pills.biz",)) == (Status.PENDING, ["new_author_link"])
    assert run(link_hosts=("cheap-pills.biz",), author=AuthorFacts(approved_count=1))[0] is Status.APPROVED
    assert run()[0] is Status.APPROVED  # no link, no hold
    stricter = SitePolicy(link_min_approved=3)
    assert run(site=stricter, link_hosts=("a.com",), author=AuthorFacts(approved_count=2))[0] is Status.PENDING
    # off, trusted authors, a pre-submit score without an author
    assert run(site=SitePolicy(link_min_approved=0), link_hosts=("a.com",))[0] is Status.APPROVED
    assert run(link_hosts=("a.com",), author=AuthorFacts(Standing.TRUSTED))[0] is Status.APPROVED
    assert run(link_hosts=("a.com",), author=None)[0] is Status.APPROVED
    # links the site allows are not held; only one reason when some are outside
    site = SitePolicy(allowed_domains=("newsroom.example",))
    assert run(site=site, link_hosts=("newsroom.example",))[0] is Status.APPROVED
    status, codes = run(site=site, link_hosts=("newsroom.example", "x.example"))
    assert (status, codes) == (Status.PENDING, ["link_not_allowed", "new_author_link"])


def test_link_hosts_are_extracted_from_text() -> None:
    text = "See https://Example.com/x, www.news.org and cheap-pills.biz/buy; not end.Start or 3.14 or a@b.com"
    assert extract_link_hosts(text) == ("example.com", "news.org", "cheap-pills.biz")


# -- repeats --------------------------------------------------------------------------------


def test_repeated_text_is_held_or_rejected_as_the_site_says() -> None:
    repeated = AuthorActivity(repeats=1)
    assert run(activity=repeated) == (Status.PENDING, ["repeated_comment"])
    site = SitePolicy(repeat_action=RepeatAction.REJECT)
    assert run(site=site, activity=repeated) == (Status.REJECTED, ["repeated_comment"])
    assert run(site=SitePolicy(repeat_window_s=0), activity=repeated)[0] is Status.APPROVED


# -- language -------------------------------------------------------------------------------


def test_unsupported_language_is_held_and_not_judged_by_english_scores() -> None:
    toxic = {**ZERO, "toxicity": 0.99, "spam": 0.99}
    status, codes = run(scores=toxic, language="de")
    assert (status, codes) == (Status.PENDING, ["unsupported_language"])


def test_supported_unknown_or_unchecked_language_is_scored_as_usual() -> None:
    assert run(language="en")[0] is Status.APPROVED
    assert run(language=None)[0] is Status.APPROVED  # too short to tell: not held for language alone
    assert run(language="de", site=SitePolicy(language_check=False))[0] is Status.APPROVED
    assert run(language="de", supported_languages=frozenset({"en", "de"}))[0] is Status.APPROVED


# -- spam and scores ------------------------------------------------------------------------


def test_spam_label_has_its_own_codes() -> None:
    assert run(scores={**ZERO, "spam": 0.95}) == (Status.REJECTED, ["spam_detected"])
    assert run(scores={**ZERO, "spam": 0.6}) == (Status.PENDING, ["possible_spam"])


def test_site_threshold_overrides_are_what_the_policy_sees() -> None:
    strict = {**T, "insult": LabelThresholds(review=0.2, reject=0.3)}
    assert run(scores={**ZERO, "insult": 0.25}, thresholds=strict) == (Status.PENDING, ["score_above_review"])


# -- reputation -----------------------------------------------------------------------------


def test_new_authors_are_held_until_enough_approvals() -> None:
    site = SitePolicy(new_author_min_approved=2)
    assert run(site=site, author=AuthorFacts(approved_count=1)) == (Status.PENDING, ["new_author"])
    assert run(site=site, author=AuthorFacts(approved_count=2))[0] is Status.APPROVED


def test_rejection_rate_holds_once_enough_decisions_exist() -> None:
    site = SitePolicy(rejection_rate_max=0.5, rejection_rate_min_decided=4)
    bad = AuthorActivity(window_approved=1, window_rejected=3)
    few = AuthorActivity(window_approved=0, window_rejected=3)
    even = AuthorActivity(window_approved=2, window_rejected=2)
    assert run(site=site, activity=bad) == (Status.PENDING, ["author_rejection_rate"])
    assert run(site=site, activity=few)[0] is Status.APPROVED
    assert run(site=site, activity=even)[0] is Status.APPROVED


def test_trusted_authors_skip_the_reputation_rules_but_not_the_content_rules() -> None:
    site = SitePolicy(new_author_min_approved=5)
    trusted = AuthorFacts(Standing.TRUSTED)
    assert run(site=site, author=trusted, activity=AuthorActivity(window_rejected=9))[0] is Status.APPROVED
    assert run(site=site, author=trusted, word_hits=(WordHit(BANNED, "x", 0, 1),))[0] is Status.REJECTED


def test_a_pre_submit_score_has_no_author_rules() -> None:
    site = SitePolicy(new_author_min_approved=5)
    assert run(site=site, author=None, activity=AuthorActivity(repeats=3))[0] is Status.APPROVED


# -- order ----------------------------------------------------------------------------------


def test_first_decisive_phase_wins_and_earlier_holds_are_kept() -> None:
    status, codes = run(
        site=SitePolicy(new_author_min_approved=1, blocked_domains=("bad.example",)),
        word_hits=(WordHit(SUSPECT, "idiot", 0, 5),),
        link_hosts=("bad.example",),
        scores={**ZERO, "toxicity": 0.99},
        mode=ArticleMode.PREMOD,
    )
    # The suspect word's hold is kept; the blocked link rejects; scores, reputation and mode never run.
    assert (status, codes) == (Status.REJECTED, ["suspect_word", "blocked_domain"])


def test_every_hold_is_a_reason_in_phase_order() -> None:
    status, codes = run(
        site=SitePolicy(new_author_min_approved=1, max_links=0),
        word_hits=(WordHit(SUSPECT, "idiot", 0, 5),),
        link_hosts=("a.com",),
        scores={**ZERO, "insult": 0.6},
        mode=ArticleMode.PREMOD,
    )
    assert status is Status.PENDING
    assert codes == [
        "suspect_word",
        "too_many_links",
        "new_author_link",
        "score_above_review",
        "new_author",
        "article_premoderated",
    ]


@pytest.mark.parametrize("phase", PHASES, ids=lambda p: p.__name__)
def test_every_code_a_phase_can_emit_is_documented(phase: object) -> None:
    source = inspect.getsource(phase)  # type: ignore[arg-type]
    codes = set(re.findall(r'Reason\(\s*"([a-z_]+)"', source))
    assert codes <= set(REASON_CODES), codes - set(REASON_CODES)


def test_article_overrides_replace_site_settings_and_merge_thresholds() -> None:
    from service.domain.rules import article_settings

    site = {"max_links": 5, "thresholds": {"insult": {"review": 0.5, "reject": 0.9}}, "flood_max_per_minute": 3}
    article = {"max_links": 0, "thresholds": {"threat": {"review": 0.1, "reject": 0.2}}, "flood_max_per_minute": 99}
    merged = SitePolicy.from_mapping(article_settings(site, article))
    assert merged.max_links == 0 and set(merged.thresholds) == {"insult", "threat"}
    assert merged.flood_max_per_minute == 3  # not an overridable setting
