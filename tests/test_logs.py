"""Logs: a key=value line per decision, JSON lines on request, -v/-q; and at INFO never a
message body, a party's address or the words of someone who declined."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import invoke
from tests.world import ALEX, DANA, REQUEST, World, make_world

DECLINE = "No thanks - my plate is full through Q2, and we use another vendor."


@pytest.fixture
def world(tmp_path: Path, home: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


def _poll(world: World, *options: str) -> str:
    """`introbot [options] poll` on the world's mailbox and database; its log (stderr)."""
    result = invoke(
        *options, "poll", "--sandbox", world.server.url, "--db", str(world.db), "--name", "Sam"
    )
    assert result.exit_code == 0, result.stderr
    return str(result.stderr)


@pytest.mark.slow
def test_info_lines_carry_decisions_but_no_address_body_or_declined_words(world: World) -> None:
    world.request(REQUEST, sender=ALEX)
    log = _poll(world, "-v")
    world.send_drafts()
    log += _poll(world, "-v")
    world.reply(ALEX, "Yes please, Thursday works for our pilot chat.")
    world.reply(DANA, DECLINE)
    log += _poll(world, "-v")

    decisions = [line for line in log.splitlines() if " decision " in line]
    assert decisions, log
    assert any("stage=asking->declined" in line for line in decisions)
    for line in decisions:
        assert re.match(r"\d{4}-\d\d-\d\dT\S+Z INFO introbot decision intro=\w+ ", line), line
    assert world.only_intro().stage.value == "declined"
    for private in (
        "alex.kim@tidepool.io", "dana@northwind.example", "plate", "vendor", "Thursday",
        "cold-chain", "Dana Whitfield", "Alex Kim",
    ):  # fmt: skip
        assert private not in log, f"{private!r} reached the log"


def test_debug_has_the_detail_for_whoever_asks(world: World) -> None:
    world.request(REQUEST, sender=ALEX)
    log = _poll(world, "-vv")
    assert "note intro=" in log and "intro opened" in log


def test_json_lines_for_log_shippers(world: World) -> None:
    world.request(REQUEST, sender=ALEX)
    log = _poll(world, "-v", "--log-format", "json")
    events = [json.loads(line) for line in log.splitlines()]
    assert events
    decision = next(e for e in events if e["event"] == "decision")
    assert decision["level"] == "info" and decision["logger"] == "introbot"
    assert decision["stage"] == "asking" and decision["drafts"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", decision["time"])


def test_quiet_and_default_levels(world: World) -> None:
    world.request(REQUEST, sender=ALEX)
    assert _poll(world, "-q") == ""
    world.request(REQUEST.replace("Dana Whitfield", "Dana W."), sender=ALEX, subject="Again")
    assert " INFO " not in _poll(world)  # warnings only unless -v
