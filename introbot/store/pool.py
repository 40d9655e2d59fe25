"""Idle database connections shared by the mailboxes of one process.

A process serving a thousand PostgreSQL mailboxes cannot hold a connection for each: the
server allows about a hundred (``max_connections``), each costs it a process, and each costs
this one memory. A mailbox takes a connection when a statement needs one and gives it back
between polls (:meth:`~introbot.store.backend.Backend.release`); so at any moment the
process holds one per mailbox polling (at most ``introbot run --workers``) plus at most
``keep`` idle ones. Engine-agnostic: it only makes, keeps and closes what ``connect`` makes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

KEEP_IDLE = 8  # idle connections kept per database (DEFAULT_WORKERS polls at once)


class Pool:
    def __init__(self, connect: Callable[[], Any], keep: int = KEEP_IDLE) -> None:
        self._connect = connect
        self.keep = keep
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self.opened = 0  # connections made, ever

    def take(self) -> Any:
        """The connection given back last (warm), else a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = self._connect()
        with self._lock:
            self.opened += 1
        return conn

    def give(self, conn: Any, reusable: bool = True) -> None:
        """Back to the pool; closed instead when it cannot be used again (broken, in a
        transaction) or ``keep`` are idle already."""
        with self._lock:
            if reusable and not conn.closed and len(self._idle) < self.keep:
                self._idle.append(conn)
                return
        conn.close()

    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
