"""One writer at a time (issue 12): `decide`, `cancel`, `poll` and `run` never act on one
mailbox at the same moment. They run here as real processes, at once, against the sandbox,
while Gmail is slow to create drafts (the window in which two writers would both draft),
and the mailbox must end with every draft exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from introbot.model import Consent, Stage
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, authentication_results, compose_reply
from introbot.store import Store
from tests.waiting import wait_until

pytestmark = pytest.mark.slow  # starts introbot as a process

INTROBOT = [sys.executable, "-m", "introbot"]
ALEX = "Alex Kim <alex.kim@tidepool.io>"
DANA = "Dana Whitfield <dana@northwind.example>"
MARCUS = "Marcus Chen <marcus@chenlabs.io>"
OTHERS = (
    "Priya Natarajan <priya@lumen.example>",
    "Jonas Berg <jonas@fjord.example>",
    "Mei Lin <mei@harbor.example>",
)
SLOW_DRAFTS = {"method": "drafts.create", "hang": 3, "status": 500, "after_effect": True}


def _command(url: str, db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*INTROBOT, *args, "--sandbox", url, "--db", str(db), "--name", "Sam Rivera"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _request(control: SandboxControl, contact: str, n: int) -> None:
    name, address = contact.rpartition(" <")[0], contact.rpartition("<")[2].rstrip(">")
    msg = EmailMessage()
    msg["Authentication-Results"] = authentication_results("alex.kim@tidepool.io")
    msg["From"] = ALEX
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = f"Could you introduce me to {name}?"
    msg["Message-ID"] = f"<request-{n}@tidepool.io>"
    msg.set_content(
        f"Hi Sam,\n\nCould you introduce me to {name} ({address})? We build cold-chain "
        "sensors and would love to pilot with their team.\n\nThanks,\nAlex"
    )
    delivered = control.deliver(msg.as_bytes())
    control.label_thread(delivered["threadId"], add=("intro-request",))


def _intros(db: Path) -> dict[str, Any]:
    store = Store(db)
    try:
        return {i.contact.person.email: i for i in store.intros()}
    finally:
        store.close()


def _reply(
    control: SandboxControl, sender: str, text: str, to_thread_of: str | None = None
) -> None:
    address = sender.rpartition("<")[2].rstrip(">")
    sent = [
        m
        for m in control.mailbox()["messages"]
        if "SENT" in m["labelIds"]
        and address in m["headers"].get("To", "")
        and (to_thread_of is None or to_thread_of in m["headers"].get("Subject", ""))
    ]
    control.deliver(compose_reply(sent[-1], sender, text, at=datetime.now(UTC)))


def _asked_with_an_unclear_reply(url: str, db: Path) -> tuple[str, str]:
    """Two intros: Dana's answer is unclear (the connector will decide), Marcus is silent
    (the connector will cancel). Returns their intro ids."""
    control = SandboxControl(url)
    _request(control, DANA, 1)
    _request(control, MARCUS, 2)
    for _ in range(2):
        polled = _command(url, db, "poll")
        assert polled.wait(60) == 0, polled.communicate()
        for draft in control.mailbox()["drafts"]:
            control.send_draft(draft["id"])
    _reply(control, ALEX, "Yes please!", "Dana")
    _reply(control, ALEX, "Yes please!", "Marcus")
    _reply(control, DANA, "Possibly. Let me check with my team first.")
    polled = _command(url, db, "poll")
    assert polled.wait(60) == 0, polled.communicate()
    intros = _intros(db)
    dana, marcus = intros["dana@northwind.example"], intros["marcus@chenlabs.io"]
    assert dana.contact.consent is Consent.UNCLEAR and marcus.stage is Stage.ASKING
    assert control.mailbox()["drafts"] == []
    return dana.id, marcus.id


def _drafted_once(control: SandboxControl) -> list[dict[str, Any]]:
    drafts = list(control.mailbox()["drafts"])
    twice = [k for k, n in Counter((d["subject"], d["to"]) for d in drafts).items() if n > 1]
    assert not twice, f"drafted twice: {twice}"
    return drafts


def _joint(control: SandboxControl) -> list[dict[str, Any]]:
    return [d for d in _drafted_once(control) if d["subject"].startswith("Intro:")]


def test_decide_cancel_and_poll_beside_a_running_daemon(tmp_path: Path) -> None:
    db = tmp_path / "introbot.db"
    with SandboxServer() as server:
        control = SandboxControl(server.url)
        dana, marcus = _asked_with_an_unclear_reply(server.url, db)
        # New requests: the daemon's first poll drafts them (slowly) when the commands come.
        control.add_faults({**SLOW_DRAFTS, "count": 30})
        for n, contact in enumerate(OTHERS, start=3):
            _request(control, contact, n)
        log = tmp_path / "daemon.log"
        with log.open("w") as stderr:
            daemon = subprocess.Popen(
                [*INTROBOT, "run", "--sandbox", server.url, "--db", str(db),
                 "--name", "Sam Rivera", "--interval", "1"],
                stdout=subprocess.PIPE, stderr=stderr, text=True,
            )  # fmt: skip
        try:
            wait_until("the daemon drafting", lambda: control.stats()["faults_injected"] > 0)
            commands = [
                _command(server.url, db, "decide", dana, "contact", "yes"),
                _command(server.url, db, "cancel", marcus),
                _command(server.url, db, "poll"),
                _command(server.url, db, "poll"),
            ]
            done = [(c.wait(60), *c.communicate()) for c in commands]
            wait_until("the joint draft", lambda: len(_joint(control)) == 1)
            wait_until(
                "every consent draft", lambda: len(_drafted_once(control)) == 1 + 2 * len(OTHERS)
            )
            wait_until(
                "the cancel", lambda: _intros(db)["marcus@chenlabs.io"].stage is Stage.CANCELLED
            )
            polls = control.stats()["by_method"].get("history.list", 0)
            wait_until(
                "two more polls", lambda: control.stats()["by_method"]["history.list"] > polls + 2
            )
            (decided, _, _), (cancelled, _, _) = done[0], done[1]
            assert decided == 0 and cancelled == 0, done
            assert "queued" in done[0][1] and "its next poll acts on it" in done[0][1]
            assert "queued" in done[1][1]
            for code, _, err in done[2:]:  # a poll beside the daemon is refused, not run
                assert code == 2 and "`introbot run`" in err and "already working" in err
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.communicate(timeout=60)
        assert daemon.returncode == 0, log.read_text()
        assert len(_joint(control)) == 1
        intros = _intros(db)
        assert intros["dana@northwind.example"].stage is Stage.READY
        store = Store(db)
        assert store.pending_commands() == []
        store.close()


def test_decide_cancel_and_polls_at_once_wait_for_each_other(tmp_path: Path) -> None:
    db = tmp_path / "introbot.db"
    with SandboxServer() as server:
        control = SandboxControl(server.url)
        dana, marcus = _asked_with_an_unclear_reply(server.url, db)
        control.add_faults({**SLOW_DRAFTS, "count": 4})
        commands = [
            _command(server.url, db, "poll"),
            _command(server.url, db, "decide", dana, "contact", "yes"),
            _command(server.url, db, "cancel", marcus),
            _command(server.url, db, "poll"),
            _command(server.url, db, "decide", dana, "contact", "yes"),
        ]
        done = [(c.wait(60), *c.communicate()) for c in commands]
        polls_and_cancel = [done[0], done[2], done[3]]
        assert [code for code, _, _ in polls_and_cancel] == [0, 0, 0], done
        assert f"intro {marcus}: cancelled" in done[2][1]
        decides = sorted([done[1], done[4]])  # one decides, the other finds it decided
        assert [code for code, _, _ in decides] == [0, 2], done
        assert f"intro {dana}: ready" in decides[0][1]
        assert "nothing to change" in decides[1][2]
        assert len(_joint(control)) == 1
        intros = _intros(db)
        assert intros["dana@northwind.example"].stage is Stage.READY
        assert intros["marcus@chenlabs.io"].stage is Stage.CANCELLED
