"""What the store asks of an engine: run SQL, one transaction at a time, keep a version.

:class:`~introbot.store.base.Store` writes every query once, with ``?`` placeholders, in
the SQL that SQLite and PostgreSQL both understand; a backend runs it on its engine and
answers rows that read by name (``row["id"]``) and by position (``row[0]``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do."""


class Row(Protocol):
    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> list[str]: ...


class Rows(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Backend(Protocol):
    dialect: str  # "sqlite" or "postgresql": which words the migrations are said in
    where: str  # the database for people: a path, or server and mailbox (no password)
    lock_path: Path  # what the one-writer file lock is taken on
    errors: type[Exception] | tuple[type[Exception], ...]  # the engine's own failures

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement (``?`` placeholders) and answer its rows."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing; writers of one mailbox one at a time; nested: the outer one."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads that all see one moment (a copy of the store), writing nothing."""
        ...

    def schema_version(self) -> int: ...

    def set_schema_version(self, version: int) -> None:
        """Inside the migration's transaction."""
        ...

    def checkpoint(self) -> None: ...

    def answers(self) -> str | None:
        """None when the database answers now, else why not: a health check on a connection
        of its own (the poll's is never shared), creating nothing."""
        ...

    def release(self) -> None:
        """Give the connection back while the mailbox waits for its next poll (SQLite: closed;
        PostgreSQL: back to the process's pool); the next statement takes one again. Never
        inside a transaction."""
        ...

    def close(self) -> None: ...
