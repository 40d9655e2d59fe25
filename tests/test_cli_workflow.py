"""The workflow commands run as a user runs them: poll, run, list, show, cancel."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, seed_messages

pytestmark = pytest.mark.slow  # starts introbot as a process


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with SandboxServer() as server:
        control = SandboxControl(server.url)
        for name, raw in seed_messages():
            if name.startswith("01"):
                delivered = control.deliver(raw)
                control.label_thread(delivered["threadId"], add=("intro-request",))
        yield server.url


def _introbot(*args: str, db: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "introbot",
            *args,
            "--db",
            str(db),
            "--sandbox",
            url,
            "--name",
            "Sam Rivera",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_poll_list_show_cancel(sandbox_url: str, tmp_path: Path) -> None:
    db = tmp_path / "introbot.db"
    polled = _introbot("poll", db=db, url=sandbox_url)
    assert polled.returncode == 0, polled.stderr
    assert "poll: 1 request(s)" in polled.stdout and "(full sync)" in polled.stdout
    assert "intro opened: Alex Kim" in polled.stdout

    listed = _introbot("list", "--json", db=db, url=sandbox_url)
    (intro,) = json.loads(listed.stdout)["intros"]
    assert intro["state"] == "awaiting-consent"
    assert intro["contact"]["email"] == "dana@northwind.example"
    assert intro["next_step"].startswith("send the consent draft")
    table = _introbot("list", db=db, url=sandbox_url).stdout
    assert intro["id"] in table and "Alex Kim -> Dana Whitfield" in table

    shown = _introbot("show", intro["id"], db=db, url=sandbox_url)
    assert "intro opened" in shown.stdout and "consent to requester: created" in shown.stdout
    detail = json.loads(_introbot("show", intro["id"], "--json", db=db, url=sandbox_url).stdout)
    assert [d["kind"] for d in detail["drafts"]] == ["consent", "consent"]

    cancelled = _introbot("cancel", intro["id"], db=db, url=sandbox_url)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"intro {intro['id']}: cancelled" in cancelled.stdout
    assert SandboxControl(sandbox_url).mailbox()["drafts"] == []  # its drafts are gone
    again = _introbot("cancel", intro["id"], db=db, url=sandbox_url)
    assert again.returncode == 2 and "already cancelled" in again.stderr


def test_unknown_ids_and_parties_are_clear_errors(sandbox_url: str, tmp_path: Path) -> None:
    db = tmp_path / "introbot.db"
    _introbot("poll", db=db, url=sandbox_url)
    missing = _introbot("show", "zzzz", db=db, url=sandbox_url)
    assert missing.returncode == 2 and "no intro with an id starting 'zzzz'" in missing.stderr
    listed = json.loads(_introbot("list", "--json", db=db, url=sandbox_url).stdout)
    intro_id = listed["intros"][0]["id"]
    bad = _introbot("decide", intro_id, "someone@else.example", "yes", db=db, url=sandbox_url)
    assert bad.returncode == 2 and "neither 'requester', 'contact'" in bad.stderr


def test_run_polls_until_sigterm_and_a_second_copy_refuses(
    sandbox_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "introbot.db"
    args = [
        sys.executable,
        "-m",
        "introbot",
        "run",
        "--db",
        str(db),
        "--sandbox",
        sandbox_url,
        "--interval",
        "10",
    ]
    daemon = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline and len(SandboxControl(sandbox_url).mailbox()["drafts"]) < 2
        ):
            time.sleep(0.1)
        assert len(SandboxControl(sandbox_url).mailbox()["drafts"]) == 2  # the first poll ran
        second = _introbot("poll", db=db, url=sandbox_url)
        assert second.returncode == 2
        assert "already working on" in second.stderr and str(daemon.pid) in second.stderr
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "introbot stopped." in out
    assert "Traceback" not in err


def test_a_newer_database_is_refused(tmp_path: Path, sandbox_url: str) -> None:
    import sqlite3

    db = tmp_path / "introbot.db"
    _introbot("poll", db=db, url=sandbox_url)
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA user_version = 99")
    refused = _introbot("list", db=db, url=sandbox_url)
    assert refused.returncode == 2
    assert "newer introbot" in refused.stderr and "untouched" in refused.stderr


def test_without_a_sign_in_poll_says_what_to_do(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "INTROBOT_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, "-m", "introbot", "poll", "--db", str(tmp_path / "x.db")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 1
    assert "not signed in to Gmail" in done.stderr and "--sandbox" in done.stderr
    assert "Traceback" not in done.stderr
