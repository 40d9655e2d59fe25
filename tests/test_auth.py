"""`introbot auth` and the life of a sign-in, against the sandbox standing in for Google's
OAuth endpoints (never Google): the installed-app flow both ways, every failure with its
next step, refreshes kept on disk, revocation and the 7-day Testing expiry."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.config import Account
from introbot.gmail.auth import SCOPE, SignIn
from introbot.sandbox.control import SandboxControl
from introbot.store import Store
from tests.cli import INTROBOT, consent_screen_answer, fake_browser, invoke, sign_in_directly

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def sign_in_without_browser(
    *args: str, paste: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`introbot auth --no-browser`, a person opening the printed address in some browser
    and pasting back where it landed."""
    process = subprocess.Popen(
        [*INTROBOT, "auth", "--no-browser", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    printed = ""
    for line in process.stdout:
        printed += line
        found = re.search(r"(http://127\.0\.0\.1:\d+/o/oauth2/auth\?\S+)", line)
        if found:
            answer = paste if paste is not None else consent_screen_answer(found[1])
            break
    else:
        process.wait(10)
        raise AssertionError(f"no address printed: {printed} {process.stderr}")
    out, err = process.communicate(answer + "\n", timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, printed + out, err)


def _token(home: Path, account: str = "default") -> Path:
    return home / "accounts" / account / "token.json"


@pytest.mark.slow
def test_sign_in_without_a_browser_then_poll_with_the_saved_token(
    google: SandboxControl, home: Path
) -> None:
    done = sign_in_without_browser()
    assert done.returncode == 0, done.stderr
    assert "Signed in as connector@example.com" in done.stdout
    token = _token(home)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    saved = SignIn.load(token)
    assert saved.credentials.refresh_token and SCOPE in saved.scopes
    assert saved.signed_in_at is not None
    assert abs(datetime.now(UTC) - saved.signed_in_at) < timedelta(minutes=1)

    polled = invoke("poll")  # the real signed-in path: Bearer token, refreshed as needed
    assert polled.exit_code == 0, polled.stderr
    assert "(a full sync)" in polled.stdout
    assert google.stats()["requests"] > 0  # calls passed the access-token check


@pytest.mark.slow
def test_sign_in_with_the_browser_and_the_local_server(
    google: SandboxControl, home: Path, tmp_path: Path
) -> None:
    browser = fake_browser(tmp_path)
    done = subprocess.run(
        [*INTROBOT, "auth"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BROWSER": str(browser)},
    )
    assert done.returncode == 0, done.stderr
    assert "Signed in as connector@example.com" in done.stdout
    assert SignIn.load(_token(home)).credentials.refresh_token


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No OAuth client file at .*Desktop app"),
        ("{not json", "is not JSON"),
        ('{"type": "service_account", "private_key": "x"}', "service-account key"),
        ('{"web": {"client_id": "x"}}', "'Web application' OAuth client.*Desktop app"),
        ('{"installed": {"client_id": "x"}}', "lacks client_secret, auth_uri, token_uri"),
        ('{"token": "t", "refresh_token": "r"}', "a saved sign-in, not an OAuth client file"),
        ("EXAMPLE", "placeholders of credentials.example.json"),
    ],
)
def test_a_wrong_client_file_says_what_it_is_and_what_to_get(
    home: Path, tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "client.json"
    if content == "EXAMPLE":
        content = (Path(__file__).parent.parent / "credentials.example.json").read_text()
    if content is not None:
        path.write_text(content)
    result = invoke("auth", "--credentials", str(path))
    assert result.exit_code == 1
    assert re.search(expected, result.stderr.replace("\n", " ")), result.stderr
    assert not _token(home).exists()


@pytest.mark.slow
def test_refusing_on_the_consent_screen(google: SandboxControl, home: Path) -> None:
    google.oauth(consent="deny")
    done = sign_in_without_browser()
    assert done.returncode == 1
    assert "refused on Google's consent screen (access_denied)" in done.stderr
    assert "test user" in done.stderr  # the usual cause while the app is in Testing
    assert not _token(home).exists()


@pytest.mark.slow
def test_leaving_the_gmail_permission_unticked(google: SandboxControl, home: Path) -> None:
    google.oauth(grant_scopes=["openid"])
    done = sign_in_without_browser()
    assert done.returncode == 1 and "without access to Gmail" in done.stderr
    assert not _token(home).exists()


@pytest.mark.slow
def test_pasting_something_else(google: SandboxControl, home: Path) -> None:
    done = sign_in_without_browser(paste="http://localhost:8085/?nothing=here")
    assert done.returncode == 1 and "has no sign-in code" in done.stderr
    forged = sign_in_without_browser(paste="http://localhost:8085/?code=4/x&state=not-this-one")
    assert forged.returncode == 1 and "another sign-in attempt" in forged.stderr
    assert not _token(home).exists()


@pytest.mark.slow
def test_signing_in_to_another_mailbox_than_the_accounts_is_refused(
    google: SandboxControl, home: Path
) -> None:
    store = Store(Account.named(None).folder / "introbot.db")
    store.set_meta("address", "someone.else@example.com")
    store.close()
    done = sign_in_without_browser()
    assert done.returncode == 1
    assert "keeps the intros of someone.else@example.com" in done.stderr
    assert "--account" in done.stderr
    assert not _token(home).exists()


@pytest.mark.slow
def test_a_revoked_sign_in_stops_poll_with_the_next_step_and_keeps_state(
    google: SandboxControl, home: Path
) -> None:
    assert sign_in_without_browser().returncode == 0
    assert invoke("poll").exit_code == 0
    before = _token(home).read_bytes()
    google.revoke_sign_ins()
    google.expire_access_tokens()
    result = invoke("poll")
    assert result.exit_code == 1
    assert "revoked" in result.stderr and "Run `introbot auth` again" in result.stderr
    assert "Traceback" not in result.stderr
    assert _token(home).read_bytes() == before  # nothing thrown away


@pytest.mark.slow
def test_a_sign_in_google_ends_after_7_days_points_at_publishing_the_app(
    google: SandboxControl, home: Path
) -> None:
    assert sign_in_without_browser().returncode == 0
    token = _token(home)
    info = json.loads(token.read_text())
    info["introbot_signed_in_at"] = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    token.write_text(json.dumps(info))
    google.revoke_sign_ins()
    google.expire_access_tokens()
    result = invoke("poll")
    assert result.exit_code == 1
    assert "'Testing'" in result.stderr and "Publish the app" in result.stderr


@pytest.mark.slow
def test_a_refreshed_access_token_is_saved(google: SandboxControl, home: Path) -> None:
    assert sign_in_without_browser().returncode == 0
    token = _token(home)
    first = json.loads(token.read_text())["token"]
    google.expire_access_tokens()  # Gmail answers 401; google-auth refreshes and retries
    assert invoke("poll").exit_code == 0
    second = json.loads(token.read_text())
    assert second["token"] != first and second["refresh_token"]
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert "introbot_signed_in_at" in second  # the sign-in date survives a refresh


def test_a_token_file_cannot_send_the_refresh_token_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    info = {
        "token": "t",
        "refresh_token": "r",
        "client_id": "c",
        "client_secret": "s",
        "token_uri": "https://attacker.example/token",
    }
    path.write_text(json.dumps(info))
    assert SignIn.load(path).credentials.token_uri == GOOGLE_TOKEN_URI
    path.write_text(json.dumps(info | {"token_uri": "http://127.0.0.1:9/token"}))
    assert SignIn.load(path).credentials.token_uri == "http://127.0.0.1:9/token"  # a sandbox


def test_without_a_sign_in_commands_say_how_to_get_one(home: Path) -> None:
    result = invoke("poll", "--account", "work")
    assert result.exit_code == 1
    assert "Run `introbot auth --account work`" in result.stderr


@pytest.mark.slow
def test_a_running_daemon_waits_out_a_revocation_and_picks_up_the_new_sign_in(
    google: SandboxControl, home: Path, tmp_path: Path
) -> None:
    account = Account.named(None)
    sign_in_directly(google, account.token_file)
    log = tmp_path / "daemon.log"
    with log.open("w") as stderr:
        daemon = subprocess.Popen(
            [*INTROBOT, "run", "--interval", "1"], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        _wait_for(lambda: "full_sync" in log.read_text() or google.stats()["requests"] > 0)
        google.revoke_sign_ins()
        google.expire_access_tokens()
        _wait_for(lambda: "no longer accepts introbot's sign-in" in log.read_text())
        assert daemon.poll() is None  # waiting, not crashed, not looping
        sign_in_directly(google, account.token_file)  # the user runs `introbot auth` again
        _wait_for(lambda: "sign_in renewed=true" in log.read_text())
        google.reset_stats()
        _wait_for(lambda: google.stats()["requests"] > 0)  # polling again, with the new one
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    assert daemon.returncode == 0 and "introbot stopped." in out
    assert log.read_text().count("no longer accepts") == 1  # one failure, then it waited


def _wait_for(condition: Callable[[], bool], deadline: float = 30) -> None:
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_poll_warns_the_day_before_a_testing_app_loses_its_sign_in(
    google: SandboxControl, home: Path
) -> None:
    token = _token(home)
    sign_in_directly(google, token)
    info = json.loads(token.read_text())
    info["introbot_signed_in_at"] = (datetime.now(UTC) - timedelta(days=6, hours=3)).isoformat()
    token.write_text(json.dumps(info))
    result = invoke("poll")
    assert result.exit_code == 0
    assert "Warning: the Gmail sign-in is 6 days old" in result.stderr
    assert "Publish the app" in result.stderr
    info["introbot_signed_in_at"] = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    token.write_text(json.dumps(info))  # a month old and still working: a published app
    assert "Warning" not in invoke("poll").stderr
