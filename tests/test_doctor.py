"""`introbot doctor` reports each failure mode with its fix, one line per check, and exits
non-zero when anything fails. Gmail and Google's sign-in are the sandbox."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from introbot.config import Account
from introbot.daemon import mailbox_lock, single_instance
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from introbot.store import Store
from tests.cli import invoke, sign_in_directly


@pytest.fixture
def ready(google: SandboxControl, home: Path) -> Account:
    """An account set up as the README says: init, client file, signed in."""
    assert invoke("init", "--name", "Sam Rivera").exit_code == 0
    account = Account.named(None)
    sign_in_directly(google, account.token_file)
    return account


def lines(result: Result) -> dict[str, list[str]]:
    """The doctor's lines by check: {"sign-in": ["FAIL ..."], ...}."""
    found: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(ok|warn|FAIL|skip)\s+(\S+)\s+(.*)", line)
        if match:
            found.setdefault(match[2], []).append(f"{match[1]} {match[3]}")
    return found


@pytest.mark.slow
def test_a_ready_account_passes_and_fix_creates_the_labels(
    ready: Account, google: SandboxControl
) -> None:
    first = invoke("doctor")
    assert first.exit_code == 0, first.stdout
    checks = lines(first)
    assert set(checks) == {
        "config", "name", "rules", "credentials", "sign-in", "gmail", "labels", "mailbox",
        "database", "daemon",
    }  # fmt: skip
    assert checks["name"] == ["ok drafts are from Sam Rivera, signed 'Sam'"]
    assert checks["labels"][0].startswith("warn missing: intro-request")  # not a tty: ask not
    fixed = invoke("doctor", "--fix")
    assert fixed.exit_code == 0
    assert lines(fixed)["labels"] == ["ok created intro-request, introbot/awaiting-consent, "
                                      "introbot/ready, introbot/introduced, introbot/declined, "
                                      "introbot/needs-attention, introbot/cancelled, "
                                      "introbot/expired, introbot/yes, introbot/no"]  # fmt: skip
    names = {label["name"] for label in google.mailbox()["labels"]}
    assert {"intro-request", "introbot/yes"} <= names
    again = lines(invoke("doctor"))
    assert again["labels"] == ["ok all 10 labels exist"]
    assert all(line.startswith("ok") for check in again.values() for line in check)
    assert "Everything introbot needs is in place." in invoke("doctor").stdout


def test_an_invalid_config_is_the_one_finding(ready: Account) -> None:
    ready.config_file.write_text("[workflow]\nremind_after_days = 99\n")
    result = invoke("doctor")
    assert result.exit_code == 1
    assert list(lines(result)) == ["config"]
    assert "remind_after_days" in lines(result)["config"][0]


def test_a_broken_template_is_pointed_at(ready: Account) -> None:
    template = ready.rules_copy / "templates" / "reminder.txt"
    text = template.read_text().splitlines()
    text[3] = "Hi {{ to_name_typo }},"
    template.write_text("\n".join(text) + "\n")
    result = invoke("doctor")
    assert result.exit_code == 1
    (rules,) = lines(result)["rules"]
    assert rules == f"FAIL {template}: line 4: 'to_name_typo' is undefined"


def test_nothing_set_up_yet(home: Path) -> None:
    result = invoke("doctor")
    assert result.exit_code == 1
    checks = lines(result)
    assert checks["config"][0].startswith("warn no ")
    assert "introbot init" in checks["config"][0]
    assert checks["credentials"][0].startswith("FAIL No OAuth client file")
    assert checks["sign-in"] == ["FAIL not signed in: run `introbot auth`"]
    assert checks["gmail"][0].startswith("skip")
    assert checks["database"][0].startswith("ok ") and "first poll" in checks["database"][0]


def test_a_missing_client_file_matters_only_for_signing_in_again(
    ready: Account, home: Path
) -> None:
    (home / "credentials.json").unlink()
    result = invoke("doctor")
    assert result.exit_code == 0
    assert lines(result)["credentials"][0].startswith("warn no OAuth client file")


def test_a_token_others_can_read(ready: Account) -> None:
    os.chmod(ready.token_file, 0o644)
    result = invoke("doctor")
    assert result.exit_code == 1
    assert f"chmod 600 {ready.token_file}" in lines(result)["sign-in"][0]


def test_a_sign_in_without_the_gmail_scope(google: SandboxControl, home: Path) -> None:
    account = Account.named(None)
    sign_in_directly(google, account.token_file, scope="openid")
    result = invoke("doctor")
    assert result.exit_code == 1
    assert "signed in without Gmail access (openid)" in lines(result)["sign-in"][0]


def test_a_revoked_sign_in(ready: Account, google: SandboxControl) -> None:
    google.revoke_sign_ins()
    result = invoke("doctor")
    assert result.exit_code == 1
    (sign_in,) = lines(result)["sign-in"]
    assert "revoked" in sign_in and "Run `introbot auth` again" in sign_in
    assert lines(result)["gmail"][0].startswith("skip")


def test_a_sign_in_nearing_the_7_day_testing_limit_is_a_warning(ready: Account) -> None:
    info = json.loads(ready.token_file.read_text())
    made = datetime.now(UTC) - timedelta(days=6, hours=2)
    info["introbot_signed_in_at"] = made.isoformat()
    ready.token_file.write_text(json.dumps(info))
    result = invoke("doctor")
    assert result.exit_code == 0
    (sign_in,) = lines(result)["sign-in"]
    assert sign_in.startswith("warn") and "'Testing'" in sign_in
    assert f"{made + timedelta(days=7):%Y-%m-%d}" in sign_in


@pytest.mark.slow
def test_gmail_unreachable(ready: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    monkeypatch.setenv("INTROBOT_GMAIL_ENDPOINT", closed)
    result = invoke("doctor")
    assert result.exit_code == 1
    assert lines(result)["gmail"][0].startswith("FAIL Gmail kept failing getProfile")


def test_a_database_of_another_mailbox(ready: Account) -> None:
    store = Store(ready.folder / "introbot.db")
    store.set_meta("address", "someone.else@example.com")
    store.close()
    result = invoke("doctor")
    assert result.exit_code == 1
    assert "belongs to someone.else@example.com" in lines(result)["gmail"][0]


def test_a_database_from_a_newer_introbot(ready: Account) -> None:
    path = ready.folder / "introbot.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    result = invoke("doctor")
    assert result.exit_code == 1
    assert "written by a newer introbot" in lines(result)["database"][0]


@pytest.mark.slow
def test_the_running_daemon_and_a_second_one_on_the_mailbox(
    ready: Account, sandbox: SandboxServer, tmp_path: Path
) -> None:
    database = ready.folder / "introbot.db"
    with single_instance(database):  # this account's daemon
        result = invoke("doctor")
    assert result.exit_code == 0
    assert lines(result)["daemon"][0].startswith("ok another introbot (pid")
    assert "is running" in lines(result)["daemon"][0]
    # An introbot of another database (another account) holds this very mailbox.
    with mailbox_lock(f"connector@example.com at {sandbox.url}"):
        result = invoke("doctor")
    assert result.exit_code == 1
    assert "two would draft everything twice" in lines(result)["mailbox"][0]


def test_against_the_sandbox_no_sign_in_is_needed(home: Path, sandbox: SandboxServer) -> None:
    result = invoke("doctor", "--sandbox", sandbox.url)
    checks = lines(result)
    assert checks["credentials"][0].startswith("skip")
    assert "sign-in" not in checks
    assert checks["gmail"][0] == "ok connector@example.com: 0 messages, reachable"
    assert result.exit_code == 0
