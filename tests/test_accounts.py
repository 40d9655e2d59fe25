"""Two accounts side by side: each its own config, database and lock, each daemon on its
own mailbox, neither touching the other; a second daemon on the same mailbox is refused."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from introbot.config import Account
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, authentication_results
from tests.cli import INTROBOT, invoke, run

pytestmark = pytest.mark.slow  # starts introbot as a process


def _request(control: SandboxControl, connector: str, requester: str, contact: str) -> None:
    msg = EmailMessage()
    msg["Authentication-Results"] = authentication_results(requester)
    msg["From"] = f"Requester <{requester}>"
    msg["To"] = connector
    msg["Subject"] = "An intro, please"
    msg.set_content(f"Hi,\n\nCould you introduce me to {contact}? We should talk.\n\nThanks")
    delivered = control.deliver(msg.as_bytes())
    control.label_thread(delivered["threadId"], add=("intro-request",))


def _wait_for_drafts(control: SandboxControl, count: int, deadline: float = 60) -> list[dict]:  # type: ignore[type-arg]
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        drafts: list[dict] = control.mailbox()["drafts"]  # type: ignore[type-arg]
        if len(drafts) >= count:
            return drafts
        time.sleep(0.2)
    raise AssertionError(f"no {count} drafts after {deadline} s")


def test_two_accounts_run_side_by_side_without_touching_each_other(home: Path) -> None:
    with (
        SandboxServer(user="ana@alpha.example") as alpha,
        SandboxServer(user="ben@beta.example") as beta,
    ):
        a, b = SandboxControl(alpha.url), SandboxControl(beta.url)
        _request(a, "ana@alpha.example", "rita@r.example", "carl@c.example")
        _request(b, "ben@beta.example", "sue@s.example", "tom@t.example")
        assert invoke("init", "--account", "alpha", "--name", "Ana Alpha").exit_code == 0
        assert invoke("init", "--account", "beta", "--name", "Ben Beta").exit_code == 0

        daemons = [
            subprocess.Popen(
                [*INTROBOT, "run", "--account", name, "--sandbox", url, "--interval", "1"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, url in (("alpha", alpha.url), ("beta", beta.url))
        ]
        try:
            drafts_a = _wait_for_drafts(a, 2)
            drafts_b = _wait_for_drafts(b, 2)
            # A third daemon, of another account, on alpha's mailbox: refused, plainly.
            third = run("poll", "--account", "gamma", "--sandbox", alpha.url)
            assert third.returncode == 2
            assert "already working on the mailbox ana@alpha.example" in third.stderr
        finally:
            for daemon in daemons:
                daemon.send_signal(signal.SIGTERM)
            outputs = [daemon.communicate(timeout=30) for daemon in daemons]
        for daemon, (out, err) in zip(daemons, outputs, strict=True):
            assert daemon.returncode == 0, err
            assert "introbot stopped." in out

    recipients_a = {d["to"] for d in drafts_a}
    recipients_b = {d["to"] for d in drafts_b}
    assert any("rita@r.example" in r for r in recipients_a)
    assert not any("sue@s.example" in r or "tom@t.example" in r for r in recipients_a)
    assert any("sue@s.example" in r for r in recipients_b)
    assert all("Ana" in d["text"] for d in drafts_a)  # each signs with its own name
    assert all("Ben" in d["text"] for d in drafts_b)

    for name, requester, url in (("alpha", "rita@r.example", alpha.url),
                                 ("beta", "sue@s.example", beta.url)):  # fmt: skip
        account = Account.named(name)
        # A sandbox session keeps a database of its own, never the account's.
        assert account.sandbox_database(url).exists()
        assert not (account.folder / "introbot.db").exists()
        listed = invoke("list", "--account", name, "--sandbox", url, "--json")
        (intro,) = json.loads(listed.stdout)["intros"]
        assert intro["requester"]["email"] == requester
    assert not Account.named("gamma").config_file.exists()
