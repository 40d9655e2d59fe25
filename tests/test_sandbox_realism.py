"""The sandbox's realism (docs/sandbox.md, "Realism"): each behaviour of Gmail that a kinder
server hides, driven over HTTP with the real googleapiclient and the control API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from introbot.reading.mime import read_mail
from introbot.reading.senders import check_sender
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import ControlError, SandboxControl
from introbot.sandbox.realism import KIND, REALISTIC, Realism, realism_of
from tests.mail import b64, make_draft, make_mail


@pytest.fixture
def real() -> Iterator[SandboxServer]:
    with SandboxServer(realism="realistic") as server:
        yield server


@pytest.fixture
def gmail(real: SandboxServer) -> Iterator[Any]:
    svc = build(
        "gmail",
        "v1",
        static_discovery=True,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": real.url},
    )
    yield svc.users()
    svc.close()


@pytest.fixture
def ctl(real: SandboxServer) -> SandboxControl:
    return SandboxControl(real.url)


def _status(call: Any) -> tuple[int, str]:
    with pytest.raises(HttpError) as info:
        call.execute()
    return int(info.value.status_code), json.loads(info.value.content)["error"]["message"]


def _reply_draft(gmail: Any, ctl: SandboxControl) -> tuple[dict[str, str], dict[str, Any]]:
    """A request arrives; a reply draft to it (threaded, as introbot writes one)."""
    request = ctl.deliver(make_mail(message_id="<req-1@tidepool.io>"))
    raw = make_draft(
        to="Alex Kim <alex.kim@tidepool.io>",
        subject="Re: Could you introduce me to Dana?",
        in_reply_to="<req-1@tidepool.io>",
        references="<req-1@tidepool.io>",
        message_id="<consent-1@introbot.local>",
    )
    draft = (
        gmail.drafts()
        .create(userId="me", body={"message": {"raw": b64(raw), "threadId": request["threadId"]}})
        .execute()
    )
    return request, draft


def _ids(gmail: Any, q: str) -> list[str]:
    found = gmail.messages().list(userId="me", q=q).execute().get("messages", [])
    return [m["id"] for m in found]


def _headers(ctl: SandboxControl, message_id: str) -> Any:
    return message_from_bytes(ctl.raw(message_id), policy=policy.compat32)


# --------------------------------------------------------------------------- profiles
def test_profiles_kind_by_default_realistic_on_request(sandbox: SandboxServer) -> None:
    control = SandboxControl(sandbox.url)
    assert control.realism() == KIND.to_json()
    assert control.set_realism("realistic") == REALISTIC.to_json()
    tuned = control.set_realism("realistic", undo_send_seconds=5, sent_copy_id="draft")
    assert (tuned["undo_send_seconds"], tuned["sent_copy_id"]) == (5, "draft")
    assert tuned["search_lag_seconds"] == REALISTIC.search_lag_seconds
    with pytest.raises(ControlError) as info:
        control.set_realism("realistic", undo_send_seconds="soon")
    assert info.value.status == 400 and "undo_send_seconds" in info.value.body
    with pytest.raises(ControlError):
        control.set_realism("harsh")
    assert control.set_realism("kind") == KIND.to_json()
    assert realism_of({"profile": "realistic", "undo_send_seconds": 1}) == Realism(
        **{**REALISTIC.to_json(), "undo_send_seconds": 1.0}
    )
    # every behaviour is off in the kind profile and on in the realistic one
    kind, realistic = KIND.to_json(), REALISTIC.to_json()
    assert {k for k in kind if kind[k] == realistic[k]} == {"sent_copy_id"}  # both are Gmail


def test_the_clock_moves_forward_only_and_can_be_frozen() -> None:
    with SandboxServer(clock=lambda: 1_800_000_000.0) as frozen:
        ctl = SandboxControl(frozen.url)
        assert ctl.clock()["now"] == 1_800_000_000.0
        assert ctl.set_clock(1_800_000_060.0)["now"] == 1_800_000_060.0
        assert ctl.advance_clock(40)["now"] == 1_800_000_100.0
        delivered = ctl.deliver(make_mail())
        svc = build(
            "gmail",
            "v1",
            static_discovery=True,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": frozen.url},
        )
        got = svc.users().messages().get(userId="me", id=delivered["id"]).execute()
        assert got["internalDate"] == str(1_800_000_100_000)  # the sandbox's time, not the wall's
        svc.close()
        with pytest.raises(ControlError):
            ctl.set_clock(1_700_000_000.0)
        with pytest.raises(ControlError):
            ctl.advance_clock(-1)


@pytest.mark.slow
def test_sandbox_serve_takes_a_realism_profile() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "introbot",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--realism",
            "realistic",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.endswith("(realism: realistic)\n"), first
        url = first.split(" at ")[1].split(" ")[0]
        assert SandboxControl(url).realism() == REALISTIC.to_json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------ send from the UI
def test_send_writes_gmails_own_message_id_after_undo_send(gmail: Any, ctl: SandboxControl) -> None:
    request, draft = _reply_draft(gmail, ctl)
    start = int(gmail.getProfile(userId="me").execute()["historyId"])
    answer = ctl.send_draft(draft["id"])
    assert answer["id"] is None and answer["at"] > ctl.clock()["now"]
    # The draft is gone at once; nothing is in Sent yet.
    assert _status(gmail.drafts().get(userId="me", id=draft["id"]))[0] == 404
    assert gmail.messages().list(userId="me", labelIds=["SENT"]).execute().get("messages") is None
    history = gmail.history().list(userId="me", startHistoryId=start).execute()["history"]
    assert [list(h) for h in history] == [["id", "messages", "messagesDeleted"]]
    ctl.advance_clock(REALISTIC.undo_send_seconds)
    (sent,) = gmail.messages().list(userId="me", labelIds=["SENT"]).execute()["messages"]
    assert sent["threadId"] == request["threadId"]
    assert sent["id"] != draft["message"]["id"]
    headers = _headers(ctl, sent["id"])
    assert headers["Message-ID"] != "<consent-1@introbot.local>"
    assert headers["Message-ID"].endswith("@mail.gmail.com>")
    assert headers["In-Reply-To"] == "<req-1@tidepool.io>"
    assert "X-Google-Original-Message-ID" not in headers
    # Nothing of the draft's Message-ID can be found any more.
    ctl.advance_clock(REALISTIC.search_lag_seconds)
    assert _ids(gmail, "rfc822msgid:consent-1@introbot.local") == []
    assert _ids(gmail, f"rfc822msgid:{headers['Message-ID']}") == [sent["id"]]


def test_sent_copy_may_keep_the_drafts_message_id_and_original_header(
    gmail: Any, ctl: SandboxControl
) -> None:
    ctl.set_realism("realistic", sent_copy_id="draft", sent_message_id="gmail-keeps-original")
    _, draft = _reply_draft(gmail, ctl)
    answer = ctl.send_draft(draft["id"])
    assert answer["id"] == draft["message"]["id"]
    # During Undo send the message is neither a draft nor sent.
    got = gmail.messages().get(userId="me", id=answer["id"], format="minimal").execute()
    assert "labelIds" not in got
    assert gmail.drafts().list(userId="me").execute().get("drafts") is None
    ctl.advance_clock(30)
    got = gmail.messages().get(userId="me", id=answer["id"], format="minimal").execute()
    assert got["labelIds"] == ["SENT"]
    headers = _headers(ctl, answer["id"])
    assert headers["X-Google-Original-Message-ID"] == "<consent-1@introbot.local>"
    assert headers["Message-ID"] != "<consent-1@introbot.local>"


def test_kind_profile_sends_at_once_with_the_drafts_message_id(
    service: Any, control: SandboxControl
) -> None:
    gmail = service.users()
    _, draft = _reply_draft(gmail, control)
    answer = control.send_draft(draft["id"])
    assert answer["id"] is not None
    assert _headers(control, answer["id"])["Message-ID"] == "<consent-1@introbot.local>"


@pytest.mark.parametrize("copy_id", ["new", "draft"])
def test_undo_inside_the_window_brings_the_draft_back_under_a_new_id(
    gmail: Any, ctl: SandboxControl, copy_id: str
) -> None:
    ctl.set_realism("realistic", sent_copy_id=copy_id)
    request, draft = _reply_draft(gmail, ctl)
    ctl.send_draft(draft["id"])
    start = int(gmail.getProfile(userId="me").execute()["historyId"])
    back = ctl.undo_send(draft["id"])
    assert back["id"] != draft["id"] and back["messageId"] != draft["message"]["id"]
    assert back["threadId"] == request["threadId"]
    (listed,) = gmail.drafts().list(userId="me").execute()["drafts"]
    assert listed["id"] == back["id"]
    assert _headers(ctl, back["messageId"])["Message-ID"] == "<consent-1@introbot.local>"
    history = gmail.history().list(userId="me", startHistoryId=start).execute()["history"]
    added = [m["message"] for h in history for m in h.get("messagesAdded", [])]
    assert [(m["id"], m["labelIds"]) for m in added] == [(back["messageId"], ["DRAFT"])]
    ctl.advance_clock(REALISTIC.undo_send_seconds + 1)  # no copy, ever
    assert gmail.messages().list(userId="me", labelIds=["SENT"]).execute().get("messages") is None
    with pytest.raises(ControlError) as twice:
        ctl.undo_send(draft["id"])
    assert twice.value.status == 404


def test_schedule_send_appears_days_later(gmail: Any, ctl: SandboxControl) -> None:
    request, draft = _reply_draft(gmail, ctl)
    at = ctl.clock()["now"] + 3 * 86_400
    assert ctl.send_draft(draft["id"], at=at)["at"] == at
    assert gmail.drafts().list(userId="me").execute().get("drafts") is None
    ctl.advance_clock(2 * 86_400)
    assert gmail.messages().list(userId="me", labelIds=["SENT"]).execute().get("messages") is None
    ctl.advance_clock(86_400)
    (sent,) = gmail.messages().list(userId="me", labelIds=["SENT"]).execute()["messages"]
    got = gmail.messages().get(userId="me", id=sent["id"], format="minimal").execute()
    assert int(got["internalDate"]) == int(at * 1000)
    assert got["threadId"] == request["threadId"]


def test_pending_sends_survive_a_restart(tmp_path: Any) -> None:
    state = tmp_path / "box.json"
    with SandboxServer(state_file=state, realism="realistic") as first:
        ctl = SandboxControl(first.url)
        gmail = build(
            "gmail",
            "v1",
            static_discovery=True,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": first.url},
        ).users()
        _, draft = _reply_draft(gmail, ctl)
        ctl.send_draft(draft["id"])
    with SandboxServer(state_file=state, realism="realistic") as second:
        ctl = SandboxControl(second.url)
        assert ctl.clock()["pending"] == 1
        ctl.advance_clock(60)
        sent = [m for m in ctl.mailbox()["messages"] if "SENT" in m["labelIds"]]
        assert len(sent) == 1


def test_send_from_another_client_is_a_new_message(gmail: Any, ctl: SandboxControl) -> None:
    request, draft = _reply_draft(gmail, ctl)
    ctl.send_elsewhere(draft["id"], client="outlook")
    (sent,) = [m for m in ctl.mailbox()["messages"] if "SENT" in m["labelIds"]]
    assert sent["threadId"] == request["threadId"]  # threaded by its References
    assert sent["headers"]["X-Mailer"].startswith("Microsoft Outlook")
    assert sent["headers"]["Message-ID"].endswith("prod.outlook.com>")
    assert sent["text"].strip() == "Draft version 1"


def test_send_from_another_client_with_a_new_subject_starts_a_thread(
    gmail: Any, ctl: SandboxControl
) -> None:
    request, draft = _reply_draft(gmail, ctl)
    answer = ctl.send_elsewhere(draft["id"], subject="Intro?", delay=120)
    assert answer["id"] is None
    ctl.advance_clock(120)
    (sent,) = [m for m in ctl.mailbox()["messages"] if "SENT" in m["labelIds"]]
    assert sent["threadId"] != request["threadId"]
    assert sent["headers"]["Subject"] == "Intro?"


# ------------------------------------------------------------------- editing in the UI
def test_every_autosave_replaces_the_drafts_message(gmail: Any, ctl: SandboxControl) -> None:
    request, draft = _reply_draft(gmail, ctl)
    start = int(gmail.getProfile(userId="me").execute()["historyId"])
    edited = ctl.edit_draft(draft["id"], text="Hi Alex, a short note first.\n", autosaves=3)
    assert edited["id"] == draft["id"] and edited["threadId"] == request["threadId"]
    assert edited["messageId"] != draft["message"]["id"]
    history = gmail.history().list(userId="me", startHistoryId=start).execute()["history"]
    kinds = [k for h in history for k in h if k.startswith("messages")]
    assert kinds.count("messagesAdded") == 3 and kinds.count("messagesDeleted") == 3
    got = gmail.drafts().get(userId="me", id=draft["id"], format="full").execute()
    payload = got["message"]["payload"]
    assert payload["mimeType"] == "multipart/alternative"  # the UI's own MIME
    assert [p["mimeType"] for p in payload["parts"]] == ["text/plain", "text/html"]
    headers = _headers(ctl, edited["messageId"])
    assert headers["Message-ID"] == "<consent-1@introbot.local>"
    assert headers["In-Reply-To"] == "<req-1@tidepool.io>"


def test_editing_the_subject_moves_the_draft_to_a_new_thread(
    gmail: Any, ctl: SandboxControl
) -> None:
    request, draft = _reply_draft(gmail, ctl)
    edited = ctl.edit_draft(draft["id"], subject="Intro: Alex and Dana", to="bob@example.org")
    assert edited["threadId"] != request["threadId"]
    assert edited["threadId"] == edited["messageId"]
    (view,) = ctl.mailbox()["drafts"]
    assert (view["to"], view["subject"]) == ("bob@example.org", "Intro: Alex and Dana")
    thread = gmail.threads().get(userId="me", id=request["threadId"]).execute()
    assert len(thread["messages"]) == 1  # the request alone


def test_a_draft_alone_in_its_thread_gets_a_new_thread_at_each_autosave(
    gmail: Any, ctl: SandboxControl
) -> None:
    raw = make_draft(1)
    draft = gmail.drafts().create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    first = ctl.edit_draft(draft["id"], text="Hi Dana,\n")
    second = ctl.edit_draft(draft["id"], text="Hi Dana!\n")
    threads = {draft["message"]["threadId"], first["threadId"], second["threadId"]}
    assert len(threads) == 3
    assert second["threadId"] == second["messageId"]


def test_kind_profile_keeps_an_edited_draft_in_its_thread(
    service: Any, control: SandboxControl
) -> None:
    request, draft = _reply_draft(service.users(), control)
    edited = control.edit_draft(draft["id"], subject="Intro: Alex and Dana")
    assert edited["threadId"] == request["threadId"]


# ----------------------------------------------------------------------------- search
def test_search_lags_behind_get(gmail: Any, ctl: SandboxControl) -> None:
    delivered = ctl.deliver(make_mail(message_id="<lag@x>"))
    assert gmail.messages().get(userId="me", id=delivered["id"]).execute()["id"]
    assert _ids(gmail, "rfc822msgid:lag@x") == []
    assert gmail.threads().list(userId="me", q="from:alex").execute().get("threads") is None
    assert _ids(gmail, "") == [delivered["id"]]  # listing without q= is not the index
    ctl.advance_clock(REALISTIC.search_lag_seconds)
    assert _ids(gmail, "rfc822msgid:lag@x") == [delivered["id"]]
    assert len(gmail.threads().list(userId="me", q="from:alex").execute()["threads"]) == 1


def test_a_draft_is_searchable_only_a_while_after_each_save(
    gmail: Any, ctl: SandboxControl
) -> None:
    _, draft = _reply_draft(gmail, ctl)

    def found() -> list[Any]:
        page = gmail.drafts().list(userId="me", q="rfc822msgid:consent-1@introbot.local")
        return list(page.execute().get("drafts", []))

    assert found() == []
    assert len(gmail.drafts().list(userId="me").execute()["drafts"]) == 1
    ctl.advance_clock(REALISTIC.search_lag_seconds)
    assert [d["id"] for d in found()] == [draft["id"]]
    ctl.edit_draft(draft["id"], text="Edited\n")  # a new message: not indexed yet
    assert found() == []


def test_search_grammar_groups_negates_and_quotes(service: Any, control: SandboxControl) -> None:
    gmail = service.users()
    alex = control.deliver(make_mail(message_id="<a@x>", body="cold chain sensors\n"))
    dana = control.deliver(
        make_mail(sender="Dana <dana@northwind.example>", message_id="<d@x>", subject="Lunch")
    )
    bob = control.deliver(
        make_mail(sender="bob@example.org", message_id="<b@x>", subject="Lunch plans")
    )
    assert _ids(gmail, "from:(dana OR bob)") == [bob["id"], dana["id"]]
    assert _ids(gmail, "subject:lunch (from:dana OR from:alex)") == [dana["id"]]
    assert _ids(gmail, "-(from:dana OR from:bob)") == [alex["id"]]
    assert _ids(gmail, '"cold chain"') == [alex["id"]]
    assert _ids(gmail, '"chain cold"') == []
    assert _ids(gmail, "{from:alex from:bob}") == [bob["id"], alex["id"]]
    assert _ids(gmail, "lunch -plans") == [dana["id"]]
    assert _ids(gmail, "from:alex AND cold") == [alex["id"]]
    assert _ids(gmail, "in:inbox (to:nobody@example.org)") == []


# ----------------------------------------------------------------------------- errors
def test_a_deleted_thread_id_answers_400_invalid_thread_id(gmail: Any, ctl: SandboxControl) -> None:
    request, _ = _reply_draft(gmail, ctl)
    gmail.threads().delete(userId="me", id=request["threadId"]).execute()
    raw = make_draft(2, in_reply_to="<req-1@tidepool.io>", references="<req-1@tidepool.io>")
    create = gmail.drafts().create(
        userId="me", body={"message": {"raw": b64(raw), "threadId": request["threadId"]}}
    )
    assert _status(create) == (400, "Invalid thread_id value")
    unknown = gmail.drafts().create(
        userId="me", body={"message": {"raw": b64(raw), "threadId": "19a0000000abcdef"}}
    )
    assert _status(unknown) == (400, "Invalid thread_id value")
    assert _status(gmail.messages().get(userId="me", id="19a0000000abcdef"))[0] == 404
    assert _status(gmail.threads().get(userId="me", id="19a0000000abcdef"))[0] == 404
    assert _status(gmail.drafts().get(userId="me", id="r123"))[0] == 404
    for malformed in ("not-an-id", "ffffffffffffffff", "19a0000000abcdef00"):
        assert _status(gmail.messages().get(userId="me", id=malformed)) == (400, "Invalid id value")
    assert _status(gmail.messages().get(userId="me", id="abc123"))[0] == 404


def test_kind_profile_answers_404_for_a_deleted_thread(service: Any) -> None:
    raw = make_draft(2)
    create = (
        service.users()
        .drafts()
        .create(userId="me", body={"message": {"raw": b64(raw), "threadId": "19a0000000abcdef"}})
    )
    assert _status(create)[0] == 404


# ----------------------------------------------------------------------------- limits
def _batch_of_gets(real: SandboxServer, gmail: Any, ids: list[str]) -> list[int]:
    statuses: dict[str, int] = {}

    def collect(request_id: str, response: Any, exception: Exception | None) -> None:
        statuses[request_id] = (
            200 if exception is None else int(getattr(exception, "status_code", 0))
        )

    batch = BatchHttpRequest(callback=collect, batch_uri=real.url + "batch/gmail/v1")
    for n, message_id in enumerate(ids):
        batch.add(gmail.messages().get(userId="me", id=message_id), request_id=str(n))
    batch.execute()
    return [statuses[str(n)] for n in range(len(ids))]


@pytest.mark.slow
def test_the_concurrency_limit_counts_batch_parts(
    real: SandboxServer, gmail: Any, ctl: SandboxControl
) -> None:
    (one,) = [ctl.deliver(make_mail(message_id="<c@x>"))["id"]]
    limit = REALISTIC.concurrent_requests or 0
    assert _batch_of_gets(real, gmail, [one] * limit) == [200] * limit
    statuses = _batch_of_gets(real, gmail, [one] * 100)
    assert statuses == [200] * limit + [429] * (100 - limit)
    assert ctl.stats()["rate_limited"] == 100 - limit


@pytest.mark.slow
def test_a_request_beside_a_full_batch_answers_429(
    real: SandboxServer, gmail: Any, ctl: SandboxControl
) -> None:
    """A request that arrives while a batch holds every place answers 429 too."""
    ctl.set_realism("realistic", concurrent_requests=1)
    one = ctl.deliver(make_mail(message_id="<c@x>"))["id"]
    ctl.add_faults({"method": "messages.get", "count": 1, "hang": 1.0, "status": 503})
    results: list[int] = []

    def slow() -> None:
        results.append(_batch_of_gets(real, gmail, [one])[0])

    worker = threading.Thread(target=slow)
    worker.start()
    while not ctl.stats()["by_method"].get("messages.get"):
        time.sleep(0.01)
    other = build(
        "gmail",
        "v1",
        static_discovery=True,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": real.url},
    )
    assert _status(other.users().getProfile(userId="me"))[0] == 429
    worker.join()
    assert results == [503]


# -------------------------------------------------------------- Authentication-Results
SENDER = "dana@northwind.example"


@pytest.mark.parametrize(
    ("case", "verdict"),
    [
        ("dmarc-pass", True),
        ("dmarc-fail", False),
        ("no-dmarc", True),
        ("gappssmtp", True),
        ("gappssmtp-no-spf", False),
        ("list", False),
        ("forwarded", True),
        ("internal", None),
        ("internal-signed", True),
    ],
)
def test_authentication_results_as_gmail_writes_them(
    ctl: SandboxControl, case: str, verdict: bool | None
) -> None:
    """Each case as Gmail stamps it, and what introbot's reader makes of it today."""
    raw = make_mail(sender=f"Dana <{SENDER}>", message_id=f"<{case}@northwind.example>")
    delivered = ctl.deliver(raw, auth=case)
    stored = ctl.raw(delivered["id"])
    top = message_from_bytes(stored, policy=policy.compat32)
    if case == "internal":
        assert top["Authentication-Results"] is None
    else:
        assert (top.get_all("Authentication-Results") or [""])[0].startswith("mx.google.com; ")
    if case == "gappssmtp":
        assert "northwind-example.20230601.gappssmtp.com" in top["Authentication-Results"]
    if case in ("list", "forwarded"):
        assert "arc=pass" in top["Authentication-Results"]
        assert top["ARC-Authentication-Results"].startswith("i=2; mx.google.com; ")
    assert check_sender(read_mail(stored)).authenticated is verdict
    assert case in ctl._json("GET", "/auth-cases")


def test_an_unknown_auth_case_is_refused(ctl: SandboxControl) -> None:
    with pytest.raises(ControlError) as info:
        ctl.deliver(make_mail(), auth="trust-me")
    assert info.value.status == 400 and "dmarc-pass" in info.value.body


def test_odd_charsets_are_stored_as_they_come(gmail: Any, ctl: SandboxControl) -> None:
    raw = (
        b"From: =?x-unknown?B?RGFuYQ==?= <dana@northwind.example>\r\n"
        b"To: connector@example.com\r\n"
        b"Subject: =?utf-7?Q?+AMk-t+AOk-?= =?iso-2022-jp?B?GyRCJEYbKEI=?= =?bogus?Q?x?=\r\n"
        b"Message-ID: <odd@northwind.example>\r\n"
        b"Content-Type: text/plain; charset=unknown-8bit\r\n\r\n"
        b"caf\xe9 \xff\r\n"
    )
    delivered = ctl.deliver(raw)
    assert ctl.raw(delivered["id"]) == raw
    got = gmail.messages().get(userId="me", id=delivered["id"]).execute()
    assert got["payload"]["mimeType"] == "text/plain"
    assert any(h["name"] == "Subject" for h in got["payload"]["headers"])
