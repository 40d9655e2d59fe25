"""Tokens are written owner-only, and no credential ever reaches a log line."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from introbot.engine import Engine
from introbot.gmail.auth import SignIn, new_sign_in
from introbot.gmail.client import GmailClient
from introbot.rules import load_rules
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, seed_messages
from introbot.settings import Settings
from introbot.store import Store

TOKEN = "ya29.SECRET-ACCESS-TOKEN-do-not-log"
REFRESH = "1//SECRET-REFRESH-TOKEN-do-not-log"
CLIENT_SECRET = "GOCSPX-SECRET-do-not-log"


def _credentials() -> Credentials:
    return Credentials(
        token=TOKEN,
        refresh_token=REFRESH,
        token_uri="http://127.0.0.1:9/token",
        client_id="1234.apps.googleusercontent.com",
        client_secret=CLIENT_SECRET,
    )


def test_the_token_file_is_written_owner_only_and_atomically(tmp_path: Path) -> None:
    token = tmp_path / "account" / "token.json"
    sign_in = new_sign_in(_credentials(), token)
    sign_in.save()
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert json.loads(token.read_text())["refresh_token"] == REFRESH
    assert [p.name for p in token.parent.iterdir()] == ["token.json"]  # no temp file left
    sign_in.save()  # rewriting keeps the mode
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    loaded = SignIn.load(token)
    assert loaded.credentials.refresh_token == REFRESH
    assert loaded.signed_in_at == sign_in.signed_in_at


def test_no_secret_in_any_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with SandboxServer() as server, caplog.at_level(logging.DEBUG):
        control = SandboxControl(server.url)
        for _, raw in seed_messages():
            delivered = control.deliver(raw)
            control.label_thread(delivered["threadId"], add=("intro-request",))
        client = GmailClient(_credentials(), server.url)
        store = Store(tmp_path / "introbot.db")
        engine = Engine(client, store, Settings.of("Sam Rivera"), load_rules())
        engine.poll()
        for draft in control.mailbox()["drafts"]:
            control.send_draft(draft["id"])
        engine.poll()
        client.close()
        store.close()
    assert caplog.records  # the poll did log
    for secret in (TOKEN, REFRESH, CLIENT_SECRET):
        assert secret not in caplog.text
