"""Pure pacing logic: the retry decision, Retry-After, backoff and the token bucket."""

from __future__ import annotations

import calendar
import random
from email.utils import formatdate

import pytest

from introbot.gmail.pacing import (
    Outcome,
    RetryPolicy,
    TokenBucket,
    bucket_for,
    classify,
    retry_after_seconds,
)


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        (429, "rateLimitExceeded", Outcome.RETRY),
        (403, "userRateLimitExceeded", Outcome.RETRY),
        (403, "rateLimitExceeded", Outcome.RETRY),
        (403, "forbidden", Outcome.FAIL),
        (403, "insufficientPermissions", Outcome.FAIL),
        (403, None, Outcome.FAIL),
        (400, "invalidArgument", Outcome.FAIL),
        (409, "duplicate", Outcome.FAIL),
        (401, "authError", Outcome.AUTH),
        (404, "notFound", Outcome.NOT_FOUND),
        (500, "backendError", Outcome.RETRY_UNCERTAIN),
        (502, None, Outcome.RETRY_UNCERTAIN),
        (503, "backendError", Outcome.RETRY_UNCERTAIN),
        (408, None, Outcome.RETRY_UNCERTAIN),
    ],
)
def test_classify(status: int, reason: str | None, outcome: Outcome) -> None:
    assert classify(status, reason) is outcome


def test_retry_after_from_header_or_message() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds("7", None, lambda: now) == 7.0
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), None, lambda: now) == 30.0
    message = "User-rate limit exceeded.  Retry after 2027-01-15T08:00:12.000Z"
    stamp = calendar.timegm((2027, 1, 15, 8, 0, 12, 0, 0, 0))
    assert retry_after_seconds(None, message, lambda: stamp - 12) == pytest.approx(12.0)
    assert retry_after_seconds("soon", "no hint here") is None
    assert retry_after_seconds(None, None) is None


def test_backoff_grows_is_jittered_and_bounded() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=4.0, rng=random.Random(7))
    delays = list(policy.delays())
    assert len(delays) == 7
    for attempt, pause in enumerate(delays, start=1):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= pause <= ceiling
    assert policy.delay(3, server_hint=3.5) == 3.5
    assert policy.delay(1, server_hint=600) == 4.0  # a hint is honoured up to the cap


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_allows_a_burst_then_holds_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100, capacity=50, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        bucket.acquire(5)  # the burst
    assert clock.now == 0
    for _ in range(100):
        bucket.acquire(5)
    assert clock.now == pytest.approx(5.0)  # 500 units at 100/s
    assert bucket.waited == pytest.approx(5.0)


def test_token_bucket_never_exceeds_its_window_budget() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=225, capacity=1000, clock=clock, sleep=clock.sleep)
    spent: list[tuple[float, int]] = []
    rng = random.Random(3)
    while clock.now < 180:
        cost = rng.choice([1, 2, 5, 10, 15, 250])
        bucket.acquire(cost)
        spent.append((clock.now, cost))
    for start, _ in spent:
        in_minute = sum(c for t, c in spent if start <= t < start + 60)
        assert in_minute <= 15_000  # Gmail's per-user limit


def test_token_bucket_lends_to_calls_bigger_than_itself() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, capacity=20, clock=clock, sleep=clock.sleep)
    bucket.acquire(100)
    assert clock.now == 0  # a full bucket lets it through, in debt
    bucket.acquire(20)
    assert clock.now == pytest.approx(10.0)  # the debt of 80 plus 20 is paid first


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)


def test_a_lowered_quota_is_paced_under_like_gmails() -> None:
    gmails = bucket_for(15_000)
    assert (gmails.rate, gmails.capacity) == (225.0, 1000.0)  # the defaults, exactly
    for quota in (600, 6000, 15_000):
        bucket = bucket_for(quota)
        assert bucket.capacity + 60 * bucket.rate <= quota  # a full burst, then a minute


def test_the_accounts_quota_setting_paces_its_client() -> None:
    from introbot.app import _pacing
    from introbot.settings import Settings

    lowered = _pacing(Settings.model_validate({"gmail": {"units_per_minute": 6000}}))
    assert lowered is not None and (lowered.rate, lowered.capacity) == (90.0, 400.0)
    assert _pacing(Settings()) is None and _pacing(None) is None  # Gmail's: the default bucket
