"""The benchmark keeps working (at tiny sizes); its figures are not asserted here, except
the ones that are exact by construction: an idle poll is one 2-unit call."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts introbot as a process


def test_the_benchmark_runs_and_reports_every_scenario() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "introbot", "bench", "--quick", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"machine", "idle", "lifecycle", "burst", "growth", "reading"}
    reading = result["reading"]
    assert reading["corpus_messages"] >= 45 and reading["hostile_messages"] >= 60
    assert reading["big_request_bytes"] == 2 * 2**20 and reading["worst"]
    assert (result["idle"]["introbot"]["requests"], result["idle"]["introbot"]["units"]) == (1, 2)
    assert (
        result["lifecycle"]["floor"] > 0
        and result["lifecycle"]["units"] >= result["lifecycle"]["floor"]
    )
    assert result["burst"]["requests"] == 20 and result["burst"]["rate_limited"] == 0
    assert [g["finished"] for g in result["growth"]] == [10, 50]
    table = subprocess.run(
        [sys.executable, "-m", "introbot.cli.bench", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "| idle poll | 1 request, 2 units |" in table.stdout
    assert "| a 2 MB request of short lines |" in table.stdout


def test_the_reading_part_runs_alone() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "introbot", "bench", "--reading", "--quick"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "reading hostile mail and issue 12's shapes" in done.stdout
    assert "CPU p99" in done.stdout and "just within the caps" in done.stdout
    assert "one introduction" not in done.stdout  # no sandbox scenario was run
