"""Undo send, Schedule send and sends from another client, end to end against the realistic
sandbox (issue 11): a draft that leaves Drafts before its sent copy appears is pending, never
taken as discarded, and the intro carries on when the copy arrives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from introbot.model import Consent, DraftKind, DraftState, Role, Stage
from tests.world import DANA, REQUEST, World, make_world


@pytest.fixture
def realistic(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, realism="realistic")  # Undo send: 30 s


def _consent(world: World, role: Role) -> DraftState:
    (draft,) = world.only_intro().drafts_of(DraftKind.CONSENT, role)
    return draft.state


def test_undo_send_leaves_the_draft_pending_until_its_copy_appears(realistic: World) -> None:
    world = realistic
    world.request(REQUEST)
    world.poll()
    world.send_drafts()  # the drafts vanish at once; the copies come 30 s later
    world.poll()
    assert world.only_intro().stage is Stage.ASKING
    assert _consent(world, Role.CONTACT) is DraftState.PENDING
    world.control.advance_clock(31)
    world.poll(after=timedelta(seconds=31))
    assert _consent(world, Role.CONTACT) is DraftState.SENT
    assert world.only_intro().contact.consent is Consent.ASKED
    world.reply(DANA, "Sure, go ahead.")
    world.poll()
    assert world.only_intro().contact.consent is Consent.YES


def test_schedule_send_waits_days_and_is_not_a_discard(realistic: World) -> None:
    world = realistic
    world.request(REQUEST)
    world.poll()
    at = world.control.clock()["now"] + 2 * 86400
    for draft in world.drafts():
        world.control.send_draft(draft["id"], at=at)
    world.poll(after=timedelta(days=1))
    assert world.only_intro().stage is Stage.ASKING  # a day later: still pending
    assert _consent(world, Role.REQUESTER) is DraftState.PENDING
    world.control.advance_clock(2 * 86400 + 1)
    world.poll(after=timedelta(days=1, seconds=1))
    assert _consent(world, Role.REQUESTER) is DraftState.SENT
    assert _consent(world, Role.CONTACT) is DraftState.SENT


def test_a_draft_gone_for_good_is_discarded_after_the_grace_period(realistic: World) -> None:
    world = realistic
    world.request(REQUEST)
    world.poll()
    for draft in world.drafts():
        if "dana@" in (draft["to"] or ""):
            world.control.discard_draft(draft["id"])
    world.poll()
    assert world.only_intro().stage is Stage.ASKING  # pending: maybe Undo or Schedule send
    world.poll(after=timedelta(days=3, seconds=1))
    assert world.only_intro().stage is Stage.CANCELLED


def test_a_send_from_another_client_under_a_new_subject_is_found(realistic: World) -> None:
    world = realistic
    world.request(REQUEST)
    world.poll()
    for draft in world.drafts():
        subject = "A quick question" if "dana@" in (draft["to"] or "") else None
        world.control.send_elsewhere(draft["id"], subject=subject, keep_references=False)
    world.poll()
    assert _consent(world, Role.CONTACT) is DraftState.SENT
    assert _consent(world, Role.REQUESTER) is DraftState.SENT
