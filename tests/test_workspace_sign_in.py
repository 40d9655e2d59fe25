"""Workspace sign-in: a service account with domain-wide delegation acts as each mailbox
(google-auth's ``service_account.Credentials.with_subject``), its JWT bearer grant answered
by the sandbox standing in for Google's token endpoint: RS256 checked against the key it
was given, the delegation an admin granted, and every refusal told with the step that
fixes it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth import crypt, jwt
from google.oauth2 import service_account

from introbot.config import Account, ConfigError, load
from introbot.gmail.auth import (
    DELEGATION_STEP,
    GOOGLE_TOKEN_URI,
    SCOPE,
    DelegationRefused,
    SignInError,
    check_delegation,
    read_service_account_key,
    workspace_credentials,
)
from introbot.gmail.client import GmailClient
from introbot.gmail.errors import GmailRejected
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from tests.cli import invoke
from tests.conftest import FAST_RETRY

ANA = "ana@firm.example"
BEN = "ben@firm.example"
OUTSIDER = "cy@other.example"  # served by the sandbox, but in another Workspace domain


@pytest.fixture
def google() -> Iterator[SandboxServer]:
    """Gmail for three mailboxes of two domains, demanding a live access token."""
    with SandboxServer(user=[ANA, BEN, OUTSIDER]) as server:
        SandboxControl(server.url).oauth(require_token=True)
        yield server


def _key_file(tmp_path: Path, key: dict[str, Any], name: str = "key.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(key))
    return path


def _client(url: str, key_file: Path, mailbox: str) -> GmailClient:
    return GmailClient(workspace_credentials(key_file, mailbox), url, retry=FAST_RETRY, timeout=5)


def test_one_key_signs_in_as_each_mailbox_of_the_domain(
    google: SandboxServer, tmp_path: Path
) -> None:
    control = SandboxControl(google.url)
    key = _key_file(tmp_path, control.service_account(domains=["firm.example"]))
    for mailbox in (ANA, BEN):
        client = _client(google.url, key, mailbox)
        assert client.profile().email == mailbox  # `me` is the JWT's `sub`
        client.ensure_labels([f"seen-by-{mailbox.partition('@')[0]}"])
        client.close()
    for mailbox in (ANA, BEN):
        names = {label["name"] for label in control.of(mailbox).mailbox()["labels"]}
        assert f"seen-by-{mailbox.partition('@')[0]}" in names
        assert (
            not {f"seen-by-{other.partition('@')[0]}" for other in (ANA, BEN) if other != mailbox}
            & names
        )
        assert control.of(mailbox).stats()["by_method"]["getProfile"] == 1


def test_a_mailbox_outside_the_delegated_domain_is_refused_with_the_admin_step(
    google: SandboxServer, tmp_path: Path
) -> None:
    key_data = SandboxControl(google.url).service_account(domains=["firm.example"])
    key = _key_file(tmp_path, key_data)
    with pytest.raises(DelegationRefused) as refused:
        check_delegation(workspace_credentials(key, OUTSIDER))
    message = str(refused.value)
    assert "unauthorized_client" in message and OUTSIDER in message
    assert DELEGATION_STEP in message and key_data["client_id"] in message and SCOPE in message
    # The same refusal in the middle of a Gmail call: no call reaches the mailbox.
    client = _client(google.url, key, OUTSIDER)
    with pytest.raises(DelegationRefused):
        client.profile()
    assert SandboxControl(google.url).of(OUTSIDER).stats()["requests"] == 0


def test_a_service_account_never_delegated_is_refused(
    google: SandboxServer, tmp_path: Path
) -> None:
    key = _key_file(tmp_path, SandboxControl(google.url).service_account(scopes=()))
    with pytest.raises(DelegationRefused, match="unauthorized_client"):
        check_delegation(workspace_credentials(key, ANA))


def test_an_address_that_is_no_user_of_the_domain(google: SandboxServer, tmp_path: Path) -> None:
    key = _key_file(tmp_path, SandboxControl(google.url).service_account())
    with pytest.raises(DelegationRefused, match=r"not a user .*\[workspace\] mailboxes"):
        check_delegation(workspace_credentials(key, "nobody@firm.example"))


def test_a_deleted_or_foreign_key_is_refused_as_google_does(
    google: SandboxServer, tmp_path: Path
) -> None:
    control = SandboxControl(google.url)
    registered = control.service_account()
    unknown_id = dict(registered, private_key_id="0" * 40)  # the key was deleted in the console
    with pytest.raises(DelegationRefused, match="create a new JSON key"):
        check_delegation(workspace_credentials(_key_file(tmp_path, unknown_id), ANA))
    # Signed by another private key under the registered key's id: the signature fails.
    other = control.service_account("someone-else@introbot-sandbox.iam.gserviceaccount.com")
    forged = dict(registered, private_key=other["private_key"])
    with pytest.raises(DelegationRefused, match="create a new JSON key"):
        check_delegation(workspace_credentials(_key_file(tmp_path, forged, "forged.json"), ANA))


def _grant(url: str, key: dict[str, Any], **claims: Any) -> tuple[int, dict[str, Any]]:
    """A JWT bearer grant made by hand, as RFC 7523 spells it."""
    now = int(time.time())
    payload = {
        "iss": key["client_email"],
        "scope": SCOPE,
        "aud": GOOGLE_TOKEN_URI,
        "iat": now,
        "exp": now + 3600,
        "sub": ANA,
        **claims,
    }
    signer = crypt.RSASigner.from_service_account_info(key)
    assertion = jwt.encode(signer, payload).decode()
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    try:
        with urllib.request.urlopen(
            url + "token", urllib.parse.urlencode(form).encode(), timeout=10
        ) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_the_token_endpoint_checks_the_assertion_as_google_does(google: SandboxServer) -> None:
    key = SandboxControl(google.url).service_account(domains=["firm.example"])
    status, answer = _grant(google.url, key)
    assert status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] > 0
    assert _grant(google.url, key, exp=int(time.time()) + 7200)[1]["error"] == "invalid_grant"
    assert "short-lived" in _grant(google.url, key, iat=0, exp=3600)[1]["error_description"]
    assert _grant(google.url, key, aud="https://elsewhere.example/token")[0] == 400
    assert _grant(google.url, key, iss="stranger@x.iam.gserviceaccount.com")[0] == 400
    status, answer = _grant(google.url, key, sub=OUTSIDER)
    assert (status, answer["error"]) == (401, "unauthorized_client")
    status, answer = _grant(google.url, key, scope="https://mail.google.com/")
    assert (status, answer["error"]) == (401, "unauthorized_client")  # a scope not delegated


def test_the_service_account_itself_has_no_mailbox(google: SandboxServer, tmp_path: Path) -> None:
    key = SandboxControl(google.url).service_account()
    credentials = service_account.Credentials.from_service_account_info(key, scopes=[SCOPE])
    client = GmailClient(credentials, google.url, retry=FAST_RETRY, timeout=5)
    with pytest.raises(GmailRejected) as rejected:
        client.profile()  # Gmail's answer without `sub`: 400 Precondition check failed
    assert rejected.value.status == 400 and rejected.value.reason == "failedPrecondition"


def test_a_key_naming_another_token_server_is_sent_to_googles(tmp_path: Path) -> None:
    with SandboxServer() as server:
        key = SandboxControl(server.url).service_account()
    elsewhere = _key_file(tmp_path, dict(key, token_uri="https://tokens.elsewhere.example/"))
    assert workspace_credentials(elsewhere, ANA)._token_uri == GOOGLE_TOKEN_URI
    local = _key_file(tmp_path, key, "local.json")
    assert workspace_credentials(local, ANA)._token_uri == key["token_uri"]


def test_what_is_not_a_service_account_key(tmp_path: Path) -> None:
    with SandboxServer() as server:
        oauth_client = SandboxControl(server.url).client_file()
    with pytest.raises(SignInError, match="not a service-account key"):
        read_service_account_key(_key_file(tmp_path, oauth_client))
    with pytest.raises(SignInError, match="No service-account key at"):
        read_service_account_key(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(SignInError, match="not a JSON key file"):
        read_service_account_key(tmp_path / "broken.json")


# -------------------------------------------------------------------------- settings
def test_the_workspace_settings(home: Path) -> None:
    account = Account.named("firm")
    account.folder.mkdir(parents=True)
    account.config_file.write_text(
        '[workspace]\nservice_account_key = "sa.json"\nmailboxes = ["Ana@Firm.example"]\n'
    )
    workspace = load(account, environ={}).settings.workspace
    assert workspace.service_account_key == account.folder / "sa.json"
    assert workspace.mailboxes == (ANA,)
    environ = {"INTROBOT_WORKSPACE_MAILBOXES": f"{ANA}, {BEN}"}
    assert load(account, environ=environ).settings.workspace.mailboxes == (ANA, BEN)
    account.config_file.write_text('[workspace]\nmailboxes = ["ana@firm.example"]\n')
    with pytest.raises(ConfigError, match=r"\[workspace\] mailboxes.*needs service_account_key"):
        load(account, environ={})
    account.config_file.write_text('[workspace]\nservice_account_key = "sa.json"\n')
    with pytest.raises(ConfigError, match="needs mailboxes"):
        load(account, environ={})


def test_a_workspace_account_polls_without_introbot_auth(
    google: SandboxServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    control = SandboxControl(google.url)
    key = _key_file(tmp_path, control.service_account(domains=["firm.example"]))
    monkeypatch.setenv("INTROBOT_GMAIL_ENDPOINT", google.url)
    monkeypatch.setenv("INTROBOT_WORKSPACE_SERVICE_ACCOUNT_KEY", str(key))
    monkeypatch.setenv("INTROBOT_WORKSPACE_MAILBOXES", BEN)
    polled = invoke("poll")
    assert polled.exit_code == 0, polled.output
    assert not (home / "accounts" / "default" / "token.json").exists()
    assert "intro-request" in {label["name"] for label in control.of(BEN).mailbox()["labels"]}
    assert control.of(ANA).stats()["requests"] == 0
    doctor = invoke("doctor")
    assert f"the service account may act as {BEN}" in doctor.output
    monkeypatch.setenv("INTROBOT_WORKSPACE_MAILBOXES", OUTSIDER)
    refused = invoke("poll")
    assert refused.exit_code == 1 and "Manage Domain Wide Delegation" in refused.output
    doctor = invoke("doctor")
    assert "unauthorized_client" in doctor.output and "Manage Domain Wide" in doctor.output
