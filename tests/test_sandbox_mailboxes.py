"""One sandbox, several mailboxes (one per address), over HTTP with the real
googleapiclient: each mailbox has its own messages, quota counters, rate limit, controls and
saved state, and ``me`` is the mailbox of the access token, as in Gmail."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from introbot.gmail.client import GmailClient
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import ControlError, SandboxControl
from tests.cli import INTROBOT, sign_in_directly
from tests.waiting import wait_until

ANA = "ana@firm.example"
BEN = "ben@firm.example"


@pytest.fixture
def two() -> Iterator[SandboxServer]:
    with SandboxServer(user=[ANA, BEN]) as server:
        yield server


def _gmail(url: str, credentials: Any = None) -> Any:
    return build(
        "gmail",
        "v1",
        static_discovery=True,
        credentials=credentials or AnonymousCredentials(),
        client_options={"api_endpoint": url},
    )


def _note(to: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Pat Lee <pat@elsewhere.example>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@elsewhere.example>"
    msg.set_content("A few words for one mailbox only.")
    return msg.as_bytes()


def test_each_address_is_a_mailbox_of_its_own(two: SandboxServer) -> None:
    control = SandboxControl(two.url)
    control.of(BEN).deliver(_note(BEN, "for ben"))
    gmail = _gmail(two.url)
    ana = gmail.users().messages().list(userId=ANA).execute()
    ben = gmail.users().messages().list(userId=BEN).execute()
    assert ana.get("resultSizeEstimate") == 0 and "messages" not in ana
    assert len(ben["messages"]) == 1
    assert gmail.users().getProfile(userId=BEN).execute()["emailAddress"] == BEN
    # Without an access token `me` is the first mailbox, and so are the plain controls.
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == ANA
    assert control.mailbox()["user"] == ANA and control.mailbox()["messages"] == []
    assert [m["headers"]["Subject"] for m in control.of(BEN).mailbox()["messages"]] == ["for ben"]


def test_quota_counters_and_rate_limits_are_per_mailbox(two: SandboxServer) -> None:
    control = SandboxControl(two.url)
    control.of(ANA).set_rate_limit({"units_per_minute": 10})
    gmail = _gmail(two.url)
    for _ in range(2):
        gmail.users().labels().list(userId=ANA).execute()  # 1 unit each
    with pytest.raises(HttpError) as refused:
        for _ in range(10):
            gmail.users().messages().list(userId=ANA).execute()  # 5 units each
    assert refused.value.resp.status == 429
    # Ben's quota is untouched by Ana's: Gmail's limits are per user.
    for _ in range(4):
        gmail.users().messages().list(userId=BEN).execute()
    ana, ben = control.of(ANA).stats(), control.of(BEN).stats()
    assert ana["rate_limited"] == 1 and ben["rate_limited"] == 0
    assert ben["quota_units"] == 20 and ben["by_method"] == {"messages.list": 4}
    assert ana["units_by_method"]["labels.list"] == 2
    listed = {m["user"]: m for m in control.mailboxes()}
    assert listed[BEN]["quota_units"] == 20 and listed[ANA]["rate_limited"] == 1


def test_me_is_the_access_tokens_mailbox_and_another_user_is_delegation_denied(
    two: SandboxServer, tmp_path: Path
) -> None:
    control = SandboxControl(two.url)
    control.oauth(require_token=True, user=BEN)  # Ben is the one on the consent screen
    sign_in_directly(control, tmp_path / "token.json")
    info = json.loads((tmp_path / "token.json").read_text())
    credentials = Credentials.from_authorized_user_info(info).with_token_uri(info["token_uri"])
    gmail = _gmail(two.url, credentials)
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == BEN
    with pytest.raises(HttpError) as denied:
        gmail.users().messages().list(userId=ANA).execute()
    assert denied.value.resp.status == 403 and f"Delegation denied for {ANA}" in str(denied.value)
    # Without a token, nothing at all (Gmail's 401), whichever mailbox the path names.
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{two.url}gmail/v1/users/{BEN}/profile", timeout=10)
    assert anonymous.value.code == 401


def test_a_batch_works_on_the_mailbox_its_parts_name(two: SandboxServer) -> None:
    SandboxControl(two.url).of(BEN).deliver(_note(BEN, "batched"))
    gmail = _gmail(two.url)
    found: list[Any] = []
    batch = BatchHttpRequest(
        callback=lambda _id, answer, error: found.append(answer),
        batch_uri=two.url + "batch/gmail/v1",
    )
    batch.add(gmail.users().messages().list(userId=BEN))
    batch.add(gmail.users().getProfile(userId=BEN))
    batch.execute()
    assert len(found[0]["messages"]) == 1 and found[1]["emailAddress"] == BEN
    assert SandboxControl(two.url).of(BEN).stats()["batches"] == 1


def test_a_mailbox_added_later_and_an_unknown_one(two: SandboxServer) -> None:
    control = SandboxControl(two.url)
    with pytest.raises(ControlError) as unknown:
        control.of("cy@firm.example").mailbox()
    assert unknown.value.status == 404 and "POST /_sandbox/mailboxes" in unknown.value.body
    with pytest.raises(ControlError) as bad:
        control.add_mailbox("not an address")
    assert bad.value.status == 400
    users = [m["user"] for m in control.add_mailbox("cy@firm.example")]
    assert users == [ANA, BEN, "cy@firm.example"]
    assert control.of("CY@firm.example").mailbox()["user"] == "cy@firm.example"
    assert two.mailbox("cy@firm.example").mailbox.user == "cy@firm.example"


def test_each_mailbox_is_saved_to_a_file_of_its_own(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with SandboxServer(user=[ANA, BEN], state_file=state) as server:
        SandboxControl(server.url).of(BEN).deliver(_note(BEN, "kept"))
    assert state.exists() and (tmp_path / f"sandbox.{BEN}.json").exists()
    with SandboxServer(user=[ANA, BEN], state_file=state) as server:
        control = SandboxControl(server.url)
        assert control.mailbox()["messages"] == []
        assert [m["headers"]["Subject"] for m in control.of(BEN).mailbox()["messages"]] == ["kept"]


def test_the_control_root_lists_the_mailbox_endpoints(two: SandboxServer) -> None:
    with urllib.request.urlopen(two.url + "_sandbox/", timeout=10) as reply:
        endpoints = json.load(reply)["endpoints"]
    assert any(line.startswith("GET|POST /_sandbox/mailboxes") for line in endpoints)
    assert any("/_sandbox/users/{address}/" in line for line in endpoints)
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(
            urllib.request.Request(two.url + "_sandbox/mailboxes", method="DELETE"), timeout=10
        )
    assert wrong.value.code == 405


@pytest.mark.slow
def test_sandbox_serve_serves_each_user_given(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    args = [*INTROBOT, "sandbox", "serve", "--port", str(port), "--user", ANA, "--user", BEN]
    args += ["--state", str(tmp_path / "box.json")]
    serving = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until("the sandbox", lambda: _answers(url))
        assert [m["user"] for m in SandboxControl(url).mailboxes()] == [ANA, BEN]
        SandboxControl(url).of(BEN).deliver(_note(BEN, "over the command line"))
    finally:
        serving.send_signal(signal.SIGTERM)
        out, err = serving.communicate(timeout=30)
    assert serving.returncode == 0, err
    assert f"Sandbox Gmail for {ANA}, {BEN} at {url}" in out
    assert (tmp_path / f"box.{BEN}.json").exists()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "_sandbox/mailboxes", timeout=2):
            return True
    except OSError:
        return False


def test_an_access_token_made_for_a_mailbox_works_on_it_alone(two: SandboxServer) -> None:
    control = SandboxControl(two.url)
    control.oauth(require_token=True)
    clients = {
        user: GmailClient(Credentials(control.access_token(user)), two.url, timeout=5)
        for user in (ANA, BEN)
    }
    assert {user: c.profile().email for user, c in clients.items()} == {ANA: ANA, BEN: BEN}
    gmail = _gmail(two.url, Credentials(control.access_token(BEN)))
    assert gmail.users().getProfile(userId=BEN.upper()).execute()["emailAddress"] == BEN
    with pytest.raises(ControlError):
        control.access_token(BEN, seconds=0)
    for client in clients.values():
        client.close()
