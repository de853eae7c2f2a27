"""Reason codes: documented, author-facing text for each, and the docs table matches the code."""

from __future__ import annotations

from service.api.schemas import ReasonOut
from service.domain.reasons import REASON_CODES, markdown_table, public_message
from service.settings import REPO_ROOT


def test_docs_table_is_the_code_table() -> None:
    doc = (REPO_ROOT / "docs" / "reason-codes.md").read_text("utf-8")
    assert markdown_table() in doc


def test_every_code_has_a_meaning_and_author_facing_text() -> None:
    for code in REASON_CODES.values():
        assert code.meaning and code.public_message, code


def test_api_reasons_carry_the_public_message() -> None:
    assert ReasonOut(code="banned_word", message="x").public_message == "contains a banned word"
    assert ReasonOut(code="spam_detected", message="x").public_message == "looks like spam"
    assert ReasonOut(code="unknown_code", message="x").public_message == public_message("unknown_code")
