"""``[store] url`` from the command line: which store a command works on, what
``introbot doctor`` says of a PostgreSQL mailbox, and ``poll --dry-run`` on one (a private
SQLite copy of its rows: the mailbox in PostgreSQL is left as it was)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from introbot.config import Account, ConfigError, load, store_for
from introbot.paths import config_dir
from introbot.sandbox import SandboxServer
from introbot.settings import Settings
from introbot.store import SCHEMA_VERSION, Store, StoreLocation
from introbot.store.postgres import probe
from introbot.store.schema import tables
from tests.cli import invoke
from tests.postgres import PostgresServer
from tests.test_doctor import lines, ready
from tests.world import ALEX, REQUEST, World

__all__ = ["ready"]  # the fixture, shared with tests/test_doctor.py


def _rows(store: Store) -> dict[str, list[str]]:
    """Every row of every table: what must not change."""
    found = {}
    for table in tables():
        rows = store.db.execute(f"SELECT * FROM {table}").fetchall()
        columns = rows[0].keys() if rows else []
        found[table] = sorted(repr([row[c] for c in columns]) for row in rows)
    return found


# ------------------------------------------------------------------ which store
def test_the_store_is_sqlite_unless_a_url_says_otherwise(home: Path) -> None:
    account = Account.named("work")
    plain = store_for(account, Settings(), None)
    assert plain == StoreLocation.sqlite(account.folder / "introbot.db")
    team = Settings.of(None, store={"url": "postgresql://introbot@db.example:5432/team"})
    location = store_for(account, team, None)
    assert (location.engine, location.mailbox) == ("postgresql", "work")
    named = Settings.of(None, store={"url": "postgresql://db.example/team", "mailbox": "sam"})
    assert store_for(account, named, None).mailbox == "sam"
    # A trial against the sandbox keeps to its own file, and --db names a file ...
    assert store_for(account, team, "http://127.0.0.1:9/").engine == "sqlite"
    file = home / "x.db"  # --db is merged into the settings, and named in the flags
    with_db = Settings.of(
        None, store={"url": "postgresql://db.example/t"}, paths={"database": file}
    )
    explicit = {"paths.database": ("--db", file)}
    assert store_for(account, with_db, None, explicit) == StoreLocation.sqlite(file)
    # ... unless --store names a database for this one command.
    flag = {"store.url": ("--store", "postgresql://db.example/team")}
    assert store_for(account, team, "http://127.0.0.1:9/", flag).engine == "postgresql"


def test_a_url_that_is_not_postgresql_is_refused_without_echoing_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTROBOT_STORE_URL", "mysql://sam:hunter2-secret@db.example/team")
    with pytest.raises(ConfigError) as refused:
        load(Account.named(None))
    assert "INTROBOT_STORE_URL" in str(refused.value)
    assert "PostgreSQL URL" in str(refused.value)
    assert "hunter2" not in str(refused.value)


# ------------------------------------------------------------------------ doctor
@pytest.fixture
def team(
    ready: Account, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> StoreLocation:
    """The ready account with [store] url (from the environment) naming a fresh mailbox."""
    location = postgres_server.location()
    monkeypatch.setenv("INTROBOT_STORE_URL", postgres_server.url)
    monkeypatch.setenv("INTROBOT_STORE_MAILBOX", location.mailbox)
    return StoreLocation.postgres(postgres_server.url, location.mailbox, config_dir() / "locks")


def test_doctor_on_postgresql_before_and_after_the_first_poll(team: StoreLocation) -> None:
    before = invoke("doctor")
    assert before.exit_code == 0, before.stdout
    (line,) = lines(before)["database"]
    assert line.startswith(f"ok {team.describe()} on PostgreSQL 1")
    assert line.endswith("the mailbox will be created by the first poll")
    assert team.url is not None
    assert probe(team.url, team.mailbox).schema_version is None  # looking created nothing
    store = team.open()
    store.set_meta("address", "connector@example.com")
    store.close()
    after = invoke("doctor")
    assert after.exit_code == 0, after.stdout
    (line,) = lines(after)["database"]
    assert line.startswith(f"ok {team.describe()} on PostgreSQL 1")
    assert line.endswith(f": schema {SCHEMA_VERSION}, 0 intro(s)")


def test_doctor_names_a_postgresql_mailbox_of_another_address(team: StoreLocation) -> None:
    store = team.open()
    store.set_meta("address", "someone.else@example.com")
    store.close()
    result = invoke("doctor")
    assert result.exit_code == 1
    assert "belongs to someone.else@example.com" in lines(result)["gmail"][0]


def test_doctor_refuses_a_mailbox_from_a_newer_introbot(team: StoreLocation) -> None:
    store = team.open()
    store.db.execute(
        "UPDATE introbot.mailboxes SET schema_version = ? WHERE name = ?",
        (SCHEMA_VERSION + 1, team.mailbox),
    )
    store.close()
    result = invoke("doctor")
    assert result.exit_code == 1
    assert "written by a newer introbot" in lines(result)["database"][0]


def test_doctor_says_an_unreachable_server_and_keeps_the_password(
    ready: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("INTROBOT_STORE_URL", f"postgresql://sam:pa55-word@127.0.0.1:{port}/x")
    result = invoke("doctor")
    assert result.exit_code == 1
    (line,) = lines(result)["database"]
    assert line.startswith(f"FAIL cannot reach PostgreSQL at postgresql://sam@127.0.0.1:{port}/x")
    assert "pa55" not in result.stdout + result.stderr


# ----------------------------------------------------------------------- dry run
@pytest.fixture
def world(tmp_path: Path, postgres_server: PostgresServer, home: Path) -> Iterator[World]:
    with SandboxServer(realism="tests") as server:
        world = World(
            server,
            tmp_path / "unused.db",
            Settings.of("Sam Rivera"),
            location=postgres_server.location(),
        )
        try:
            yield world
        finally:
            world.close()


def test_a_dry_run_on_postgresql_changes_nothing_there(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.request(REQUEST, sender=ALEX)
    world.poll()
    world.send_drafts()
    world.reply(ALEX, "Yes please, I'd like that.")
    before = _rows(world.store)
    options, environ = world.store_options()
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    world.control.reset_stats()

    result = invoke(
        "poll", "--dry-run", "--sandbox", world.server.url, *options, "--name", "Sam Rivera"
    )

    assert result.exit_code == 0, result.stderr
    assert "nothing was created or changed" in result.stdout
    assert "requester said yes" in result.stdout  # it read the mailbox's own intros
    assert _rows(world.store) == before
    by_method = world.control.stats()["by_method"]
    assert not [m for m in by_method if m.rsplit(".", 1)[-1] in ("create", "modify", "update")]
    world.poll()  # the real poll still has it all to do
    assert world.only_intro().requester.consent.value == "yes"
