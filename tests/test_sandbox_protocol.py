"""The sandbox as a protocol peer: request validation, batches, the control API,
accounting, the rate limit, scripted faults and saved state."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from introbot.sandbox import SandboxServer
from introbot.sandbox.control import ControlError, SandboxControl
from tests.mail import b64, make_mail


def _raw_http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("gmail/v1/users/me/messages?bogus=1", 400),
        ("gmail/v1/users/me/messages?maxResults=many", 400),
        ("gmail/v1/users/me/messages?maxResults=1&maxResults=2", 400),
        ("gmail/v1/users/me/messages?includeSpamTrash=yes", 400),
        ("gmail/v1/users/me/messages/abc?format=html", 400),
        ("gmail/v1/users/me/history", 400),  # startHistoryId is required
        ("gmail/v1/users/me/history?startHistoryId=abc", 400),
        ("gmail/v1/users/me/messages?maxResults=5&alt=json&prettyPrint=false", 200),
        ("gmail/v1/users/me/nothing-here", 404),
    ],
)
def test_query_parameters_are_checked_against_discovery(
    sandbox: SandboxServer, path: str, status: int
) -> None:
    code, body = _raw_http(sandbox.url + path)
    assert code == status
    if status == 400:
        assert body["error"]["code"] == 400
        assert body["error"]["status"] == "INVALID_ARGUMENT"
        assert body["error"]["errors"][0]["reason"]


def test_unknown_query_parameter_gets_googles_message(sandbox: SandboxServer) -> None:
    code, body = _raw_http(sandbox.url + "gmail/v1/users/me/labels?colour=red")
    assert code == 400
    assert 'Unknown name "colour"' in body["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "ok", "colour": "red"},
        {"name": 5},
        {"name": "ok", "labelListVisibility": "sometimes"},
        [1, 2],
    ],
)
def test_request_bodies_are_checked_against_schemas(sandbox: SandboxServer, body: Any) -> None:
    code, answer = _raw_http(
        sandbox.url + "gmail/v1/users/me/labels", "POST", json.dumps(body).encode()
    )
    assert code == 400, answer


def test_bad_json_and_bad_base64_are_400(sandbox: SandboxServer) -> None:
    url = sandbox.url + "gmail/v1/users/me/drafts"
    assert _raw_http(url, "POST", b"{not json")[0] == 400
    assert _raw_http(url, "POST", json.dumps({"message": {"raw": "***"}}).encode())[0] == 400
    assert _raw_http(url, "POST", json.dumps({"message": {}}).encode())[0] == 400


def test_unimplemented_methods_say_so(sandbox: SandboxServer) -> None:
    code, body = _raw_http(sandbox.url + "gmail/v1/users/me/settings/filters")
    assert code == 501
    assert "settings.filters.list" in body["error"]["message"]


# --------------------------------------------------------------------------- batches
def test_batch_parts_succeed_and_fail_one_by_one(
    sandbox: SandboxServer, service: Any, control: SandboxControl
) -> None:
    msg = control.deliver(make_mail())
    answers: dict[str, tuple[Any, Any]] = {}
    batch = BatchHttpRequest(
        batch_uri=sandbox.url + "batch/gmail/v1",
        callback=lambda rid, resp, exc: answers.__setitem__(rid, (resp, exc)),
    )
    batch.add(
        service.users().messages().get(userId="me", id=msg["id"], format="minimal"), request_id="ok"
    )
    batch.add(service.users().messages().get(userId="me", id="ffffffffffffffff"), request_id="gone")
    batch.add(
        service.users().labels().create(userId="me", body={"name": "from-batch"}), request_id="post"
    )
    batch.add(
        service.users()
        .messages()
        .batchModify(userId="me", body={"ids": [msg["id"]], "removeLabelIds": ["UNREAD"]}),
        request_id="empty",
    )
    batch.execute()
    assert answers["ok"][0]["id"] == msg["id"] and answers["ok"][1] is None
    assert isinstance(answers["gone"][1], HttpError) and answers["gone"][1].status_code == 404
    assert answers["post"][0]["name"] == "from-batch"
    assert answers["empty"][1] is None
    stats = control.stats()
    assert stats["batches"] == 1
    assert stats["by_method"]["messages.get"] == 2
    assert stats["by_method"]["labels.create"] == 1
    assert control.mailbox()["messages"][0]["labelIds"] == ["INBOX"]


def test_batch_of_more_than_100_calls_is_refused(sandbox: SandboxServer, service: Any) -> None:
    batch = BatchHttpRequest(batch_uri=sandbox.url + "batch/gmail/v1")
    for _ in range(101):
        batch.add(service.users().getProfile(userId="me"))
    with pytest.raises(HttpError) as info:
        batch.execute()
    assert info.value.status_code == 400


# ---------------------------------------------------------------------- control API
def test_connector_sends_a_draft_from_the_ui(service: Any, control: SandboxControl) -> None:
    raw = make_mail(sender="connector@example.com", to="dana@northwind.example", message_id=None)
    draft = (
        service.users().drafts().create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    )
    sent = control.send_draft(draft["id"])
    assert sent["threadId"] == draft["message"]["threadId"]
    assert sent["id"] != draft["message"]["id"]
    box = control.mailbox()
    assert box["drafts"] == []
    (message,) = box["messages"]
    assert message["labelIds"] == ["SENT"]
    assert message["headers"]["Message-ID"].startswith("<")
    assert control.raw(sent["id"]).endswith(raw)
    stats = control.stats()
    assert "drafts.send" not in stats["by_method"]  # the UI is not an API call


def test_sending_to_yourself_lands_in_the_inbox_too(service: Any, control: SandboxControl) -> None:
    raw = make_mail(sender="connector@example.com", to="Sam <connector@example.com>")
    draft = (
        service.users().drafts().create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    )
    control.send_draft(draft["id"])
    assert control.mailbox()["messages"][0]["labelIds"] == ["SENT", "INBOX"]


def test_connector_discards_a_draft(service: Any, control: SandboxControl) -> None:
    draft = (
        service.users()
        .drafts()
        .create(userId="me", body={"message": {"raw": b64(make_mail())}})
        .execute()
    )
    control.discard_draft(draft["id"])
    assert control.mailbox()["drafts"] == []
    with pytest.raises(ControlError) as info:
        control.send_draft(draft["id"])
    assert info.value.status == 404


def test_label_thread_by_name_creates_missing_labels(control: SandboxControl) -> None:
    msg = control.deliver(make_mail())
    assert control.label_thread(msg["threadId"], add=("intro-request",), remove=("UNREAD",)) == [
        "INBOX",
        "intro-request",
    ]
    names = [lab["name"] for lab in control.mailbox()["labels"]]
    assert names.count("intro-request") == 1


def test_deliver_with_labels_and_date(control: SandboxControl, service: Any) -> None:
    msg = control.deliver(
        make_mail(), labels=("INBOX", "my label"), internal_date=1_700_000_000_000
    )
    got = service.users().messages().get(userId="me", id=msg["id"], format="minimal").execute()
    assert got["internalDate"] == "1700000000000"
    assert control.mailbox()["messages"][0]["labelIds"] == ["INBOX", "my label"]
    with pytest.raises(ControlError):
        control.deliver(b"")


def test_stats_count_calls_and_units_and_reset(service: Any, control: SandboxControl) -> None:
    service.users().getProfile(userId="me").execute()
    service.users().history().list(userId="me", startHistoryId="1000000").execute()
    service.users().messages().list(userId="me").execute()
    stats = control.stats()
    assert stats["requests"] == 3
    assert stats["quota_units"] == 1 + 2 + 5
    assert stats["by_method"] == {"getProfile": 1, "history.list": 1, "messages.list": 1}
    assert stats["units_by_method"]["history.list"] == 2
    control.reset_stats()
    assert control.stats()["requests"] == 0


def test_reset_empties_the_mailbox(control: SandboxControl) -> None:
    control.deliver(make_mail())
    control.reset()
    assert control.mailbox()["messages"] == []


# ------------------------------------------------------------------------ rate limit
@pytest.mark.parametrize(
    ("status", "reason"), [(429, "rateLimitExceeded"), (403, "userRateLimitExceeded")]
)
@pytest.mark.slow
def test_rate_limit_answers_like_gmail(
    service: Any, control: SandboxControl, status: int, reason: str
) -> None:
    control.set_rate_limit({"units_per_minute": 600, "window_seconds": 1, "status": status})  # 10/s
    for _ in range(2):
        service.users().messages().list(userId="me").execute()  # 5 units each
    with pytest.raises(HttpError) as info:
        service.users().messages().list(userId="me").execute()
    assert info.value.status_code == status
    assert info.value.error_details[0]["reason"] == reason
    assert control.stats()["rate_limited"] == 1
    time.sleep(1.05)  # the window moves on
    service.users().messages().list(userId="me").execute()
    control.set_rate_limit(None)
    for _ in range(5):
        service.users().messages().list(userId="me").execute()


def test_concurrency_limit_setting_is_validated(control: SandboxControl) -> None:
    with pytest.raises(ControlError):
        control.set_rate_limit({"status": 500})
    assert control.set_rate_limit({"max_concurrent": 4})["max_concurrent"] == 4


# ---------------------------------------------------------------------------- faults
@pytest.mark.parametrize("status", [429, 500, 503])
def test_scripted_faults_hit_the_next_n_calls(
    service: Any, control: SandboxControl, status: int
) -> None:
    control.add_faults({"method": "getProfile", "status": status, "count": 2})
    for _ in range(2):
        with pytest.raises(HttpError) as info:
            service.users().getProfile(userId="me").execute()
        assert info.value.status_code == status
    service.users().getProfile(userId="me").execute()
    service.users().labels().list(userId="me").execute()  # other methods untouched
    assert control.stats()["faults_injected"] == 2


def test_fault_skip_and_wildcard(service: Any, control: SandboxControl) -> None:
    control.add_faults({"method": "*", "status": 500, "skip": 1})
    service.users().getProfile(userId="me").execute()
    with pytest.raises(HttpError):
        service.users().labels().list(userId="me").execute()
    service.users().labels().list(userId="me").execute()


def test_after_effect_fault_acts_then_fails(service: Any, control: SandboxControl) -> None:
    control.add_faults({"method": "drafts.create", "status": 500, "after_effect": True})
    with pytest.raises(HttpError):
        service.users().drafts().create(
            userId="me", body={"message": {"raw": b64(make_mail())}}
        ).execute()
    assert len(control.mailbox()["drafts"]) == 1


def test_hang_fault_outlasts_the_client_timeout(
    sandbox: SandboxServer, control: SandboxControl
) -> None:
    control.add_faults({"method": "getProfile", "hang": 1.0, "status": 503})
    request = urllib.request.Request(sandbox.url + "gmail/v1/users/me/profile")
    with pytest.raises(TimeoutError):
        urllib.request.urlopen(request, timeout=0.2)


def test_invalid_faults_are_refused(control: SandboxControl) -> None:
    for bad in (
        {"method": "x"},
        {"status": 418},
        {"status": 500, "count": 0},
        {"status": 500, "colour": 1},
    ):
        with pytest.raises(ControlError) as info:
            control.add_faults(bad)
        assert info.value.status == 400


# ------------------------------------------------------------------------ saved state
def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with SandboxServer(state_file=state) as first:
        control = SandboxControl(first.url)
        msg = control.deliver(make_mail())
        control.label_thread(msg["threadId"], add=("intro-request",))
        before = control.mailbox()
    with SandboxServer(state_file=state) as second:
        control = SandboxControl(second.url)
        assert control.mailbox() == before
        reply = make_mail(
            subject="Re: Could you introduce me to Dana?",
            message_id="<r@x>",
            in_reply_to="<req-1@tidepool.io>",
        )
        assert control.deliver(reply)["threadId"] == msg["threadId"]
