"""Errors in Gmail's JSON shape."""

from __future__ import annotations

from typing import Any

_STATUS = {
    400: ("INVALID_ARGUMENT", "invalidArgument", "global"),
    403: ("PERMISSION_DENIED", "forbidden", "global"),
    404: ("NOT_FOUND", "notFound", "global"),
    409: ("ALREADY_EXISTS", "duplicate", "global"),
    413: ("INVALID_ARGUMENT", "invalidArgument", "global"),
    429: ("RESOURCE_EXHAUSTED", "rateLimitExceeded", "usageLimits"),
    500: ("INTERNAL", "backendError", "global"),
    501: ("UNIMPLEMENTED", "notImplemented", "global"),
    503: ("UNAVAILABLE", "backendError", "global"),
}


class ApiError(Exception):
    """An error answer: HTTP status, message, Gmail reason, optional extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        default_status, default_reason, domain = _STATUS.get(
            status, ("UNKNOWN", "unknown", "global")
        )
        self.reason = reason or default_reason
        self.domain = "usageLimits" if "ratelimit" in self.reason.lower() else domain
        self.status_name = default_status
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
                "status": self.status_name,
            }
        }


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
