"""`introbot store copy --to postgresql://...`: an account's SQLite store moved into
PostgreSQL in one transaction, counted, the file left as it was, and introbot carrying on
there with the same intros, drafting nothing twice. A real workflow against the sandbox and
a real PostgreSQL server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from introbot.daemon import DAEMON, single_instance
from introbot.model import Stage
from introbot.sandbox import SandboxServer
from introbot.settings import Settings
from introbot.store import Store, StoreLocation
from introbot.store.copy import row_counts
from tests.cli import invoke
from tests.postgres import PostgresServer
from tests.test_command_leases import live_replica
from tests.test_store_cli import _rows
from tests.world import ALEX, DANA, World


@pytest.fixture
def alone(tmp_path: Path, home: Path) -> Iterator[World]:
    """One person's introbot: the sandbox and an SQLite file."""
    with SandboxServer(realism="tests") as server:
        world = World(server, tmp_path / "introbot.db", Settings.of("Sam Rivera"))
        try:
            yield world
        finally:
            world.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy(db: Path, server: PostgresServer, mailbox: str, *more: str) -> tuple[int, str, str]:
    done = invoke(
        "store", "copy", "--db", str(db), "--to", server.url, "--to-mailbox", mailbox, *more
    )
    return done.exit_code, done.stdout, done.stderr


def test_a_workflow_moved_into_postgresql_carries_on_where_it_was(
    alone: World, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    alone.asked()  # Alex and Dana asked; the connector sent both asks
    alone.reply(ALEX, "Yes please, that would be great.")
    alone.poll()
    intro = alone.only_intro()
    assert intro.requester.consent.value == "yes" and alone.drafts() == []
    before = _rows(alone.store)
    counts = row_counts(alone.store)
    alone.store.checkpoint()
    alone.store.close()  # as `introbot run` leaves it when it stops
    digest = _digest(alone.db)
    mailbox = postgres_server.location().mailbox

    code, out, err = _copy(alone.db, postgres_server, mailbox)
    assert code == 0, err
    assert f"Copied {sum(counts.values())} rows (meta {counts['meta']}, intros 1, parties 2," in out
    assert "in one transaction; every table's count matches" in out
    assert f"{alone.db} is left as it was" in out
    assert f'  [store]\n  url = "{postgres_server.url}"\n  mailbox = "{mailbox}"\n' in out
    assert _digest(alone.db) == digest  # the file itself was never written

    # The mailbox now has records: a second copy is refused, unless told to replace them.
    code, _, err = _copy(alone.db, postgres_server, mailbox)
    assert code == 2 and "already holds records (meta" in err and "--replace" in err
    code, _, err = _copy(alone.db, postgres_server, mailbox, "--replace")
    assert code == 0, err
    there = StoreLocation.postgres(postgres_server.url, mailbox, tmp_path / "locks")
    copied = there.open()
    try:
        assert _rows(copied) == before and row_counts(copied) == counts  # once, not twice
    finally:
        copied.close()

    # introbot carries on in PostgreSQL: the same intro, nothing asked again; Dana's yes
    # brings the one joint draft.
    team = World(alone.server, tmp_path / "unused.db", alone.settings, alone.now, there)
    try:
        team.poll()
        assert team.drafts() == []  # no second consent draft
        team.reply(DANA, "Yes, happy to talk with Alex.")
        team.poll()
        (after,) = team.intros()
        assert after.id == intro.id and after.stage is Stage.READY
        (joint,) = team.drafts()
        assert joint["subject"].startswith("Intro:")
        kinds = [line.kind for line in team.store.timeline(intro.id)]
        assert len(kinds) > len([k for k in before["audit"] if intro.id in k])  # carried on
    finally:
        team.close()
    reopened = Store(alone.db)
    try:
        assert _rows(reopened) == before  # and the SQLite store is still what it was
    finally:
        reopened.close()


def test_a_copy_waits_for_no_writer_of_either_side(
    tmp_path: Path, home: Path, postgres_server: PostgresServer
) -> None:
    db = tmp_path / "introbot.db"
    store = Store(db)
    store.set_meta("address", "sam@example.com")
    store.close()
    mailbox = postgres_server.location().mailbox

    with single_instance(db, DAEMON):  # `introbot run` writes the file
        code, _, err = _copy(db, postgres_server, mailbox)
    assert code == 2 and "`introbot run`" in err and "a copy would miss what it writes" in err

    with live_replica(postgres_server, "pod-a") as replica:
        replica.claim(mailbox)
        code, _, err = _copy(db, postgres_server, mailbox)
    assert code == 2 and f"the replica pod-a works the mailbox {mailbox}" in err
    assert "stop what serves that mailbox" in err
    there = StoreLocation.postgres(postgres_server.url, mailbox, tmp_path / "locks").open()
    try:
        assert there.get_meta("address") is None  # nothing was copied
    finally:
        there.close()

    assert _copy(db, postgres_server, "Not A Name")[2].count("cannot name a mailbox") == 1
    code, _, err = _copy(tmp_path / "none.db", postgres_server, mailbox)
    assert code == 2 and "no introbot database at" in err
