"""The SQLite engine: one file per account, in WAL mode; the default for one person.

``BEGIN IMMEDIATE`` takes the file's write lock when a transaction starts, so the writes of
the mailbox are one transaction at a time; ``PRAGMA user_version`` is the schema version.

The connection is opened when a statement needs it and closed by :meth:`release` between
two polls (a daemon serving a thousand mailboxes would otherwise keep a thousand open, each
with its page cache, statement cache and three open files: most of its memory). Opening
costs a few hundred microseconds, once a poll.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from introbot.store.backend import StoreError


class SqliteBackend:
    dialect: str = "sqlite"
    errors: type[Exception] | tuple[type[Exception], ...] = sqlite3.DatabaseError

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self.lock_path = path
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        self._open(create=True)

    def _open(self, create: bool = False) -> sqlite3.Connection:
        """Opened again after :meth:`release`, the file must still be there: one removed
        under a running daemon is an error of that mailbox's store, never a new empty one."""
        where = str(self.path) if create else self.path.absolute().as_uri() + "?mode=rw"
        try:
            # One poll at a time, perhaps on the scheduler's worker thread: never two at once.
            db = sqlite3.connect(
                where, isolation_level=None, timeout=10, check_same_thread=False, uri=not create
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from None
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(f"{self.path} is not a usable introbot database: {exc}") from None
        self._db = db
        return db

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection (opened again after :meth:`release`)."""
        return self._db if self._db is not None else self._open()

    @property
    def connected(self) -> bool:
        return self._db is not None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        db = self.db
        if db.in_transaction:
            yield
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        db = self.db
        db.execute("BEGIN")  # deferred: a read transaction, one moment in WAL mode
        try:
            yield
        finally:
            db.execute("ROLLBACK")

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.db.execute(f"PRAGMA user_version = {int(version)}")

    def checkpoint(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def answers(self) -> str | None:
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=2)
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                db.close()
        except sqlite3.Error as exc:
            return f"the database {self.path} does not answer: {exc}"
        return None

    def release(self) -> None:
        """Close the connection while nothing uses it (never inside a transaction): the
        next statement opens it again."""
        db = self._db
        if db is not None and not db.in_transaction:
            self._db = None
            db.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
