"""A copy of one mailbox's records from one store into another, whatever their engines: a
dry run's private SQLite copy of a mailbox kept in PostgreSQL."""

from __future__ import annotations

from introbot.store.backend import StoreError
from introbot.store.base import Store
from introbot.store.schema import tables


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
    return copied
