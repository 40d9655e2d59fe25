"""The connector presses Send, then Undo inside the Undo-send window (Gmail Help "Undo
sending"): no copy is ever sent and the message comes back to Drafts, in the sandbox's
harder case under a new draft id and a new message id in the same thread. introbot must
take the returned draft for its own: nothing recorded as sent, nothing cancelled, no second
ask beside it; and when the connector sends it later (edited or not), the send is the
intro's and the party's answer counts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from introbot.matching import Present, Seen, Tracked, returned_draft
from introbot.model import Consent, Draft, DraftKind, DraftState, Role, Stage
from introbot.sandbox.control import ControlError
from introbot.sandbox.realism import REALISTIC
from introbot.workflow import UNDO_SEND_WAIT
from tests import test_recovery_after_send as after
from tests import test_recovery_undo_send as undo_send
from tests.test_shared_ask import TWO
from tests.world import ALEX, DANA, REQUEST, World

UNDO = REALISTIC.undo_send_seconds
ALEX_ADDRESS = after.ALEX_ADDRESS
world = undo_send.world  # Gmail as the realistic profile has it (Undo send 30 s)


def _send_then_undo(world: World, draft: dict[str, Any], look: bool = True) -> dict[str, str]:
    """Send, a poll inside the window (``look``: the draft is gone, no copy yet), Undo, a
    poll."""
    assert world.control.send_draft(draft["id"])["id"] is None
    if look:
        world.poll()
    back = world.control.undo_send(draft["id"])
    assert back["id"] != draft["id"] and back["threadId"] == draft["threadId"]
    world.poll()
    return back


def _nothing_sent_nothing_cancelled(world: World, party: Role, address: str, back: str) -> None:
    assert after._sent_to(world, address) == []
    assert after._consent(world, party).state is not DraftState.SENT
    assert world.only_intro().stage is Stage.ASKING
    assert [d["id"] for d in after._drafts_to(world, address)] == [back]


def _later(world: World) -> None:
    """Long past the Undo-send wait and the grace for a draft gone from Drafts."""
    world.control.advance_clock(UNDO + 1)
    world.poll(after=UNDO_SEND_WAIT)
    world.poll(after=world.engine.workflow_rules().pending_grace + timedelta(seconds=1))


def _send_returned(world: World, back: str) -> None:
    world.control.send_draft(back)
    world.control.advance_clock(UNDO + 1)
    world.poll()


@after.EITHER_PARTY
@pytest.mark.parametrize("edit", [False, True], ids=["as-it-was", "edited"])
@pytest.mark.parametrize("look", [True, False], ids=["polled-between", "undone-between-polls"])
def test_an_ask_sent_then_undone_is_still_the_ask_and_counts_when_sent_again(
    world: World, party: Role, address: str, sender: str, edit: bool, look: bool
) -> None:
    world.request(REQUEST)
    world.poll()
    back = _send_then_undo(world, world.draft_to(address), look)
    assert after._consent(world, party).draft_id == back["id"]  # the returned draft is ours
    assert not after._consent(world, party).edited  # the same message back, not an edit
    if edit:
        world.control.edit_draft(back["id"], text="Hi, may I introduce you? Yes or no. Sam")
        world.poll()
        assert (
            after._consent(world, party).edited
            and after._consent(world, party).draft_id == back["id"]
        )
    _later(world)
    _nothing_sent_nothing_cancelled(world, party, address, back["id"])
    _send_returned(world, back["id"])
    after._recorded_as_sent(world, party, address)
    after._says_yes(world, party, sender)


@after.EITHER_PARTY
def test_an_ask_made_at_the_crash_sent_and_undone_during_the_restart_is_written_once(
    world: World, party: Role, address: str, sender: str
) -> None:
    world.poll()
    after._killed_at_create(world, address, after=True)
    (made,) = after._drafts_to(world, address)
    assert world.control.send_draft(made["id"])["id"] is None
    after._restart(world)
    world.poll()
    back = world.control.undo_send(made["id"])
    world.poll()
    _later(world)
    _nothing_sent_nothing_cancelled(world, party, address, back["id"])
    assert after._consent(world, party).draft_id == back["id"]
    _send_returned(world, back["id"])
    after._recorded_as_sent(world, party, address)
    after._says_yes(world, party, sender)


def test_the_introduction_sent_then_undone_is_still_the_introduction(world: World) -> None:
    world.asked()
    world.control.advance_clock(UNDO + 1)
    world.reply(ALEX, "Yes, glad to.")
    world.reply(DANA, "Yes, happy to meet Alex.")
    world.poll()
    assert world.only_intro().stage is Stage.READY
    (joint,) = world.only_intro().drafts_of(DraftKind.JOINT)
    (draft,) = [d for d in world.drafts() if d["id"] == joint.draft_id]
    back = _send_then_undo(world, draft)
    _later(world)
    intro = world.only_intro()
    (joint,) = intro.drafts_of(DraftKind.JOINT)
    assert intro.stage is Stage.READY and joint.draft_id == back["id"]
    assert [d["id"] for d in world.drafts()] == [back["id"]]
    _send_returned(world, back["id"])
    (joint,) = world.only_intro().drafts_of(DraftKind.JOINT)
    assert joint.state is DraftState.SENT
    assert world.only_intro().stage is Stage.INTRODUCED


def test_undo_after_the_window_is_too_late(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    draft = world.draft_to(after.DANA_ADDRESS)
    world.control.send_draft(draft["id"])
    world.control.advance_clock(UNDO + 1)
    with pytest.raises(ControlError) as raised:
        world.control.undo_send(draft["id"])
    assert raised.value.status == 404
    assert len(after._sent_to(world, after.DANA_ADDRESS)) == 1


def _seen(n: int, thread: str, text: str, rfc822_id: str | None = None) -> tuple[Present, Seen]:
    return (
        Present(f"r{n}", f"m{n}", thread),
        Seen(
            f"m{n}",
            thread,
            frozenset({"DRAFT"}),
            after.T0,
            recipients=frozenset({after.DANA_ADDRESS}),
            rfc822_id=rfc822_id,
            text=text,
        ),
    )


def test_the_returned_draft_is_found_by_its_message_id_or_its_thread_and_text() -> None:
    lost = Tracked(
        "i1",
        Draft(after.KEY, DraftKind.CONSENT, Role.CONTACT, DraftState.PENDING, "r0", "m0", "t1"),
        frozenset({after.DANA_ADDRESS}),
        after.ASK,
    )
    assert returned_draft(
        lost, [_seen(1, "t1", "Edited beyond recognition.", after.KEY)]
    ) == Present("r1", "m1", "t1")
    assert returned_draft(lost, [_seen(2, "t1", after.ASK)]) == Present("r2", "m2", "t1")
    assert returned_draft(lost, [_seen(3, "t1", "Lunch on Friday?")]) is None  # the connector's
    assert returned_draft(lost, [_seen(4, "t2", after.ASK, after.KEY)]) is None  # another thread
    assert returned_draft(lost, []) is None


def test_a_shared_ask_sent_then_undone_is_still_every_intros_ask(world: World) -> None:
    """One ask to Alex about two contacts: undone, it is back for both intros; sent, the
    one send and Alex's yes count for each."""
    world.request(TWO, subject="Two intros?")
    world.poll()
    back = _send_then_undo(world, world.draft_to(ALEX_ADDRESS))
    _later(world)
    for intro in world.intros():
        (ask,) = intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
        assert ask.draft_id == back["id"] and ask.state is not DraftState.SENT
        assert intro.stage is Stage.ASKING
    assert [d["id"] for d in after._drafts_to(world, ALEX_ADDRESS)] == [back["id"]]
    _send_returned(world, back["id"])
    (copy,) = after._sent_to(world, ALEX_ADDRESS)
    world.reply(ALEX, "Yes to both, thanks Sam!")
    world.poll()
    for intro in world.intros():
        (ask,) = intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
        assert ask.state is DraftState.SENT and ask.sent_message_id == copy["id"]
        assert intro.requester.consent is Consent.YES


def test_an_ask_undone_twice_is_still_the_ask(world: World) -> None:
    """Send, Undo, Send again, Undo again: each time back under a new id, still the ask."""
    world.request(REQUEST)
    world.poll()
    first = _send_then_undo(world, world.draft_to(after.DANA_ADDRESS))
    second = _send_then_undo(world, {"id": first["id"], "threadId": first["threadId"]})
    assert after._consent(world, Role.CONTACT).draft_id == second["id"]
    _later(world)
    _nothing_sent_nothing_cancelled(world, Role.CONTACT, after.DANA_ADDRESS, second["id"])
    _send_returned(world, second["id"])
    after._recorded_as_sent(world, Role.CONTACT, after.DANA_ADDRESS)
