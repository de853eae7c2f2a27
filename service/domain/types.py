"""Value types shared by the policy, the service layer and the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"


class ArticleMode(StrEnum):
    POSTMOD = "postmod"  # publish what the policy approves, review the borderline
    PREMOD = "premod"  # every comment not rejected waits for a moderator
    CLOSED = "closed"  # no new comments


class Role(StrEnum):
    SUBMITTER = "submitter"
    MODERATOR = "moderator"
    ADMIN = "admin"
    TRAINER = "trainer"


@dataclass(frozen=True)
class Reason:
    """Why a decision was taken. ``code`` is stable: websites may map it to their own wording."""

    code: str
    message: str
    label: str | None = None
    score: float | None = None
    threshold: float | None = None
    # What fired, when it is not a label: the listed term, the domain, the language.
    detail: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message}
        for key in ("label", "score", "threshold", "detail"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Decision:
    status: Status
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class LabelThresholds:
    """Scores at or above ``review`` go to a moderator; at or above ``reject`` are rejected."""

    review: float
    reject: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.reject <= 1.0:
            raise ValueError(f"need 0 <= review <= reject <= 1, got {self.review}, {self.reject}")


@dataclass(frozen=True)
class Principal:
    """The caller, identified by an API key."""

    key_id: int
    name: str
    role: Role
    site_id: str | None = None
