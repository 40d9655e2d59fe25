"""Every message to the right intro (issue 11, "Found so far"): introbot against the sandbox,
the connector and the parties played through its control API (tests/world.py)."""

from __future__ import annotations

import base64
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from introbot.model import Consent, DraftKind, DraftState, Role, Stage
from tests.world import ALEX, CONNECTOR, DANA, REQUEST, World

DANA_ADDRESS = "dana@northwind.example"
ALEX_ADDRESS = "alex.kim@tidepool.io"
GRACE = timedelta(days=3, minutes=1)


def written_by_hand(
    world: World, to: str, subject: str, text: str, reply_to: dict[str, Any] | None = None
) -> dict[str, str]:
    """The connector writes a message in Gmail themselves (it lands in SENT)."""
    msg = EmailMessage()
    msg["From"] = f"Sam Rivera <{CONNECTOR}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(world.now)
    msg["Message-ID"] = make_msgid(domain="mail.gmail.com")
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to["headers"]["Message-ID"]
        msg["References"] = reply_to["headers"]["Message-ID"]
    msg.set_content(text)
    return world.control.deliver(msg.as_bytes(), labels=("SENT",))


def message(world: World, message_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        m for m in world.control.mailbox()["messages"] if m["id"] == message_id
    )
    return found


def consent(world: World, role: Role, intro_id: str | None = None) -> Any:
    intro = world.store.load(intro_id) if intro_id else world.only_intro()
    assert intro is not None
    (draft,) = intro.drafts_of(DraftKind.CONSENT, role)
    return draft


def test_after_a_full_resync_the_request_is_not_the_requester_s_reply(world: World) -> None:
    world.asked()
    world.reply(DANA, "Yes, happy to meet Alex.")
    world.control.expire_history()  # every message of the consent threads is read anew
    report = world.poll()
    assert report.full_sync
    intro = world.only_intro()
    assert intro.contact.consent is Consent.YES
    assert intro.requester.consent is Consent.ASKED  # Alex never answered
    assert intro.stage is Stage.ASKING
    assert not intro.drafts_of(DraftKind.JOINT)


def test_a_discarded_consent_draft_never_takes_a_later_mail_to_her(world: World) -> None:
    """Dana's consent draft is discarded; a lunch invitation to her and her "Yes, Tuesday
    works!" are not the consent message and its answer."""
    world.request(REQUEST)
    world.poll()
    world.send_drafts(to=ALEX_ADDRESS)
    world.control.discard_draft(world.draft_to(DANA_ADDRESS)["id"])
    world.poll()
    lunch = written_by_hand(world, DANA, "Lunch next week?", "Hi Dana, lunch on Tuesday? Sam")
    world.poll()
    world.reply(DANA, "Yes, Tuesday works!", to_message=message(world, lunch["id"]))
    world.poll()
    intro = world.only_intro()
    assert intro.contact.consent is Consent.DRAFTED  # never asked
    assert consent(world, Role.CONTACT).state is DraftState.PENDING
    world.poll(after=GRACE)
    intro = world.only_intro()
    assert intro.stage is Stage.CANCELLED  # the connector's discard is a veto
    assert consent(world, Role.CONTACT).state is DraftState.DISCARDED


def test_two_contacts_of_one_request_one_ask_one_answer_for_each(world: World) -> None:
    body = (
        "Hi Sam,\n\nCould you introduce me to Dana Whitfield (dana@northwind.example) and "
        "Bob Lee (bob@lee.example)? We build cold-chain sensors.\n\nThanks,\nAlex"
    )
    world.request(body)
    world.poll()
    first, second = world.intros()
    # One consent draft to Alex waits in the request thread, about both (issue 11: a
    # request thread holds at most one introbot draft); sending it asks Alex in each intro.
    bob = next(i for i in (first, second) if i.contact.person.email == "bob@lee.example")
    dana = first if bob is second else second
    (to_alex,) = [d for d in world.drafts() if ALEX_ADDRESS in (d["to"] or "")]
    world.control.send_draft(to_alex["id"])
    world.poll()
    assert consent(world, Role.REQUESTER, bob.id).state is DraftState.SENT
    assert consent(world, Role.REQUESTER, dana.id).state is DraftState.SENT
    world.reply(ALEX, "Happy to meet Dana; not Bob right now.")
    world.poll()
    dana_now, bob_now = world.store.load(dana.id), world.store.load(bob.id)
    assert dana_now is not None and bob_now is not None
    assert dana_now.requester.consent is Consent.YES  # the answer is read per contact
    assert bob_now.requester.consent is Consent.NO


def test_the_same_contact_in_two_intros_answers_one(world: World) -> None:
    world.request(REQUEST)
    world.request(
        "Hi Sam, could you introduce me to Dana Whitfield (dana@northwind.example)? Thanks, Chris",
        sender="Chris Park <chris@park.example>",
        subject="Intro to Dana?",
    )
    world.poll()
    world.send_drafts()
    world.poll()
    alex_intro = next(i for i in world.intros() if i.requester.person.email == ALEX_ADDRESS)
    chris_intro = next(i for i in world.intros() if i.requester.person.email != ALEX_ADDRESS)
    sent_for_alex = consent(world, Role.CONTACT, alex_intro.id)
    world.reply(DANA, "Yes, happy to.", to_message=message(world, sent_for_alex.sent_message_id))
    world.poll()
    alex_now, chris_now = (world.store.load(i.id) for i in (alex_intro, chris_intro))
    assert alex_now is not None and chris_now is not None
    assert alex_now.contact.consent is Consent.YES
    assert chris_now.contact.consent is Consent.ASKED


def test_a_no_after_both_said_yes_withdraws_the_joint_draft(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    assert world.only_intro().stage is Stage.READY
    assert any(DANA_ADDRESS in (d["to"] or "") for d in world.drafts())
    world.reply(DANA, "Sorry, on reflection no thanks, I cannot take this on.")
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.DECLINED
    assert all(d.state is not DraftState.CREATED for d in intro.drafts_of(DraftKind.JOINT))
    assert not [d for d in world.drafts() if DANA_ADDRESS in (d["to"] or "")]


def test_a_no_in_the_same_poll_as_both_yeses_withdraws_the_joint_draft(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.reply(DANA, "Sorry, on reflection no thanks, I cannot take this on.")
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.DECLINED
    assert not [d for d in world.drafts() if DANA_ADDRESS in (d["to"] or "")]


def test_a_doubtful_reply_after_both_said_yes_takes_the_joint_draft_back(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    world.reply(DANA, "Hmm, what is Alex's company again? Let me think about it.")
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.ASKING and intro.contact.consent is Consent.UNCLEAR
    assert intro.attention
    assert not [d for d in world.drafts() if DANA_ADDRESS in (d["to"] or "")]


def test_an_edited_joint_draft_is_left_to_the_connector_after_a_no(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    joint = world.draft_to(DANA_ADDRESS)
    raw = world.control.raw(joint["messageId"]).replace(b"Alex", b"Alex (a friend)", 1)
    body = {"message": {"raw": base64.urlsafe_b64encode(raw).decode()}}
    world.gmail.drafts().update(userId="me", id=joint["id"], body=body).execute()
    world.poll()
    world.reply(DANA, "Sorry, on reflection no thanks, I cannot take this on.")
    # Not world.poll(): its invariant counts every draft as if it reached its reader, and
    # here the connector's own edited draft (with both addresses) is deliberately left to
    # them. introbot writes nothing: no draft created, none sent.
    world.now += timedelta(seconds=1)
    report = world.engine.poll(world.now)
    assert report.drafts_created == 0
    assert not {"drafts.send", "messages.send"} & set(world.control.stats()["by_method"])
    intro = world.only_intro()
    assert intro.contact.consent is Consent.NO
    assert intro.attention and "left it to you" in intro.attention
    assert world.draft_to(DANA_ADDRESS)["id"] == joint["id"]  # the connector's work stays


def test_discarding_the_joint_draft_vetoes_the_intro(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    world.control.discard_draft(world.draft_to(DANA_ADDRESS)["id"])
    world.poll()
    assert world.only_intro().stage is Stage.READY  # pending: Undo or Schedule send?
    world.poll(after=GRACE)
    assert world.only_intro().stage is Stage.CANCELLED  # vetoed, never "introduced"


def test_a_joint_draft_sent_without_a_party_needs_attention(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    joint = world.draft_to(DANA_ADDRESS)
    raw = world.control.raw(joint["messageId"])
    head, _, rest = raw.partition(b"\nTo: ")
    _, _, tail = rest.partition(b"\n")
    raw = head + b"\nTo: Dana Whitfield <dana@northwind.example>\n" + tail
    body = {"message": {"raw": base64.urlsafe_b64encode(raw).decode()}}
    world.gmail.drafts().update(userId="me", id=joint["id"], body=body).execute()
    world.poll()
    assert world.only_intro().attention  # edited to drop Alex
    world.control.send_draft(joint["id"])
    world.poll()
    intro = world.only_intro()
    assert intro.stage is not Stage.INTRODUCED
    assert intro.attention and "without the requester" in intro.attention


def test_a_replayed_answer_naming_a_predicted_message_id_does_not_count(world: World) -> None:
    world.asked()
    intro = world.only_intro()
    predicted = f"<introbot.{intro.id}.consent.contact.1@example.com>"
    msg = EmailMessage()
    msg["Authentication-Results"] = (
        "mx.google.com; dkim=pass; dmarc=pass header.from=northwind.example"
    )
    msg["From"] = DANA
    msg["To"] = f"Sam Rivera <{CONNECTOR}>"
    msg["Subject"] = "Re: an old conversation"
    msg["Date"] = format_datetime(world.now)  # a replayer may write any date
    msg["Message-ID"] = make_msgid(domain="northwind.example")
    msg["In-Reply-To"] = predicted
    msg["References"] = predicted
    msg.set_content("Sure, sounds good!")
    world.control.deliver(msg.as_bytes())
    world.poll()
    assert world.only_intro().contact.consent is Consent.ASKED
    for draft in intro.drafts:  # stored, random: nothing to predict from the intro id
        assert intro.id not in draft.key


def test_an_old_answer_naming_the_real_sent_id_does_not_count(world: World) -> None:
    world.asked()
    sent = world.sent_to(DANA_ADDRESS)
    msg = EmailMessage()
    msg["Authentication-Results"] = (
        "mx.google.com; dkim=pass; dmarc=pass header.from=northwind.example"
    )
    msg["From"] = DANA
    msg["To"] = f"Sam Rivera <{CONNECTOR}>"
    msg["Subject"] = "Re: something else"
    msg["Date"] = format_datetime(world.now - timedelta(days=30))
    msg["Message-ID"] = make_msgid(domain="northwind.example")
    msg["References"] = sent["headers"]["Message-ID"]
    msg.set_content("Sure, sounds good!")
    world.control.deliver(msg.as_bytes())
    world.poll()
    assert world.only_intro().contact.consent is Consent.ASKED


def test_the_connector_answering_by_hand_is_not_the_draft_s_send(world: World) -> None:
    request = world.request(REQUEST)
    world.poll()
    by_hand = written_by_hand(
        world,
        ALEX,
        "Re: Could you introduce me to Dana Whitfield?",
        "Alex, good to hear from you! Let me check with Dana first. Sam",
        reply_to=message(world, request["id"]),
    )
    assert by_hand["threadId"] == request["threadId"]
    world.poll()
    assert consent(world, Role.REQUESTER).state is DraftState.CREATED
    world.send_drafts(to=ALEX_ADDRESS)
    world.poll()
    draft = consent(world, Role.REQUESTER)
    assert draft.state is DraftState.SENT and draft.sent_message_id != by_hand["id"]
    # ...nor when both happen between two polls.
    world.control.discard_draft(world.draft_to(DANA_ADDRESS)["id"])
    written_by_hand(world, DANA, "Hello", "Dana, a quick hello from Sam, nothing to answer.")
    world.poll()
    assert consent(world, Role.CONTACT).state is DraftState.PENDING


def test_a_reply_is_read_against_the_text_actually_sent(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    draft = world.draft_to(DANA_ADDRESS)
    extra = b"PS: Alex and I rowed together at university, you will like them."
    raw = world.control.raw(draft["messageId"]).replace(b"Hi Dana,", b"Hi Dana,\n\n" + extra)
    body = {
        "message": {"raw": base64.urlsafe_b64encode(raw).decode(), "threadId": draft["threadId"]}
    }
    world.gmail.drafts().update(userId="me", id=draft["id"], body=body).execute()
    world.send_drafts()
    world.poll()
    sent = consent(world, Role.CONTACT)
    assert sent.state is DraftState.SENT
    text = world.store.sent_body(sent.key)
    assert text is not None and "rowed together" in text
    assert "rowed together" not in (world.store.body(sent.key) or "")


def gmail_copy(world: World, draft: dict[str, Any]) -> bytes:
    """The draft's bytes as Gmail sends them: Gmail writes its own Message-ID."""
    raw = world.control.raw(draft["messageId"])
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    lines = [
        line
        for line in head.splitlines()
        if not line.lower().startswith(b"message-id:") and not line.lower().startswith(b"date:")
    ]
    lines.append(b"Message-ID: " + make_msgid(domain="mail.gmail.com").encode())
    lines.append(b"Date: " + format_datetime(world.now).encode())
    return b"\r\n".join(lines) + sep + body


def test_a_late_sent_copy_with_gmail_s_own_message_id_is_found(world: World) -> None:
    """Undo or Schedule send: the draft leaves at once, the copy (with a Message-ID Gmail
    wrote) comes later; the answer names that real id and counts."""
    world.request(REQUEST)
    world.poll()
    draft = world.draft_to(ALEX_ADDRESS)
    copy = gmail_copy(world, draft)
    world.control.discard_draft(draft["id"])  # it leaves Drafts...
    world.poll()
    assert consent(world, Role.REQUESTER).state is DraftState.PENDING
    assert world.only_intro().requester.consent is Consent.DRAFTED
    world.poll(after=timedelta(days=2))
    sent = world.control.deliver(copy, labels=("SENT",))  # ...and is sent two days later
    world.poll()
    recorded = consent(world, Role.REQUESTER)
    assert recorded.state is DraftState.SENT and recorded.sent_message_id == sent["id"]
    assert recorded.sent_rfc822_id != recorded.key  # Gmail's id, not ours
    assert world.only_intro().requester.consent is Consent.ASKED
    world.reply(ALEX, "Yes please!", to_message=message(world, sent["id"]))
    world.poll()
    assert world.only_intro().requester.consent is Consent.YES


def test_a_draft_sent_from_another_client_is_found_by_its_text_and_recipients(
    world: World,
) -> None:
    """Apple Mail or Outlook over IMAP: the draft is deleted and a new message, with its
    own subject and thread, is sent to the same person with the same words."""
    world.request(REQUEST)
    world.poll()
    draft = world.draft_to(DANA_ADDRESS)
    copy = gmail_copy(world, draft).replace(b"Subject: ", b"Subject: Quick question: ", 1)
    world.control.discard_draft(draft["id"])
    sent = world.control.deliver(copy, labels=("SENT",))
    assert sent["threadId"] != draft["threadId"]
    world.poll()
    recorded = consent(world, Role.CONTACT)
    assert recorded.state is DraftState.SENT and recorded.thread_id == sent["threadId"]
    world.reply(DANA, "Yes, happy to.", to_message=message(world, sent["id"]))
    world.poll()
    assert world.only_intro().contact.consent is Consent.YES
