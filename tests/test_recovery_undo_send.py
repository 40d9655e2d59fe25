"""Killed after Gmail made a draft, restarted while the connector's Undo send holds it back.

introbot dies after drafts.create answered, before it recorded the draft. The connector
presses Send with Undo send on (the realistic profile: 30 s, Gmail's longest), so the draft
leaves Drafts at once and its sent copy appears only later. The restarted introbot finds
the draft neither in Drafts nor in Sent; history shows a draft added and gone, so the retry
waits (workflow.UNDO_SEND_WAIT) instead of writing a second ask, and records the copy when it
appears. A draft added and gone that is introbot's own (written, rewritten, deleted) is no
reason to wait; one the connector wrote and discarded themselves meanwhile cannot be told
from ours, so it delays the ask by that bounded wait and no more: the ask is then written,
and nothing is ever recorded as discarded, or the intro cancelled, on that guess.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.model import DraftState, RequestRef, Role, Stage
from introbot.sandbox.realism import REALISTIC
from introbot.workflow import OWN_MESSAGES_KEPT, UNDO_SEND_WAIT, lost_draft_waits
from tests.mail import b64, make_mail
from tests.test_recovery_after_send import (
    ALEX_ADDRESS,
    DANA_ADDRESS,
    EITHER_PARTY,
    _consent,
    _drafts_to,
    _killed_at_create,
    _recorded_as_sent,
    _restart,
    _says_yes,
    _sent_to,
)
from tests.world import DANA, World, make_world

UNDO = REALISTIC.undo_send_seconds
SECOND = timedelta(seconds=1)


@pytest.fixture(params=["draft", "gmail"], ids=["copy-keeps-our-id", "copy-gets-gmails-id"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """Gmail as the realistic profile has it (Undo send 30 s); the sent copy keeping the
    draft's Message-ID, or carrying one of Gmail's own."""
    realism = dataclasses.replace(REALISTIC, sent_message_id=request.param)
    yield from make_world(tmp_path, realism=realism)


def _connectors_own_draft(world: World, reply_to: RequestRef | None) -> str:
    """A draft the connector writes by hand: to someone else, or a reply to ``reply_to``."""
    raw = make_mail(
        sender="connector@example.com",
        to="lee@elsewhere.example",
        subject=f"Re: {reply_to.subject}" if reply_to else "lunch on Friday",
        body="Still on for Friday at noon?\n",
        message_id=None,
        in_reply_to=reply_to.rfc822_id if reply_to else None,
    )
    message = {"raw": b64(raw)}
    if reply_to:
        message["threadId"] = reply_to.thread_id
    made = world.gmail.drafts().create(userId="me", body={"message": message}).execute()
    return str(made["id"])


@EITHER_PARTY
def test_an_ask_sent_with_undo_send_during_the_restart_is_written_once_and_its_copy_recorded(
    world: World, party: Role, address: str, sender: str
) -> None:
    world.poll()
    _killed_at_create(world, address, after=True)
    (made,) = _drafts_to(world, address)
    assert world.control.send_draft(made["id"])["id"] is None  # its copy comes 30 s later
    _restart(world)
    world.poll()
    world.poll(after=timedelta(seconds=20))
    assert _drafts_to(world, address) == [] and _sent_to(world, address) == []
    world.control.advance_clock(UNDO + 1)
    world.poll()
    _recorded_as_sent(world, party, address)
    world.poll(after=UNDO_SEND_WAIT)
    assert _drafts_to(world, address) == []
    _recorded_as_sent(world, party, address)  # still the one copy
    _says_yes(world, party, sender)


@EITHER_PARTY
def test_a_draft_the_connector_discarded_meanwhile_delays_the_ask_a_little_and_cancels_nothing(
    world: World, party: Role, address: str, sender: str
) -> None:
    world.poll()
    _killed_at_create(world, address, after=False)  # Gmail never got our ask
    request = world.store.intros()[0].request if party is Role.REQUESTER else None
    draft = _connectors_own_draft(world, request)
    if request is not None:
        assert (
            world.gmail.drafts().get(userId="me", id=draft).execute()["message"]["threadId"]
            == request.thread_id
        )
    world.control.discard_draft(draft)
    _restart(world)
    world.poll()  # a draft added and gone: it may be our ask, held back by Undo send
    assert _drafts_to(world, address) == []
    world.poll(after=UNDO_SEND_WAIT)  # no copy came: the ask is written after all
    (ask,) = _drafts_to(world, address)
    assert _consent(world, party).state is DraftState.CREATED
    assert _consent(world, party).draft_id == ask["id"]
    world.poll(after=world.engine.workflow_rules().pending_grace + SECOND)
    assert world.only_intro().stage is Stage.ASKING
    assert [d["id"] for d in _drafts_to(world, address)] == [ask["id"]]


@pytest.mark.parametrize("world", ["gmail"], indirect=True)
def test_our_ask_discarded_during_the_restart_is_written_again_not_taken_for_a_veto(
    world: World,
) -> None:
    # The connector discarded the ask introbot never recorded: from history, that is Undo
    # send until the wait is over; then a second draft they can discard again, no cancel.
    world.poll()
    _killed_at_create(world, DANA_ADDRESS, after=True)
    (made,) = _drafts_to(world, DANA_ADDRESS)
    world.control.discard_draft(made["id"])
    _restart(world)
    world.poll()
    assert _drafts_to(world, DANA_ADDRESS) == []
    world.poll(after=UNDO_SEND_WAIT)
    (again,) = _drafts_to(world, DANA_ADDRESS)
    assert again["id"] != made["id"]
    assert world.only_intro().stage is Stage.ASKING
    world.control.discard_draft(again["id"])  # a recorded ask discarded: that is a veto
    world.poll()
    world.poll(after=world.engine.workflow_rules().pending_grace + SECOND)
    assert world.only_intro().stage is Stage.CANCELLED


@pytest.mark.parametrize("world", ["gmail"], indirect=True)
def test_introbots_own_draft_rewritten_in_gmail_is_no_reason_to_wait(world: World) -> None:
    # The poll that dies at Dana's ask first wrote Alex's; the connector's edit then replaces
    # that draft's message (its first message id, introbot's, leaves Drafts) and the restarted
    # poll records the new one: history shows introbot's first message added and gone.
    world.poll()
    _killed_at_create(world, DANA_ADDRESS, after=False)
    (alex,) = _drafts_to(world, ALEX_ADDRESS)
    world.control.edit_draft(alex["id"], text="Hi Alex, shall I ask Dana for you? Sam")
    _restart(world)
    world.poll()
    assert _consent(world, Role.REQUESTER).message_id != alex["messageId"]  # the edit, seen
    (ask,) = _drafts_to(world, DANA_ADDRESS)  # written at once
    assert _consent(world, Role.CONTACT).draft_id == ask["id"]
    world.poll(after=UNDO_SEND_WAIT)
    assert len(_drafts_to(world, DANA_ADDRESS)) == 1


@pytest.mark.parametrize("world", ["gmail"], indirect=True)
def test_an_email_the_connector_wrote_and_sent_meanwhile_is_no_reason_to_wait(
    world: World,
) -> None:
    world.poll()
    _killed_at_create(world, DANA_ADDRESS, after=False)
    world.control.send_draft(_connectors_own_draft(world, None))
    world.control.advance_clock(UNDO + 1)  # its copy is out, in its thread
    _restart(world)
    world.poll()
    (ask,) = _drafts_to(world, DANA_ADDRESS)
    assert _consent(world, Role.CONTACT).draft_id == ask["id"]


def test_a_lost_draft_waits_as_long_as_undo_send_may_hold_its_copy_and_no_longer() -> None:
    gone = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert 2 * timedelta(seconds=UNDO) <= UNDO_SEND_WAIT  # Gmail's longest Undo send, twice
    assert not lost_draft_waits(None, gone)  # no trace of it in Gmail: written at once
    assert lost_draft_waits(gone, gone)
    assert lost_draft_waits(gone, gone + UNDO_SEND_WAIT - SECOND)
    assert not lost_draft_waits(gone, gone + UNDO_SEND_WAIT)
    assert not lost_draft_waits(gone, gone + timedelta(days=30))


def _rewritten(world: World) -> None:
    test_introbots_own_draft_rewritten_in_gmail_is_no_reason_to_wait(world)


def _sent_during_restart(world: World) -> None:
    test_an_ask_sent_with_undo_send_during_the_restart_is_written_once_and_its_copy_recorded(
        world, Role.CONTACT, DANA_ADDRESS, DANA
    )


@pytest.mark.parametrize("world", ["gmail"], indirect=True)
@pytest.mark.parametrize("scenario", [_rewritten, _sent_during_restart])
def test_forgetting_own_messages_of_long_ago_keeps_what_the_wait_needs(
    world: World, scenario: Callable[[World], None]
) -> None:
    # introbot's own drafts of four weeks ago and more are forgotten as it keeps new ones;
    # the Undo-send scenarios, which read the rows of minutes ago, go as they always did.
    assert OWN_MESSAGES_KEPT >= 4 * timedelta(weeks=1) > 100 * UNDO_SEND_WAIT
    long_ago = world.now - OWN_MESSAGES_KEPT - timedelta(days=1)
    world.store.keep_own_messages(["m-long-ago"], long_ago, long_ago - OWN_MESSAGES_KEPT)
    scenario(world)
    assert world.store.own_messages(["m-long-ago"]) == frozenset()
