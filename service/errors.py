"""Domain errors. The HTTP layer maps each to one problem type; nothing else knows about HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the service layer raises on purpose."""

    code = "domain_error"
    status = 400
    title = "Request cannot be processed"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers: dict[str, str] = {}


class NotFound(DomainError):
    code, status, title = "not_found", 404, "Not found"


class Conflict(DomainError):
    code, status, title = "conflict", 409, "Conflict"


class ArticleClosed(DomainError):
    code, status, title = "article_closed", 409, "Article closed for comments"


class LeaseNotHeld(DomainError):
    code, status, title = "lease_not_held", 409, "Comment not leased to you"


class AlreadyDecided(DomainError):
    code, status, title = "already_decided", 409, "Comment already decided"


class InvalidReference(DomainError):
    code, status, title = "invalid_reference", 422, "Invalid reference"


class Forbidden(DomainError):
    code, status, title = "forbidden", 403, "Forbidden"


class UndoNotAllowed(DomainError):
    code, status, title = "undo_not_allowed", 409, "Decision cannot be undone"


class UndoWindowPassed(DomainError):
    code, status, title = "undo_window_passed", 409, "Undo window has passed"


class VersionConflict(DomainError):
    code, status, title = "version_conflict", 409, "Changed meanwhile"


class CommentRejected(DomainError):
    code, status, title = "comment_rejected", 409, "Comment rejected"


class RateLimited(DomainError):
    """Too many comments from one author: answered 429 with ``Retry-After``."""

    code, status, title = "rate_limited", 429, "Too Many Requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
        self.headers = {"Retry-After": str(retry_after_s)}


class InvalidModel(DomainError):
    code, status, title = "invalid_model", 422, "Invalid model artifact"
