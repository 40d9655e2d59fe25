"""A copy of one mailbox's records from one store into another, whatever their engines: a
dry run's private SQLite copy of a mailbox kept in PostgreSQL, and ``introbot store copy``,
which moves an SQLite store into PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from introbot.store.backend import StoreError
from introbot.store.base import Store
from introbot.store.schema import counted_columns, tables


def copy_rows(source: Store, target: Store) -> int:
    """Every row of ``source`` into ``target`` (empty, of the same schema version), as of
    one moment of ``source`` and taking none of its locks; how many rows."""
    if source.schema_version() != target.schema_version():
        raise StoreError(
            f"cannot copy {source.where} (schema {source.schema_version()}) into "
            f"{target.where} (schema {target.schema_version()})"
        )
    copied = 0
    with source.db.snapshot(), target.transaction():
        for table in tables():
            rows = source.db.execute(f"SELECT * FROM {table}").fetchall()
            if not rows:
                continue
            columns = list(rows[0].keys())
            marks = ", ".join("?" * len(columns))
            target.db.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(row[c] for c in columns) for row in rows],
            )
            copied += len(rows)
        _count_on(target)
    return copied


def _count_on(target: Store) -> None:
    """PostgreSQL's identity columns (SQLite's AUTOINCREMENT) carry on after the copied
    ids, which an insert naming them does not do; SQLite's follow by themselves."""
    if target.dialect != "postgresql":
        return
    for table, column in counted_columns():
        target.db.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"(SELECT coalesce(max({column}), 0) + 1 FROM {table}), false)"
        )


def row_counts(store: Store) -> dict[str, int]:
    """How many rows each table holds."""
    return {
        table: int(store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        for table in tables()
    }


def copy_mailbox(source: Store, target: Store, replace: bool = False) -> dict[str, int]:
    """Every table's rows of ``source`` into ``target``, in one transaction of the target:
    refused when the target holds any row unless ``replace`` (they are deleted first, in
    that transaction); every table's count checked against the source's before it commits
    (a difference: StoreError, nothing committed). Returns the rows copied, by table."""
    with target.transaction():
        held = {table: n for table, n in row_counts(target).items() if n}
        if held and not replace:
            listed = ", ".join(f"{table} {n}" for table, n in held.items())
            raise StoreError(
                f"{target.where} already holds records ({listed}): another mailbox's, or an "
                "earlier copy. Pass --replace to put this copy in their place, or copy into "
                "a mailbox of another name"
            )
        for table in reversed(tables()) if held else ():  # referring before referred to
            target.db.execute(f"DELETE FROM {table}")
        copy_rows(source, target)
        wanted, found = row_counts(source), row_counts(target)
        differ = [f"{t}: {n} in the source, {found[t]} copied" for t, n in wanted.items()
                  if found[t] != n]  # fmt: skip
        if differ:
            raise StoreError(
                f"the copy into {target.where} does not match its source ({'; '.join(differ)}):"
                " nothing was committed"
            )
    return wanted


def snapshot_sqlite(live: Path, into: Path) -> None:
    """A consistent copy of an SQLite store's file at ``into``, even while a daemon writes
    to it, read through a read-only connection: ``live`` is never written."""
    try:
        source = sqlite3.connect(f"file:{live}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(into)
            with target:
                source.backup(target)
            target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the database {live}: {exc}") from None
