"""An idle poll (nothing new in Gmail) writes nothing and runs few statements, on both engines:
a process serving a thousand mailboxes runs one a second or more, and on PostgreSQL each
statement is a round trip and each write transaction takes the mailbox's row lock and the
lease's fence. The statements are counted as the driver sends them (SQLite's trace callback,
libpq's protocol trace), on a connection that refuses to write (SQLite's ``query_only``,
PostgreSQL's ``default_transaction_read_only``): a write would fail the poll."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from introbot.leases import Fence, LeaseLost
from introbot.store import StoreLocation
from tests.postgres import PostgresServer
from tests.world import World, make_world

# What an idle poll reads, with an intro open (its consent drafts in Gmail): the labels
# (twice), the cursor, the connector's ask-agains, the commands, the outbox (twice: before
# and after the ticks), the open intros and those with a pending draft, the dirty threads
# (9), and the open intro with its parties and drafts, twice (listed, then ticked: 6).
IDLE_READS = 15
WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN", "SAVEPOINT", "REPLACE")


@pytest.fixture
def world(location: StoreLocation, tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, location=location)


def _settled(world: World) -> None:
    """An intro asked for, its consent drafts made; then polls until nothing is left to do."""
    world.asked()
    for _ in range(2):
        world.poll()


@contextmanager
def _statements(world: World) -> Iterator[list[str]]:
    """The statements the store sends inside the block, each as its SQL's first words; the
    connection it uses refuses any write meanwhile."""
    seen: list[str] = []
    if world.store.dialect == "sqlite":
        conn = world.store.db.db  # type: ignore[attr-defined]
        conn.execute("PRAGMA query_only = ON")
        conn.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            conn.set_trace_callback(None)
            conn.execute("PRAGMA query_only = OFF")
        return
    with _traced_postgres(world) as traced:
        yield traced


@contextmanager
def _traced_postgres(world: World) -> Iterator[list[str]]:
    """The warm connection the next poll takes from the pool, traced (libpq) and read-only."""
    from introbot.store.postgres import pool_for

    db = world.store.db
    world.store.release()
    pool = pool_for(db.url)  # type: ignore[attr-defined]
    conn = pool.take()
    opened = pool.opened
    conn.execute("SET default_transaction_read_only = on")
    seen: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        pool.give(conn)
        try:
            yield seen
        finally:
            world.store.release()
            conn.pgconn.untrace()
            conn.execute("SET default_transaction_read_only = off")
        trace.seek(0)
        names: dict[str, str] = {}
        for line in trace:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5 or parts[1] != "F":
                continue
            kind, text = parts[3], parts[4]
            if kind == "Query":
                seen.append(text.split('"')[1])
            elif kind == "Parse":  # "" or the prepared name, then the SQL
                name, sql = text.split('"')[1], text.split('"')[3]
                names[name] = sql
            elif kind == "Bind":  # one statement run (prepared just now or before)
                name = text.split('"')[3]
                seen.append(names.get(name, f"(prepared {name})"))
    assert pool.opened == opened, "the poll took a connection other than the traced one"
    assert seen, "the poll sent nothing on the traced connection"


def _idle_poll(world: World) -> list[str]:
    world.now += timedelta(seconds=60)
    with _statements(world) as seen:
        report = world.engine.poll(world.now)
    assert report.observations == 0 and report.requests == 0
    return seen


def test_an_idle_poll_writes_nothing_and_runs_few_statements(world: World) -> None:
    _settled(world)
    seen = _idle_poll(world)
    statements = [s for s in seen if not s.upper().startswith(("PRAGMA", "SET SEARCH_PATH"))]
    writes = [s for s in statements if s.lstrip().upper().startswith(WRITES)]
    assert writes == [], f"an idle poll wrote: {writes}"
    assert all("FOR UPDATE" not in s.upper() for s in statements), statements
    assert len(statements) <= IDLE_READS, "\n".join(statements)


def test_a_poll_with_news_still_moves_the_cursor(world: World) -> None:
    """Skipping an unchanged cursor must not skip a changed one: mail that concerns no
    intro still moves Gmail's history on, and the next poll starts from there."""
    _settled(world)
    before = world.store.get_meta("history_id")
    world.request("Just saying hello, nothing to introduce.", label=False)
    world.poll()
    after = world.store.get_meta("history_id")
    assert before is not None and after is not None and int(after) > int(before)
    assert _idle_poll(world)  # and the poll after it is idle again


def test_a_replica_that_lost_its_lease_polls_idle_but_cannot_write(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """An idle poll needs no fence because it writes nothing; the first poll that has
    something to write, under a lost lease, is refused and writes nothing."""
    location = postgres_server.location()
    for world in make_world(tmp_path, location=location):
        _settled(world)
        fence = Fence(location.mailbox, "gone", token=7, valid_until=time.monotonic() - 1)
        world.store.db.fence = fence  # type: ignore[attr-defined]
        _idle_poll(world)  # nothing to write: nothing refused
        before = world.store.get_meta("history_id")
        world.request("Another note that asks for nothing.", label=False)
        with pytest.raises(LeaseLost):
            world.engine.poll(world.now + timedelta(seconds=60))
        assert world.store.get_meta("history_id") == before
