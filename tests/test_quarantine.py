"""One bad message or one bad action never stops introbot (issue 12).

Each failure the issue reports is reproduced here first: a header whose encoded word names
no charset (``=?ü?q?x?=``) in an unsolicited mail from a postmaster; an address with an
empty domain label (``dana@northwind..io``, ``x@.y.io``) in a request's From, Cc or note;
a draft that cannot be written; Gmail refusing one draft for good (400, 404). In each case
the message or the action is set aside with a reason (the intro or the request thread needs
attention), the poll carries on and the cursor moves; every other intro completes."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from introbot.gmail.client import GmailClient
from introbot.model import Cancel, Person, RequestRef, Stage
from introbot.reading.addresses import parse_addresses, read_addresses, undeliverable
from introbot.reading.automated import delivery_report_sender
from introbot.reading.mime import read_mail
from introbot.reading.requests import read_request
from introbot.rules import default_phrases
from introbot.sandbox.control import SandboxControl
from introbot.workflow import open_intro
from tests.cli import invoke
from tests.world import ALEX, CONNECTOR, DANA, REQUEST, World

PHRASES = default_phrases()
ME = [CONNECTOR]
BAD_CHARSET = "=?\u00fc?q?x?="


def _raw(headers: dict[str, str], body: str = "Hello.\n") -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n" + body).encode("utf-8")


def _both_say_yes_and_finish(world: World) -> None:
    world.reply(ALEX, "Yes please!")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    assert world.only_intro().stage is Stage.READY
    world.send_drafts()
    world.poll()
    assert world.only_intro().stage is Stage.INTRODUCED


# ------------------------------------------------------------ headers, charsets
@pytest.mark.parametrize("header", ["From", "Subject", "To", "Cc", "Reply-To", "X-Anything"])
def test_an_encoded_word_whose_charset_is_no_name_is_read(header: str) -> None:
    headers = {
        "From": "Alex Kim <alex.kim@tidepool.io>",
        "To": "Sam <connector@example.com>",
        "Subject": "Intro?",
    }
    headers[header] = f"{BAD_CHARSET} Postmaster <postmaster@evil.example>"
    mail = read_mail(_raw(headers))
    assert "\u00fc" not in (mail.header(header) or "")  # read, not raised
    if header == "From":
        assert mail.sender == Person("x Postmaster", "postmaster@evil.example")


def test_encoded_words_in_known_charsets_still_decode_as_before() -> None:
    mail = read_mail(
        _raw(
            {
                "From": "=?utf-8?q?Jos=C3=A9?= <jose@x.example>",
                "Subject": "=?utf-8?b?Q2Fmw6k=?= =?iso-8859-1?q?_ol=E9?=",
            }
        )
    )
    assert mail.sender == Person("José", "jose@x.example")
    assert mail.subject == "Café olé"


def test_an_unsolicited_postmaster_mail_in_a_bad_charset_never_stops_a_poll(
    world: World,
) -> None:
    world.asked()
    for _ in range(2):
        world.control.deliver(
            _raw(
                {
                    "From": f"{BAD_CHARSET} Postmaster <postmaster@evil.example>",
                    "To": CONNECTOR,
                    "Subject": f"{BAD_CHARSET} Undeliverable",
                    "Message-ID": make_msgid(domain="evil.example"),
                },
                "Your message could not be delivered.\n",
            )
        )
        world.poll()
    world.poll()
    _both_say_yes_and_finish(world)


def test_only_a_postmaster_address_makes_introbot_read_a_message(world: World) -> None:
    """A From that merely *says* postmaster is not read; a real postmaster@ is (5 units)."""
    assert delivery_report_sender("Mail Delivery Subsystem <mailer-daemon@googlemail.com>")
    assert delivery_report_sender("MAILER-DAEMON (Mail Delivery System)")
    assert delivery_report_sender("postmaster@mx.example")
    assert not delivery_report_sender('"Postmaster of nothing" <alerts@shop.example>')
    assert not delivery_report_sender("Ana <ana.postmaster-fan@shop.example>")
    world.asked()
    gets = []
    for sender in ("Postmaster <alerts@shop.example>", "Mail System <postmaster@shop.example>"):
        world.control.deliver(
            _raw({"From": sender, "To": CONNECTOR, "Subject": "Notice"}, "x" * 200_000)
        )
        world.control.reset_stats()
        world.poll()
        gets.append(world.control.stats()["by_method"].get("messages.get", 0))
    assert gets == [1, 2]  # metadata only; metadata and then the raw message


# ---------------------------------------------------------------- addresses
@pytest.mark.parametrize(
    "address",
    ["dana@northwind..io", "x@.y.io", "dana@northwind.io.", "a..b@x.io", "a@b", "a@x.invalid",
     '"a b"@x.example', "a@[127.0.0.1]"],
)  # fmt: skip
def test_an_address_that_cannot_receive_mail_is_rejected_with_a_reason(address: str) -> None:
    assert undeliverable(address)
    good, rejected = read_addresses(f"Dana <{address}>, Bob <bob@x.example>")
    assert good == [Person("Bob", "bob@x.example")]
    assert rejected and rejected[0][1]
    assert parse_addresses(f"<{address}>") == []


def test_deliverable_addresses_still_read() -> None:
    assert undeliverable("Dana.W+intro@Northwind.example") is None
    assert undeliverable("a@xn--nrthwind-n4a.example") is None
    assert undeliverable("j\u00fcrgen@k\u00fchlwerk.example") is None  # the writer says no
    assert parse_addresses("Dana <Dana@NorthWind.Example>") == [
        Person("Dana", "Dana@northwind.example")
    ]


def _request(sender: str, body: str, cc: str | None = None, subject: str = "Intro?") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = f"Sam Rivera <{CONNECTOR}>"
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="tidepool.io")
    msg.set_content(body)
    return msg.as_bytes()


BAD_REQUESTS = {
    "from": _request("Alex Kim <alex@tidepool..io>", REQUEST),
    "cc": _request(
        ALEX,
        "Hi Sam,\n\nCould you introduce me to Dana Whitfield? She is in Cc.\n\nAlex",
        cc="Dana Whitfield <dana@northwind..io>",
    ),
    "note": _request(
        f"Sam Rivera <{CONNECTOR}>", "", subject="Alex Kim <alex.kim@tidepool.io> -> Dana <x@.y.io>"
    ),
    "body": _request(
        ALEX, "Hi Sam,\n\nCould you introduce me to Dana Whitfield (dana@northwind..io)?\n\nAlex"
    ),
}


@pytest.mark.parametrize("where", sorted(BAD_REQUESTS))
def test_a_request_naming_an_undeliverable_address_is_a_problem(where: str) -> None:
    in_sent = where == "note"  # the connector's own note is in their Sent mail
    reading = read_request(read_mail(BAD_REQUESTS[where]), ME, PHRASES, in_sent)
    assert reading.intros == ()
    assert any("cannot receive mail" in p for p in reading.problems), reading.problems


def test_undeliverable_addresses_become_problem_notes_and_block_nothing(world: World) -> None:
    threads = {}
    for where, raw in BAD_REQUESTS.items():
        sent = ("SENT",) if where == "note" else ()  # a note to self is in Sent, as in Gmail
        delivered = world.control.deliver(raw, labels=("INBOX", "intro-request", *sent))
        threads[where] = delivered["threadId"]
    good = world.request(REQUEST)
    world.poll()
    assert [i.request.thread_id for i in world.intros()] == [good["threadId"]]
    notes = {
        d["threadId"]: d["text"] for d in world.drafts() if "problem" in d["headers"]["Message-ID"]
    }
    for where, thread_id in threads.items():
        assert "introbot/needs-attention" in world.thread_labels(thread_id), where
        assert "cannot receive mail" in notes[thread_id], where
    world.send_drafts(to="alex.kim@tidepool.io")
    world.send_drafts(to="dana@northwind.example")
    world.poll()
    _both_say_yes_and_finish(world)


# ------------------------------------------------------------------ the outbox
def _intro_with_contact(world: World, address: str) -> str:
    """An intro whose contact address the writer refuses (as a database from before
    addresses were checked on reading may hold), its consent drafts queued."""
    delivered = world.request(REQUEST, label=False)
    rules = world.engine.workflow_rules()
    request = RequestRef(
        delivered["threadId"],
        delivered["id"],
        None,
        "Intro?",
        Person("Alex Kim", "alex.kim@tidepool.io"),
        "direct",
    )
    transition = open_intro(
        world.store.new_intro_id(),
        request,
        Person("Alex Kim", "alex.kim@tidepool.io"),
        Person("Dana", address),
        "",
        world.now,
        rules,
        secret="5e" * 16,
    )
    world.store.save(transition.intro, transition.actions, world.now, "test")
    return transition.intro.id


def test_a_draft_that_cannot_be_written_is_set_aside_and_the_rest_goes_on(
    world: World,
) -> None:
    world.poll()  # labels, cursor
    bad = _intro_with_contact(world, "dana@northwind..io")
    world.request(REQUEST, sender="Bea Ortiz <bea@tidepool.io>")
    world.poll()
    intro = world.store.load(bad)
    assert intro is not None and intro.attention and "cannot write" in intro.attention
    assert world.store.pending_actions() == []
    others = [i for i in world.intros() if i.id != bad]
    assert len(others) == 1 and others[0].attention is None
    assert {d["to"] for d in world.drafts()} >= {"Bea Ortiz <bea@tidepool.io>"}
    assert "introbot/needs-attention" in world.thread_labels(intro.request.thread_id)


@pytest.mark.parametrize("status", [400, 404])
def test_a_draft_gmail_refuses_for_good_is_set_aside(world: World, status: int) -> None:
    world.poll()
    world.request(REQUEST)
    world.request(REQUEST, sender="Bea Ortiz <bea@tidepool.io>")
    # The first draft answers the request in its thread: refused there, introbot tries
    # once in a new thread (a deleted thread id answers 400 or 404), refused again.
    world.control.add_faults({"method": "drafts.create", "status": status, "count": 2})
    world.poll()  # does not raise
    assert world.store.pending_actions() == []
    assert world.store.cursor() is not None
    flagged = [i for i in world.intros() if i.attention]
    assert len(flagged) == 1 and str(status) in (flagged[0].attention or "")
    assert len(world.drafts()) == 3  # the other three consent drafts
    assert world.control.stats()["by_method"]["drafts.create"] == 5  # never retried as such
    assert "introbot/needs-attention" in world.thread_labels(flagged[0].request.thread_id)


def test_a_message_gmail_refuses_to_read_is_left_out(
    client: GmailClient, control: SandboxControl
) -> None:
    ids = []
    for n in range(3):
        raw = _request(f"P{n} <p{n}@tidepool.io>", "Hello")
        ids.append(control.deliver(raw)["id"])
    control.add_faults({"method": "messages.get", "status": 400, "count": 1})
    read = client.get_raw_messages(ids)
    assert len(read) == 2
    assert control.stats()["by_method"]["messages.get"] == 3  # the refused part not retried


def test_list_names_the_request_threads_set_aside(world: World) -> None:
    delivered = world.control.deliver(BAD_REQUESTS["cc"], labels=("INBOX", "intro-request"))
    world.poll()
    world.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    listed = invoke("list", "--db", str(world.db), "--sandbox", world.server.url)
    assert listed.exit_code == 0, listed.output
    assert f"thread {delivered['threadId']}: " in listed.output
    assert "dana@northwind..io cannot receive mail" in listed.output


def test_list_json_names_the_request_threads_set_aside(world: World) -> None:
    delivered = world.control.deliver(BAD_REQUESTS["cc"], labels=("INBOX", "intro-request"))
    world.request(REQUEST)
    world.poll()
    world.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    listed = invoke("list", "--db", str(world.db), "--sandbox", world.server.url, "--json")
    assert listed.exit_code == 0, listed.output
    found = json.loads(listed.output)
    assert [i["contact"]["email"] for i in found["intros"]] == ["dana@northwind.example"]
    (thread,) = found["request_threads"]
    assert thread["thread_id"] == delivered["threadId"]
    assert "dana@northwind..io cannot receive mail" in thread["needs_attention"]


@pytest.mark.parametrize("status", [400])
def test_a_draft_gmail_refuses_to_delete_makes_the_intro_need_attention(
    world: World, status: int
) -> None:
    world.request(REQUEST)
    world.poll()
    assert len(world.drafts()) == 2  # the consent drafts, not sent yet
    (intro,) = world.intros()
    world.control.add_faults({"method": "drafts.delete", "status": status, "count": 1})
    world.engine.apply(intro.id, Cancel("cancelled from the command line"), world.now, "test")
    world.poll()  # does not raise; the other deletion goes on
    assert world.store.pending_actions() == []
    after = world.only_intro()
    assert after.stage is Stage.CANCELLED
    assert (
        after.attention
        and "refused to delete" in after.attention
        and str(status) in after.attention
    )
    assert len(world.drafts()) == 1  # the one Gmail kept: the connector deletes it
    assert "introbot/needs-attention" in world.thread_labels(after.request.thread_id)
    world.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target = ("--db", str(world.db), "--sandbox", world.server.url)
    listed = invoke("list", *target)
    assert listed.exit_code == 0 and "refused to delete" in listed.output, listed.output
    shown = invoke("show", after.id, *target)
    assert shown.exit_code == 0 and "refused to delete" in shown.output, shown.output
