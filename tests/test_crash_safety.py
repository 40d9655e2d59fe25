"""Crash safety: the fault matrix.

A full lifecycle (request -> consent drafts -> sends -> both yes -> joint draft -> sent) runs
once cleanly, and its final mailbox and intro states are recorded. Then, for every Gmail
request index i of that run and both ways of dying (before the request reaches Gmail; after
Gmail acted but before introbot saw the answer), the lifecycle runs again with the process
"killed" at request i: the poll is abandoned mid-flight, the database connection dropped
without a goodbye, and a fresh engine (a restart) carries on. The end must be the clean
run's end: same drafts, labels and intro states, no duplicate draft, no lost intro.

The crash is a BaseException raised by the HTTP transport handed to the real Gmail client,
so it unwinds through googleapiclient and introbot exactly as a kill would stop them.

The matrix runs on both engines (every third request on PostgreSQL: tests/postgres.py crash_cases), and a
PostgreSQL run must end exactly as the clean run on SQLite did.
"""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest

from introbot.engine import Engine
from introbot.gmail.client import GmailClient
from introbot.rules import load_rules
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, compose_reply
from introbot.settings import Settings
from introbot.store import StoreLocation
from tests.conftest import FAST_RETRY, left_out_by_markers
from tests.postgres import crash_cases
from tests.world import REQUEST


class Crash(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


class CrashingHttp(httplib2.Http):  # type: ignore[misc]
    """An HTTP transport that dies at one chosen request, before or after it is sent."""

    def __init__(self, counter: list[int], crash_at: int | None, after: bool) -> None:
        super().__init__(timeout=5)
        self.counter = counter
        self.crash_at = crash_at
        self.after = after

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.counter[0] += 1
        due = self.counter[0] == self.crash_at
        if due and not self.after:
            raise Crash(f"killed before request {self.counter[0]}")
        answer = super().request(*args, **kwargs)
        if due:
            raise Crash(f"killed after request {self.counter[0]} reached Gmail")
        return answer


@dataclass
class Run:
    """One lifecycle against one sandbox, with at most one crash."""

    server: SandboxServer
    db: StoreLocation | Path  # a Path: that SQLite file
    crash_at: int | None = None
    after: bool = False
    counter: list[int] = field(default_factory=lambda: [0])
    crashed: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.location = (
            self.db if isinstance(self.db, StoreLocation) else StoreLocation.sqlite(self.db)
        )
        self.control = SandboxControl(self.server.url)
        self._start(self.crash_at)

    def _start(self, crash_at: int | None) -> None:
        transport = CrashingHttp(self.counter, crash_at, self.after)
        self.client = GmailClient.for_sandbox(
            self.server.url, retry=FAST_RETRY, transport=transport
        )
        self.store = self.location.open()
        self.engine = Engine(self.client, self.store, Settings.of("Sam Rivera"), load_rules())

    def _die(self) -> None:
        """Like kill -9: no clean shutdown. A transaction open at the moment of death never
        commits; closing the connection without COMMIT loses it the same way."""
        self.crashed = True
        self.store.db.close()
        self.client.close()
        self._start(None)

    def poll(self) -> None:
        self.now += timedelta(seconds=30)
        try:
            self.engine.poll(self.now)
        except Crash:
            self._die()
            self.engine.poll(self.now)  # the restarted daemon's next poll

    # ------------------------------------------------------------- the outside
    def drafts(self) -> list[dict[str, Any]]:
        return list(self.control.mailbox()["drafts"])

    def send_drafts(self) -> None:
        for draft in self.drafts():
            self.control.send_draft(draft["id"])

    def reply(self, sender: str, address: str, text: str) -> None:
        sent = [
            m
            for m in self.control.mailbox()["messages"]
            if "SENT" in m["labelIds"] and address in m["headers"].get("To", "")
        ]
        self.control.deliver(compose_reply(sent[-1], sender, text, at=self.now))


def lifecycle(run: Run) -> None:
    delivered = run.control.deliver(_request_bytes())
    run.control.label_thread(delivered["threadId"], add=("intro-request",))
    run.poll()
    run.send_drafts()
    run.poll()
    run.reply("Alex Kim <alex.kim@tidepool.io>", "alex.kim@tidepool.io", "Yes please!")
    run.reply("Dana Whitfield <dana@northwind.example>", "dana@northwind.example", "Yes, happy to.")
    run.poll()
    run.send_drafts()
    run.poll()
    run.poll()


def _request_bytes() -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Alex Kim <alex.kim@tidepool.io>"
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = "Could you introduce me to Dana Whitfield?"
    msg["Message-ID"] = "<request-1@tidepool.io>"
    msg.set_content(REQUEST)
    return msg.as_bytes()


def outcome(run: Run) -> dict[str, Any]:
    """What must come out the same: messages, drafts, labels, intros (ids and times aside)."""
    box = run.control.mailbox()

    def view(item: dict[str, Any]) -> tuple[Any, ...]:
        headers = item["headers"]
        labels = tuple(sorted(item.get("labelIds", ["DRAFT"])))
        text = re.sub(r"\d", "#", item["text"])  # quoted dates and times differ run to run
        return (
            labels,
            headers.get("From"),
            headers.get("To"),
            headers.get("Cc"),
            headers.get("Subject"),
            text,
        )

    store = run.location.open()
    intros = sorted(
        (
            i.requester.person.email,
            i.contact.person.email,
            i.stage.value,
            i.requester.consent.value,
            i.contact.consent.value,
        )
        for i in store.intros()
    )
    store.close()
    return {
        "messages": sorted(view(m) for m in box["messages"]),
        "drafts": sorted(view(d) for d in box["drafts"]),
        "intros": intros,
    }


def run_once(
    location: StoreLocation, crash_at: int | None = None, after: bool = False
) -> tuple[dict[str, Any], Run]:
    with SandboxServer(realism="tests") as server:
        run = Run(server, location, crash_at, after)
        lifecycle(run)
        result = outcome(run)
        run.client.close()
        run.store.close()
        return result, run


@functools.cache
def _clean_run() -> tuple[dict[str, Any], int]:
    """The final mailbox of a run without crashes, and how many Gmail requests it made."""
    with tempfile.TemporaryDirectory() as folder:
        result, run = run_once(StoreLocation.sqlite(Path(folder) / "run.db"))
    return result, run.counter[0]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per Gmail request of the clean run, each crashed before the request reaches
    Gmail and after Gmail acted: the clean run is made once, here, to count them."""
    if "crash_at" in metafunc.fixturenames and not left_out_by_markers(metafunc):
        _, requests = _clean_run()
        cases = crash_cases(requests)
        metafunc.parametrize(("engine", "crash_at", "after"), cases, ids=lambda v: str(v))


@pytest.fixture(scope="module")
def clean() -> tuple[dict[str, Any], int]:
    result, requests = _clean_run()
    assert result["intros"] == [
        ("alex.kim@tidepool.io", "dana@northwind.example", "introduced", "yes", "yes")
    ]
    return result, requests


def test_the_clean_run_is_what_we_think(clean: tuple[dict[str, Any], int]) -> None:
    result, requests = clean
    assert requests > 10  # every one of them is crashed at, below
    assert result["drafts"] == []  # everything drafted was sent
    subjects = [m[4] for m in result["messages"] if "SENT" in m[0]]
    assert sorted(subjects) == sorted(
        [
            "Re: Could you introduce me to Dana Whitfield?",
            "Would you like to meet Alex Kim?",
            "Intro: Alex Kim <> Dana Whitfield",
        ]
    )


@pytest.mark.slow
def test_a_crash_at_any_request_changes_nothing_in_the_end(
    location: StoreLocation, clean: tuple[dict[str, Any], int], crash_at: int, after: bool
) -> None:
    expected, _ = clean
    result, run = run_once(location, crash_at, after)
    assert run.crashed
    assert result == expected
