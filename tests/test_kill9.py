"""kill -9 of a real `introbot run` at random moments (seeded), while the connector and the
parties go through a whole introduction: nothing is lost, nothing is drafted twice.

INTROBOT_KILL_RUNS sets how many seeded runs (3 here; `scripts/crashtest` runs dozens)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from introbot.model import Stage
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, compose_reply
from introbot.store import Store
from tests.test_crash_safety import _request_bytes
from tests.waiting import wait_until

pytestmark = pytest.mark.slow  # starts introbot as a process

RUNS = int(os.environ.get("INTROBOT_KILL_RUNS", "3"))
EXPECTED_SENT = sorted(
    [
        "Re: Could you introduce me to Dana Whitfield?",
        "Would you like to meet Alex Kim?",
        "Intro: Alex Kim <> Dana Whitfield",
    ]
)


class Daemon:
    def __init__(self, url: str, db: Path) -> None:
        self.args = [sys.executable, "-m", "introbot", "run", "--sandbox", url, "--db", str(db),
                     "--name", "Sam Rivera", "--interval", "1"]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            self.proc = subprocess.Popen(
                self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

    def kill9(self) -> None:
        with self.lock:
            if self.proc is not None:
                self.proc.kill()  # SIGKILL: no handler runs, nothing is flushed
                self.proc.wait()
                self.kills += 1

    def stop(self) -> None:
        with self.lock:
            if self.proc is not None:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=30)


@pytest.mark.parametrize("seed", range(RUNS))
def test_kill_9_at_random_moments(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    with SandboxServer(realism="tests") as server:
        control = SandboxControl(server.url)
        daemon = Daemon(server.url, tmp_path / "introbot.db")
        done = threading.Event()

        def killer() -> None:
            while not done.wait(rng.uniform(0.3, 2.5)):
                daemon.kill9()
                daemon.start()

        def drafts() -> list[dict[str, Any]]:
            found = list(control.mailbox()["drafts"])
            assert len(found) <= 2, f"duplicate drafts: {[d['subject'] for d in found]}"
            return found

        daemon.start()
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        try:
            delivered = control.deliver(_request_bytes())
            control.label_thread(delivered["threadId"], add=("intro-request",))
            wait_until("the two consent drafts", lambda: len(drafts()) == 2)
            for draft in drafts():
                control.send_draft(draft["id"])
            box = control.mailbox()["messages"]
            for address, sender, text in (
                ("alex.kim@tidepool.io", "Alex Kim <alex.kim@tidepool.io>", "Yes please!"),
                (
                    "dana@northwind.example",
                    "Dana Whitfield <dana@northwind.example>",
                    "Yes, happy to.",
                ),
            ):
                sent = [
                    m for m in box if "SENT" in m["labelIds"] and address in m["headers"]["To"]
                ][-1]
                control.deliver(
                    compose_reply(sent, sender, text, at=__import__("datetime").datetime.now())
                )
            wait_until(
                "the joint draft", lambda: any(d["subject"].startswith("Intro:") for d in drafts())
            )
            (joint,) = drafts()
            control.send_draft(joint["id"])
            wait_until(
                "the introduced label",
                lambda: any(
                    "introbot/introduced" in m["labelIds"] for m in control.mailbox()["messages"]
                ),
            )
        finally:
            done.set()
            thread.join()
            daemon.stop()
        box = control.mailbox()
        sent = sorted(m["headers"]["Subject"] for m in box["messages"] if "SENT" in m["labelIds"])
        assert sent == EXPECTED_SENT
        assert box["drafts"] == []
        store = Store(tmp_path / "introbot.db")
        (intro,) = store.intros()
        assert intro.stage is Stage.INTRODUCED
        store.close()
        assert daemon.kills > 0
