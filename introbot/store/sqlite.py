"""The SQLite engine: one file per account, in WAL mode; the default for one person.

``BEGIN IMMEDIATE`` takes the file's write lock when a transaction starts, so the writes of
the mailbox are one transaction at a time; ``PRAGMA user_version`` is the schema version.
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One poll at a time, perhaps on the scheduler's worker thread: never two at once.
            self.db = sqlite3.connect(
                str(path), isolation_level=None, timeout=10, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(f"{path} is not a usable introbot database: {exc}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        self.db.execute("BEGIN")  # deferred: a read transaction, one moment in WAL mode
        try:
            yield
        finally:
            self.db.execute("ROLLBACK")

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

    def close(self) -> None:
        self.db.close()
