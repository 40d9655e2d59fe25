"""A draft sent with Undo send while introbot restarts, its creation never recorded.

introbot dies after Gmail's drafts.create answered, before the record; the connector presses
Send with Undo send on (Gmail: 5 to 30 s; the sandbox's ``realistic`` profile: 30 s), so the
draft leaves Drafts at once and its sent copy appears only later. A restart inside that
window finds the draft neither in Drafts nor in Sent: history shows a draft of ours added
and gone, so the create waits for the copy instead of writing the ask a second time. No
copy within the grace (the draft was discarded): the discarded path, still no second draft.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.model import Consent, DraftState, Person, Role, Stage
from introbot.sandbox.realism import REALISTIC
from introbot.workflow import LostDraft, WorkflowRules, lost_draft
from tests.test_recovery_after_send import (
    DANA_ADDRESS,
    EITHER_PARTY,
    _consent,
    _drafts_to,
    _killed_at_create,
    _restart,
    _sent_to,
)
from tests.world import World, make_world

UNDO = REALISTIC.undo_send_seconds  # 30 s, Gmail's longest Undo send
GMAIL_IDS = pytest.mark.parametrize("world", ["gmail"], indirect=True)  # the sent copy's own id


@pytest.fixture(params=["draft", "gmail"], ids=["keeps-our-id", "writes-its-own-id"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """Gmail as the realistic profile has it (Undo send 30 s), keeping the draft's
    Message-ID on the sent copy or writing its own."""
    realism = dataclasses.replace(REALISTIC, sent_message_id=request.param)
    yield from make_world(tmp_path, realism=realism)


def _killed_then_restarted(world: World, address: str, send: bool) -> None:
    """A poll saves the cursor; the next dies after Gmail created the draft to ``address``;
    the connector sends it (Undo send) or discards it; introbot restarts at once."""
    world.poll()
    _killed_at_create(world, address, after=True)
    (made,) = _drafts_to(world, address)
    if send:
        assert world.control.send_draft(made["id"])["id"] is None  # the copy is to come
    else:
        world.control.discard_draft(made["id"])
    _restart(world)
    world.poll()


@EITHER_PARTY
def test_a_draft_sent_with_undo_send_during_the_restart_is_not_written_twice(
    world: World, party: Role, address: str, sender: str
) -> None:
    _killed_then_restarted(world, address, send=True)
    assert _drafts_to(world, address) == []  # no second ask while the copy is held back
    assert _sent_to(world, address) == []
    world.poll()
    assert _drafts_to(world, address) == []
    world.control.advance_clock(UNDO + 1)  # the copy appears
    world.poll()
    (copy,) = _sent_to(world, address)
    draft = _consent(world, party)
    assert draft.state is DraftState.SENT and draft.sent_message_id == copy["id"]
    assert _drafts_to(world, address) == []
    world.reply(sender, "Yes, glad to.")
    world.poll()
    assert world.only_intro().party(party).consent is Consent.YES


@GMAIL_IDS
def test_a_draft_discarded_during_the_restart_is_discarded_not_written_again(
    world: World,
) -> None:
    _killed_then_restarted(world, DANA_ADDRESS, send=False)
    assert _drafts_to(world, DANA_ADDRESS) == []
    world.control.advance_clock(UNDO + 1)
    world.poll()
    assert world.only_intro().stage is Stage.ASKING  # within the grace: maybe sent
    grace = world.engine.workflow_rules().pending_grace
    world.poll(after=grace)
    intro = world.only_intro()
    assert intro.stage is Stage.CANCELLED  # a discarded consent draft cancels the intro
    assert _consent(world, Role.CONTACT).state is DraftState.DISCARDED
    assert _drafts_to(world, DANA_ADDRESS) == [] and _sent_to(world, DANA_ADDRESS) == []
    world.poll()
    assert _drafts_to(world, DANA_ADDRESS) == []


@GMAIL_IDS
def test_killed_before_gmail_got_it_the_ask_is_written_once(world: World) -> None:
    world.poll()
    _killed_at_create(world, DANA_ADDRESS, after=False)
    _restart(world)
    world.poll()
    assert len(_drafts_to(world, DANA_ADDRESS)) == 1
    assert _consent(world, Role.CONTACT).state is DraftState.CREATED
    world.poll()
    assert len(_drafts_to(world, DANA_ADDRESS)) == 1


def test_a_made_and_gone_draft_waits_for_the_grace_then_counts_as_discarded() -> None:
    rules = WorkflowRules(Person("Sam", "sam@example.org"))
    gone = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert lost_draft(None, gone, rules) is LostDraft.CREATE
    assert lost_draft(gone, gone + timedelta(seconds=UNDO + 1), rules) is LostDraft.WAIT
    just_before = gone + rules.pending_grace - timedelta(seconds=1)
    assert lost_draft(gone, just_before, rules) is LostDraft.WAIT
    assert lost_draft(gone, gone + rules.pending_grace, rules) is LostDraft.DISCARDED
