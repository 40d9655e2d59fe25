"""One request thread holds at most one introbot draft at a time (issue 11), for everything
introbot writes to a requester who asked about several contacts: the notes when contacts
decline or never answer, the reminder, and what an introbot/yes|no label on that thread
means. introbot against the sandbox (tests/world.py), as in tests/test_shared_ask.py."""

from __future__ import annotations

import functools
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from introbot.model import Cancel, Consent, DraftKind, DraftState, Intro, Role, Stage
from introbot.sandbox import SandboxServer
from tests.conftest import left_out_by_markers
from tests.test_crash_safety import Run
from tests.test_shared_ask import (
    ALEX_ADDRESS,
    BOB,
    DANA,
    TWO,
    _first_poll,
    asked_both,
    by_contact,
    crashed,
)
from tests.world import ALEX, World, make_world

DAY = timedelta(days=1)
# What the contacts say when they decline: never in anything the requester gets.
DANA_NO = "No thanks, our pilots are booked solid through the spring."
BOB_NO = "Not for me, sorry: we just signed with another sensor vendor."


def alex_thread(world: World) -> str:
    (intro, *_) = world.intros()
    return intro.request.thread_id


def drafts_in(world: World, thread_id: str) -> list[dict[str, Any]]:
    return [d for d in world.drafts() if d["threadId"] == thread_id]


def text_of(world: World, draft: dict[str, Any]) -> str:
    return world.control.raw(draft["messageId"]).decode("utf-8", "replace")


def notes(intro: Intro) -> list[Any]:
    return [
        d
        for d in intro.drafts
        if d.kind in (DraftKind.DECLINE_NOTE, DraftKind.EXPIRY_NOTE) and d.to is Role.REQUESTER
    ]


def live_note(intro: Intro) -> Any:
    (note,) = [d for d in notes(intro) if d.state is not DraftState.WITHDRAWN]
    return note


def one_draft_in_alex_thread(world: World) -> dict[str, Any] | None:
    """The promise itself: at most one introbot draft in the request thread."""
    found = drafts_in(world, alex_thread(world))
    assert len(found) <= 1, [d["id"] for d in found]
    return found[0] if found else None


def alex_said_yes_to_both(world: World) -> dict[str, Intro]:
    asked_both(world)
    world.reply(ALEX, "Yes to both, thanks Sam!")
    world.poll()
    intros = by_contact(world)
    assert all(i.requester.consent is Consent.YES for i in intros.values())
    return intros


# ------------------------------------------------------------------ decline notes
def test_two_declines_make_one_note_about_both(world: World) -> None:
    alex_said_yes_to_both(world)
    world.reply(DANA, DANA_NO)
    world.poll()
    first = one_draft_in_alex_thread(world)
    assert first is not None and "Dana" in text_of(world, first)
    world.reply(BOB, BOB_NO)
    world.poll()
    note = one_draft_in_alex_thread(world)
    assert note is not None and note["id"] != first["id"]  # the first, written again
    text = text_of(world, note)
    assert "Dana" in text and "Bob" in text
    for words in ("booked solid", "another sensor vendor"):  # nothing of their replies
        assert words not in text
    intros = by_contact(world)
    records = [live_note(i) for i in intros.values()]
    assert {r.draft_id for r in records} == {note["id"]}  # one draft, recorded by both
    assert len({r.shared for r in records}) == 1 and records[0].shared
    world.control.send_draft(note["id"])
    world.poll()
    for intro in by_contact(world).values():
        assert live_note(intro).state is DraftState.SENT
        assert intro.attention is None
    assert one_draft_in_alex_thread(world) is None


def test_two_declines_in_one_poll_write_one_note_and_no_other(world: World) -> None:
    alex_said_yes_to_both(world)
    world.control.reset_stats()
    world.reply(DANA, DANA_NO)
    world.reply(BOB, BOB_NO)
    world.poll()
    note = one_draft_in_alex_thread(world)
    assert note is not None
    assert "Dana" in text_of(world, note) and "Bob" in text_of(world, note)
    by_method = world.control.stats()["by_method"]
    # One note to Alex, one thank-you... none: both contacts said no. Nothing written twice.
    assert by_method.get("drafts.create") == 1, by_method
    assert "drafts.delete" not in by_method, by_method


def test_the_notes_in_every_language_say_nothing_of_the_replies(tmp_path: Path) -> None:
    for language, words in (("fr", "Dana"), ("de", "Dana"), ("es", "Dana")):
        for world in make_world(tmp_path / language, languages={ALEX_ADDRESS: language}):
            alex_said_yes_to_both(world)
            world.reply(DANA, DANA_NO)
            world.reply(BOB, BOB_NO)
            world.poll()
            note = one_draft_in_alex_thread(world)
            assert note is not None
            text = text_of(world, note)
            assert words in text and "Bob" in text, (language, text)
            assert "booked solid" not in text and "sensor vendor" not in text


def edited_note_then_bob_declines(world: World) -> dict[str, Any]:
    """Dana declines, the connector edits the note about her, then Bob declines."""
    alex_said_yes_to_both(world)
    world.reply(DANA, DANA_NO)
    world.poll()
    first = one_draft_in_alex_thread(world)
    assert first is not None
    world.control.edit_draft(first["id"], text="Hi Alex, Dana can't this season. Sam")
    world.poll()
    world.reply(BOB, BOB_NO)
    world.poll()
    return first


def test_an_edited_note_stays_and_the_next_waits_for_it(world: World) -> None:
    """The connector's words are theirs: a second decline does not rewrite an edited note.
    The note about Bob waits (a second draft would collide with it in Gmail) and is
    written once the edited one is sent."""
    first = edited_note_then_bob_declines(world)
    still = one_draft_in_alex_thread(world)
    assert still is not None and still["id"] == first["id"]
    bob = by_contact(world)["bob"]
    assert live_note(bob).state is DraftState.HELD
    world.control.send_draft(first["id"])
    world.poll()
    later = one_draft_in_alex_thread(world)
    assert later is not None and later["id"] != first["id"]
    text = text_of(world, later)
    assert "Bob" in text and "Dana" not in text  # Dana's note went out in your words
    assert live_note(by_contact(world)["bob"]).state is DraftState.CREATED


def test_a_note_discarded_lets_the_waiting_one_through(world: World) -> None:
    first = edited_note_then_bob_declines(world)
    world.control.discard_draft(first["id"])
    world.poll()  # pending: Undo send may still bring a copy
    assert one_draft_in_alex_thread(world) is None
    world.poll(after=timedelta(days=3, minutes=1))
    later = one_draft_in_alex_thread(world)
    assert later is not None and "Bob" in text_of(world, later)


def test_a_note_being_sent_with_undo_is_not_rewritten(tmp_path: Path) -> None:
    for world in make_world(tmp_path, realism="realistic"):  # Undo send: 30 s
        _note_sent_with_undo(world)


def _note_sent_with_undo(world: World) -> None:
    world.request(TWO, subject="Two intros?")
    world.poll()
    world.send_drafts()
    world.control.advance_clock(31)
    world.poll(after=timedelta(seconds=31))
    world.reply(ALEX, "Yes to both, thanks Sam!")
    world.poll()
    world.reply(DANA, DANA_NO)
    world.poll()
    first = one_draft_in_alex_thread(world)
    assert first is not None
    world.control.send_draft(first["id"])  # gone at once, the copy 30 s later
    world.reply(BOB, BOB_NO)
    world.poll()
    assert one_draft_in_alex_thread(world) is None  # nothing written over a sending note
    assert live_note(by_contact(world)["dana"]).state is DraftState.PENDING
    assert live_note(by_contact(world)["bob"]).state is DraftState.HELD
    world.control.advance_clock(31)
    world.poll(after=timedelta(seconds=31))
    assert live_note(by_contact(world)["dana"]).state is DraftState.SENT
    later = one_draft_in_alex_thread(world)
    assert later is not None
    assert "Bob" in text_of(world, later) and "Dana" not in text_of(world, later)


def test_a_decline_before_the_ask_is_sent_waits_behind_the_ask(world: World) -> None:
    """Bob says no before the connector sent the ask to Alex: the ask is written again
    about Dana alone, and the note about Bob comes after it, not beside it."""
    request = world.request(TWO, subject="Two intros?")
    world.poll()
    world.send_drafts(to="bob@lee.example")
    world.poll()
    world.reply(BOB, BOB_NO)
    world.poll()
    ask = one_draft_in_alex_thread(world)
    assert ask is not None and ask["threadId"] == request["threadId"]
    text = text_of(world, ask)
    assert "Dana" in text and "Bob" not in text
    assert live_note(by_contact(world)["bob"]).state is DraftState.HELD
    world.control.send_draft(ask["id"])
    world.poll()
    note = one_draft_in_alex_thread(world)
    assert note is not None and note["id"] != ask["id"]
    assert "Bob" in text_of(world, note) and BOB_NO not in text_of(world, note)


def test_two_contacts_who_never_answer_get_one_note(world: World) -> None:
    world.request(TWO, subject="Two intros?")
    world.poll()
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Yes to both, thanks Sam!")
    world.poll()
    world.poll(after=timedelta(days=22))
    intros = by_contact(world)
    assert all(i.stage is Stage.EXPIRED for i in intros.values())
    note = one_draft_in_alex_thread(world)
    assert note is not None
    text = text_of(world, note)
    assert "Dana" in text and "Bob" in text and "reply" in text


def test_one_declined_and_one_never_answered_is_one_note_saying_each(world: World) -> None:
    alex_said_yes_to_both(world)
    world.reply(DANA, DANA_NO)
    world.poll()
    world.poll(after=timedelta(days=22))  # Bob never answers
    assert by_contact(world)["bob"].stage is Stage.EXPIRED
    note = one_draft_in_alex_thread(world)
    assert note is not None
    text = text_of(world, note)
    assert "checked with Dana" in text and "reply from Bob" in text


# ------------------------------------------------------------------ the reminder
def test_the_reminder_outlives_the_intro_that_wrote_the_ask(world: World) -> None:
    """Dana's intro drafted the shared ask; it is cancelled before the reminder is due.
    Bob's intro reminds Alex, about Bob alone."""
    intros = asked_both(world)
    dana = intros["dana"]
    (ask,) = dana.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
    assert ask.key == ask.shared  # Dana's wrote it
    world.engine.apply(dana.id, Cancel("the connector cancelled it"), world.now, "test")
    world.poll(after=timedelta(days=4, hours=1))
    reminder = one_draft_in_alex_thread(world)
    assert reminder is not None
    text = text_of(world, reminder)
    assert "Bob" in text and "Dana" not in text
    bob = by_contact(world)["bob"]
    assert [d.state for d in bob.drafts_of(DraftKind.REMINDER, Role.REQUESTER)] == [
        DraftState.CREATED
    ]
    world.poll(after=DAY)
    assert one_draft_in_alex_thread(world) == reminder  # one reminder, once


def test_one_reminder_names_both_and_is_written_once(world: World) -> None:
    asked_both(world)
    world.poll(after=timedelta(days=4, hours=1))
    reminder = one_draft_in_alex_thread(world)
    assert reminder is not None
    text = text_of(world, reminder)
    assert "Dana" in text and "Bob" in text
    records = [
        d
        for i in by_contact(world).values()
        for d in i.drafts_of(DraftKind.REMINDER, Role.REQUESTER)
    ]
    assert {d.draft_id for d in records} == {reminder["id"]} and len(records) == 2
    world.control.send_draft(reminder["id"])
    world.poll(after=DAY)
    assert one_draft_in_alex_thread(world) is None
    world.reply(ALEX, "Sorry for the delay - yes to both!")
    world.poll()
    assert all(i.requester.consent is Consent.YES for i in by_contact(world).values())


def test_an_unsent_reminder_is_written_again_without_a_contact_who_declined(
    world: World,
) -> None:
    """The reminder waits unsent; Dana then declines. The reminder is taken back and the
    note about Dana goes first; once it is sent, the reminder comes, about Bob alone."""
    asked_both(world)
    world.poll(after=timedelta(days=4, hours=1))
    first = one_draft_in_alex_thread(world)
    assert first is not None and "Dana" in text_of(world, first)
    world.reply(DANA, DANA_NO)
    world.poll()
    note = one_draft_in_alex_thread(world)
    assert note is not None and note["id"] != first["id"]
    assert "Dana" in text_of(world, note) and "Bob" not in text_of(world, note)
    world.control.send_draft(note["id"])
    world.poll()
    reminder = one_draft_in_alex_thread(world)
    assert reminder is not None
    assert "Bob" in text_of(world, reminder) and "Dana" not in text_of(world, reminder)


def test_a_reminder_waits_behind_an_unsent_note(world: World) -> None:
    asked_both(world)
    world.reply(DANA, DANA_NO)
    world.poll()
    note = one_draft_in_alex_thread(world)
    assert note is not None
    world.poll(after=timedelta(days=4, hours=1))
    assert one_draft_in_alex_thread(world) == note  # the reminder waits
    bob = by_contact(world)["bob"]
    assert [d.state for d in bob.drafts_of(DraftKind.REMINDER, Role.REQUESTER)] == [DraftState.HELD]
    world.control.send_draft(note["id"])
    world.poll()
    reminder = one_draft_in_alex_thread(world)
    assert reminder is not None and "Bob" in text_of(world, reminder)
    assert "Dana" not in text_of(world, reminder)


# ------------------------------------------------------------------ the labels
def alex_answers(world: World, text: str) -> dict[str, Intro]:
    asked_both(world)
    world.reply(ALEX, text)
    world.poll()
    return by_contact(world)


def _label(world: World, name: str) -> None:
    world.control.label_thread(alex_thread(world), add=(world.settings.all_labels()[name],))


def test_a_label_on_the_shared_thread_decides_nothing_while_both_wait(world: World) -> None:
    before = alex_answers(world, "Hmm, let me think about it.")
    assert all(i.requester.consent is Consent.UNCLEAR for i in before.values())
    _label(world, "yes")
    world.poll()
    after = by_contact(world)
    for name, intro in after.items():
        assert intro.requester.consent is Consent.UNCLEAR  # nothing decided
        assert intro.attention and "introbot decide" in intro.attention, intro.attention
        for other in after.values():  # every intro named, with its command
            assert f"introbot decide {other.id} requester yes|no" in intro.attention, name
    assert one_draft_in_alex_thread(world) is None  # and nothing drafted


def test_a_label_decides_for_the_one_intro_still_waiting(world: World) -> None:
    intros = alex_answers(world, "Dana yes please; Bob I would need to think about.")
    assert (intros["dana"].requester.consent, intros["bob"].requester.consent) == (
        Consent.YES,
        Consent.UNCLEAR,
    )
    _label(world, "no")
    world.poll()
    intros = by_contact(world)
    assert intros["dana"].requester.consent is Consent.YES  # untouched
    assert intros["bob"].requester.consent is Consent.NO
    assert intros["bob"].stage is Stage.DECLINED


def test_a_label_on_a_contact_s_thread_still_decides_it(world: World) -> None:
    asked_both(world)
    world.reply(DANA, "Maybe later in the year?")
    world.poll()
    dana = by_contact(world)["dana"]
    assert dana.contact.consent is Consent.UNCLEAR
    (sent,) = dana.drafts_of(DraftKind.CONSENT, Role.CONTACT)
    world.control.label_thread(sent.thread_id or "", add=(world.settings.all_labels()["yes"],))
    world.poll()
    assert by_contact(world)["dana"].contact.consent is Consent.YES


# ------------------------------------------------------------------ problem notes
PART = (
    "Hi Sam,\n\nCould you introduce me to Bob Lee, and also to Dana Whitfield "
    "(dana@northwind.example)? We build cold-chain sensors.\n\nThanks,\nAlex"
)


def test_a_problem_note_beside_an_ask_gets_a_thread_of_its_own(tmp_path: Path) -> None:
    """Half a request is usable: Dana's intro opens (the ask to Alex answers in the request
    thread) and Bob, named without an address, is a problem. The note about him goes in a
    thread of its own, naming the request, in every language: not beside the ask."""
    subject = "Two intros?"
    for language in ("en", "fr", "de", "es"):
        for world in make_world(tmp_path / language, languages={"default": language}):
            request = world.request(PART, subject=subject)
            world.poll()
            assert [i.contact.person.email for i in world.intros()] == ["dana@northwind.example"]
            (ask,) = drafts_in(world, request["threadId"])
            assert ALEX_ADDRESS in ask["to"]
            (note,) = [d for d in world.drafts() if "problem" in d["headers"]["Message-ID"]]
            assert note["threadId"] != request["threadId"]
            assert subject in note["headers"]["Subject"] and subject in note["text"], language
            assert "Bob Lee" in note["text"]
            labels = world.thread_labels(request["threadId"])
            assert "introbot/needs-attention" in labels


def test_a_problem_note_alone_stays_in_the_request_thread(world: World) -> None:
    request = world.request("Hi Sam, could you introduce me to Bob Lee? Thanks, Alex")
    world.poll()
    assert world.intros() == []
    (note,) = world.drafts()
    assert note["threadId"] == request["threadId"]


# ------------------------------------------------------------------ crash safety
def _up_to_the_first_note(run: Run) -> None:
    """Two intros asked, Alex said yes to both, Dana declined: a note about her waits."""
    _first_poll(run)
    run.send_drafts()
    run.poll()
    run.reply(ALEX, ALEX_ADDRESS, "Yes to both, thanks Sam!")
    run.poll()
    run.reply(DANA, "dana@northwind.example", DANA_NO)
    run.poll()


def _second_decline(run: Run) -> None:
    run.reply(BOB, "bob@lee.example", BOB_NO)
    run.poll()  # crashed at the chosen request, then the restarted daemon's next poll
    run.poll()


@functools.cache
def _requests_around_the_merge() -> tuple[int, int]:
    """How many Gmail requests come before the poll that merges the notes, and with it."""
    with tempfile.TemporaryDirectory() as folder, SandboxServer(realism="tests") as server:
        run = Run(server, Path(folder) / "clean.db")
        _up_to_the_first_note(run)
        before = run.counter[0]
        _second_decline(run)
        run.client.close()
        run.store.close()
        return before, run.counter[0]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every Gmail request of the poll that writes the two notes as one, crashed before it
    reaches Gmail and after Gmail acted."""
    if "merge_crash_at" in metafunc.fixturenames and not left_out_by_markers(metafunc):
        before, total = _requests_around_the_merge()
        cases = [(i, after) for i in range(before + 1, total + 1) for after in (False, True)]
        metafunc.parametrize(("merge_crash_at", "after"), cases, ids=lambda v: str(v))


@pytest.mark.slow  # a crash matrix, like tests/test_crash_safety.py
def test_a_crash_while_merging_the_notes_never_leaves_two(
    tmp_path: Path, merge_crash_at: int, after: bool
) -> None:
    drafts, intros = crashed(
        tmp_path, merge_crash_at, after, _up_to_the_first_note, _second_decline
    )
    to_requester = [d for d in drafts if ALEX_ADDRESS in (d["to"] or "")]
    text = "\n".join(d["text"] for d in to_requester)
    assert len(to_requester) == 1, [d["id"] for d in to_requester]
    assert "Dana" in text and "Bob" in text
    assert all(i.stage is Stage.DECLINED for i in intros)
    held = {d.draft_id for i in intros for d in notes(i) if d.state is DraftState.CREATED}
    assert held == {to_requester[0]["id"]}


def test_an_edited_reminder_is_left_to_the_connector_when_an_intro_leaves_it(
    world: World,
) -> None:
    asked_both(world)
    world.poll(after=timedelta(days=4, hours=1))
    reminder = one_draft_in_alex_thread(world)
    assert reminder is not None
    world.control.edit_draft(reminder["id"], text="Hi Alex, any news on Dana and Bob? Sam")
    world.poll()
    dana = by_contact(world)["dana"]
    world.engine.apply(dana.id, Cancel("the connector cancelled it"), world.now, "test")
    world.engine.drain(world.now)
    still = one_draft_in_alex_thread(world)
    assert still is not None and still["id"] == reminder["id"]  # your words stay
    bob = by_contact(world)["bob"]
    assert bob.attention and "Dana Whitfield" in bob.attention and "reminder" in bob.attention
