"""The workflow's side of attribution (issue 11), with plain values: pending drafts and
their grace period, random Message-IDs, a no or a doubt after both said yes, and a joint
draft edited or sent without a party."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from introbot.model import (
    Consent,
    CreateDraft,
    Decision,
    DeleteDraft,
    Draft,
    DraftEdited,
    DraftGone,
    DraftKind,
    DraftSent,
    DraftState,
    Intro,
    Observation,
    Role,
    Stage,
    Tick,
    Verdict,
)
from introbot.workflow import open_intro, step
from tests.test_workflow import (
    ALEX,
    CONTEXT,
    DANA,
    PARALLEL,
    REQUEST,
    SECRET,
    T0,
    _created,
    _open,
    _ready,
    _reply,
    _run,
    _sent,
)

GRACE = PARALLEL.pending_grace


def _sent_to(observation: Observation, recipients: tuple[str, ...]) -> DraftSent:
    assert isinstance(observation, DraftSent)
    return replace(observation, recipients=recipients)


def _drafted() -> tuple[Intro, Draft]:
    intro = _open()
    intro = _run(intro, *_created(intro))
    (draft,) = intro.drafts_of(DraftKind.CONSENT, Role.CONTACT)
    return intro, draft


def test_a_gone_draft_is_pending_until_the_grace_period_ends() -> None:
    intro, draft = _drafted()
    intro = _run(intro, DraftGone(draft.key, T0))
    pending = intro.draft(draft.key)
    assert pending is not None and pending.state is DraftState.PENDING
    assert intro.stage is Stage.ASKING and intro.contact.consent is Consent.DRAFTED
    assert _run(intro, Tick(), now=T0 + GRACE - timedelta(minutes=1)).stage is Stage.ASKING
    ended = step(intro, Tick(), T0 + GRACE, PARALLEL)
    assert ended.intro.stage is Stage.CANCELLED  # a discarded consent draft is a veto
    discarded = ended.intro.draft(draft.key)
    assert discarded is not None and discarded.state is DraftState.DISCARDED


def test_a_pending_draft_whose_copy_arrives_is_sent() -> None:
    intro, draft = _drafted()
    intro = _run(intro, DraftGone(draft.key, T0))
    sent = DraftSent(draft.key, "s1", "<CA+own@mail.gmail.com>", "t-x", T0 + timedelta(days=2))
    intro = _run(intro, sent, now=T0 + timedelta(days=2))
    assert intro.contact.consent is Consent.ASKED
    recorded = intro.draft(draft.key)
    assert recorded is not None and recorded.state is DraftState.SENT
    assert recorded.sent_rfc822_id == "<CA+own@mail.gmail.com>" and recorded.gone_at is None


def test_a_pending_draft_back_in_drafts_is_followed_again() -> None:
    intro, draft = _drafted()
    intro = _run(intro, DraftGone(draft.key, T0))
    intro = _run(intro, DraftEdited(draft.key, draft.message_id or "", draft.thread_id or ""))
    back = intro.draft(draft.key)
    assert back is not None and back.state is DraftState.CREATED and not back.edited
    assert _run(intro, Tick(), now=T0 + GRACE * 2).stage is Stage.ASKING


def test_a_gone_draft_seen_again_changes_nothing() -> None:
    intro, draft = _drafted()
    once = _run(intro, DraftGone(draft.key, T0))
    assert step(once, DraftGone(draft.key, T0 + timedelta(hours=1)), T0, PARALLEL).intro == once


def test_message_ids_come_from_the_secret_not_the_intro_id() -> None:
    keys = {d.key for d in _open().drafts}
    other = open_intro("i1", REQUEST, ALEX, DANA, CONTEXT, T0, PARALLEL, secret="9" * 32)
    assert keys.isdisjoint({d.key for d in other.intro.drafts})  # same intro id, other keys
    assert all("i1" not in key for key in keys)
    again = open_intro("i1", REQUEST, ALEX, DANA, CONTEXT, T0, PARALLEL, secret=SECRET)
    assert {d.key for d in again.intro.drafts} == keys  # a replayed step: the same keys
    with pytest.raises(ValueError, match="secret"):
        open_intro("i1", REQUEST, ALEX, DANA, CONTEXT, T0, PARALLEL, secret="")


def test_a_no_after_both_said_yes_deletes_the_untouched_joint_draft() -> None:
    ready = _ready()
    (joint,) = ready.drafts_of(DraftKind.JOINT)
    t = step(ready, _reply(Role.CONTACT, Verdict.NO, n=2), T0, PARALLEL)
    assert t.intro.stage is Stage.DECLINED
    assert DeleteDraft(ready.id, joint.key) in t.actions
    notes = [a for a in t.actions if isinstance(a, CreateDraft)]
    assert [a.spec.kind for a in notes] == [DraftKind.DECLINE_NOTE]


def test_a_doubt_after_both_said_yes_withdraws_the_joint_draft_and_asks() -> None:
    ready = _ready()
    (joint,) = ready.drafts_of(DraftKind.JOINT)
    for doubt in (
        _reply(Role.REQUESTER, Verdict.UNCLEAR, n=2),
        _reply(Role.CONTACT, Verdict.NO, n=2, sender="someone@else.example"),
        _reply(Role.CONTACT, Verdict.BOUNCE, n=2),
    ):
        t = step(ready, doubt, T0, PARALLEL)
        assert t.intro.stage is Stage.ASKING, doubt
        assert t.intro.party(doubt.role).consent is Consent.UNCLEAR and t.intro.attention
        assert DeleteDraft(ready.id, joint.key) in t.actions
    # The connector decides yes: the introduction is drafted anew.
    t = step(ready, _reply(Role.REQUESTER, Verdict.UNCLEAR, n=2), T0, PARALLEL)
    again = step(t.intro, Decision(Role.REQUESTER, Consent.YES, "label"), T0, PARALLEL)
    assert again.intro.stage is Stage.READY
    assert any(isinstance(a, CreateDraft) and a.spec.kind is DraftKind.JOINT for a in again.actions)


def test_another_yes_or_an_auto_reply_after_both_said_yes_changes_nothing() -> None:
    ready = _ready()
    for late in (
        _reply(Role.CONTACT, Verdict.YES, n=2),
        _reply(Role.CONTACT, Verdict.AUTO_REPLY, n=3),
    ):
        t = step(ready, late, T0, PARALLEL)
        assert t.intro.stage is Stage.READY
        assert not [a for a in t.actions if isinstance(a, DeleteDraft)]


def test_an_edited_joint_draft_is_never_deleted_after_a_no() -> None:
    ready = _ready()
    (joint,) = ready.drafts_of(DraftKind.JOINT)
    edited = _run(ready, DraftEdited(joint.key, "m-edited", joint.thread_id or ""))
    t = step(edited, _reply(Role.CONTACT, Verdict.NO, n=2), T0, PARALLEL)
    assert not [a for a in t.actions if isinstance(a, DeleteDraft)]
    assert t.intro.contact.consent is Consent.NO and t.intro.attention
    pending = _run(ready, DraftGone(joint.key, T0))  # maybe being sent (Undo, Schedule)
    t = step(pending, _reply(Role.CONTACT, Verdict.NO, n=2), T0, PARALLEL)
    assert not [a for a in t.actions if isinstance(a, DeleteDraft)] and t.intro.attention


def test_a_discarded_joint_draft_vetoes_after_the_grace_period() -> None:
    ready = _ready()
    (joint,) = ready.drafts_of(DraftKind.JOINT)
    gone = _run(ready, DraftGone(joint.key, T0))
    assert gone.stage is Stage.READY
    assert _run(gone, Tick(), now=T0 + GRACE).stage is Stage.CANCELLED


def test_a_joint_draft_edited_or_sent_without_a_party_needs_attention() -> None:
    ready = _ready()
    (joint,) = ready.drafts_of(DraftKind.JOINT)
    only_dana = (DANA.email,)
    edited = _run(ready, DraftEdited(joint.key, "m-new", joint.thread_id or "", only_dana))
    assert edited.attention and "requester" in edited.attention
    both = _run(ready, DraftEdited(joint.key, "m-new", "t", (ALEX.email, DANA.email)))
    assert both.attention is None
    sent = _sent_to(_sent(ready, DraftKind.JOINT, None), only_dana)
    t = step(ready, sent, T0, PARALLEL)
    assert t.intro.stage is Stage.READY and t.intro.attention
    sent_to_both = _sent_to(sent, (ALEX.email, DANA.email))
    assert step(ready, sent_to_both, T0, PARALLEL).intro.stage is Stage.INTRODUCED


def test_a_consent_message_sent_to_more_people_needs_attention() -> None:
    intro, _ = _drafted()
    sent = _sent_to(
        _sent(intro, DraftKind.CONSENT, Role.CONTACT), (DANA.email, "colleague@northwind.example")
    )
    after = _run(intro, sent)
    assert after.contact.consent is Consent.UNCLEAR and after.attention
