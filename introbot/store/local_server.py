"""A throwaway PostgreSQL server on this machine, for the tests and ``introbot bench --burst``.

``initdb`` makes a cluster in a folder and ``pg_ctl`` starts it on 127.0.0.1 at a free port
(no Unix socket, trust authentication, fsync off: never for data that matters). As root
(CI, containers) the server runs as the ``postgres`` user the distribution's package
creates (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


class NoServer(RuntimeError):
    """No PostgreSQL server could be started here; the message says what to install."""


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_user() -> str | None:
    """The system user the server must run as: None (this one), or ``postgres`` as root."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:  # Windows has no root
        return None
    try:
        importlib.import_module("pwd").getpwnam("postgres")  # POSIX only: imported by name
    except KeyError:
        raise NoServer(
            "running as root, and there is no 'postgres' user to run the server as"
        ) from None
    return "postgres"


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bindir: Path
    user: str | None  # the system user the server runs as (None: this one)

    @classmethod
    def in_folder(cls, folder: Path) -> PostgresServer:
        """A server (not started) whose cluster will live in ``folder``."""
        bindir = server_binaries()
        if bindir is None or not (bindir / "initdb").exists():
            raise NoServer(
                "no PostgreSQL server binaries (initdb, pg_ctl): install the distribution's "
                "package (apt-get install postgresql) or set PG_BINDIR"
            )
        user = server_user()
        folder.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(folder, user)
        return cls(folder, free_port(), bindir, user)

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
            raise NoServer(f"initdb failed: {made.stderr.strip()}")
        self.restart()
        created = self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "introbot", "introbot"
        )
        if created.returncode:
            raise NoServer(f"createdb failed: {created.stderr.strip()}")

    def restart(self) -> None:
        """Start the server on its cluster again (after :meth:`stop`: a restart)."""
        data = self.folder / "data"
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        started = self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.folder / "log"), "-o", options, "-w", "start"
        )
        if started.returncode:
            log = (self.folder / "log").read_text(errors="replace")[-2000:]
            raise NoServer(f"pg_ctl start failed: {started.stderr.strip()}\n{log}")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate`` loses the last commits (the server commits asynchronously);
        ``fast`` cuts every connection too, after a checkpoint: a restart loses nothing."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")
