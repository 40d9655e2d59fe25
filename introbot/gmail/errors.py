"""What can go wrong talking to Gmail, as errors whose message tells the user what to do."""

from __future__ import annotations


class GmailError(Exception):
    """Base class: ``str(error)`` is a sentence fit for the user."""


class AuthExpired(GmailError):
    """The saved sign-in no longer works (revoked, expired, or the app is still in Testing)."""

    def __init__(self, detail: str = "") -> None:
        why = f" ({detail})" if detail else ""
        super().__init__(
            f"Gmail no longer accepts introbot's sign-in{why}. Run `introbot auth` again."
        )


class GmailUnavailable(GmailError):
    """Gmail kept failing (rate limits, server errors, timeouts) after every retry."""


class GmailRejected(GmailError):
    """Gmail refused a call for good (bad argument, permission): retrying cannot help."""

    def __init__(self, method: str, status: int, reason: str | None, message: str) -> None:
        super().__init__(f"Gmail refused {method} ({status} {reason or ''}): {message}".strip())
        self.method = method
        self.status = status
        self.reason = reason


class HistoryExpired(GmailError):
    """The stored history id is too old (Gmail answered 404): a full sync is needed."""

    def __init__(self, start_history_id: int) -> None:
        super().__init__(
            f"Gmail no longer has history from {start_history_id}; a full sync is needed."
        )
        self.start_history_id = start_history_id


class NotFound(GmailRejected):
    """The message, thread, draft or label does not exist (any more)."""
