"""One store interface, two engines: SQLite (the default, one file per account) and
PostgreSQL (a team's many mailboxes in one database), chosen by ``[store] url``.

``Store(path)`` opens an SQLite file; :class:`StoreLocation` says where a command's store
is, whichever the engine, and opens it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from introbot.store.backend import Backend, StoreError
from introbot.store.base import (
    ASK_AGAIN,
    AuditLine,
    Store,
    ThreadRecord,
    WrongMailbox,
    action_from_json,
    action_to_json,
)
from introbot.store.postgres import describe, is_postgres_url
from introbot.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "ASK_AGAIN",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AuditLine",
    "Backend",
    "Store",
    "StoreError",
    "StoreLocation",
    "ThreadRecord",
    "WrongMailbox",
    "action_from_json",
    "action_to_json",
    "databases_answer",
    "is_store_failure",
    "mailbox_of",
]


@dataclass(frozen=True)
class StoreLocation:
    """An SQLite file (``path``), or a mailbox (``mailbox``) in a PostgreSQL database
    (``url``). ``lock_folder``: where a PostgreSQL mailbox's one-writer lock file lives."""

    path: Path | None = None
    url: str | None = None
    mailbox: str = "default"
    lock_folder: Path | None = None

    @classmethod
    def sqlite(cls, path: Path) -> StoreLocation:
        return cls(path=path)

    @classmethod
    def postgres(cls, url: str, mailbox: str, lock_folder: Path) -> StoreLocation:
        if not is_postgres_url(url):
            raise StoreError(f"not a PostgreSQL URL: {describe(url)}")
        return cls(url=url, mailbox=mailbox, lock_folder=lock_folder)

    @property
    def engine(self) -> str:
        return "postgresql" if self.url else "sqlite"

    def describe(self) -> str:
        """For people: the path, or server and mailbox (never a password)."""
        if self.url:
            return f"{describe(self.url)} (mailbox {self.mailbox})"
        return str(self.path)

    @property
    def lock_path(self) -> Path:
        """What the one-writer lock is taken on: the SQLite file; for a PostgreSQL mailbox,
        a file standing for it on this machine (one daemon per mailbox here, as for a file;
        leases in the database will make it one across machines)."""
        if self.url:
            assert self.lock_folder is not None
            server = hashlib.sha256(describe(self.url).encode()).hexdigest()[:12]
            return self.lock_folder / f"postgres-{server}-{self.mailbox}"
        assert self.path is not None
        return self.path

    def exists(self) -> bool:
        """Whether there is anything to read yet. A PostgreSQL mailbox is made on open (on
        first use) and so always counts as there."""
        return self.url is not None or (self.path is not None and self.path.exists())

    def open(self) -> Store:
        """Open (creating and migrating if need be). Raises StoreError with what to do."""
        if self.url:
            from introbot.store.postgres import PostgresBackend

            return Store(PostgresBackend(self.url, self.mailbox, self.lock_path))
        assert self.path is not None
        return Store(self.path)


def mailbox_of(where: Path | StoreLocation) -> str | None:
    """The address of the mailbox a database was built for, if it exists and says so
    (creating nothing)."""
    location = where if isinstance(where, StoreLocation) else StoreLocation.sqlite(where)
    if location.url:
        from introbot.store.postgres import probe

        try:
            return probe(location.url, location.mailbox).address
        except StoreError:
            return None
    if not location.exists():
        return None
    try:
        store = location.open()
    except StoreError:
        return None
    try:
        return store.get_meta("address")
    finally:
        store.close()


def is_store_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says a store failed (its database unusable or not answering), not
    Gmail nor introbot: StoreError, or an engine's own error (psycopg's only if it was ever
    imported, which no store without PostgreSQL does)."""
    if isinstance(exc, StoreError | sqlite3.Error):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def databases_answer(stores: Iterable[Store]) -> str | None:
    """None when each PostgreSQL database these stores use answers now, else why the first
    does not: one statement per database on the process's pool, however many mailboxes it
    holds (a readiness probe's cost does not grow with them). SQLite files are not opened
    here: each is its own mailbox's, and that mailbox's polls say when it fails."""
    from introbot.store.postgres import reachable

    urls = {store.db.url for store in stores if store.dialect == "postgresql"}  # type: ignore[attr-defined]
    return next((why for url in sorted(urls) if (why := reachable(url)) is not None), None)
