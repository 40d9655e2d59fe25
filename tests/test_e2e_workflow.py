"""The intro workflow end to end: the sandbox Gmail over real HTTP, the real client,
introbot's engine on a fresh database, on both engines (an SQLite file; a mailbox in
PostgreSQL). Every poll checks the invariants (no send call, no address before consent:
see ``World.check_invariants``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from introbot.engine import Applied
from introbot.model import Cancel, Consent, DraftKind, DraftState, Role, Stage
from introbot.store import StoreLocation
from tests.world import ALEX, DANA, REQUEST, World, make_world

MARCUS = "Marcus Chen <marcus@chenlabs.io>"


@pytest.fixture
def world(tmp_path: Path, location: StoreLocation) -> Iterator[World]:
    """The world of tests/conftest.py, its store on each engine in turn."""
    yield from make_world(tmp_path, location=location)


@pytest.fixture
def requester_first(tmp_path: Path, location: StoreLocation) -> Iterator[World]:
    yield from make_world(tmp_path, location=location, workflow={"order": "requester_first"})


# ------------------------------------------------------------------ happy paths
def test_happy_path_in_parallel(world: World) -> None:
    request = world.request(REQUEST)
    world.poll()
    assert world.only_intro().stage is Stage.ASKING
    requester_draft = world.draft_to("alex.kim@tidepool.io")
    contact_draft = world.draft_to("dana@northwind.example")
    # The requester is answered in their own thread; the contact gets a new, private one.
    assert requester_draft["threadId"] == request["threadId"]
    assert requester_draft["subject"] == "Re: Could you introduce me to Dana Whitfield?"
    assert contact_draft["threadId"] != request["threadId"]
    assert "Alex Kim" in contact_draft["subject"] and "alex.kim" not in contact_draft["text"]
    assert "introbot/awaiting-consent" in world.thread_labels(request["threadId"])

    world.send_drafts()
    world.poll()
    assert {p.consent for p in (world.only_intro().requester, world.only_intro().contact)} == {
        Consent.ASKED
    }
    world.reply(ALEX, "Yes please! We'd love a 20-minute call about the pilot.")
    world.reply(
        DANA,
        "Yes, happy to. Email is best.\n\nMy assistant Jamie (jamie@northwind.example) keeps my calendar.",
    )
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.READY
    assert "introbot/ready" in world.thread_labels(request["threadId"])
    joint = world.draft_to("alex.kim@tidepool.io")
    assert joint["subject"] == "Intro: Alex Kim <> Dana Whitfield"
    assert "dana@northwind.example" in joint["to"] and "alex.kim@tidepool.io" in joint["to"]
    assert joint["cc"] == "jamie@northwind.example"  # the assistant she named, for scheduling
    assert "Email is best." in joint["text"] and "20-minute call" in joint["text"]

    world.send_drafts()
    world.poll()
    assert world.only_intro().stage is Stage.INTRODUCED
    labels = world.thread_labels(request["threadId"])
    assert "introbot/introduced" in labels and "introbot/ready" not in labels


def test_happy_path_requester_first(requester_first: World) -> None:
    world = requester_first
    world.request(REQUEST)
    world.poll()
    assert [d["to"] for d in world.drafts()] == ["Alex Kim <alex.kim@tidepool.io>"]
    assert world.only_intro().contact.consent is Consent.NOT_ASKED
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Yes! I'm Alex, co-founder of Tidepool; we'd like Dana's view on our pilot.")
    world.poll()
    contact_draft = world.draft_to("dana@northwind.example")
    assert "we'd like Dana's view on our pilot" in contact_draft["text"]  # the blurb, quoted
    world.send_drafts()
    world.poll()
    world.reply(DANA, "Sure, go ahead.")
    world.poll()
    assert world.only_intro().stage is Stage.READY
    world.send_drafts()
    world.poll()
    assert world.only_intro().stage is Stage.INTRODUCED


# --------------------------------------------------------------------- declines
def test_contact_declines_gently(world: World) -> None:
    request = world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "No thanks - my plate is full through Q2, and we use another vendor.")
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.DECLINED
    note = world.draft_to("alex.kim@tidepool.io")
    assert note["threadId"] == request["threadId"]
    assert "isn't a fit right now" in note["text"]
    assert "plate" not in note["text"] and "vendor" not in note["text"]  # never her words
    assert "introbot/declined" in world.thread_labels(request["threadId"])


def test_requester_withdraws_and_the_contact_is_thanked(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Actually, no thanks - we found another way in.")
    world.poll()
    assert world.only_intro().stage is Stage.DECLINED
    (note,) = world.drafts()
    assert "dana@northwind.example" in note["to"]
    assert "nothing you need to do" in note["text"]


def test_requester_withdraws_before_the_contact_was_asked(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    world.send_drafts(to="alex.kim@tidepool.io")  # the contact's draft is still unsent
    world.poll()
    world.reply(ALEX, "No, please don't.")
    world.poll()
    assert world.only_intro().stage is Stage.DECLINED
    assert world.drafts() == []  # the contact's draft is withdrawn, and no note to them


# ---------------------------------------------------------------- the connector
def test_a_discarded_consent_draft_cancels_the_intro(world: World) -> None:
    request = world.request(REQUEST)
    world.poll()
    world.control.discard_draft(world.draft_to("dana@northwind.example")["id"])
    world.poll()
    # Gone with no sent copy: pending (Undo send, Schedule send), not yet discarded...
    intro = world.only_intro()
    assert intro.stage is Stage.ASKING
    assert [d.state for d in intro.drafts_of(DraftKind.CONSENT, Role.CONTACT)] == [
        DraftState.PENDING
    ]
    world.poll(after=timedelta(days=2, hours=23))
    assert world.only_intro().stage is Stage.ASKING
    world.poll(after=timedelta(hours=1))  # ...until the grace period (3 days) is over
    intro = world.only_intro()
    assert intro.stage is Stage.CANCELLED
    assert world.drafts() == []  # the requester's draft went too
    assert "introbot/cancelled" in world.thread_labels(request["threadId"])


def test_removing_the_request_label_cancels(world: World) -> None:
    request = world.asked()
    world.control.label_thread(request["threadId"], remove=("intro-request",))
    world.poll()
    assert world.only_intro().stage is Stage.CANCELLED


def test_an_edited_draft_is_still_followed(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    draft = world.draft_to("dana@northwind.example")
    raw = world.control.raw(draft["messageId"]).replace(b"Hi Dana,", b"Dear Dana,")
    import base64

    world.gmail.drafts().update(  # the connector edits it in Gmail
        userId="me",
        id=draft["id"],
        body={"message": {"raw": base64.urlsafe_b64encode(raw).decode()}},
    ).execute()
    world.poll()
    world.send_drafts()
    world.poll()
    assert world.only_intro().contact.consent is Consent.ASKED


# -------------------------------------------------------------- unclear replies
def test_unclear_reply_resolved_by_label(world: World) -> None:
    request = world.asked()
    world.reply(ALEX, "Yes please.")
    reply = world.reply(DANA, "Maybe - what does Tidepool actually do?")
    world.poll()
    intro = world.only_intro()
    assert intro.contact.consent is Consent.UNCLEAR
    assert intro.attention and "maybe" in intro.attention
    assert "introbot/needs-attention" in world.thread_labels(request["threadId"])
    assert "introbot/needs-attention" in world.thread_labels(reply["threadId"])
    world.control.label_thread(reply["threadId"], add=("introbot/yes",))
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.READY
    assert intro.contact.evidence == "decided by you (label)"
    assert "introbot/needs-attention" not in world.thread_labels(request["threadId"])


@pytest.mark.slow
def test_unclear_reply_resolved_on_the_command_line(world: World, tmp_path: Path) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Possibly. Let me check with my team.")
    world.poll()
    intro_id = world.only_intro().id
    options, environ = world.store_options()
    done = subprocess.run(
        [sys.executable, "-m", "introbot", "decide", intro_id[:4], "contact", "no",
         "--sandbox", world.server.url, *options, "--name", "Sam Rivera"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **environ},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"intro {intro_id}: declined" in done.stdout
    world.store.close()
    world.store = world.open_store()
    world.engine.store = world.store
    assert world.only_intro().stage is Stage.DECLINED
    assert "isn't a fit right now" in world.draft_to("alex.kim@tidepool.io")["text"]


def test_an_auto_reply_is_ignored(world: World) -> None:
    world.asked()
    world.reply(
        DANA,
        "I'm out of office until Monday. Yes, I'll reply then.",
        extra={"Auto-Submitted": "auto-replied"},
    )
    world.poll()
    intro = world.only_intro()
    assert intro.contact.consent is Consent.ASKED
    assert intro.attention is None
    assert any("auto-reply" in line.detail for line in world.store.timeline(intro.id))


def test_a_bounce_needs_attention(world: World) -> None:
    world.asked()
    sent = world.sent_to("dana@northwind.example")
    dsn = (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        "To: connector@example.com\r\nSubject: Delivery Status Notification (Failure)\r\n"
        f"In-Reply-To: {sent['headers']['Message-ID']}\r\nReferences: {sent['headers']['Message-ID']}\r\n"
        "Message-ID: <dsn-1@mx.google.com>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message wasn't delivered to dana@northwind.example.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; googlemail.com\r\n\r\n"
        "Final-Recipient: rfc822; dana@northwind.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
    world.control.deliver(dsn.encode())
    world.poll()
    intro = world.only_intro()
    assert intro.contact.consent is Consent.UNCLEAR
    assert intro.attention and "bounced (dana@northwind.example)" in intro.attention


def test_a_forged_yes_is_refused(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, absolutely!", auth="fail")
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.ASKING
    assert intro.contact.consent is Consent.UNCLEAR
    assert not world.store.intros(stage=Stage.READY)


def test_a_reply_from_another_address_needs_attention(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    dana_thread = world.sent_to("dana@northwind.example")
    world.reply("Jamie Fox <jamie@northwind.example>", "Dana says yes!", to_message=dana_thread)
    world.poll()
    intro = world.only_intro()
    assert intro.contact.consent is Consent.UNCLEAR
    assert intro.attention and "another address (jamie@northwind.example)" in intro.attention


def test_an_edited_subject_is_matched_by_references(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    reply = world.reply(DANA, "Yes, happy to.", subject="Alex / Tidepool - sure")
    assert reply["threadId"] != world.sent_to("dana@northwind.example")["threadId"]
    world.poll()
    assert world.only_intro().stage is Stage.READY


# ----------------------------------------------------------- reminders, expiry
def test_a_reminder_then_expiry(world: World) -> None:
    request = world.asked()
    world.reply(ALEX, "Yes please.")
    world.poll()
    world.poll(after=timedelta(days=3))
    assert world.drafts() == []  # not yet
    world.poll(after=timedelta(days=2))
    reminder = world.draft_to("dana@northwind.example")
    assert reminder["threadId"] == world.sent_to("dana@northwind.example")["threadId"]
    assert "bumping" in reminder["text"]
    world.poll(after=timedelta(days=1))
    assert len(world.drafts()) == 1  # once
    world.send_drafts()
    world.poll(after=timedelta(days=16))
    intro = world.only_intro()
    assert intro.stage is Stage.EXPIRED
    note = world.draft_to("alex.kim@tidepool.io")
    assert "haven't been able to get a reply" in note["text"]
    assert "introbot/expired" in world.thread_labels(request["threadId"])


# ------------------------------------------------------------------ requests
def test_several_messages_labeled_at_once_yield_one_intro(world: World) -> None:
    first = world.request(REQUEST, label=False)
    original = world.control.mailbox()["messages"][0]["headers"]
    import email.message

    follow_up = email.message.EmailMessage()
    follow_up["From"] = ALEX
    follow_up["To"] = "connector@example.com"
    follow_up["Subject"] = "Re: Could you introduce me to Dana Whitfield?"
    follow_up["Message-ID"] = "<follow-up@tidepool.io>"
    follow_up["In-Reply-To"] = original["Message-ID"]
    follow_up["References"] = original["Message-ID"]
    follow_up.set_content("PS: our pilot deck is ready whenever Dana wants it.")
    second = world.control.deliver(follow_up.as_bytes())
    assert second["threadId"] == first["threadId"]
    world.control.label_thread(first["threadId"], add=("intro-request",))
    world.poll()
    assert len(world.intros()) == 1
    assert len(world.drafts()) == 2


def test_a_request_with_two_contacts_yields_two_intros(world: World) -> None:
    world.request(
        "Hi Sam, would you introduce me to Dana Whitfield (dana@northwind.example) and "
        "Marcus Chen (marcus@chenlabs.io)? Both would be great pilot partners.\n\nAlex",
        subject="Two intros?",
    )
    world.poll()
    contacts = sorted(i.contact.person.email for i in world.intros())
    assert contacts == ["dana@northwind.example", "marcus@chenlabs.io"]
    assert len(world.drafts()) == 3  # one consent draft to Alex about both (issue 11)


def test_an_unusable_request_gets_a_note_to_the_connector_and_retries(world: World) -> None:
    request = world.request(
        "Hi Sam, could you introduce me to Dana at Northwind?\n\nAlex", subject="Intro?"
    )
    world.poll()
    assert world.intros() == []
    (note,) = world.drafts()
    assert note["to"] == "Sam Rivera <connector@example.com>"
    assert "no email address" in note["text"]
    assert "introbot/needs-attention" in world.thread_labels(request["threadId"])
    # The connector writes a note with the address and labels the thread again.
    world.control.label_thread(request["threadId"], remove=("intro-request",))
    world.poll()
    import email.message

    fix = email.message.EmailMessage()
    fix["From"] = "Sam Rivera <connector@example.com>"
    fix["To"] = "connector@example.com"
    fix["Subject"] = "Re: Intro?"
    fix["Message-ID"] = "<fix@example.com>"
    fix["In-Reply-To"] = world.control.mailbox()["messages"][0]["headers"]["Message-ID"]
    fix.set_content("Alex Kim <alex.kim@tidepool.io> -> Dana Whitfield <dana@northwind.example>")
    world.control.deliver(fix.as_bytes(), labels=("SENT",))
    world.control.label_thread(request["threadId"], add=("intro-request",))
    world.poll()
    assert len(world.intros()) == 1


# --------------------------------------------------------------- idempotence
def test_polling_again_and_again_creates_nothing_twice(world: World) -> None:
    world.request(REQUEST)
    for _ in range(3):
        world.poll()
    assert len(world.drafts()) == 2
    world.send_drafts()
    for _ in range(3):
        world.poll()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    for _ in range(3):
        world.poll()
    assert len(world.drafts()) == 1
    intro = world.only_intro()
    assert [d.kind for d in intro.drafts if d.state is not DraftState.WITHDRAWN] == [
        DraftKind.CONSENT,
        DraftKind.CONSENT,
        DraftKind.JOINT,
    ]
    # A fresh engine on the same database (a restart) changes nothing either.
    from introbot.engine import Engine
    from introbot.rules import load_rules

    world.engine = Engine(world.client, world.store, world.settings, load_rules())
    world.poll()
    assert len(world.drafts()) == 1


def test_an_idle_poll_is_one_cheap_request(world: World) -> None:
    world.asked()
    world.control.reset_stats()
    world.poll()
    stats = world.control.stats()
    assert (stats["requests"], stats["quota_units"]) == (1, 2)


def test_a_later_message_in_a_done_thread_starts_nothing(world: World) -> None:
    request = world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    world.send_drafts()
    world.poll()
    assert world.only_intro().stage is Stage.INTRODUCED
    box = world.control.mailbox()["messages"]
    ours = [m for m in box if "SENT" in m["labelIds"] and m["threadId"] == request["threadId"]]
    from introbot.sandbox.control import compose_reply

    raw = compose_reply(ours[-1], ALEX, "Thanks Sam, we're talking now!", at=world.now)
    arrived = world.control.deliver(raw, labels=("INBOX", "intro-request"))  # inherits the label
    assert arrived["threadId"] == request["threadId"]
    world.poll()
    world.control.label_thread(request["threadId"], add=("intro-request",))  # and even re-labeled
    world.poll()
    assert len(world.intros()) == 1
    assert world.drafts() == []


def test_a_reply_within_the_poll_that_sees_the_send(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    world.send_drafts()
    world.reply(ALEX, "Yes please.")  # both before introbot polls again
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    assert world.only_intro().stage is Stage.READY


def test_an_address_that_cannot_be_written_needs_attention(world: World) -> None:
    request = world.request(
        "Hi Sam, could you introduce me to Jürgen Weiß (jürgen@kuehlwerk.de)?\n\nAlex",
        subject="Intro to Jürgen",
    )
    world.poll()
    intro = world.only_intro()
    assert intro.attention and "could not write the consent draft" in intro.attention
    assert "introbot/needs-attention" in world.thread_labels(request["threadId"])
    assert [d["to"] for d in world.drafts()] == ["Alex Kim <alex.kim@tidepool.io>"]


def test_the_engine_says_why_the_workflow_refused_an_observation(world: World) -> None:
    """`decide` and `cancel` learn a refusal from the engine itself, not from the audit."""
    world.asked()
    intro = world.only_intro()
    first = world.engine.apply(intro.id, Cancel("for the test"), world.now, "test")
    assert first.rejected is None
    assert first.intro is not None and first.intro.stage is Stage.CANCELLED
    again = world.engine.apply(intro.id, Cancel("once more"), world.now, "test")
    assert again.rejected is not None and "already cancelled" in again.rejected
    assert again.intro == world.store.load(intro.id) == first.intro
    assert world.engine.apply("no-such-intro", Cancel("x"), world.now, "test") == Applied(None)


def test_a_yes_gmail_did_not_vouch_for_is_not_counted(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, absolutely!", auth=None)  # no Authentication-Results at all
    world.poll()
    intro = world.only_intro()
    assert intro.contact.consent is Consent.UNCLEAR
    assert intro.attention and "did not authenticate" in intro.attention
