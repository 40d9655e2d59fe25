"""The same guarantees on both engines: a crash leaves all of a step or none, writes of one
mailbox never interleave, a newer schema is refused; and what PostgreSQL adds: mailboxes
that share a database and never see each other, a server restart survived, no password
shown."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from introbot.model import Cancel, CreateDraft, Note
from introbot.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError, StoreLocation
from introbot.store.copy import copy_rows
from introbot.store.postgres import PostgresBackend, pool_for
from introbot.store.schema import DialectError, statements, tables
from tests.postgres import PostgresServer, StoreMaker
from tests.test_store import first_step

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Killed(BaseException):
    """The process dies inside a transaction."""


def test_a_step_killed_mid_transaction_leaves_nothing(stores: StoreMaker) -> None:
    opened = first_step()
    store = stores()
    with pytest.raises(Killed), store.transaction():
        store.save(opened.intro, opened.actions, NOW, "a request")
        store.audit(NOW, opened.intro.id, "note", "more")
        raise Killed
    again = stores()  # the restarted process
    assert again.load(opened.intro.id) is None
    assert again.pending_actions() == []
    assert again.timeline(opened.intro.id) == []
    assert again.dirty_threads() == []


def test_a_connection_dropped_before_commit_loses_the_transaction(stores: StoreMaker) -> None:
    """kill -9: the connection goes without COMMIT or ROLLBACK."""
    opened = first_step()
    store = stores()
    transaction = store.transaction()
    transaction.__enter__()
    store.save(opened.intro, opened.actions, NOW, "a request")
    store.db.close()
    again = stores()
    assert again.load(opened.intro.id) is None
    assert again.pending_actions() == []
    with contextlib.suppress(Exception):  # the abandoned transaction, on a closed connection
        transaction.__exit__(None, None, None)


def test_a_step_and_its_outbox_commit_together(stores: StoreMaker) -> None:
    opened = first_step()
    store = stores()
    store.save(opened.intro, opened.actions, NOW, "a request")
    again = stores()  # another connection sees all of it
    assert again.load(opened.intro.id) == opened.intro
    creates = [a for a in opened.actions if isinstance(a, CreateDraft)]
    assert [a for _, a, _ in again.pending_actions()] == creates
    notes = [a.text for a in opened.actions if isinstance(a, Note)]
    assert [line.detail for line in again.timeline(opened.intro.id)] == ["a request", *notes]
    assert again.queue_command(opened.intro.id, Cancel("no longer needed"), NOW) == 1
    assert again.queue_command(opened.intro.id, Cancel("twice"), NOW) == 2


def _waiting_for_a_lock(probe: Store, pid: int) -> bool:
    row = probe.db.execute(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?", (pid,)
    ).fetchone()
    return row is not None and row[0] == "Lock"


def test_writers_of_one_mailbox_take_turns(postgres_server: PostgresServer) -> None:
    """What SQLite's single writer gave for free: a second writer of the mailbox waits
    for the first to commit, and then sees what it wrote."""
    location = postgres_server.location()
    first, second, probe = location.open(), location.open(), location.open()
    seen: list[str | None] = []
    with first.transaction():
        first.set_meta("turn", "first")
        pid = second.db.execute("SELECT pg_backend_pid()").fetchone()[0]

        def write() -> None:
            with second.transaction():
                seen.append(second.get_meta("turn"))
                second.set_meta("turn", "second")

        thread = threading.Thread(target=write)
        thread.start()
        for _ in range(2000):  # bounded: until the second writer is seen waiting
            if _waiting_for_a_lock(probe, pid):
                break
            threading.Event().wait(0.005)
        assert _waiting_for_a_lock(probe, pid)
        assert seen == []
    thread.join(timeout=30)
    assert seen == ["first"]
    assert probe.get_meta("turn") == "second"
    for store in (first, second, probe):
        store.close()


def test_another_mailbox_is_never_held_up_nor_seen(postgres_server: PostgresServer) -> None:
    one = postgres_server.location().open()
    other = postgres_server.location().open()
    opened = first_step()
    with one.transaction():
        one.save(opened.intro, opened.actions, NOW, "a request")
        other.set_meta("address", "someone@example.com")  # not held up by one's lock
    assert one.load(opened.intro.id) == opened.intro
    assert other.load(opened.intro.id) is None
    assert other.intros() == [] and other.pending_actions() == []
    assert one.get_meta("address") is None
    one.close()
    other.close()


def test_a_newer_mailbox_is_refused_untouched(postgres_server: PostgresServer) -> None:
    location = postgres_server.location()
    store = location.open()
    store.set_meta("history_id", "42")
    store.db.execute(
        "UPDATE introbot.mailboxes SET schema_version = ? WHERE name = ?",
        (SCHEMA_VERSION + 1, location.mailbox),
    )
    with pytest.raises(StoreError, match="newer introbot"):
        location.open()
    assert store.get_meta("history_id") == "42"
    assert store.schema_version() == SCHEMA_VERSION + 1
    store.close()


def test_an_older_mailbox_is_migrated_and_keeps_its_data(
    postgres_server: PostgresServer,
) -> None:
    location = postgres_server.location()
    store = location.open()  # made at the newest schema; rebuilt below at schema 1
    for table in reversed(tables()):
        store.db.execute(f"DROP TABLE {table}")
    with store.transaction():
        for statement in statements(0, "postgresql"):
            store.db.execute(statement)
        store.db.set_schema_version(1)
        store.db.execute("INSERT INTO meta (key, value) VALUES ('history_id', '777')")
        store.db.execute(
            "INSERT INTO threads (thread_id, problem, labels, dirty) "
            "VALUES ('t1', 'no address', '[\"Label_3\"]', 0)"
        )
    store.close()
    upgraded = location.open()
    assert upgraded.schema_version() == len(MIGRATIONS)
    assert upgraded.cursor() == 777
    record = upgraded.thread("t1")
    assert record is not None and (record.problem, record.message_id) == ("no address", None)
    upgraded.close()


def test_every_migration_speaks_postgresql() -> None:
    for number in range(len(MIGRATIONS)):
        for statement in statements(number, "postgresql"):
            assert "AUTOINCREMENT" not in statement and "randomblob" not in statement


def test_an_sqlite_only_migration_is_refused_for_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from introbot.store import schema

    monkeypatch.setattr(
        schema, "MIGRATIONS", (*MIGRATIONS, "INSERT OR IGNORE INTO meta VALUES (1, 2)")
    )
    assert schema.statements(len(MIGRATIONS), "sqlite")
    with pytest.raises(DialectError, match="INSERT OR IGNORE"):
        schema.statements(len(MIGRATIONS), "postgresql")


def test_the_server_restarting_between_polls_is_survived(
    postgres_server: PostgresServer,
) -> None:
    location = postgres_server.location()
    store, admin = location.open(), location.open()
    store.set_meta("before", "1")
    pid = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
    admin.db.execute("SELECT pg_terminate_backend(?)", (pid,))
    with pytest.raises(Exception):  # noqa: B017 - the statement that finds it gone fails
        store.get_meta("before")
    store.set_meta("after", "2")  # and the next one connects again
    assert (store.get_meta("before"), store.get_meta("after")) == ("1", "2")
    store.close()
    admin.close()


def test_mailboxes_share_the_pool_and_its_dropped_connections_are_replaced(
    postgres_server: PostgresServer,
) -> None:
    """Two mailboxes of one process take turns on one pooled connection, each seeing only
    its own schema; when the server drops the idle ones (a restart, an idle timeout), the
    next statement gets a new connection instead of failing."""
    a, b = postgres_server.location().open(), postgres_server.location().open()
    try:
        pool = pool_for(postgres_server.url)
        made = pool.opened
        for n in range(3):
            a.set_meta("mine", f"a{n}")
            a.release()
            b.set_meta("mine", f"b{n}")
            b.release()
        assert pool.opened == made  # the same idle connection, pointed at each in turn
        assert (a.get_meta("mine"), b.get_meta("mine")) == ("a2", "b2")
        a.release()
        b.release()
        with psycopg.connect(postgres_server.url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'introbot' AND pid <> pg_backend_pid()"
            )
        assert (a.get_meta("mine"), b.get_meta("mine")) == ("a2", "b2")
    finally:
        a.close()
        b.close()


def test_the_password_is_never_shown(postgres_server: PostgresServer) -> None:
    url = f"postgresql://introbot:s3cret-word@127.0.0.1:{postgres_server.port}/nosuchdb"
    location = StoreLocation.postgres(url, "sam", postgres_server.folder / "locks")
    assert "s3cret" not in location.describe()
    with pytest.raises(StoreError) as failed:
        location.open()
    assert "s3cret" not in str(failed.value)
    assert "cannot reach PostgreSQL" in str(failed.value)
    # The daemon's health check says the same, and nothing when the server answers.
    live = postgres_server.location().open()
    assert live.answers() is None
    assert isinstance(live.db, PostgresBackend)
    live.db.url = url  # the server moved away under a running daemon
    why = live.answers()
    assert why is not None and "cannot reach PostgreSQL" in why and "s3cret" not in why
    live.close()


def test_a_mailbox_name_that_cannot_be_a_schema_is_refused(
    postgres_server: PostgresServer,
) -> None:
    with pytest.raises(StoreError, match="cannot name a mailbox"):
        StoreLocation.postgres(postgres_server.url, "Sam Rivera", postgres_server.folder).open()


def test_rows_copy_between_engines_as_they_are(
    postgres_server: PostgresServer, tmp_path: Any
) -> None:
    """A dry run's private SQLite copy of a PostgreSQL mailbox holds exactly its records."""
    source = postgres_server.location().open()
    opened = first_step()
    source.save(opened.intro, opened.actions, NOW, "a request")
    source.save(replace(opened.intro, attention="look"), (), NOW, "a second step")
    source.mark_seen(["m1"], NOW)
    source.set_problem("t9", "no address", NOW)
    source.queue_command(opened.intro.id, Cancel("changed my mind"), NOW)
    target = Store(tmp_path / "copy.db")
    assert copy_rows(source, target) > 0
    assert target.intros() == source.intros()
    assert target.pending_actions() == source.pending_actions()
    assert target.timeline(opened.intro.id) == source.timeline(opened.intro.id)
    assert target.seen("m1") and target.problem_threads() == source.problem_threads()
    assert target.pending_commands() == source.pending_commands()
    source.close()
    target.close()


def test_only_the_store_speaks_to_postgresql() -> None:
    """One interface: psycopg is imported by introbot/store/postgres.py and nothing else."""
    from tests import sources

    importers = {
        path.relative_to(sources.PACKAGE).as_posix()
        for path in sources.package_files()
        if any(n == "psycopg" or n.startswith("psycopg.") for n in sources.imported(path))
    }
    assert importers == {"store/postgres.py"}


def test_lookups_read_the_same_on_both_engines(stores: StoreMaker) -> None:
    """Where the two SQLs differ by default (LIKE's case, an empty IN list), the store
    answers the same."""
    opened = first_step()
    store = stores()
    store.save(opened.intro, opened.actions, NOW, "a request")
    assert [i.id for i in store.find(opened.intro.id[:3].upper())] == [opened.intro.id]
    assert store.intros_of([]) == []
    email = opened.intro.contact.person.email.upper()
    assert [i.id for i in store.intros_of([email])] == [opened.intro.id]
