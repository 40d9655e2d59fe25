"""`introbot stats`: intros by state, acceptance per side, median times, from the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.cli.stats import compute, duration, report
from introbot.model import Consent, Intro, Order, Party, Person, RequestRef, Role, Stage
from tests.cli import invoke
from tests.world import World

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _intro(
    n: int,
    stage: Stage,
    requester: tuple[Consent, timedelta | None],
    contact: tuple[Consent, timedelta | None],
    closed_after: timedelta | None = None,
    created: datetime = T0,
) -> Intro:
    def party(role: Role, answer: tuple[Consent, timedelta | None]) -> Party:
        consent, after = answer
        asked = created + HOUR
        return Party(
            role,
            Person(role.value, f"{role.value}{n}@example.com"),
            consent,
            asked_at=asked,
            answered_at=asked + after if after is not None else None,
        )

    request = RequestRef(f"t{n}", f"m{n}", None, "intro", Person(None, "r@example.com"), "direct")
    return Intro(
        id=f"intro{n}",
        request=request,
        requester=party(Role.REQUESTER, requester),
        contact=party(Role.CONTACT, contact),
        context="",
        order=Order.PARALLEL,
        stage=stage,
        created_at=created,
        closed_at=created + closed_after if closed_after else None,
    )


def test_the_figures() -> None:
    intros = [
        _intro(1, Stage.INTRODUCED, (Consent.YES, 2 * HOUR), (Consent.YES, 10 * HOUR), 30 * HOUR),
        _intro(2, Stage.INTRODUCED, (Consent.YES, 4 * HOUR), (Consent.YES, 20 * HOUR), 50 * HOUR),
        _intro(3, Stage.DECLINED, (Consent.YES, 6 * HOUR), (Consent.NO, HOUR), 8 * HOUR),
        _intro(4, Stage.EXPIRED, (Consent.YES, 1 * HOUR), (Consent.ASKED, None), 22 * 24 * HOUR),
        _intro(5, Stage.ASKING, (Consent.ASKED, None), (Consent.ASKED, None)),
    ]
    stats = compute(intros)
    assert stats["intros"] == 5
    assert stats["by_state"] == {
        "awaiting-consent": 1, "ready": 0, "introduced": 2, "declined": 1, "cancelled": 0, "expired": 1,
    }  # fmt: skip
    assert stats["acceptance"]["requester"] == {"asked": 5, "yes": 4, "no": 0, "rate": 1.0}
    assert stats["acceptance"]["contact"] == {"asked": 5, "yes": 2, "no": 1, "rate": 0.667}
    assert stats["median_seconds_to_yes"]["requester"] == 3 * 3600  # of 2, 4, 6, 1 hours
    assert stats["median_seconds_to_yes"]["contact"] == 15 * 3600  # of 10 and 20 hours
    assert stats["median_seconds_to_introduction"] == 40 * 3600  # of 30 and 50 hours
    assert (stats["declined"], stats["expired"]) == (1, 1)

    text = report(stats)
    assert "Intros: 5" in text
    assert "requester   100%  (4 yes of 4 answered, 5 asked)" in text
    assert "contact      67%  (2 yes of 3 answered, 5 asked)" in text
    assert "Median time from request to introduction: 40.0 h" in text


def test_since_counts_only_later_requests() -> None:
    old = _intro(1, Stage.DECLINED, (Consent.NO, HOUR), (Consent.ASKED, None), HOUR)
    later = _intro(
        3, Stage.ASKING, (Consent.ASKED, None), (Consent.ASKED, None), created=T0 + 10 * 24 * HOUR
    )
    stats = compute([old, later], since=T0 + 24 * HOUR)
    assert stats["intros"] == 1 and stats["since"] == "2026-03-03"
    assert compute([], since=T0)["intros"] == 0
    assert report(compute([], since=T0)) == "No intros since 2026-03-02 yet."


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "-"), (600, "10 min"), (5400, "1.5 h"), (3 * 86400, "3.0 days")],
)
def test_durations_read_naturally(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_stats_of_a_real_run(world: World, home: Path) -> None:
    world.request(
        "Hi Sam, could you introduce me to Dana Whitfield (dana@northwind.example)? Thanks, Alex"
    )
    world.poll()
    world.send_drafts()
    world.poll()
    world.reply("Alex Kim <alex.kim@tidepool.io>", "Yes please!")
    world.poll(after=timedelta(hours=3))
    world.reply("Dana Whitfield <dana@northwind.example>", "Sure, happy to.")
    world.poll(after=timedelta(hours=5))
    world.send_drafts()
    world.poll()
    result = invoke("stats", "--json", "--db", str(world.db))
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["by_state"]["introduced"] == 1
    assert stats["acceptance"]["contact"]["rate"] == 1.0
    # Both were asked at the send, the yeses counted 3 h and 8 h later.
    assert 3 * 3600 - 60 < stats["median_seconds_to_yes"]["requester"] < 3 * 3600 + 60
    assert 8 * 3600 - 60 < stats["median_seconds_to_yes"]["contact"] < 8 * 3600 + 60
    shown = invoke("stats", "--db", str(world.db)).stdout
    assert "introduced 1" in shown
