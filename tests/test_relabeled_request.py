"""A request thread labeled again: what the connector sees in Gmail afterwards.

Gmail keeps labels per message and shows a conversation with the labels of all its
messages. So when Alex's request (no address for Bob) is set aside and Alex writes again
with the address, no message of the thread may keep `introbot/needs-attention` once the
intro is under way. And when the connector labels the thread again, the newest message
they labeled is the request: if that fix is itself broken, the thread needs attention for
its own reason, never for the old message's, nor with the old message's intros taken
instead. End to end against the sandbox, with the real Gmail client.
"""

from __future__ import annotations

from introbot.reading.mime import read_mail
from introbot.reading.requests import read_request
from introbot.rules import default_phrases
from introbot.workflow import RequestPlan, ThreadNote, labeled_anew, plan_request, request_reading
from tests.test_stale_note import ALEX, FIXED, _alex_writes_again, _in_thread, _noted
from tests.test_workflow import PARALLEL, REQUEST, T0, _open
from tests.world import World

ATTENTION = "introbot/needs-attention"
WAITING = "introbot/awaiting-consent"
# Alex tries again and still gives no usable address for Bob, this time a broken one.
STILL_BROKEN = "Sorry Sam! Bob Lee is at bob.lee@ (I'll find the rest). Thanks, Alex"
ALSO_DANA = "Could you also introduce me to Dana Whitfield? Thanks again, Alex"


def _messages_with(world: World, thread_id: str, label: str) -> list[str]:
    box = world.control.mailbox()
    return [
        m["id"] for m in box["messages"] if m["threadId"] == thread_id and label in m["labelIds"]
    ]


def test_a_fixed_request_leaves_no_message_needing_attention(world: World) -> None:
    request, _ = _noted(world)
    thread_id = request["threadId"]
    assert _messages_with(world, thread_id, ATTENTION)
    _alex_writes_again(world, request, FIXED)
    world.poll()
    (intro,) = world.intros()
    assert intro.contact.person.email == "bob@lee.example"
    labels = world.thread_labels(thread_id)
    assert WAITING in labels and ATTENTION not in labels, labels
    assert _messages_with(world, thread_id, ATTENTION) == []


def test_a_broken_fix_needs_attention_for_its_own_reason(world: World) -> None:
    request, note = _noted(world)
    thread_id = request["threadId"]
    first = world.store.thread(thread_id)
    assert first is not None and first.problem
    _alex_writes_again(world, request, STILL_BROKEN)
    world.poll()
    assert world.intros() == []
    record = world.store.thread(thread_id)
    assert record is not None and record.problem and record.problem != first.problem
    assert ATTENTION in world.thread_labels(thread_id)  # still true of the thread: kept
    (new_note,) = _in_thread(world, thread_id)  # the old note made way for the new one
    assert new_note["id"] != note["id"] and record.note == new_note["headers"]["Message-ID"]


def test_a_new_message_without_an_address_is_not_the_old_request_read_again(
    world: World,
) -> None:
    request = world.request(FIXED, sender=ALEX, subject="Meeting Bob?")
    world.poll()
    (bob,) = world.intros()
    thread_id = request["threadId"]
    assert world.store.thread(thread_id) is not None
    _alex_writes_again(world, request, ALSO_DANA)
    world.poll()
    assert [i.id for i in world.intros()] == [bob.id]  # Bob's intro goes on; nobody new
    record = world.store.thread(thread_id)
    assert record is not None and record.problem, "the new message's problem was not seen"
    assert {ATTENTION, WAITING} <= world.thread_labels(thread_id)


def test_the_newest_new_message_is_the_request_of_a_thread_labeled_again() -> None:
    # (message, yields intros, reads as a request at all), newest first
    readings = [("thanks", False, False), ("fix", False, True), ("request", True, True)]

    def pick(found: list[tuple[str, bool, bool]], again: bool, aside: bool) -> str | None:
        chosen = request_reading(found, lambda r: r[1], lambda r: r[2], again, aside)
        return chosen[0] if chosen else None

    assert pick(readings, again=False, aside=False) == "request"  # a thread read whole
    assert pick(readings[:2], again=False, aside=False) == "thanks"  # nothing: its problems
    assert pick(readings, again=True, aside=True) == "thanks"  # set aside: every one a fix
    assert pick(readings, again=True, aside=False) == "fix"  # beside intros: a "thanks" is none
    assert pick(readings[:1], again=True, aside=False) is None  # nothing new: read as before
    assert pick([], again=True, aside=True) is None
    assert labeled_anew(["m1", "note", "m2", "m2"], {"m1"}) == ("m2", "note")
    assert labeled_anew(["m1"], {"m1"}) == ()


def test_a_note_written_seconds_ago_is_deleted_all_the_same(world: World) -> None:
    """Gmail's search finds a new draft only seconds later (the sandbox: 10 s). Alex's
    fix and the connector's new label come right after the note: the note is deleted by
    the draft id introbot kept when it wrote it, not looked for by search."""
    request, note = _noted(world)
    key = note["headers"]["Message-ID"]
    assert world.store.note_draft(key) == note["id"]
    _alex_writes_again(world, request, FIXED, wait=2)
    world.poll()
    (intro,) = world.intros()
    assert intro.contact.person.email == "bob@lee.example"
    (ask,) = _in_thread(world, request["threadId"])
    assert ask["id"] != note["id"] and "alex.kim@tidepool.io" in ask["to"]
    assert world.store.note_draft(key) is None  # done with it


def test_a_fix_beside_intros_that_stand_says_its_problem_once() -> None:
    standing = [_open()]
    unusable = ["Jo Park is named but no email address is given for them"]
    plan = plan_request(standing, [], unusable, REQUEST, T0, PARALLEL, fix=True)
    assert plan.problem == unusable[0] and not plan.opening
    (note,) = plan.actions  # apart from the thread where the intro drafts
    assert note.spec.to == (PARALLEL.connector,) and note.spec.thread_id is None
    said = ThreadNote(unusable[0], note.spec.key)
    again = plan_request(standing, [], unusable, REQUEST, T0, PARALLEL, noted=said, fix=True)
    assert again == RequestPlan(read_again=True)  # said already: nothing new
    # Not a fix (the thread read as before): intros that stand say nothing new.
    assert plan_request(standing, [], unusable, REQUEST, T0, PARALLEL) == RequestPlan(
        read_again=True
    )


def test_a_name_without_an_address_is_said_once_whichever_phrases_find_the_ask() -> None:
    # "introduce me to" is both a first-person ask and a "meet" phrase: one name, one problem.
    raw = (
        b"From: Alex Kim <alex.kim@tidepool.io>\r\nTo: Pat <pat@example.com>\r\n"
        b"Subject: one more\r\nMessage-ID: <once@tidepool.io>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Could you perhaps also introduce me to Jo Park? Many thanks, Alex\r\n"
    )
    reading = read_request(read_mail(raw), ["pat@example.com"], default_phrases())
    named = [p for p in reading.problems if p.startswith("Jo Park is named")]
    assert len(named) == 1 and not reading.intros
