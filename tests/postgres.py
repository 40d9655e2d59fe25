"""A real PostgreSQL server for the tests, and the store fixtures that run on both engines.

Once per session, ``initdb`` makes a cluster in a temporary folder and ``pg_ctl`` starts it
on 127.0.0.1 at a free port (no Unix socket, trust authentication, fsync off: a test
server). Each test gets a mailbox of its own in it (``introbot_<name>``), as a team's
mailboxes share one database. Where no server binaries are installed the PostgreSQL cases
skip and say why; with INTROBOT_REQUIRE_POSTGRES=1 (``.ci/run`` sets it) they fail instead,
so CI cannot pass without having run them.

As root (CI, containers) the server runs as the ``postgres`` user the distribution's
package creates (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from introbot.store import Store, StoreLocation
from introbot.store.local_server import NoServer
from introbot.store.local_server import PostgresServer as _Server
from introbot.store.local_server import free_port as _free_port

__all__ = ["_free_port"]  # tests/test_workspace_run.py takes it from here

REQUIRE = "INTROBOT_REQUIRE_POSTGRES"
ENGINES = ("sqlite", "postgresql")
_names = itertools.count(1)


@contextlib.contextmanager
def _infrastructure() -> Iterator[None]:
    """The server stops when the session ends, which may be in a fast test's teardown: the
    fast lane's guard against processes (tests/conftest.py) lets ``pg_ctl stop`` be."""
    from tests import conftest

    held = list(conftest._running_fast)
    conftest._running_fast.clear()
    try:
        yield
    finally:
        conftest._running_fast[:] = held


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _not_in_the_fast_lane() -> None:
    """Starting the server starts processes: tests/conftest.py marks the tests that use it
    slow (those that take ``postgres_server`` or run on the ``postgresql`` engine); one
    that reaches it another way fails here, saying what to do."""
    from tests import conftest

    if conftest._running_fast:
        pytest.fail(
            f"{conftest._running_fast[0]} uses the PostgreSQL server (a process) but is not "
            "marked slow: mark it @pytest.mark.slow, or take the postgres_server fixture",
            pytrace=False,
        )


class PostgresServer(_Server):
    """The session's server (introbot/store/local_server.py), a mailbox of its own per test."""

    def location(self, mailbox: str | None = None) -> StoreLocation:
        """A mailbox of its own in the shared database (a fresh name unless given)."""
        name = mailbox or f"test{os.getpid()}-{next(_names)}"
        return StoreLocation.postgres(self.url, name, self.folder / "locks")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    _not_in_the_fast_lane()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[dev]' brings it)")
    folder = Path(tempfile.mkdtemp(prefix="introbot-pg-"))
    try:
        found = _Server.in_folder(folder)
        server = PostgresServer(found.folder, found.port, found.bindir, found.user)
        server.start()
    except NoServer as exc:
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"the test PostgreSQL server did not start: {exc}")
    (folder / "locks").mkdir()
    try:
        yield server
    finally:
        with _infrastructure():
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


StoreMaker = Callable[[], Store]


def crash_cases(requests: int, postgres_stride: int = 3) -> list[tuple[str, int, bool]]:
    """(engine, crash at request i, after Gmail acted) for a crash matrix: every request on
    SQLite, every ``postgres_stride``-th on PostgreSQL (CI's time), both ways of dying."""
    return [
        (engine, i, after)
        for engine, stride in (("sqlite", 1), ("postgresql", postgres_stride))
        for i in range(1, requests + 1, stride)
        for after in (False, True)
    ]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Which engine this case runs on: every test that takes ``stores`` runs on both."""
    return str(request.param)


@pytest.fixture
def locations(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[], StoreLocation]:
    """Fresh, empty stores' locations on this case's engine, one per call."""
    server: PostgresServer | None = None
    if engine == "postgresql":
        server = request.getfixturevalue("postgres_server")
    numbers = itertools.count(1)

    def fresh() -> StoreLocation:
        if server is not None:
            return server.location()
        return StoreLocation.sqlite(tmp_path / f"introbot-{next(numbers)}.db")

    return fresh


@pytest.fixture
def location(locations: Callable[[], StoreLocation]) -> StoreLocation:
    """A fresh, empty store's location on this case's engine."""
    return locations()


@pytest.fixture
def stores(location: StoreLocation) -> Iterator[StoreMaker]:
    """Opens the case's store (again: a restart); every store opened is closed after."""
    opened: list[Store] = []

    def open_store() -> Store:
        opened.append(location.open())
        return opened[-1]

    yield open_store
    for store in opened:
        _close(store)


def _close(store: Any) -> None:
    with contextlib.suppress(Exception):  # already closed, or killed by the test
        store.close()
