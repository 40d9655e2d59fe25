"""The sandbox's Gmail REST surface, driven by the real googleapiclient over HTTP."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from introbot.sandbox.control import SandboxControl
from tests.mail import b64, deliver_many, make_draft, make_mail, unb64


def _status(call: Any) -> int:
    with pytest.raises(HttpError) as info:
        call.execute()
    return int(info.value.status_code)


# ------------------------------------------------------------------ profile and labels
def test_profile_reports_address_counts_and_history_id(
    service: Any, control: SandboxControl
) -> None:
    before = service.users().getProfile(userId="me").execute()
    deliver_many(control, 2)
    after = service.users().getProfile(userId="connector@example.com").execute()
    assert after["emailAddress"] == "connector@example.com"
    assert (after["messagesTotal"], after["threadsTotal"]) == (2, 2)
    assert int(after["historyId"]) > int(before["historyId"])
    assert isinstance(after["historyId"], str)


def test_another_users_mailbox_is_refused(service: Any) -> None:
    assert _status(service.users().getProfile(userId="someone@else.example")) == 403


def test_system_labels_exist_and_user_labels_get_label_ids(service: Any) -> None:
    labels = service.users().labels()
    names = {lab["id"]: lab for lab in labels.list(userId="me").execute()["labels"]}
    for system in ("INBOX", "SENT", "DRAFT", "UNREAD", "SPAM", "TRASH"):
        assert names[system]["type"] == "system"
    first = labels.create(userId="me", body={"name": "intro-request"}).execute()
    second = labels.create(userId="me", body={"name": "introbot/needs-attention"}).execute()
    assert first["id"].startswith("Label_") and second["id"].startswith("Label_")
    assert first["id"] != second["id"]
    assert first["type"] == "user"
    got = labels.get(userId="me", id=first["id"]).execute()
    assert got["name"] == "intro-request"
    assert got["messagesTotal"] == 0


def test_label_names_must_be_new_and_not_reserved(service: Any) -> None:
    labels = service.users().labels()
    labels.create(userId="me", body={"name": "intro-request"}).execute()
    assert _status(labels.create(userId="me", body={"name": "Intro-Request"})) == 409
    assert _status(labels.create(userId="me", body={"name": "Inbox"})) == 400
    assert _status(labels.create(userId="me", body={"name": "  "})) == 400
    assert _status(labels.get(userId="me", id="Label_999")) == 404


def test_label_rename_and_delete_reach_the_messages(service: Any, control: SandboxControl) -> None:
    (msg,) = deliver_many(control, 1)
    label = service.users().labels().create(userId="me", body={"name": "old"}).execute()
    service.users().messages().modify(
        userId="me", id=msg["id"], body={"addLabelIds": [label["id"]]}
    ).execute()
    service.users().labels().patch(userId="me", id=label["id"], body={"name": "new"}).execute()
    assert control.mailbox()["messages"][0]["labelIds"] == ["INBOX", "UNREAD", "new"]
    service.users().labels().delete(userId="me", id=label["id"]).execute()
    got = service.users().messages().get(userId="me", id=msg["id"], format="minimal").execute()
    assert label["id"] not in got["labelIds"]


# ------------------------------------------------------------------------- messages
def test_messages_list_filters_by_label_and_query(service: Any, control: SandboxControl) -> None:
    alex = control.deliver(make_mail(message_id="<a@x>", subject="Meet Dana?"))
    dana = control.deliver(
        make_mail(sender="Dana <dana@northwind.example>", message_id="<d@x>", subject="Lunch")
    )
    control.label_thread(alex["threadId"], add=("intro-request",))
    msgs = service.users().messages()

    def ids(**kw: Any) -> list[str]:
        return [m["id"] for m in msgs.list(userId="me", **kw).execute().get("messages", [])]

    label_id = next(
        lab["id"]
        for lab in service.users().labels().list(userId="me").execute()["labels"]
        if lab["name"] == "intro-request"
    )
    assert ids(labelIds=[label_id]) == [alex["id"]]
    assert ids(q="label:intro-request") == [alex["id"]]
    assert ids(q="label:Intro-Request in:inbox") == [alex["id"]]
    assert ids(q="from:northwind.example") == [dana["id"]]
    assert ids(q="-from:northwind.example") == [alex["id"]]
    assert ids(q="rfc822msgid:<d@x>") == [dana["id"]]
    assert ids(q="rfc822msgid:d@x") == [dana["id"]]
    assert ids(q='subject:"meet dana"') == [alex["id"]]
    assert ids(q="from:dana OR label:intro-request") == [dana["id"], alex["id"]]
    assert ids(q="in:sent") == []
    assert ids() == [dana["id"], alex["id"]]  # newest first


def test_messages_list_pages(service: Any, control: SandboxControl) -> None:
    delivered = deliver_many(control, 7)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = service.users().messages().list(userId="me", maxResults=3, pageToken=token).execute()
        pages += 1
        seen += [m["id"] for m in page["messages"]]
        assert page["resultSizeEstimate"] == 7
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3
    assert seen == [m["id"] for m in reversed(delivered)]


def test_spam_and_trash_are_hidden_unless_asked(service: Any, control: SandboxControl) -> None:
    (kept, binned) = deliver_many(control, 2)
    service.users().messages().trash(userId="me", id=binned["id"]).execute()
    msgs = service.users().messages()
    assert [m["id"] for m in msgs.list(userId="me").execute()["messages"]] == [kept["id"]]
    assert len(msgs.list(userId="me", includeSpamTrash=True).execute()["messages"]) == 2
    assert [m["id"] for m in msgs.list(userId="me", q="in:trash").execute()["messages"]] == [
        binned["id"]
    ]
    service.users().messages().untrash(userId="me", id=binned["id"]).execute()
    assert len(msgs.list(userId="me").execute()["messages"]) == 2


def test_message_formats(service: Any, control: SandboxControl) -> None:
    raw = make_mail(
        subject="=?utf-8?q?Caf=C3=A9_intro?=",
        body="plain text part\n",
        html="<p>html part</p>",
        attachment=b"%PDF-1.4 fake",
    )
    (msg,) = [control.deliver(raw)]
    get = service.users().messages().get

    minimal = get(userId="me", id=msg["id"], format="minimal").execute()
    assert "payload" not in minimal and "raw" not in minimal
    assert minimal["labelIds"] == ["INBOX", "UNREAD"]
    assert minimal["snippet"].startswith("plain text part")
    assert minimal["sizeEstimate"] == len(raw)

    assert unb64(get(userId="me", id=msg["id"], format="raw").execute()["raw"]) == raw

    meta = get(userId="me", id=msg["id"], format="metadata", metadataHeaders=["subject", "From"])
    headers = meta.execute()["payload"]["headers"]
    assert {h["name"] for h in headers} == {"Subject", "From"}
    assert next(h["value"] for h in headers if h["name"] == "Subject") == "Café intro"

    full = get(userId="me", id=msg["id"]).execute()["payload"]
    assert full["mimeType"] == "multipart/mixed"
    alternative, attachment = full["parts"]
    assert [p["partId"] for p in alternative["parts"]] == ["0.0", "0.1"]
    assert unb64(alternative["parts"][0]["body"]["data"]) == b"plain text part\n"
    assert attachment["filename"] == "deck.pdf"
    assert "attachmentId" in attachment["body"]
    data = (
        service.users()
        .messages()
        .attachments()
        .get(userId="me", messageId=msg["id"], id=attachment["body"]["attachmentId"])
        .execute()
    )
    assert unb64(data["data"]) == b"%PDF-1.4 fake"
    assert _status(get(userId="me", id="0000000000000000")) == 404


def test_modify_and_batch_modify(service: Any, control: SandboxControl) -> None:
    a, b = deliver_many(control, 2)
    msgs = service.users().messages()
    out = msgs.modify(userId="me", id=a["id"], body={"removeLabelIds": ["UNREAD"]}).execute()
    assert out["labelIds"] == ["INBOX"]
    label = service.users().labels().create(userId="me", body={"name": "x"}).execute()
    msgs.batchModify(
        userId="me", body={"ids": [a["id"], b["id"]], "addLabelIds": [label["id"]]}
    ).execute()
    both = msgs.list(userId="me", labelIds=[label["id"]]).execute()["messages"]
    assert len(both) == 2
    assert _status(msgs.modify(userId="me", id=a["id"], body={"addLabelIds": ["Label_404"]})) == 400
    assert _status(msgs.modify(userId="me", id=a["id"], body={"addLabelIds": ["DRAFT"]})) == 400


def test_insert_threads_like_delivery(service: Any) -> None:
    msgs = service.users().messages()
    first = msgs.insert(
        userId="me", body={"raw": b64(make_mail(message_id="<one@x>")), "labelIds": ["INBOX"]}
    ).execute()
    reply = make_mail(
        subject="Re: Could you introduce me to Dana?",
        message_id="<two@x>",
        in_reply_to="<one@x>",
        references="<one@x>",
    )
    second = msgs.insert(userId="me", body={"raw": b64(reply), "labelIds": ["INBOX"]}).execute()
    assert second["threadId"] == first["threadId"] == first["id"]


# -------------------------------------------------------------------------- threading
def test_delivery_threads_by_references_and_subject(control: SandboxControl) -> None:
    original = control.deliver(make_mail(message_id="<orig@x>", subject="Intro: Alex <> Dana"))
    by_references = control.deliver(
        make_mail(
            message_id="<r1@x>",
            subject="RE: Intro: Alex <> Dana",
            references="<unknown@x> <orig@x>",
        )
    )
    german = control.deliver(
        make_mail(message_id="<r2@x>", subject="AW: Intro: Alex <> Dana", in_reply_to="<r1@x>")
    )
    other_subject = control.deliver(
        make_mail(message_id="<r3@x>", subject="Something else", in_reply_to="<orig@x>")
    )
    no_headers = control.deliver(make_mail(message_id="<r4@x>", subject="Re: Intro: Alex <> Dana"))
    assert by_references["threadId"] == original["threadId"]
    assert german["threadId"] == original["threadId"]
    assert other_subject["threadId"] != original["threadId"]
    assert no_headers["threadId"] != original["threadId"]


def test_reply_draft_joins_thread_only_with_headers_and_subject(
    service: Any, control: SandboxControl
) -> None:
    request = control.deliver(make_mail(message_id="<req@x>", subject="Meet Dana?"))
    drafts = service.users().drafts()

    def draft_thread(raw: bytes) -> str:
        body = {"message": {"raw": b64(raw), "threadId": request["threadId"]}}
        return str(drafts.create(userId="me", body=body).execute()["message"]["threadId"])

    good = make_mail(
        sender="connector@example.com",
        to="alex.kim@tidepool.io",
        subject="Re: Meet Dana?",
        message_id="<d1@x>",
        in_reply_to="<req@x>",
        references="<req@x>",
    )
    no_refs = make_mail(subject="Re: Meet Dana?", message_id="<d2@x>")
    wrong_subject = make_mail(subject="Re: other", message_id="<d3@x>", references="<req@x>")
    assert draft_thread(good) == request["threadId"]
    assert draft_thread(no_refs) != request["threadId"]
    assert draft_thread(wrong_subject) != request["threadId"]
    body = {"message": {"raw": b64(good), "threadId": "ffffffffffffffff"}}
    assert _status(drafts.create(userId="me", body=body)) == 404


# ---------------------------------------------------------------------------- threads
def test_threads_list_get_modify(service: Any, control: SandboxControl) -> None:
    first = control.deliver(make_mail(message_id="<t1@x>", subject="Plan"))
    control.deliver(make_mail(message_id="<t2@x>", subject="Re: Plan", in_reply_to="<t1@x>"))
    lone = control.deliver(make_mail(message_id="<t3@x>", subject="Alone"))
    threads = service.users().threads()
    listed = threads.list(userId="me").execute()
    assert [t["id"] for t in listed["threads"]] == [lone["threadId"], first["threadId"]]
    assert all("snippet" in t and "historyId" in t for t in listed["threads"])
    got = threads.get(userId="me", id=first["threadId"], format="minimal").execute()
    assert len(got["messages"]) == 2
    label = service.users().labels().create(userId="me", body={"name": "intro-request"}).execute()
    threads.modify(userId="me", id=first["threadId"], body={"addLabelIds": [label["id"]]}).execute()
    tagged = threads.list(userId="me", labelIds=[label["id"]]).execute()["threads"]
    assert [t["id"] for t in tagged] == [first["threadId"]]
    both = service.users().messages().list(userId="me", labelIds=[label["id"]]).execute()
    assert len(both["messages"]) == 2  # a thread label lands on every message
    meta = threads.get(
        userId="me", id=first["threadId"], format="metadata", metadataHeaders=["Subject"]
    )
    assert [m["payload"]["headers"][0]["value"] for m in meta.execute()["messages"]] == [
        "Plan",
        "Re: Plan",
    ]
    assert _status(threads.get(userId="me", id="ffffffffffffffff")) == 404


def test_thread_trash_and_delete(service: Any, control: SandboxControl) -> None:
    (msg,) = deliver_many(control, 1)
    threads = service.users().threads()
    threads.trash(userId="me", id=msg["threadId"]).execute()
    assert "threads" not in threads.list(userId="me").execute()
    threads.untrash(userId="me", id=msg["threadId"]).execute()
    threads.delete(userId="me", id=msg["threadId"]).execute()
    assert _status(threads.get(userId="me", id=msg["threadId"])) == 404


# ----------------------------------------------------------------------------- drafts
def test_draft_lifecycle_keeps_id_and_changes_message_id(service: Any) -> None:
    drafts = service.users().drafts()
    created = drafts.create(userId="me", body={"message": {"raw": b64(make_draft(1))}}).execute()
    draft_id = created["id"]
    assert draft_id.startswith("r")
    assert created["message"]["labelIds"] == ["DRAFT"]
    updated = drafts.update(
        userId="me",
        id=draft_id,
        body={"message": {"raw": b64(make_draft(2)), "threadId": created["message"]["threadId"]}},
    ).execute()
    assert updated["id"] == draft_id
    assert updated["message"]["id"] != created["message"]["id"]
    assert updated["message"]["threadId"] == created["message"]["threadId"]
    full = drafts.get(userId="me", id=draft_id, format="raw").execute()
    assert unb64(full["message"]["raw"]) == make_draft(2)
    listed = drafts.list(userId="me").execute()["drafts"]
    assert listed == [
        {
            "id": draft_id,
            "message": {"id": updated["message"]["id"], "threadId": updated["message"]["threadId"]},
        }
    ]
    found = drafts.list(userId="me", q="rfc822msgid:draft-2@introbot.local").execute()
    assert [d["id"] for d in found["drafts"]] == [draft_id]
    assert (
        "drafts" not in drafts.list(userId="me", q="rfc822msgid:draft-1@introbot.local").execute()
    )
    assert _status(service.users().messages().get(userId="me", id=created["message"]["id"])) == 404
    drafts.delete(userId="me", id=draft_id).execute()
    assert _status(drafts.get(userId="me", id=draft_id)) == 404
    assert _status(drafts.delete(userId="me", id=draft_id)) == 404


def test_drafts_send_through_the_api_is_counted(service: Any, control: SandboxControl) -> None:
    drafts = service.users().drafts()
    raw = make_draft(message_id=None)
    created = drafts.create(userId="me", body={"message": {"raw": b64(raw)}}).execute()
    sent = drafts.send(userId="me", body={"id": created["id"]}).execute()
    assert sent["labelIds"] == ["SENT"]
    assert sent["threadId"] == created["message"]["threadId"]
    assert control.stats()["by_method"]["drafts.send"] == 1
    headers = control.mailbox()["messages"][0]["headers"]
    assert headers["Message-ID"].endswith("@mail.gmail.com>")


# ---------------------------------------------------------------------------- history
def test_history_records_every_kind_in_order_with_gaps(
    service: Any, control: SandboxControl
) -> None:
    start = int(service.users().getProfile(userId="me").execute()["historyId"])
    (msg,) = deliver_many(control, 1)
    service.users().messages().modify(
        userId="me", id=msg["id"], body={"removeLabelIds": ["UNREAD"]}
    ).execute()
    control.label_thread(msg["threadId"], add=("intro-request",))
    draft = (
        service.users()
        .drafts()
        .create(userId="me", body={"message": {"raw": b64(make_draft())}})
        .execute()
    )
    control.discard_draft(draft["id"])

    answer = service.users().history().list(userId="me", startHistoryId=str(start)).execute()
    records = answer["history"]
    kinds = [next(k for k in r if k not in ("id", "messages")) for r in records]
    assert kinds == [
        "messagesAdded",
        "labelsRemoved",
        "labelsAdded",
        "messagesAdded",
        "messagesDeleted",
    ]
    ids = [int(r["id"]) for r in records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert any(b - a > 1 for a, b in itertools.pairwise(ids))  # gaps, as in Gmail
    assert records[1]["labelsRemoved"][0]["labelIds"] == ["UNREAD"]
    assert records[3]["messagesAdded"][0]["message"]["labelIds"] == ["DRAFT"]
    assert int(answer["historyId"]) == ids[-1]

    # strictly after the start id
    later = service.users().history().list(userId="me", startHistoryId=str(ids[2])).execute()
    assert [int(r["id"]) for r in later["history"]] == ids[3:]


def test_history_filters_and_pages(service: Any, control: SandboxControl) -> None:
    start = service.users().getProfile(userId="me").execute()["historyId"]
    delivered = deliver_many(control, 5)
    control.label_thread(delivered[0]["threadId"], add=("intro-request",))
    history = service.users().history()
    added = history.list(userId="me", startHistoryId=start, historyTypes=["messageAdded"]).execute()
    assert len(added["history"]) == 5
    label_id = next(
        lab["id"]
        for lab in service.users().labels().list(userId="me").execute()["labels"]
        if lab["name"] == "intro-request"
    )
    only_label = history.list(userId="me", startHistoryId=start, labelId=label_id).execute()
    assert len(only_label["history"]) == 1
    assert only_label["history"][0]["labelsAdded"][0]["message"]["id"] == delivered[0]["id"]

    seen, token, pages = [], None, 0
    while True:
        page = history.list(
            userId="me", startHistoryId=start, maxResults=2, pageToken=token
        ).execute()
        pages += 1
        seen += page["history"]
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and len(seen) == 6


def test_expired_history_answers_404(service: Any, control: SandboxControl) -> None:
    start = service.users().getProfile(userId="me").execute()["historyId"]
    deliver_many(control, 2)
    control.expire_history()
    assert _status(service.users().history().list(userId="me", startHistoryId=start)) == 404
    fresh = service.users().getProfile(userId="me").execute()["historyId"]
    answer = service.users().history().list(userId="me", startHistoryId=fresh).execute()
    assert "history" not in answer and answer["historyId"] == fresh
    assert _status(service.users().history().list(userId="me", startHistoryId="12")) == 404


# ------------------------------------------------------------------------------ fields
def test_partial_responses_with_fields(service: Any, control: SandboxControl) -> None:
    deliver_many(control, 2)
    page = service.users().messages().list(userId="me", fields="messages(id)").execute()
    assert set(page) == {"messages"}
    assert all(set(m) == {"id"} for m in page["messages"])
    msg_id = page["messages"][0]["id"]
    meta = (
        service.users()
        .messages()
        .get(userId="me", id=msg_id, format="metadata", fields="id,payload/headers")
        .execute()
    )
    assert set(meta) == {"id", "payload"} and set(meta["payload"]) == {"headers"}
