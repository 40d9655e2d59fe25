"""What can go wrong talking to Gmail, as errors whose message tells the user what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class GmailError(Exception):
    """Base class: ``str(error)`` is a sentence fit for the user."""


class AuthExpired(GmailError):
    """The saved sign-in no longer works (revoked, expired, or the app is still in Testing)."""

    def __init__(self, detail: str = "", signed_in_at: datetime | None = None) -> None:
        why = f" ({detail.rstrip('.')})" if detail else ""
        advice = "Run `introbot auth` again."
        if signed_in_at is not None:
            age = datetime.now(UTC) - signed_in_at
            when = f"{signed_in_at:%Y-%m-%d}, {age.days} day(s) ago"
            if age >= timedelta(days=7) - timedelta(hours=1):
                advice = (
                    f"The sign-in was made on {when}: Google ends sign-ins after 7 days "
                    "while the app's OAuth consent screen is in 'Testing'. Publish the app "
                    "(README: 'Use it on your Gmail', step 3), then run `introbot auth`."
                )
            else:
                advice = (
                    f"The sign-in was made on {when}, so it was revoked (removed at "
                    "myaccount.google.com/permissions, or a password change). Run "
                    "`introbot auth` again."
                )
        super().__init__(f"Gmail no longer accepts introbot's sign-in{why}. {advice}")
        self.detail = detail
        self.signed_in_at = signed_in_at


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
