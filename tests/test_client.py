"""The Gmail client against the sandbox: typed methods, retries, batches, pacing, auth."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from introbot.gmail.client import GmailClient
from introbot.gmail.errors import (
    AuthExpired,
    GmailRejected,
    GmailUnavailable,
    HistoryExpired,
)
from introbot.gmail.pacing import RetryPolicy, TokenBucket
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from tests.conftest import FAST_RETRY
from tests.mail import deliver_many, make_draft, make_mail


# ---------------------------------------------------------------------- typed methods
def test_profile_labels_and_ensure_labels(client: GmailClient, control: SandboxControl) -> None:
    profile = client.profile()
    assert profile.email == "connector@example.com"
    assert profile.history_id > 0
    first = client.ensure_labels(["intro-request", "introbot/yes"])
    again = client.ensure_labels(["introbot/yes", "intro-request", "INBOX"])
    assert again["intro-request"] == first["intro-request"]
    assert again["INBOX"] == "INBOX"
    assert control.stats()["by_method"]["labels.create"] == 2
    with pytest.raises(GmailRejected) as info:
        client.create_label("introbot/yes")
    assert info.value.status == 409


def test_list_and_read_messages(client: GmailClient, control: SandboxControl) -> None:
    delivered = deliver_many(control, 3)
    refs = client.list_messages("from:tidepool.io")
    assert [r.id for r in refs] == [d["id"] for d in reversed(delivered)]
    assert client.list_messages(limit=2) == refs[:2]
    raw = client.get_raw_messages([d["id"] for d in delivered] + ["ffffffffffffffff"])
    assert set(raw) == {d["id"] for d in delivered}  # the missing one is left out
    assert raw[delivered[0]["id"]].raw == control.raw(delivered[0]["id"])
    meta = client.get_message_metadata([delivered[1]["id"]], ["Subject", "Message-ID"])
    only = meta[delivered[1]["id"]]
    assert only.header("subject") == "Subject 1"
    assert only.header("message-id") == "<m1@x>"
    assert only.label_ids == {"INBOX", "UNREAD"}
    assert client.find_messages("<m2@x>")[0].id == delivered[2]["id"]


@pytest.mark.slow
def test_batches_hold_at_most_50_calls(client: GmailClient, control: SandboxControl) -> None:
    delivered = deliver_many(control, 120)
    control.reset_stats()
    got = client.get_message_metadata([d["id"] for d in delivered], ["Subject"])
    assert len(got) == 120
    stats = control.stats()
    assert stats["batches"] == 3 and stats["http_requests"] == 3
    assert stats["by_method"] == {"messages.get": 120}


def test_labels_on_messages_and_threads(client: GmailClient, control: SandboxControl) -> None:
    a, b = deliver_many(control, 2)
    ids = client.ensure_labels(["intro-request"])
    client.modify_messages([a["id"], b["id"]], add=[ids["intro-request"]], remove=["UNREAD"])
    assert {m["labelIds"][-1] for m in control.mailbox()["messages"]} == {"intro-request"}
    assert client.modify_thread(a["threadId"], remove=[ids["intro-request"]])
    assert not client.modify_thread("ffffffffffffffff", add=["STARRED"])
    thread = client.get_thread(b["threadId"], ["Subject"])
    assert thread is not None and thread.messages[0].header("Subject") == "Subject 1"
    assert client.get_thread("ffffffffffffffff") is None
    assert client.list_threads(label_ids=[ids["intro-request"]]) == [b["threadId"]]


def test_drafts(client: GmailClient, control: SandboxControl) -> None:
    request = control.deliver(make_mail(message_id="<req@x>", subject="Meet Dana?"))
    reply = make_draft(
        1,
        to="alex.kim@tidepool.io",
        subject="Re: Meet Dana?",
        in_reply_to="<req@x>",
        references="<req@x>",
    )
    draft = client.create_draft(reply, thread_id=request["threadId"])
    assert draft.thread_id == request["threadId"]
    assert client.get_draft(draft.id) == draft
    assert client.find_drafts("<draft-1@introbot.local>") == [draft]
    assert client.list_drafts() == [draft]
    updated = client.update_draft(
        draft.id,
        make_draft(2, to="alex.kim@tidepool.io", subject="Re: Meet Dana?", references="<req@x>"),
        request["threadId"],
    )
    assert updated is not None and updated.id == draft.id
    assert updated.message_id != draft.message_id
    assert client.delete_draft(draft.id)
    assert not client.delete_draft(draft.id)
    assert client.get_draft(draft.id) is None
    assert client.update_draft(draft.id, make_draft(3)) is None
    with pytest.raises(ValueError, match="Message-ID"):
        client.create_draft(make_mail(message_id=None))


def test_the_client_has_no_way_to_send() -> None:
    public = {name for name in dir(GmailClient) if not name.startswith("_")}
    assert not {name for name in public if "send" in name.lower()}


# ---------------------------------------------------------------------------- history
@pytest.mark.slow
def test_history_returns_typed_events_across_pages(
    client: GmailClient, control: SandboxControl
) -> None:
    start = client.profile().history_id
    delivered = deliver_many(control, 510)
    control.label_thread(delivered[0]["threadId"], add=("intro-request",))
    control.reset_stats()
    history = client.history(start)
    assert control.stats()["by_method"] == {"history.list": 2}
    assert len(history.events) == 511
    assert [e.message.id for e in history.events[:510]] == [d["id"] for d in delivered]
    last = history.events[-1]
    assert last.kind == "labelAdded" and last.message.id == delivered[0]["id"]
    assert len(last.changed) == 1 and last.changed <= last.label_ids
    assert history.history_id == last.history_id
    assert client.history(history.history_id).events == ()


def test_history_by_kind_and_expiry(client: GmailClient, control: SandboxControl) -> None:
    start = client.profile().history_id
    (msg,) = deliver_many(control, 1)
    client.modify_messages([msg["id"]], remove=["UNREAD"])
    assert [e.kind for e in client.history(start, kinds=["labelRemoved"]).events] == [
        "labelRemoved"
    ]
    control.expire_history()
    with pytest.raises(HistoryExpired):
        client.history(start)


# ------------------------------------------------------------------- retries and faults
@pytest.mark.parametrize("status", [429, 403, 500, 503])
def test_bursts_of_transient_errors_are_retried(
    client: GmailClient, control: SandboxControl, status: int
) -> None:
    control.add_faults({"method": "getProfile", "status": status, "count": 3})
    assert client.profile().email == "connector@example.com"
    assert control.stats()["by_method"]["getProfile"] == 4
    assert client.stats.retries == 3


def test_persistent_errors_give_up_cleanly(sandbox: SandboxServer, control: SandboxControl) -> None:
    client = GmailClient.for_sandbox(sandbox.url, retry=FAST_RETRY)
    control.add_faults({"method": "labels.list", "status": 503, "count": 50})
    with pytest.raises(GmailUnavailable, match=r"labels.list.*after 5 attempts"):
        client.labels()
    assert control.stats()["by_method"]["labels.list"] == FAST_RETRY.max_attempts


def test_batch_parts_that_keep_failing_give_up_cleanly(
    client: GmailClient, control: SandboxControl
) -> None:
    delivered = deliver_many(control, 3)
    control.add_faults({"method": "messages.get", "status": 503, "count": 1000})
    with pytest.raises(GmailUnavailable, match="3 part"):
        client.get_raw_messages([d["id"] for d in delivered])
    assert control.stats()["by_method"]["messages.get"] == 3 * FAST_RETRY.max_attempts


def test_permanent_errors_are_not_retried(client: GmailClient, control: SandboxControl) -> None:
    with pytest.raises(GmailRejected) as info:
        client.create_label("Inbox")  # a reserved name: 400
    assert info.value.status == 400
    assert control.stats()["by_method"]["labels.create"] == 1


def test_retry_after_is_honoured(sandbox: SandboxServer, control: SandboxControl) -> None:
    pauses: list[float] = []
    client = GmailClient.for_sandbox(
        sandbox.url, retry=RetryPolicy(base_delay=0.001, max_delay=10), sleep=pauses.append
    )
    control.add_faults({"method": "getProfile", "status": 429})
    client.profile()
    assert len(pauses) == 1 and pauses[0] >= 1.0  # the sandbox asks for Retry-After: 1


def test_timeouts_are_retried(sandbox: SandboxServer, control: SandboxControl) -> None:
    client = GmailClient.for_sandbox(sandbox.url, retry=FAST_RETRY, timeout=0.3)
    control.add_faults({"method": "labels.list", "hang": 1.5, "status": 503})
    assert client.labels()
    assert control.stats()["by_method"]["labels.list"] == 2


def test_failed_batch_parts_are_retried_alone(client: GmailClient, control: SandboxControl) -> None:
    delivered = deliver_many(control, 5)
    control.reset_stats()
    control.add_faults({"method": "messages.get", "status": 500, "count": 2, "skip": 1})
    got = client.get_raw_messages([d["id"] for d in delivered])
    assert set(got) == {d["id"] for d in delivered}
    stats = control.stats()
    assert stats["by_method"]["messages.get"] == 7  # 5, then the 2 failed parts again
    assert stats["batches"] == 2


def test_a_failed_batch_is_retried_whole(client: GmailClient, control: SandboxControl) -> None:
    delivered = deliver_many(control, 3)
    control.add_faults({"method": "batch", "status": 503})
    assert len(client.get_raw_messages([d["id"] for d in delivered])) == 3


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 503, "hang": 1.0}])
def test_a_draft_created_despite_an_error_is_not_created_twice(
    sandbox: SandboxServer, control: SandboxControl, fault: dict[str, Any]
) -> None:
    client = GmailClient.for_sandbox(sandbox.url, retry=FAST_RETRY, timeout=0.4)
    control.add_faults({"method": "drafts.create", "after_effect": True, **fault})
    draft = client.create_draft(make_draft())
    drafts = control.mailbox()["drafts"]
    assert [d["id"] for d in drafts] == [draft.id]
    assert control.stats()["by_method"]["drafts.create"] == 1


def test_a_draft_that_failed_before_acting_is_created_on_retry(
    client: GmailClient, control: SandboxControl
) -> None:
    control.add_faults({"method": "drafts.create", "status": 500})
    draft = client.create_draft(make_draft())
    assert [d["id"] for d in control.mailbox()["drafts"]] == [draft.id]
    assert control.stats()["by_method"]["drafts.create"] == 2


# ----------------------------------------------------------------------------- pacing
@pytest.mark.slow
def test_token_bucket_keeps_a_burst_under_the_rate_limit(
    sandbox: SandboxServer, control: SandboxControl
) -> None:
    # Sandbox: 50 units per 1 s window. Bucket: 10 burst + 35/s stays under it.
    control.set_rate_limit({"units_per_minute": 3000, "window_seconds": 1})
    paced = GmailClient.for_sandbox(sandbox.url, bucket=TokenBucket(rate=35, capacity=10))
    for _ in range(12):
        paced.list_messages()
    assert control.stats()["rate_limited"] == 0

    unpaced = GmailClient.for_sandbox(
        sandbox.url,
        bucket=TokenBucket(rate=100_000, capacity=100_000),
        retry=RetryPolicy(max_attempts=20, base_delay=0.05, max_delay=1),
    )
    for _ in range(12):
        unpaced.list_messages()
    assert control.stats()["rate_limited"] > 0  # without pacing the limit bites
    assert unpaced.stats.retries > 0


# ------------------------------------------------------------------------------- auth
class _TokenEndpoint(BaseHTTPRequestHandler):
    answer: tuple[int, dict[str, Any]] = (200, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = self.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def token_endpoint() -> Iterator[tuple[str, type[_TokenEndpoint]]]:
    handler = type("Endpoint", (_TokenEndpoint,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for the loop to look (0.5 s by default): look every 5 ms.
    thread = threading.Thread(target=server.serve_forever, args=(0.005,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token", handler
    server.shutdown()
    server.server_close()


def _expired_credentials(token_uri: str) -> Credentials:
    return Credentials(
        token="expired-access-token",
        refresh_token="refresh-token",
        token_uri=token_uri,
        client_id="client.apps.googleusercontent.com",
        client_secret="secret",
        expiry=dt.datetime(2020, 1, 1),
    )


def test_revoked_token_becomes_a_clear_auth_error(
    sandbox: SandboxServer, token_endpoint: tuple[str, type[_TokenEndpoint]]
) -> None:
    url, handler = token_endpoint
    handler.answer = (
        400,
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
    )
    client = GmailClient(_expired_credentials(url), sandbox.url, retry=FAST_RETRY)
    with pytest.raises(AuthExpired) as info:
        client.profile()
    assert "introbot auth" in str(info.value)
    assert "expired or revoked" in str(info.value)


def test_expired_access_token_is_refreshed(
    sandbox: SandboxServer, token_endpoint: tuple[str, type[_TokenEndpoint]]
) -> None:
    url, handler = token_endpoint
    handler.answer = (200, {"access_token": "fresh", "expires_in": 3600, "token_type": "Bearer"})
    credentials = _expired_credentials(url)
    client = GmailClient(credentials, sandbox.url, retry=FAST_RETRY)
    assert client.profile().email == "connector@example.com"
    assert credentials.token == "fresh"
