"""The PostgreSQL engine (psycopg 3): many mailboxes in one database, for teams.

Each mailbox has a schema of its own, ``introbot_<name>``, holding the same tables as an
SQLite file, made by the same migrations: a query cannot forget which mailbox it is about
(it names no mailbox at all), a mailbox is removed with one ``DROP SCHEMA``, and
the SQL is the SQLite store's, word for word. The schema ``introbot`` holds what concerns
all mailboxes: ``introbot.mailboxes``, one row per mailbox with its schema version.

Every write transaction starts by locking its mailbox's row (``SELECT ... FOR UPDATE``),
so the writes of one mailbox are one transaction at a time, as SQLite's ``BEGIN IMMEDIATE``
makes them, across processes and machines; other mailboxes are not held up. Transactions
run at READ COMMITTED: once the lock is held, every statement sees all that the mailbox's
earlier writers committed. That lock is also the one place every write passes through: when
a replica works the mailbox under a lease (:mod:`introbot.leases`), the lease's fencing token
is checked there, in the same transaction (:meth:`PostgresBackend._begin_write`), so a
replica that lost its mailbox can no longer write.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from introbot.store.backend import StoreError
from introbot.store.pool import Pool

if TYPE_CHECKING:
    import psycopg

    from introbot.leases import Fence

SCHEMES = ("postgresql://", "postgres://")
MAILBOX_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
SCHEMA_PREFIX = "introbot_"
CONNECT_TIMEOUT = 10  # seconds: a store that does not answer is a finding, not a hang
# Two processes creating the registry or a mailbox's schema at once: one at a time.
_BOOTSTRAP_LOCK = 0x1A7B_0001
_REGISTRY = (
    "CREATE SCHEMA IF NOT EXISTS introbot",
    """CREATE TABLE IF NOT EXISTS introbot.mailboxes (
        name TEXT PRIMARY KEY,
        schema_name TEXT NOT NULL UNIQUE,
        schema_version INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
)


def is_postgres_url(text: str) -> bool:
    return text.strip().lower().startswith(SCHEMES)


def describe(url: str) -> str:
    """The URL as it may be shown: user, host, port and database, never the password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:
        return "postgresql://(an unreadable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def schema_of(mailbox: str) -> str:
    if not MAILBOX_NAME.fullmatch(mailbox):
        raise StoreError(
            f"{mailbox!r} cannot name a mailbox in PostgreSQL: use 1-40 lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit ([store] mailbox)"
        )
    return SCHEMA_PREFIX + mailbox


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "[store] url names a PostgreSQL database, but psycopg is not installed: "
            "`pip install 'introbot[postgres]'` (or remove [store] url to use SQLite)"
        ) from None
    return psycopg


@functools.lru_cache(maxsize=512)
def placeholders(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgRow:
    """A row that reads by name and by position, as sqlite3.Row does."""

    __slots__ = ("_names", "_values")

    def __init__(self, values: Sequence[Any], names: dict[str, int]) -> None:
        self._values = values
        self._names = names

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._names[key]]

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, names)


@dataclass(frozen=True)
class Probe:
    """What ``introbot doctor`` learns of a mailbox without creating anything."""

    server: str  # "PostgreSQL 15.18"
    schema_version: int | None  # None: the mailbox is not there yet
    intros: int | None
    address: str | None  # the Gmail address the mailbox's records belong to, once known


class PostgresBackend:
    dialect: str = "postgresql"
    errors: type[Exception] | tuple[type[Exception], ...]

    def __init__(self, url: str, mailbox: str, lock_path: Path) -> None:
        self.psycopg = _psycopg()
        self.errors = self.psycopg.Error
        self.url = url
        self.mailbox = mailbox
        self.schema = schema_of(mailbox)
        self.where = f"{describe(url)} (mailbox {mailbox})"
        self.lock_path = lock_path
        self._depth = 0
        self.fence: Fence | None = None  # set by a replica working the mailbox under a lease
        self.pool = pool_for(url)
        self.conn: psycopg.Connection[Any] | None = None
        try:
            conn = self._connection()
        except self.psycopg.Error as exc:
            raise StoreError(unreachable(url, exc)) from None
        self._bootstrap(conn)

    # ------------------------------------------------------------ connection
    def _bootstrap(self, conn: psycopg.Connection[Any]) -> None:
        """The registry and this mailbox's schema and row, made if missing."""
        pg = self.psycopg
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_BOOTSTRAP_LOCK,))
                for statement in _REGISTRY:
                    conn.execute(statement)
                conn.execute(
                    pg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        pg.sql.Identifier(self.schema)
                    )
                )
                conn.execute(
                    "INSERT INTO introbot.mailboxes (name, schema_name) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO NOTHING",
                    (self.mailbox, self.schema),
                )
        except pg.Error as exc:
            self.close()
            raise StoreError(
                f"cannot set up the mailbox {self.mailbox} in {describe(self.url)}: "
                f"{_first_line(exc)}. introbot's user needs to create schemas there "
                "(GRANT CREATE ON DATABASE ... TO ...)"
            ) from None

    def _point(self, conn: psycopg.Connection[Any]) -> None:
        """This mailbox's tables by their plain names, on a connection any mailbox used."""
        pg = self.psycopg
        conn.execute(pg.sql.SQL("SET search_path TO {}").format(pg.sql.Identifier(self.schema)))

    def _take(self) -> psycopg.Connection[Any]:
        """A connection from the pool pointed at this mailbox; pointing it is its check: an
        idle one the server dropped (a restart) fails there, and the pool's others are
        dropped with it for a new one. A server that does not answer raises the engine's
        error (between polls: that poll fails and the daemon retries, as for Gmail)."""
        conn: psycopg.Connection[Any] = self.pool.take()
        try:
            self._point(conn)
            return conn
        except self.psycopg.Error:
            conn.close()
            self.pool.close()
        conn = self.pool.take()  # none idle now: a new one
        try:
            self._point(conn)
        except self.psycopg.Error:
            conn.close()
            raise
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        """The connection this mailbox holds, taken from the pool when it holds none; taken
        again if the server dropped it (a restart) between two transactions; within one, a
        lost connection fails the transaction."""
        conn = self.conn
        if conn is not None and (conn.closed or conn.broken) and not self._depth:
            self.pool.give(conn, reusable=False)
            conn = self.conn = None
        if conn is None:
            conn = self.conn = self._take()
        return conn

    def release(self) -> None:
        """Back to the pool between polls (never inside a transaction)."""
        conn = self.conn
        if conn is None or self._depth:
            return
        self.conn = None
        idle = self.psycopg.pq.TransactionStatus.IDLE
        self.pool.give(conn, reusable=not conn.broken and conn.info.transaction_status == idle)

    # ------------------------------------------------------------------- SQL
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        conn = self._connection()
        if params:
            return conn.execute(placeholders(sql), tuple(params))
        return conn.execute(sql)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._connection().cursor() as cursor:
            cursor.executemany(placeholders(sql), [tuple(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        conn = self._connection()
        self._depth = 1
        try:
            with conn.transaction():
                self._begin_write(conn)
                yield
        finally:
            self._depth = 0

    def _begin_write(self, conn: psycopg.Connection[Any]) -> None:
        """The first statement of every transaction: this mailbox's writers one at a time;
        under a lease, the fencing token checked too (LeaseLost: nothing is written)."""
        conn.execute(
            "SELECT schema_version FROM introbot.mailboxes WHERE name = %s FOR UPDATE",
            (self.mailbox,),
        )
        if self.fence is not None:
            from introbot.leases import check_fence

            check_fence(conn, self.fence)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that all see one moment, taking no lock (a dry run's copy)."""
        conn = self._connection()
        self._depth = 1
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield
        finally:
            self._depth = 0

    # ---------------------------------------------------------------- schema
    def schema_version(self) -> int:
        row = self.execute(
            "SELECT schema_version FROM introbot.mailboxes WHERE name = ?", (self.mailbox,)
        ).fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, version: int) -> None:
        self.execute(
            "UPDATE introbot.mailboxes SET schema_version = ? WHERE name = ?",
            (version, self.mailbox),
        )

    def checkpoint(self) -> None:
        """Nothing to fold: the server's readers see what was committed."""

    def answers(self) -> str | None:
        return reachable(self.url)

    def close(self) -> None:
        """Given back to the pool, or closed when held inside a transaction (it is then
        lost, as by a crash: the server rolls it back)."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        if self._depth:
            conn.close()
            return
        self.conn = conn
        self.release()


_POOLS: dict[str, Pool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(url: str) -> Pool:
    """The process's pool of connections to the database at ``url``, one for all its
    mailboxes (each points a connection at its own schema when it takes it)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(url)
        if pool is None:
            pool = _POOLS[url] = Pool(lambda: _new_connection(url))
        return pool


def _new_connection(url: str) -> Any:
    return _psycopg().connect(
        url,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT,
        application_name="introbot",
        row_factory=_row_factory,
    )


def unreachable(url: str, exc: BaseException) -> str:
    return (
        f"cannot reach PostgreSQL at {describe(url)}: {_first_line(exc)}. Check [store] url "
        "(host, port, database, user; the password there or in PGPASSWORD or ~/.pgpass) and "
        "that the server is running"
    )


def reachable(url: str) -> str | None:
    """None when the database at ``url`` answers now, else why not: one statement on an
    idle connection of the process's pool (never one a poll holds; a new one if the idle
    ones are gone with a restart), however many mailboxes the process serves there."""
    psycopg = _psycopg()
    pool = pool_for(url)
    why = ""
    for _ in range(2):
        try:
            conn = pool.take()
        except psycopg.Error as exc:
            return unreachable(url, exc)
        try:
            conn.execute("SELECT 1").fetchone()
        except psycopg.Error as exc:
            conn.close()
            pool.close()  # the other idle ones are likely gone with it
            why = _first_line(exc)
            continue
        pool.give(conn)
        return None
    return f"PostgreSQL at {describe(url)} does not answer: {why}"


def connect(url: str, purpose: str) -> Any:
    """A connection of its own (autocommit) to the database at ``url``, for what concerns
    no single mailbox (the replicas' leases, :mod:`introbot.leases`): psycopg stays behind
    the store. Raises StoreError with what to do."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name=purpose
        )
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot reach PostgreSQL at {describe(url)}: {_first_line(exc)}. Check [store] url "
            "and that the server is running"
        ) from None


@contextmanager
def _looking(url: str) -> Iterator[tuple[Any, str]]:
    """A connection of its own to look, creating nothing, and the server's version
    ("PostgreSQL 15.18"); any failure is a StoreError with what to do."""
    psycopg = _psycopg()
    try:
        with psycopg.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name="introbot"
        ) as conn:
            server = conn.info.server_version  # 150018
            yield conn, f"PostgreSQL {server // 10000}.{server % 10000}"
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot reach PostgreSQL at {describe(url)}: {_first_line(exc)}. Check [store] url "
            "and that the server is running"
        ) from None


def _has_registry(conn: Any) -> bool:
    return conn.execute("SELECT to_regclass('introbot.mailboxes')").fetchone()[0] is not None


def probe(url: str, mailbox: str) -> Probe:
    """Reach the server and read the mailbox's schema version and intros, creating nothing.
    Raises StoreError with what to do."""
    schema = schema_of(mailbox)
    with _looking(url) as (conn, version):
        if not _has_registry(conn):
            return Probe(version, None, None, None)
        row = conn.execute(
            "SELECT schema_version FROM introbot.mailboxes WHERE name = %s", (mailbox,)
        ).fetchone()
        if row is None:
            return Probe(version, None, None, None)
        if int(row[0]) == 0:
            return Probe(version, 0, None, None)
        sql, name = _psycopg().sql.SQL, _psycopg().sql.Identifier(schema)
        intros = conn.execute(sql("SELECT count(*) FROM {}.intros").format(name)).fetchone()
        address = conn.execute(
            sql("SELECT value FROM {}.meta WHERE key = 'address'").format(name)
        ).fetchone()
        return Probe(version, int(row[0]), intros[0], address[0] if address else None)


def mailbox_versions(url: str, mailboxes: Sequence[str]) -> tuple[str, dict[str, int]]:
    """The server ("PostgreSQL 15.18") and each of ``mailboxes``' schema versions (0: not
    made yet), on one connection, creating nothing. Raises StoreError with what to do."""
    found: dict[str, int] = dict.fromkeys(mailboxes, 0)
    with _looking(url) as (conn, version):
        if _has_registry(conn):
            rows = conn.execute(
                "SELECT name, schema_version FROM introbot.mailboxes WHERE name = ANY(%s)",
                (list(mailboxes),),
            ).fetchall()
            found.update({str(name): int(schema) for name, schema in rows})
    return version, found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
