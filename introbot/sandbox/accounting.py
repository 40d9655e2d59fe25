"""What the sandbox measures and imposes: call and quota counters, Gmail's per-user rate
limit, and scripted faults."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from introbot.gmail.quota import UNITS_PER_USER_PER_MINUTE, units
from introbot.sandbox.errors import ApiError, bad_request


class Stats:
    """API calls (batch parts one by one), HTTP round trips and quota units, per method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls: Counter[str] = Counter()
            self.units: Counter[str] = Counter()
            self.http_requests = 0
            self.batches = 0
            self.rate_limited = 0
            self.faults_injected = 0

    def count_call(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1
            self.units[method] += units(method)

    def count_http(self, batch: bool = False) -> None:
        with self._lock:
            self.http_requests += 1
            self.batches += int(batch)

    def count_rejection(self, rate_limited: bool) -> None:
        with self._lock:
            if rate_limited:
                self.rate_limited += 1
            else:
                self.faults_injected += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self.calls.values()),
                "quota_units": sum(self.units.values()),
                "http_requests": self.http_requests,
                "batches": self.batches,
                "rate_limited": self.rate_limited,
                "faults_injected": self.faults_injected,
                "by_method": dict(sorted(self.calls.items())),
                "units_by_method": dict(sorted(self.units.items())),
            }


class RateLimitSettings(BaseModel):
    """Gmail's per-user limit as a moving window. ``null`` units switches it off."""

    model_config = ConfigDict(extra="forbid")
    units_per_minute: int | None = Field(default=UNITS_PER_USER_PER_MINUTE, gt=0)
    window_seconds: float = Field(default=60.0, gt=0)
    status: int = Field(default=429)
    max_concurrent: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _known_status(self) -> RateLimitSettings:
        if self.status not in (403, 429):
            raise ValueError("status must be 403 (userRateLimitExceeded) or 429")
        return self


class RateLimiter:
    """Admits a call if the units spent in the last window stay within the limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: deque[tuple[float, int]] = deque()
        self._total = 0
        self._in_flight = 0
        self.settings: RateLimitSettings | None = None

    def configure(self, settings: RateLimitSettings | None) -> None:
        with self._lock:
            self.settings = settings
            self._spent.clear()
            self._total = 0

    def admit(self, cost: int) -> None:
        """Raise the 429/403 answer Gmail would give, or charge ``cost`` to the window."""
        with self._lock:
            settings = self.settings
            if settings is None or settings.units_per_minute is None:
                return
            now = self._clock()
            while self._spent and self._spent[0][0] <= now - settings.window_seconds:
                self._total -= self._spent.popleft()[1]
            limit = settings.units_per_minute * settings.window_seconds / 60.0
            if self._total + cost > limit:
                wait = settings.window_seconds - (now - self._spent[0][0]) if self._spent else 1.0
                raise _rate_limit_error(settings.status, max(wait, 0.05))
            self._spent.append((now, cost))
            self._total += cost

    def enter(self) -> None:
        with self._lock:
            settings = self.settings
            if settings and settings.max_concurrent and self._in_flight >= settings.max_concurrent:
                raise ApiError(429, "Too many concurrent requests for user", "rateLimitExceeded")
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


def _rate_limit_error(status: int, wait: float) -> ApiError:
    retry_at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + wait))
    return ApiError(
        status,
        f"User-rate limit exceeded.  Retry after {retry_at}",
        "userRateLimitExceeded" if status == 403 else "rateLimitExceeded",
        headers={"Retry-After": str(max(1, round(wait)))},
    )


_FAULT_STATUSES = (400, 403, 404, 408, 429, 500, 502, 503, 504)


class FaultSpec(BaseModel):
    """One scripted fault: the next ``count`` calls of ``method`` (after ``skip``) fail.

    ``status`` answers an error (429, 403 rate limit, 500, 503; or a refusal retrying
    cannot fix: 400 invalid argument, 404 not found); ``hang`` sleeps that many
    seconds first (past the client's timeout). With ``after_effect`` the call takes effect
    in the mailbox before the fault answers: "Gmail acted but the client never saw it".
    """

    model_config = ConfigDict(extra="forbid")
    method: str = "*"
    count: int = Field(default=1, ge=1)
    skip: int = Field(default=0, ge=0)
    status: int | None = None
    hang: float | None = Field(default=None, ge=0, le=600)
    after_effect: bool = False

    @model_validator(mode="after")
    def _something_happens(self) -> FaultSpec:
        if self.status is None and self.hang is None:
            raise ValueError("a fault needs a status, a hang, or both")
        if self.status is not None and self.status not in _FAULT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(str(s) for s in _FAULT_STATUSES)}")
        return self


@dataclass
class Fault:
    method: str
    remaining: int
    skip: int
    status: int | None
    hang: float | None
    after_effect: bool

    def error(self) -> ApiError:
        status = self.status or 503
        if status == 403:
            return ApiError(403, "User-rate limit exceeded.", "userRateLimitExceeded")
        if status == 429:
            return ApiError(429, "Too many requests", "rateLimitExceeded", {"Retry-After": "1"})
        if status == 400:
            return ApiError(400, "Precondition check failed.", "failedPrecondition")
        if status == 404:
            return ApiError(404, "Requested entity was not found.", "notFound")
        return ApiError(status, "Backend Error" if status >= 500 else "Error", None)


class Faults:
    """The scripted faults, consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> None:
        try:
            checked = FaultSpec.model_validate(spec)
        except ValidationError as exc:
            raise bad_request(f"Invalid fault: {exc.errors()[0]['msg']}") from None
        with self._lock:
            self._faults.append(
                Fault(
                    checked.method,
                    checked.count,
                    checked.skip,
                    checked.status,
                    checked.hang,
                    checked.after_effect,
                )
            )

    def take(self, method: str, wildcard: bool = True) -> Fault | None:
        """Consume the fault due for this call, if any. ``batch`` names a whole batch."""
        with self._lock:
            for fault in self._faults:
                if fault.method != method and not (wildcard and fault.method == "*"):
                    continue
                if fault.skip:
                    fault.skip -= 1
                    return None
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]
