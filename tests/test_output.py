"""Output made for people and for programs (issue 15): colour only where it belongs
(NO_COLOR, --color), the local time zone, plain words and short lines, JSON from every
command that reports something, help in workflow order with an example each, errors that
point at the fix, and the documented exit codes, Ctrl-C included."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from introbot.cli import COMMANDS, main
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, seed_messages
from tests.cli import INTROBOT, invoke

ANSI = re.compile(r"\x1b\[([0-9;]*)m")


def coloured(text: str) -> bool:
    """Whether any escape sets a colour (NO_COLOR asks for none; bold is not a colour)."""
    return any(
        30 <= int(p) <= 38 or 90 <= int(p) <= 97
        for codes in ANSI.findall(text)
        for p in codes.split(";")
        if p
    )


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """A sandbox with one labeled request (Alex Kim asks for Dana Whitfield)."""
    with SandboxServer() as server:
        control = SandboxControl(server.url)
        for name, raw in seed_messages():
            if name.startswith("01"):
                delivered = control.deliver(raw)
                control.label_thread(delivered["threadId"], add=("intro-request",))
        yield server.url


def _on(url: str, db: Path) -> list[str]:
    return ["--sandbox", url, "--db", str(db), "--name", "Sam Rivera"]


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """``introbot ARGS`` with its output on a pseudo-terminal, as a person sees it."""
    leader, follower = pty.openpty()
    done = subprocess.run(
        [*INTROBOT, *args],
        stdout=follower,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "TERM": "xterm-256color", **env},
        timeout=60,
        check=False,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode in (0, 1), done
    return b"".join(chunks).decode()


# ----------------------------------------------------------------------- colour
@pytest.mark.slow
def test_colour_on_a_terminal_unless_no_color_or_never() -> None:
    plain = {"NO_COLOR": ""}
    assert coloured(_on_a_terminal(["doctor"], plain))  # a terminal: colour
    assert not coloured(_on_a_terminal(["doctor"], {"NO_COLOR": "1"}))
    assert not ANSI.search(_on_a_terminal(["--color", "never", "doctor"], plain))  # nor bold
    # --color always wins over NO_COLOR, and colours a pipe too.
    assert coloured(_on_a_terminal(["--color", "always", "doctor"], {"NO_COLOR": "1"}))
    assert coloured(invoke("--color", "always", "doctor").stdout)
    assert not ANSI.search(invoke("doctor").stdout)  # a pipe, by default: none


# ------------------------------------------------------------- poll, JSON, -q
@pytest.mark.slow
def test_poll_tells_people_in_their_time_zone_and_programs_in_json(
    sandbox_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "introbot.db"
    planned = invoke("poll", "--dry-run", "--json", *_on(sandbox_url, db))
    assert planned.exit_code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["dry_run"] is True and plan["requests"] == 1
    assert sorted(d["to"] for d in plan["drafts_to_write"]) == [
        "Alex Kim <alex.kim@tidepool.io>",
        "Dana Whitfield <dana@northwind.example>",
    ]

    polled = subprocess.run(
        [*INTROBOT, "poll", *_on(sandbox_url, db)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "America/New_York"},
    )
    assert polled.returncode == 0, polled.stderr
    first = polled.stdout.splitlines()[0]
    assert re.fullmatch(
        r"Polled Gmail at \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T: 1 new request, 0 changes, "
        r"2 drafts written \(a full sync\)\.",
        first,
    ), first
    assert "intro opened: Alex Kim" in polled.stdout
    assert all(len(line) <= 120 for line in polled.stdout.splitlines())

    again = invoke("poll", "--json", *_on(sandbox_url, db))
    report = json.loads(again.stdout)
    assert report["requests"] == 0 and report["drafts_written"] == 0
    assert report["decisions"] == [] and report["warnings"] == []
    assert report["polled_at"].endswith("+00:00")  # JSON: UTC, with its offset
    assert invoke("-q", "poll", *_on(sandbox_url, db)).stdout == ""  # -q: nothing to say


@pytest.mark.slow
def test_decide_cancel_and_doctor_speak_json(sandbox_url: str, tmp_path: Path) -> None:
    db = tmp_path / "introbot.db"
    invoke("poll", *_on(sandbox_url, db))
    (intro,) = json.loads(invoke("list", "--json", *_on(sandbox_url, db)).stdout)["intros"]
    decided = invoke("decide", intro["id"], "contact", "yes", "--json", *_on(sandbox_url, db))
    assert decided.exit_code == 0, decided.stderr
    (listed,) = json.loads(invoke("list", "--json", *_on(sandbox_url, db)).stdout)["intros"]
    assert json.loads(decided.stdout) == {  # the same words as list: the Gmail labels
        "intro": intro["id"],
        "state": listed["state"],
        "needs_attention": bool(listed["needs_attention"]),
        "queued": False,
    }
    cancelled = json.loads(invoke("cancel", intro["id"], "--json", *_on(sandbox_url, db)).stdout)
    assert cancelled == {
        "intro": intro["id"],
        "state": "cancelled",
        "needs_attention": False,
        "queued": False,
    }

    checked = invoke("doctor", "--json")
    assert checked.exit_code == 1  # no sign-in in this private config folder
    report = json.loads(checked.stdout)
    assert report["ok"] is False
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert statuses["sign-in"] == "fail" and statuses["rules"] == "ok"


def test_show_times_are_local_with_their_zone(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from introbot.cli.output import local_time

    previous = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    try:
        winter = local_time(datetime(2026, 12, 1, 14, 5, tzinfo=UTC))
        summer = local_time(datetime(2026, 7, 1, 14, 5, tzinfo=UTC))
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()
    assert (winter, summer) == ("2026-12-01 15:05 CET", "2026-07-01 16:05 CEST")


# -------------------------------------------------------------------- errors
def test_a_global_option_after_the_command_says_where_it_goes() -> None:
    for option in ("-v", "-q", "--color"):
        refused = invoke("poll", option)
        assert refused.exit_code == 2
        assert "Global options go before the command" in refused.stderr, option
        assert f"`introbot {option} poll ...`" in refused.stderr


@pytest.mark.slow
def test_a_sandbox_that_is_not_there_fails_at_once_and_says_sandbox(tmp_path: Path) -> None:
    db = tmp_path / "introbot.db"
    started = time.monotonic()
    nobody = invoke("poll", "--sandbox", "http://127.0.0.1:9/", "--db", str(db))
    assert time.monotonic() - started < 5
    assert nobody.exit_code == 1
    assert "no sandbox answers at http://127.0.0.1:9/" in nobody.stderr
    assert "introbot sandbox serve" in nobody.stderr and "Gmail" not in nobody.stderr
    dry = invoke("poll", "--dry-run", "--sandbox", "http://127.0.0.1:9/", "--db", str(db))
    assert dry.exit_code == 1 and "no sandbox answers" in dry.stderr
    malformed = invoke("poll", "--sandbox", "127.0.0.1:8765", "--db", str(db))
    assert malformed.exit_code == 2
    assert "is not a sandbox address" in malformed.stderr and "http://" in malformed.stderr
    assert not db.exists()


def test_a_rule_across_two_settings_names_those_two(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[workflow]\norder = "parallel"\nremind_after_days = 30\n')
    from introbot.config import Account, ConfigError, load

    account = Account("t", tmp_path)
    with pytest.raises(ConfigError) as refused:
        load(account)
    message = str(refused.value)
    assert "remind_after_days" in message and "order" not in message


def test_doctor_suggests_only_options_that_exist() -> None:
    report = json.loads(invoke("doctor", "--json").stdout)
    detail = {c["check"]: c["detail"] for c in report["checks"]}["credentials"]
    assert "`introbot auth --credentials FILE`" in detail
    auth = COMMANDS["auth"].load()
    assert "--credentials" in {o for p in auth.params for o in p.opts}


# ---------------------------------------------------------------------- help
def test_help_lists_the_commands_in_workflow_order_whole_with_an_example_each() -> None:
    shown = invoke("--help").stdout
    listed = re.findall(r"^  ([a-z]+)  ", shown.split("Commands:")[1], re.MULTILINE)
    assert listed[:9] == ["demo", "init", "auth", "doctor", "poll", "run", "list", "show", "decide"]
    assert "..." not in shown.split("Commands:")[1].replace("a call, ...", "")
    assert "Exit codes: 0 done, 1 Gmail or sign-in failed, 2" in shown
    for name, lazy in COMMANDS.items():
        help_text = invoke(name, "--help").stdout
        assert f"Example:\n    {lazy.example}\n" in help_text, name
        assert "%" not in help_text, name  # no raw format strings ([%Y-%m-%d])
        command = lazy.load()
        if not isinstance(command, click.Group):  # the example parses
            command.make_context(name, shlex.split(lazy.example)[2:])
    for group in ("sandbox", "explain", "rules"):
        assert "..." not in invoke(group, "--help").stdout.split("Commands:")[1], group


# ------------------------------------------------------------------ exit codes
def _started_run(url: str, db: Path) -> subprocess.Popen[str]:
    """``introbot run`` on a database of its own, once its first poll has written drafts
    (and so its signal handlers are in place)."""
    before = len(SandboxControl(url).mailbox()["drafts"])
    daemon = subprocess.Popen(
        [*INTROBOT, "run", *_on(url, db), "--interval", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(SandboxControl(url).mailbox()["drafts"]) <= before:
        time.sleep(0.1)
    assert len(SandboxControl(url).mailbox()["drafts"]) > before
    return daemon


@pytest.mark.slow
def test_ctrl_c_exits_130_and_sigterm_0(sandbox_url: str, tmp_path: Path) -> None:
    daemon = _started_run(sandbox_url, tmp_path / "a.db")
    daemon.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop after the poll, then 130
    out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 130, err
    assert "introbot stopped." in out

    daemon = _started_run(sandbox_url, tmp_path / "b.db")
    daemon.send_signal(signal.SIGTERM)  # a service manager's stop: 0
    out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err


def test_a_keyboard_interrupt_in_a_command_exits_130() -> None:
    @main.command("interrupted-for-test", hidden=True)
    def interrupted() -> None:
        raise KeyboardInterrupt

    try:
        result = invoke("interrupted-for-test")
    finally:
        main.commands.pop("interrupted-for-test")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr and "Aborted" not in result.stderr


# ---------------------------------------------------------------------- demo
@pytest.mark.slow
def test_the_demo_shows_a_decline_note_and_what_to_try_next() -> None:
    shown = subprocess.run(
        [*INTROBOT, "demo"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    note = shown.split("Jordan said no.")[1].split("4. ")[0]
    assert "To: Maria Santos <maria@solstice.energy>" in note
    assert "plate is full" not in note and "Q2" not in note  # Jordan's words stay private
    assert "What to try next:" in shown.split("Messages sent by introbot: 0")[1]
    assert all(len(line) <= 100 for line in shown.splitlines()), max(shown.splitlines(), key=len)
    assert not re.search(r": '[^']*'$", shown, re.MULTILINE)  # no Python quoting
    assert "you send: 'Re:" not in shown


@pytest.mark.slow
def test_run_on_a_terminal_tells_each_poll_as_poll_does(sandbox_url: str, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    daemon = subprocess.Popen(
        [*INTROBOT, "run", *_on(sandbox_url, tmp_path / "introbot.db"), "--interval", "60"],
        stdout=follower,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "TZ": "UTC"},
        text=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and b"intro opened" not in seen:
        seen += os.read(leader, 65536)
    daemon.send_signal(signal.SIGINT)
    _, err = daemon.communicate(timeout=30)
    os.close(leader)
    text = seen.decode()
    assert "introbot is watching Gmail every 60 s" in text
    assert re.search(r"Polled Gmail at [\d-]+ [\d:]+ UTC: 1 new request, 0 changes", text), text
    assert "decision intro=" not in text + err  # prose, not log lines
    assert daemon.returncode == 130


@pytest.mark.slow
def test_ctrl_c_while_auth_waits_for_the_browser_exits_130(
    google: SandboxControl, home: Path
) -> None:
    waiting = subprocess.Popen(
        [*INTROBOT, "auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BROWSER": "true"},  # a browser that never comes back
    )
    assert waiting.stdout is not None
    printed = ""
    for line in waiting.stdout:  # the address is printed once it waits for the browser
        printed += line
        if "http://127.0.0.1:" in line:
            break
    time.sleep(0.5)
    waiting.send_signal(signal.SIGINT)
    _, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, printed + err
    assert "Sign-in cancelled; nothing was saved." in err
    assert not (home / "accounts" / "default" / "token.json").exists()
