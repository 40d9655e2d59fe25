"""How fast and how often to call Gmail: a client-side token bucket under the per-user
quota, the retry decision for an error answer, and exponential backoff with jitter.

Pure logic with the clock and the sleep injected, so it is testable without waiting.
"""

from __future__ import annotations

import enum
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Gmail's 403 reasons that mean "slow down", not "you may not".
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})

#: A default that stays under Gmail's 250 units/s per user even with a full burst:
#: 1,000 + 225 * 60 = 14,500 units in any minute, below the 15,000 limit.
DEFAULT_UNITS_PER_SECOND = 225.0
DEFAULT_BURST_UNITS = 1_000.0


class Outcome(enum.Enum):
    RETRY = "retry"  # the call did not take effect: try again after a pause
    RETRY_UNCERTAIN = "retry_uncertain"  # it may have taken effect: check before redoing
    NOT_FOUND = "not_found"
    AUTH = "auth"  # the credentials no longer work
    FAIL = "fail"  # a permanent refusal: retrying cannot help


def classify(status: int, reason: str | None) -> Outcome:
    """What to do about an HTTP error answer from Gmail: the one place that decides.

    Only transient faults are retried: 429 and the 403 rate limits (slow down), 408 and
    5xx (the call may have taken effect). Every other 4xx is a refusal that retrying
    cannot fix; the caller sets that one message or action aside."""
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return Outcome.RETRY
    if status >= 500 or status == 408:
        return Outcome.RETRY_UNCERTAIN
    if status == 404:
        return Outcome.NOT_FOUND
    if status == 401:
        return Outcome.AUTH
    return Outcome.FAIL


_RETRY_AFTER_IN_MESSAGE = re.compile(r"Retry after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)")


def retry_after_seconds(
    header: str | None, message: str | None, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asked us to wait: a Retry-After header (seconds or HTTP date) or
    Gmail's "Retry after 2026-11-27T16:40:00.000Z" in the error message."""
    if header:
        value = header.strip()
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now())
        except (TypeError, ValueError):
            pass
    match = _RETRY_AFTER_IN_MESSAGE.search(message or "")
    if match:
        stamp = datetime.strptime(match[1].split(".")[0], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        return max(0.0, stamp.timestamp() - now())
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in each pause."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 32.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, server_hint: float | None = None) -> float:
        """Pause before retry number ``attempt`` (1-based). A server hint is honoured,
        capped at ``max_delay``."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered = self.rng.uniform(ceiling / 2, ceiling)
        if server_hint is not None:
            return min(self.max_delay, max(server_hint, jittered))
        return jittered

    def delays(self) -> Iterator[float]:
        for attempt in range(1, self.max_attempts):
            yield self.delay(attempt)


def bucket_for(units_per_minute: float) -> TokenBucket:
    """The bucket for a per-user quota of ``units_per_minute``: a burst of a fifteenth of it,
    then 90% of its rate, so a full burst and a minute at the rate stay under the quota
    (for Gmail's 15,000: the defaults, 1,000 + 225 * 60 = 14,500)."""
    return TokenBucket(rate=units_per_minute * 0.9 / 60, capacity=units_per_minute / 15)


class TokenBucket:
    """Spends quota units at ``rate`` per second with bursts up to ``capacity``.

    A request larger than the bucket waits for a full bucket and then leaves it in debt,
    so the long-run rate still holds.
    """

    def __init__(
        self,
        rate: float = DEFAULT_UNITS_PER_SECOND,
        capacity: float = DEFAULT_BURST_UNITS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._stamp = clock()
        self.waited = 0.0  # total seconds spent waiting, for reports

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self, units: float) -> None:
        self._refill()
        needed = min(units, self.capacity)
        if self._tokens < needed:
            pause = (needed - self._tokens) / self.rate
            self.waited += pause
            self._sleep(pause)
            self._refill()
        self._tokens -= units
