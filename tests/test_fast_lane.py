"""The fast lane (`pytest -m "not slow"`) holds every test that starts no process: the guard
in tests/conftest.py fails a test that starts one, and the tests that use the PostgreSQL
server (a process) are marked slow without their files having to say so."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_test_not_marked_slow_cannot_start_a_process(request: pytest.FixtureRequest) -> None:
    with pytest.raises(RuntimeError, match=r"starts a process .* but is not marked slow") as raised:
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    assert request.node.nodeid in str(raised.value)


def test_the_postgresql_case_is_slow_and_the_sqlite_case_fast(
    engine: str, request: pytest.FixtureRequest
) -> None:
    slow = request.node.get_closest_marker("slow") is not None
    assert slow == (engine == "postgresql")
