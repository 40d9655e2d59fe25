"""Leases: which replica works which mailbox (pure), and the leases in a real PostgreSQL:
claim, renew, takeover after a lapse with a greater token, and the fence that refuses the
writes of a replica whose lease is gone (the row it tried to write is not there)."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from introbot.leases import Fence, LeaseBoard, LeaseLost, Replica, assign, read_plan, wanted
from introbot.store import StoreLocation
from tests.cli import invoke
from tests.postgres import PostgresServer
from tests.test_doctor import lines
from tests.test_store_cli import ready, team

__all__ = ["ready", "team"]  # the fixtures: a signed-in account whose store is PostgreSQL

MAILBOXES = [f"box{n}" for n in range(300)]


# ------------------------------------------------------------------- the spread
def _all(replicas: list[str], mailboxes: list[str] = MAILBOXES) -> dict[str, list[str]]:
    return {r: mailboxes for r in replicas}


def test_the_spread_is_even_to_one_mailbox() -> None:
    counts = Counter(assign(_all(["r1", "r2", "r3"])).values())
    assert counts == {"r1": 100, "r2": 100, "r3": 100}
    ten = [f"user{n}@team.example" for n in range(10)]
    for replicas, shares in ((2, [5, 5]), (3, [4, 3, 3]), (4, [3, 3, 2, 2])):
        spread = Counter(assign(_all([f"pod-{n}" for n in range(replicas)], ten)).values())
        assert sorted(spread.values(), reverse=True) == shares


def test_a_replica_joining_takes_about_its_share_nearly_all_from_the_others() -> None:
    before = assign(_all(["r1", "r2", "r3"]))
    after = assign(_all(["r1", "r2", "r3", "r4"]))
    moved = [m for m in MAILBOXES if before[m] != after[m]]
    assert Counter(after.values())["r4"] == 75
    assert len([m for m in moved if after[m] != "r4"]) <= 10  # a few, to keep the loads even
    assert len(moved) <= 85  # its 75, and those few


def test_a_replica_leaving_hands_over_mostly_its_own() -> None:
    before = assign(_all(["r1", "r2", "r3"]))
    after = assign(_all(["r1", "r3"]))
    assert set(after.values()) == {"r1", "r3"} and len(after) == len(MAILBOXES)
    kept = [m for m in MAILBOXES if before[m] != "r2"]
    assert len([m for m in kept if after[m] != before[m]]) <= 10


def test_every_replica_agrees_and_no_mailbox_is_left_out() -> None:
    serves = _all(["b", "a", "c"])
    shares = [wanted(me, serves) for me in serves]
    assert set().union(*shares) == set(MAILBOXES)
    assert sum(len(s) for s in shares) == len(MAILBOXES)  # disjoint
    reordered = {r: list(reversed(serves[r])) for r in reversed(list(serves))}
    assert assign(reordered) == assign(serves)  # the same whatever order they were read in
    assert assign({}) == {} and wanted("solo", {"solo": ["x", "y"]}) == {"x", "y"}


def test_replicas_whose_lists_differ_leave_no_mailbox_unserved() -> None:
    """A rollout that adds a mailbox: the new replicas list it, the old ones do not. Each
    mailbox goes to a replica that serves it; none is left for one that does not."""
    rng = random.Random(16)
    for _ in range(200):
        replicas = [f"pod-{n}" for n in range(rng.randint(1, 5))]
        serves = {r: rng.sample(MAILBOXES[:40], rng.randint(0, 40)) for r in replicas}
        plan = assign(serves)
        assert set(plan) == {m for listed in serves.values() for m in listed}
        assert all(m in serves[r] for m, r in plan.items())
    old, new = MAILBOXES[:10], MAILBOXES[:11]
    plan = assign({"old-pod": old, "new-pod": new})
    assert plan[MAILBOXES[10]] == "new-pod" and Counter(plan.values()) == {
        "old-pod": 5,
        "new-pod": 6,
    }


def test_replicas_of_other_teams_do_not_change_a_team_s_share() -> None:
    ours, theirs = MAILBOXES[:10], MAILBOXES[10:100]
    plan = assign({"ours-1": ours, "ours-2": ours, "theirs-1": theirs})
    assert Counter(plan.values()) == {"ours-1": 5, "ours-2": 5, "theirs-1": 90}


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
        a.heartbeat(["box-1", "box-2"])
        live = b.heartbeat(["box-2"])
        assert live["hb-a"] == ("box-1", "box-2") and live["hb-b"] == ("box-2",)
        time.sleep(1.3)
        live = b.heartbeat(["box-2"])
        assert "hb-b" in live and "hb-a" not in live
        b.leave()
        assert "hb-b" not in a.heartbeat(["box-1", "box-2"])
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
        assert mine == wanted(first.me, {first.me: names, second.me: names})
        assert len(mine) == len(theirs) == 4  # even
        second.stop()  # lets go of its leases and leaves
        first._round()
        assert all(first.holds(n) for n in names)
    finally:
        first.stop()
        second.stop()


def test_replicas_in_a_rollout_serve_every_mailbox_evenly(postgres_server: PostgresServer) -> None:
    """The new replica lists a mailbox the old one does not: the old one is never left one it
    cannot serve, and the rest split evenly."""
    stamp = time.monotonic_ns()
    names = [f"roll{stamp}-{n}" for n in range(9)]
    old, new = Replica(postgres_server.url, names[:8], 3), Replica(postgres_server.url, names, 3)
    try:
        old.start()
        new.start()
        old._round()
        new._round()
        held_old = {n for n in names[:8] if old.holds(n)}
        held_new = {n for n in names if new.holds(n)}
        assert held_old | held_new == set(names) and not held_old & held_new
        assert names[8] in held_new and len(held_old) in (4, 5) and len(held_new) in (4, 5)
        assert read_plan(postgres_server.url) == {
            **dict.fromkeys(held_old, old.me),
            **dict.fromkeys(held_new, new.me),
        }
    finally:
        old.stop()
        new.stop()


def test_a_replica_that_does_not_say_what_it_serves_is_left_nothing(
    postgres_server: PostgresServer,
) -> None:
    """A replica of the version before the lists: it plans by itself; the new one plans
    without it and takes every mailbox it serves (one the old one holds stays with it)."""
    names = [f"nolist{time.monotonic_ns()}-{n}" for n in range(6)]
    board = _board(postgres_server, "pod-without-a-list", seconds=30)
    try:
        board._connection().execute(
            "INSERT INTO introbot.replicas (id, expires_at) VALUES (%s, now() + interval '30 s')",
            ("pod-without-a-list",),
        )
        assert board.claim(names[0]) is not None
        replica = Replica(postgres_server.url, names, 3)
        try:
            replica.start()
            assert {n for n in names if replica.holds(n)} == set(names[1:])
        finally:
            replica.stop()
    finally:
        board.leave()
        board.close()


def test_a_mailbox_its_replica_never_takes_is_adopted_then_handed_back(
    postgres_server: PostgresServer,
) -> None:
    """A live replica whose claims fail (it heartbeats, holds nothing): after a whole term
    another that serves the mailboxes takes them over; once the stuck one is gone, nothing
    moves back and forth."""
    names = [f"stuck{time.monotonic_ns()}-{n}" for n in range(6)]
    stuck = _board(postgres_server, "pod-stuck", seconds=30)
    replica = Replica(postgres_server.url, names, 1.5)
    try:
        stuck.heartbeat(names)
        replica.start()
        meant_for_stuck = {n for n in names if not replica.holds(n)}
        assert len(meant_for_stuck) == 3  # the plan gives the stuck replica half
        deadline = time.monotonic() + 10
        while not all(replica.holds(n) for n in names) and time.monotonic() < deadline:
            time.sleep(0.2)
            replica._round()
        assert all(replica.holds(n) for n in names)  # adopted
        replica._round()
        assert all(replica.holds(n) for n in names)  # kept while the plan names the same one
        stuck.leave()
        replica._round()
        assert all(replica.holds(n) for n in names) and not replica.adopted
    finally:
        replica.stop()
        stuck.leave()
        stuck.close()


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
        other.heartbeat([team.mailbox])
        (line,) = lines(invoke("doctor"))["lease"]
        assert line.startswith("warn lapsed at") and "pod-a stopped renewing it" in line
        assert "replica(s) live (" in line and "pod-b" in line
    finally:
        other.leave()  # live for a minute otherwise: given a share of later tests' mailboxes
        holder.close()
        other.close()
