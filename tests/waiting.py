"""Waiting for another process in a test: a hang guard, never a timing assertion."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    """Return once ``check()`` is true; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
