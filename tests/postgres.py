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
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from introbot.store import Store, StoreLocation

REQUIRE = "INTROBOT_REQUIRE_POSTGRES"
ENGINES = ("sqlite", "postgresql")
_names = itertools.count(1)


def server_binaries() -> Path | None:
    """The folder with initdb, pg_ctl and postgres: PG_BINDIR, the PATH, or the newest
    version of the distribution's package (Debian keeps them off the PATH)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bindir: Path
    user: str | None  # the system user the server runs as (None: this one)

    @property
    def url(self) -> str:
        return f"postgresql://introbot@127.0.0.1:{self.port}/introbot"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            user=self.user,
            cwd=self.folder,
        )

    def start(self) -> None:
        data = self.folder / "data"
        made = self._run("initdb", "-D", str(data), "-U", "introbot", "--auth=trust", "-E", "UTF8")
        if made.returncode:
            raise RuntimeError(f"initdb failed: {made.stderr.strip()}")
        self.restart()
        created = self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "introbot", "introbot"
        )
        if created.returncode:
            raise RuntimeError(f"createdb failed: {created.stderr.strip()}")

    def restart(self) -> None:
        """Start the server on its cluster again (after :meth:`stop`: a restart)."""
        data = self.folder / "data"
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        started = self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.folder / "log"), "-o", options, "-w", "start"
        )
        if started.returncode:
            log = (self.folder / "log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()}\n{log}")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate`` loses the last commits (the test server commits asynchronously);
        ``fast`` cuts every connection too, after a checkpoint: a restart loses nothing."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")

    def location(self, mailbox: str | None = None) -> StoreLocation:
        """A mailbox of its own in the shared database (a fresh name unless given)."""
        name = mailbox or f"test{os.getpid()}-{next(_names)}"
        return StoreLocation.postgres(self.url, name, self.folder / "locks")


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    _not_in_the_fast_lane()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[dev]' brings it)")
    bindir = server_binaries()
    if bindir is None or not (bindir / "initdb").exists():
        _unavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl): install the distribution's "
            "package (apt-get install postgresql) or set PG_BINDIR"
        )
    assert bindir is not None
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root, and there is no 'postgres' user to run the server as")
        user = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="introbot-pg-"))
    if user:
        shutil.chown(folder, user)
    server = PostgresServer(folder, _free_port(), bindir, user)
    try:
        server.start()
    except RuntimeError as exc:
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
