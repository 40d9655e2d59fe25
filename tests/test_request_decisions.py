"""Decisions the engine used to make itself, now the workflow's (issue 14: "workflow.py
decides, everything else does I/O"). Each is a pure function of the facts the engine
loads: what the thread's record already says, what Gmail's labels show, a draft's state."""

from __future__ import annotations

from dataclasses import replace

from introbot.compose import held_key
from introbot.model import (
    Cancel,
    DeleteDraft,
    DraftKind,
    DraftState,
    FinishedInGmail,
    Role,
    Stage,
)
from introbot.workflow import (
    ThreadNote,
    asking_again,
    finished_in_gmail,
    plan_request,
    queued_record,
    step,
    still_wanted,
)
from tests.test_workflow import ALEX, DANA, PARALLEL, REQUEST, T0, _asked, _open

UNUSABLE = ["the second person named has no address I can write to"]


# ----------------------------------------------- the same note is in the thread already
def test_a_problem_the_thread_already_notes_drafts_no_second_note() -> None:
    first = plan_request([], [], UNUSABLE, REQUEST, T0, PARALLEL)
    (note,) = first.actions
    assert first.note == note.spec.key and first.records_thread
    again = plan_request([], [], UNUSABLE, REQUEST, T0, PARALLEL, None, ThreadNote(first.problem))
    assert again.actions == () and again.problem == first.problem
    assert again.attention == first.attention  # still said: the thread still needs you
    assert again.records_thread  # the record is set again, with the note it keeps


def test_a_different_problem_gets_its_own_note() -> None:
    noted = ThreadNote("the request names nobody to introduce")
    plan = plan_request([], [], UNUSABLE, REQUEST, T0, PARALLEL, None, noted)
    (note,) = plan.actions
    assert note.spec.kind is DraftKind.PROBLEM_NOTE and plan.note == note.spec.key


def test_a_thread_record_without_a_problem_is_no_note() -> None:
    """Labels alone put a thread on record: that is not a note about a problem."""
    plan = plan_request([], [], UNUSABLE, REQUEST, T0, PARALLEL, None, ThreadNote())
    assert len(plan.actions) == 1


def test_a_request_read_again_with_nothing_new_changes_no_record() -> None:
    plan = plan_request([_open()], [(ALEX, DANA, "")], UNUSABLE, REQUEST, T0, PARALLEL)
    assert plan.read_again and not plan.records_thread and plan.actions == ()


OLD_NOTE = "<introbot.problem.thread-r.0123456789@connector.example>"


def test_a_request_fixed_at_last_deletes_its_old_note_before_the_asks() -> None:
    noted = ThreadNote(" ".join(UNUSABLE), OLD_NOTE)
    plan = plan_request([], [(ALEX, DANA, "")], [], REQUEST, T0, PARALLEL, None, noted)
    assert plan.opening and plan.clears_problem and plan.actions == ()
    assert plan.first == (DeleteDraft("", OLD_NOTE, unless_edited=True),)
    assert plan.note is None  # the thread holds no note any more


def test_a_new_problem_replaces_the_old_note() -> None:
    noted = ThreadNote("the request names nobody to introduce", OLD_NOTE)
    plan = plan_request([], [], UNUSABLE, REQUEST, T0, PARALLEL, None, noted)
    (note,) = plan.actions
    assert plan.first == (DeleteDraft("", OLD_NOTE, unless_edited=True),)
    assert plan.note == note.spec.key != OLD_NOTE


def test_the_same_problem_keeps_the_note_it_has() -> None:
    noted = ThreadNote(" ".join(UNUSABLE), OLD_NOTE)
    plan = plan_request([], [], UNUSABLE, REQUEST, T0, PARALLEL, None, noted)
    assert plan.first == () and plan.actions == () and plan.note == OLD_NOTE


def test_a_thread_read_again_with_nothing_new_keeps_its_note() -> None:
    noted = ThreadNote(" ".join(UNUSABLE), OLD_NOTE)
    plan = plan_request([_open()], [(ALEX, DANA, "")], [], REQUEST, T0, PARALLEL, None, noted)
    assert plan.read_again and plan.first == () and not plan.records_thread


def test_asking_again_deletes_the_held_note_first() -> None:
    assert asking_again("thread-9", PARALLEL) == (DeleteDraft("", held_key("thread-9", PARALLEL)),)


# ------------------------------------------------------------ Gmail's labels decide
def test_an_open_intro_closes_as_gmail_labels_its_request() -> None:
    asked = _asked()
    ((intro_id, seen, why),) = finished_in_gmail(frozenset({Stage.DECLINED}), [asked])
    assert intro_id == asked.id and seen == FinishedInGmail(Stage.DECLINED, None)
    assert why == "Gmail labels the request declined"


def test_a_thread_gmail_shows_under_way_closes_nothing() -> None:
    shown = frozenset({Stage.DECLINED, Stage.ASKING})
    assert finished_in_gmail(shown, [_asked()]) == []


def test_an_ending_this_database_has_itself_closes_nothing() -> None:
    """The thread shows cancelled because one of its own intros was cancelled: the other,
    still open, is not closed by that label."""
    cancelled = replace(step(_open(), Cancel("you said so"), T0, PARALLEL).intro, id="i0")
    assert cancelled.stage is Stage.CANCELLED
    assert finished_in_gmail(frozenset({Stage.CANCELLED}), [cancelled, _asked()]) == []


def test_several_endings_close_in_order_each_needing_attention() -> None:
    one, two = _asked(), replace(_asked(), id="i2")
    shown = frozenset({Stage.INTRODUCED, Stage.EXPIRED})
    found = finished_in_gmail(shown, [one, two])
    assert [(i, f.stage) for i, f, _ in found] == [
        (one.id, Stage.INTRODUCED),
        (two.id, Stage.EXPIRED),
    ]
    assert all(f.attention and "cannot tell which" in f.attention for _, f, _ in found)


# --------------------------------------------------------- is a draft still to write
def test_a_queued_draft_is_still_wanted_until_it_is_held_or_written() -> None:
    intro = _open()
    (ask,) = intro.drafts_of(DraftKind.CONSENT, Role.CONTACT)
    assert ask.state is DraftState.QUEUED
    assert queued_record(intro, ask.key) == ask and still_wanted(intro, ask.key)
    held = intro.with_draft(replace(ask, state=DraftState.HELD))
    assert queued_record(held, ask.key) is None and not still_wanted(held, ask.key)
    written = _asked()
    (sent,) = written.drafts_of(DraftKind.CONSENT, Role.CONTACT)
    assert queued_record(written, sent.key) is None and not still_wanted(written, sent.key)


def test_a_note_no_intro_records_is_always_written_never_looked_for_as_sent() -> None:
    assert still_wanted(None, "<introbot.problem.t@example.com>")
    assert still_wanted(_open(), "<a key the intro never had@example.com>")
    assert queued_record(None, "<introbot.problem.t@example.com>") is None
