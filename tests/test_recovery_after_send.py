"""A draft sent while introbot was down, its creation never recorded (issue 11/12).

introbot dies after Gmail created a consent draft and before the database recorded it; the
connector sends that draft (and the party may answer) while introbot stays down for hours.
On restart the outbox retries the create: the draft is not in Drafts, so its sent copy is
looked for first. Found (by its Message-ID, or by its thread or recipients and its text),
it is recorded as sent and its thread read for the answer: no second ask. A different
message to the same person is never taken for it: then the draft is written.

The crash is a BaseException raised by the HTTP transport handed to the real Gmail client
at drafts.create, before the request reaches Gmail or after Gmail answered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest

from introbot.engine import Engine
from introbot.gmail.client import GmailClient
from introbot.leases import Fence, LeaseBoard
from introbot.matching import Seen, Tracked, sent_copy
from introbot.model import Consent, Draft, DraftKind, DraftState, Role, Stage
from introbot.sandbox.realism import TESTS
from introbot.store.postgres import connect
from tests.conftest import FAST_RETRY
from tests.postgres import PostgresServer
from tests.test_attribution import message, written_by_hand
from tests.test_shared_ask import TWO
from tests.world import ALEX, DANA, REQUEST, World, make_world

ALEX_ADDRESS = "alex.kim@tidepool.io"
DANA_ADDRESS = "dana@northwind.example"
AWAY = timedelta(hours=3)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEY = "<ask-1@introbot.example>"
ASK = (
    "Hi Dana,\n\nAlex at Tidepool would like to meet you about piloting their sensors with "
    "your fleet. Would an introduction be welcome? A no is perfectly fine.\n\nBest,\nSam"
)
EITHER_PARTY = pytest.mark.parametrize(  # Dana's ask starts a thread; Alex's is in the request's
    ("party", "address", "sender"),
    [(Role.CONTACT, DANA_ADDRESS, DANA), (Role.REQUESTER, ALEX_ADDRESS, ALEX)],
    ids=["new-thread", "request-thread"],
)


class Killed(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


class KilledAtCreate(httplib2.Http):  # type: ignore[misc]
    """A transport that dies at the first drafts.create to ``address``: before the request
    reaches Gmail, or after Gmail created the draft and before introbot hears."""

    def __init__(self, address: str, after: bool) -> None:
        super().__init__(timeout=5)
        self.address = address
        self.after = after
        self.killed = False

    def request(self, uri: str, method: str = "GET", body: Any = None, **kwargs: Any) -> Any:
        due = (
            not self.killed
            and method == "POST"
            and uri.split("?")[0].endswith("/drafts")
            and self.address.encode() in _decoded(body)
        )
        if due and not self.after:
            self.killed = True
            raise Killed("killed before drafts.create reached Gmail")
        answer = super().request(uri, method, body, **kwargs)
        if due:
            self.killed = True
            raise Killed("killed after Gmail created the draft")
        return answer


def _decoded(body: Any) -> bytes:
    """The raw message a drafts.create carries (base64url inside the JSON body)."""
    import base64
    import json

    if not body:
        return b""
    try:
        raw = json.loads(body)["message"]["raw"]
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).lower()
    except (ValueError, KeyError, TypeError):
        return b""


def _restart(world: World, transport: httplib2.Http | None = None) -> None:
    """Like kill -9, then a new process: no clean shutdown, a fresh client and engine."""
    world.store.db.close()
    world.client.close()
    options: dict[str, Any] = {"transport": transport} if transport else {"timeout": 5}
    world.client = GmailClient.for_sandbox(world.server.url, retry=FAST_RETRY, **options)
    world.store = world.open_store()
    world.engine = Engine(world.client, world.store, world.settings, world.engine.rules)


def _killed_at_create(world: World, address: str, after: bool) -> None:
    """The request arrives; the first poll dies at the draft to ``address``."""
    _restart(world, KilledAtCreate(address, after))
    world.request(REQUEST)
    world.now += timedelta(seconds=1)
    with pytest.raises(Killed):
        world.engine.poll(world.now)


def _back_after_hours(world: World) -> None:
    """introbot stayed down for hours, then restarts and polls."""
    world.control.advance_clock(AWAY.total_seconds())
    _restart(world)
    world.poll(after=AWAY)


def _sent_to(world: World, address: str) -> list[dict[str, Any]]:
    box = world.control.mailbox()
    return [
        m
        for m in box["messages"]
        if "SENT" in m["labelIds"] and address in m["headers"].get("To", "")
    ]


def _drafts_to(world: World, address: str) -> list[dict[str, Any]]:
    return [d for d in world.drafts() if address in (d["to"] or "")]


def _consent(world: World, role: Role) -> Any:
    (draft,) = world.only_intro().drafts_of(DraftKind.CONSENT, role)
    return draft


def _says_yes(world: World, party: Role, sender: str) -> None:
    """The party answers yes to the ask recorded as sent: it counts."""
    world.reply(sender, "Yes, glad to.")
    world.poll()
    assert world.only_intro().party(party).consent is Consent.YES


def _recorded_as_sent(world: World, party: Role, address: str) -> None:
    """The one message sent to ``address`` is recorded as the party's ask, sent."""
    (copy,) = _sent_to(world, address)
    draft = _consent(world, party)
    assert draft.state is DraftState.SENT and draft.sent_message_id == copy["id"]


@pytest.fixture(params=["draft", "gmail"], ids=["keeps-our-id", "writes-its-own-id"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The tests' Gmail, keeping the draft's Message-ID on the sent copy or writing its own."""
    realism = dataclasses.replace(TESTS, sent_message_id=request.param)
    yield from make_world(tmp_path, realism=realism)


@EITHER_PARTY
def test_a_draft_sent_while_introbot_was_down_is_recorded_not_asked_again(
    world: World, party: Role, address: str, sender: str
) -> None:
    _killed_at_create(world, address, after=True)
    (made,) = _drafts_to(world, address)  # Gmail has it; introbot never recorded it
    world.control.send_draft(made["id"])
    _back_after_hours(world)
    assert _drafts_to(world, address) == []  # no second ask
    assert world.only_intro().party(party).consent is Consent.ASKED
    _recorded_sent_and_answered(world, party, address, sender)


def _recorded_sent_and_answered(world: World, party: Role, address: str, sender: str) -> None:
    """The one sent copy is the ask's, recorded; the party's answer to it counts."""
    _recorded_as_sent(world, party, address)
    world.send_drafts()  # the other party's ask, written after the restart
    world.poll()
    _says_yes(world, party, sender)


@EITHER_PARTY
def test_an_answer_that_came_while_introbot_was_down_counts(
    world: World, party: Role, address: str, sender: str
) -> None:
    """The party answered before the restart: history past the cursor shows the answer,
    but the send is learnt only when the outbox retries; the thread is read then."""
    _killed_at_create(world, address, after=True)
    (made,) = _drafts_to(world, address)
    world.control.send_draft(made["id"])
    world.reply(sender, "Yes, happy to be introduced.")
    _back_after_hours(world)
    assert _drafts_to(world, address) == []
    assert world.only_intro().party(party).consent is Consent.YES
    world.send_drafts()  # the other party's ask
    world.poll()
    other = ALEX if party is Role.CONTACT else DANA
    world.reply(other, "Yes please.")
    world.poll()
    intro = world.only_intro()
    assert intro.requester.consent is Consent.YES and intro.contact.consent is Consent.YES
    assert intro.stage is not Stage.ASKING  # the intro moved on: the joint draft
    assert intro.drafts_of(DraftKind.JOINT)


def test_a_lunch_invitation_to_the_contact_is_not_the_lost_ask(world: World) -> None:
    """Killed before Gmail got the draft: nothing was sent but a note the connector wrote
    to Dana by hand. It is not the consent message; the draft is written."""
    _killed_at_create(world, DANA_ADDRESS, after=False)
    assert _drafts_to(world, DANA_ADDRESS) == []
    lunch = written_by_hand(world, DANA, "Lunch next week?", "Hi Dana, lunch Tuesday? Sam")
    _back_after_hours(world)
    assert len(_drafts_to(world, DANA_ADDRESS)) == 1  # the ask, written once
    consent = _consent(world, Role.CONTACT)
    assert consent.state is DraftState.CREATED
    assert consent.sent_message_id != lunch["id"]
    assert world.only_intro().contact.consent is Consent.DRAFTED
    world.reply(DANA, "Yes, Tuesday works!", to_message=message(world, lunch["id"]))
    world.poll()
    assert world.only_intro().contact.consent is Consent.DRAFTED  # not an answer to the ask


def test_a_note_in_the_request_thread_is_not_the_lost_ask(world: World) -> None:
    """Killed before Gmail got the requester's draft; the connector answered Alex by hand
    in the request thread. That answer is not the consent message; the draft is written."""
    _killed_at_create(world, ALEX_ADDRESS, after=False)
    request = next(m for m in world.control.mailbox()["messages"] if "SENT" not in m["labelIds"])
    note = written_by_hand(
        world, ALEX, "Re: " + request["headers"]["Subject"], "On it, Alex. Sam", request
    )
    _back_after_hours(world)
    assert len(_drafts_to(world, ALEX_ADDRESS)) == 1
    consent = _consent(world, Role.REQUESTER)
    assert consent.state is DraftState.CREATED
    assert consent.sent_message_id != note["id"]


def test_a_shared_ask_sent_while_introbot_was_down_counts_for_every_intro(
    world: World,
) -> None:
    """One ask to Alex about two contacts, created, sent and answered while introbot was
    down: each intro records the one send, and the answer counts for each."""
    _restart(world, KilledAtCreate(ALEX_ADDRESS, after=True))
    world.request(TWO, subject="Two intros?")
    world.now += timedelta(seconds=1)
    with pytest.raises(Killed):
        world.engine.poll(world.now)
    (made,) = _drafts_to(world, ALEX_ADDRESS)
    world.control.send_draft(made["id"])
    world.reply(ALEX, "Yes to both, thanks Sam!")
    _back_after_hours(world)
    assert _drafts_to(world, ALEX_ADDRESS) == []
    (copy,) = _sent_to(world, ALEX_ADDRESS)
    intros = world.intros()
    assert len(intros) == 2
    for intro in intros:
        (ask,) = intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
        assert ask.state is DraftState.SENT and ask.sent_message_id == copy["id"]
        assert intro.requester.consent is Consent.YES, intro.requester.evidence


# ------------------------------------------------------- the evidence, pure values
def _lost(thread: str | None) -> Tracked:
    """A consent draft to Dana whose creation introbot never heard of."""
    record = Draft(KEY, DraftKind.CONSENT, Role.CONTACT, thread_id=thread)
    return Tracked("i1", record, frozenset({DANA_ADDRESS}), ASK, since=T0)


def _copy(
    text: str = ASK,
    thread: str = "t-1",
    rfc822: str | None = "<own@mail.gmail.com>",
    at: datetime = T0 + timedelta(hours=2),
    to: str = DANA_ADDRESS,
    labels: frozenset[str] = frozenset({"SENT"}),
) -> Seen:
    return Seen("s1", thread, labels, at, recipients=frozenset({to}), rfc822_id=rfc822, text=text)


def test_the_lost_send_is_found_by_its_message_id_or_its_thread_and_text() -> None:
    by_id = sent_copy(_lost(None), [_copy(text="rewritten entirely", rfc822=KEY)])
    assert by_id is not None and "Message-ID" in by_id[1]
    in_thread = sent_copy(_lost("t-1"), [_copy(text=ASK + "\nSee you soon.")])
    assert in_thread is not None and "thread" in in_thread[1]
    elsewhere = sent_copy(_lost(None), [_copy(thread="t-new")])
    assert elsewhere is not None and "recipients" in elsewhere[1]


def test_nothing_unrelated_is_taken_for_the_lost_send() -> None:
    lunch = _copy(text="Hi Dana, are you free for lunch on Tuesday? Sam")
    assert sent_copy(_lost(None), [lunch]) is None
    assert sent_copy(_lost("t-1"), [lunch]) is None
    assert sent_copy(_lost(None), [_copy(to="someone@else.example")]) is None
    assert sent_copy(_lost(None), [_copy(at=T0 - timedelta(minutes=1))]) is None  # before it
    assert sent_copy(_lost(None), [_copy(labels=frozenset({"INBOX"}))]) is None  # not sent
    assert sent_copy(_lost(None), []) is None


def test_of_two_sent_messages_the_lost_send_is_the_one_with_its_text() -> None:
    note = replace(_copy(text="Dana, a quick hello from Sam."), id="s0")
    found = sent_copy(_lost("t-1"), [note, _copy()])
    assert found is not None and found[0].id == "s1"


def _sent_seconds_before_the_takeover(
    world: World, party: Role, address: str, sender: str, held: Callable[[str], None]
) -> None:
    """The replicas' kill -9 (m45): a replica dies after Gmail created the draft, the
    connector sends it at once, and the next holder retries the create seconds later,
    before Gmail's search has indexed the sent copy (the ``tests`` profile: 10 s). The
    copy is found all the same, the send recorded: no second draft that nobody will
    send, no intro waiting for it for ever. ``held(replica)``: that replica now holds
    the mailbox (its lease and the store's fence), after each restart."""
    _restart(world, KilledAtCreate(address, after=True))
    held("first")
    world.poll()  # the mailbox polled once: its cursor saved, as in the replicas' test
    world.request(REQUEST)
    with pytest.raises(Killed):
        world.engine.poll(world.now + timedelta(seconds=1))
    (made,) = _drafts_to(world, address)
    world.control.send_draft(made["id"])
    _restart(world)  # no clock moved: the sent copy is not in search yet
    held("second")
    world.poll()
    assert _drafts_to(world, address) == []  # no second draft
    _recorded_sent_and_answered(world, party, address, sender)


@EITHER_PARTY
def test_a_draft_sent_seconds_before_the_restart_is_found_though_search_lags(
    world: World, party: Role, address: str, sender: str
) -> None:
    _sent_seconds_before_the_takeover(world, party, address, sender, lambda replica: None)


@EITHER_PARTY
def test_a_draft_sent_seconds_before_another_replica_takes_over_is_found(
    tmp_path: Path, postgres_server: PostgresServer, party: Role, address: str, sender: str
) -> None:
    """On PostgreSQL, the mailbox's lease taken over between the kill and the retry: the
    first replica's lease lapses (it was killed), the second claims it (a greater token)
    and works on under it."""
    location = postgres_server.location()
    boards = {name: LeaseBoard(postgres_server.url, name, 30) for name in ("first", "second")}
    tokens: list[int] = []
    with contextlib.contextmanager(make_world)(tmp_path, location=location) as world:

        def held(replica: str) -> None:
            if replica == "second":  # the killed replica's lease runs out, in the database
                conn = connect(postgres_server.url, "the test, as time passing")
                try:
                    conn.execute(
                        "UPDATE introbot.leases SET expires_at = now() WHERE mailbox = %s",
                        (location.mailbox,),
                    )
                finally:
                    conn.close()
            token = boards[replica].claim(location.mailbox)
            assert token is not None, f"{replica} could not take the lease"
            tokens.append(token)
            fence = Fence(location.mailbox, replica, token, time.monotonic() + 60)
            world.store.db.fence = fence  # type: ignore[attr-defined]

        try:
            _sent_seconds_before_the_takeover(world, party, address, sender, held)
        finally:
            for board in boards.values():
                board.close()
    assert tokens[1] == tokens[0] + 1  # taken over
