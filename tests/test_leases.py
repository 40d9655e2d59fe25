"""Leases: which replica works which mailbox (pure), and the leases in a real PostgreSQL:
claim, renew, takeover after a lapse with a greater token, and the fence that refuses the
writes of a replica whose lease is gone (the row it tried to write is not there)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from introbot.leases import Fence, LeaseBoard, LeaseLost, Replica, assign, owner, wanted
from introbot.store import StoreLocation
from tests.cli import invoke
from tests.postgres import PostgresServer
from tests.test_doctor import lines
from tests.test_store_cli import ready, team

__all__ = ["ready", "team"]  # the fixtures: a signed-in account whose store is PostgreSQL

MAILBOXES = [f"box{n}" for n in range(300)]


# ------------------------------------------------------------------- the spread
def test_the_spread_is_even() -> None:
    counts = Counter(assign(MAILBOXES, ["r1", "r2", "r3"]).values())
    assert set(counts) == {"r1", "r2", "r3"}
    assert all(70 <= c <= 130 for c in counts.values()), counts  # 100 each, give or take


def test_a_replica_joining_takes_only_its_share() -> None:
    before = assign(MAILBOXES, ["r1", "r2", "r3"])
    after = assign(MAILBOXES, ["r1", "r2", "r3", "r4"])
    moved = [m for m in MAILBOXES if before[m] != after[m]]
    assert all(after[m] == "r4" for m in moved)  # none moves between the old three
    assert 40 <= len(moved) <= 110  # about a quarter of 300


def test_a_replica_leaving_hands_over_only_its_own() -> None:
    before = assign(MAILBOXES, ["r1", "r2", "r3"])
    after = assign(MAILBOXES, ["r1", "r3"])
    for m in MAILBOXES:
        if before[m] != "r2":
            assert after[m] == before[m]
        else:
            assert after[m] in {"r1", "r3"}


def test_every_replica_agrees_and_no_mailbox_is_left_out() -> None:
    live = ["b", "a", "c"]
    shares = [wanted(me, MAILBOXES, live) for me in live]
    assert set().union(*shares) == set(MAILBOXES)
    assert sum(len(s) for s in shares) == len(MAILBOXES)  # disjoint
    assert owner("box1", []) is None and wanted("solo", ["x", "y"], []) == {"x", "y"}


def test_a_fence_is_held_only_before_its_margin() -> None:
    fence = Fence("box", "me", token=3, valid_until=100.0, margin=10.0)
    assert fence.held(now=89.9) and not fence.held(now=90.0)
    assert not Fence("box", "me", token=None, valid_until=100.0).held(now=0.0)


# --------------------------------------------------------- leases in PostgreSQL
def _board(server: PostgresServer, me: str, seconds: float = 1.0) -> LeaseBoard:
    return LeaseBoard(server.url, me, seconds)


def test_a_lease_is_claimed_once_renewed_and_taken_over_after_a_lapse(
    postgres_server: PostgresServer,
) -> None:
    name = f"lapse-{time.monotonic_ns()}"
    a, b = _board(postgres_server, "replica-a"), _board(postgres_server, "replica-b")
    try:
        first = a.claim(name)
        assert first is not None
        assert b.claim(name) is None  # held, unexpired
        assert a.claim(name) == first  # a's own: the same token
        assert a.renew(name, first)
        time.sleep(1.3)  # a stops renewing: the lease lapses by the database's clock
        assert not a.renew(name, first)
        second = b.claim(name)
        assert second == first + 1  # a takeover: the token grows
        assert not a.renew(name, first)
        b.release(name, second)
        third = a.claim(name)
        assert third == second + 1  # free at once after a release, a greater token again
    finally:
        a.close()
        b.close()


def test_the_live_replicas_are_those_that_heartbeat(postgres_server: PostgresServer) -> None:
    a, b = _board(postgres_server, "hb-a"), _board(postgres_server, "hb-b")
    try:
        a.heartbeat()
        assert {"hb-a", "hb-b"} <= set(b.heartbeat())
        time.sleep(1.3)
        live = b.heartbeat()
        assert "hb-b" in live and "hb-a" not in live
        b.leave()
        assert "hb-b" not in a.heartbeat()
    finally:
        a.close()
        b.close()


def test_a_replica_that_lost_its_lease_cannot_write(postgres_server: PostgresServer) -> None:
    """The store of a replica whose lease was taken over refuses to write, in the same
    transaction that checks the token: the row is not there afterwards."""
    location = postgres_server.location()
    mine, theirs = location.open(), location.open()
    a, b = _board(postgres_server, "fence-a"), _board(postgres_server, "fence-b")
    try:
        token = a.claim(location.mailbox)
        assert token is not None
        fence = Fence(location.mailbox, "fence-a", token, time.monotonic() + 1.0)
        mine.db.fence = fence  # type: ignore[attr-defined]
        mine.set_meta("written-while-held", "yes")
        time.sleep(1.3)
        assert b.claim(location.mailbox) == token + 1
        fence.valid_until = time.monotonic() + 60  # as if this process never noticed
        with pytest.raises(LeaseLost, match="held by fence-b"):
            mine.set_meta("written-after-takeover", "yes")
        with pytest.raises(LeaseLost):  # and from now on at once
            mine.audit(datetime.now(UTC), None, "test", "refused")
        assert theirs.get_meta("written-while-held") == "yes"
        assert theirs.get_meta("written-after-takeover") is None
    finally:
        for closing in (mine, theirs, a, b):
            closing.close()


def test_a_replica_paused_past_its_lease_refuses_before_asking(
    postgres_server: PostgresServer,
) -> None:
    """No one took over yet, but this process's own clock says the lease ran out."""
    location = postgres_server.location()
    store = location.open()
    board = _board(postgres_server, "paused", seconds=30)
    try:
        token = board.claim(location.mailbox)
        assert token is not None
        fence = Fence(location.mailbox, "paused", token, time.monotonic() - 1)
        store.db.fence = fence  # type: ignore[attr-defined]
        with pytest.raises(LeaseLost, match="ran out"):
            store.set_meta("late", "yes")
        store.db.fence = None  # type: ignore[attr-defined]
        assert store.get_meta("late") is None
    finally:
        store.close()
        board.close()


def test_two_replicas_split_the_mailboxes_and_rebalance_when_one_leaves(
    postgres_server: PostgresServer,
) -> None:
    names = [f"rb{time.monotonic_ns()}-{n}" for n in range(8)]
    first = Replica(postgres_server.url, names, 3)
    first.start()
    second = Replica(postgres_server.url, names, 3)
    try:
        assert all(first.holds(n) for n in names)  # alone: all of them
        second.start()  # its heartbeat is seen at first's next round: first lets go
        first._round()
        second._round()
        mine = {n for n in names if first.holds(n)}
        theirs = {n for n in names if second.holds(n)}
        assert mine | theirs == set(names) and not mine & theirs
        assert mine == wanted(first.me, names, [first.me, second.me]) and theirs
        second.stop()  # lets go of its leases and leaves
        first._round()
        assert all(first.holds(n) for n in names)
    finally:
        first.stop()
        second.stop()


# ------------------------------------------------------------------------ doctor
def test_doctor_says_who_holds_the_mailbox_and_until_when(
    team: StoreLocation, postgres_server: PostgresServer
) -> None:
    (line,) = lines(invoke("doctor"))["lease"]
    assert line.startswith("ok not held by any replica")
    holder = _board(postgres_server, "pod-a", seconds=60)
    other = _board(postgres_server, "pod-b", seconds=60)
    try:
        token = holder.claim(team.mailbox)
        (line,) = lines(invoke("doctor"))["lease"]
        assert line.startswith(f"ok held by pod-a (token {token}) until 20")
        holder._connection().execute(  # pod-a stopped renewing a minute ago; pod-b is live
            "UPDATE introbot.leases SET expires_at = now() - interval '1 minute' "
            "WHERE mailbox = %s",
            (team.mailbox,),
        )
        other.heartbeat()
        (line,) = lines(invoke("doctor"))["lease"]
        assert line.startswith("warn lapsed at") and "pod-a stopped renewing it" in line
        assert "replica(s) live (" in line and "pod-b" in line
    finally:
        other.leave()  # live for a minute otherwise: given a share of later tests' mailboxes
        holder.close()
        other.close()
