"""A request thread's old note to the connector goes when what it said no longer holds.

Alex asks for an intro to Bob but gives no address: introbot drafts a note to the
connector in the request thread. Alex writes again in that thread with the address, and
the connector labels the thread again. The ask to Alex answers in the request thread, so
the old note, never deleted, would sit beside it (Gmail's web UI cannot hold two reply
drafts in one thread). The thread's record keeps the note's Message-ID, so the note is
deleted before the ask is written; unless the connector edited it: then it is theirs.
End to end against the sandbox, with the real Gmail client.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from introbot.matching import unedited
from introbot.model import DeleteDraft, DraftKind, Role
from introbot.store import StoreLocation
from introbot.store.base import action_from_json, action_to_json
from tests.world import World, make_world

ALEX = "Alex Kim <alex.kim@tidepool.io>"
ASKED = "Hi Sam, could you introduce me to Bob Lee? We both work on cold storage. Thanks, Alex"
FIXED = (
    "Sorry Sam, I forgot his address: could you introduce me to Bob Lee (bob@lee.example)? "
    "We both work on cold storage.\n\nThanks,\nAlex"
)


@pytest.fixture
def on_both(tmp_path: Path, location: StoreLocation) -> Iterator[World]:
    """The world of tests/conftest.py, its store on SQLite and on PostgreSQL in turn (the
    note's Message-ID is in a column the migrations add to both)."""
    yield from make_world(tmp_path, location=location)


def _in_thread(world: World, thread_id: str) -> list[dict[str, Any]]:
    return [d for d in world.drafts() if d["threadId"] == thread_id]


def _alex_writes_again(world: World, request: dict[str, str], text: str, wait: float = 600) -> None:
    """Alex answers in the request thread ``wait`` seconds later (by default Gmail's
    search has long found the note); the connector labels the thread again."""
    world.control.advance_clock(wait)
    first = next(m for m in world.control.mailbox()["messages"] if m["id"] == request["id"])
    msg = EmailMessage()
    msg["From"] = ALEX
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = "Re: " + first["headers"]["Subject"]
    msg["Date"] = format_datetime(world.now)
    msg["Message-ID"] = make_msgid(domain="tidepool.io")
    msg["In-Reply-To"] = msg["References"] = first["headers"]["Message-ID"]
    msg.set_content(text)
    world.control.deliver(msg.as_bytes())
    world.control.label_thread(request["threadId"], add=(world.settings.labels.request,))


def _noted(world: World) -> tuple[dict[str, str], dict[str, Any]]:
    """The request without Bob's address, and the note about it in its thread."""
    request = world.request(ASKED, sender=ALEX, subject="Meeting Bob?")
    world.poll()
    assert world.intros() == []
    (note,) = _in_thread(world, request["threadId"])
    assert "problem" in note["headers"]["Message-ID"]
    record = world.store.thread(request["threadId"])
    assert record is not None and record.note == note["headers"]["Message-ID"]
    return request, note


def test_a_fixed_request_deletes_its_old_note_before_the_ask_lands(on_both: World) -> None:
    world = on_both
    request, note = _noted(world)
    _alex_writes_again(world, request, FIXED)
    world.poll()
    (intro,) = world.intros()
    assert intro.contact.person.email == "bob@lee.example"
    (ask,) = _in_thread(world, request["threadId"])  # alone in the thread: the note is gone
    assert ask["id"] != note["id"] and "alex.kim@tidepool.io" in ask["to"]
    (record,) = intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
    assert record.draft_id == ask["id"]
    thread = world.store.thread(request["threadId"])
    assert thread is not None and thread.problem is None and thread.note is None


def test_a_note_the_connector_edited_is_theirs_and_stays(world: World) -> None:
    request, note = _noted(world)
    world.control.edit_draft(note["id"], text="Ask Alex for Bob's address. Also: lunch Friday?")
    _alex_writes_again(world, request, FIXED)
    world.poll()
    (intro,) = world.intros()
    assert intro.contact.person.email == "bob@lee.example"
    kept = [d for d in world.drafts() if d["id"] == note["id"]]
    assert len(kept) == 1 and "lunch Friday" in kept[0]["text"]


def test_an_outbox_row_says_whether_the_delete_spares_an_edited_draft() -> None:
    old_note = DeleteDraft("", "<introbot.problem.t.1@example.com>", unless_edited=True)
    assert action_from_json(action_to_json(old_note)) == old_note
    held = DeleteDraft("", "<introbot.held.t@example.com>")
    assert action_to_json(held) == (
        '{"type": "delete_draft", "intro_id": "", "key": "<introbot.held.t@example.com>"}'
    )  # as rows were written before: they read back as deletes whatever the draft holds
    assert action_from_json(action_to_json(held)) == held


def test_a_draft_is_unedited_only_word_for_word() -> None:
    written = "Note to self:\n- Bob has no address\n\nFix the message."
    assert unedited(written, written.replace("\n", "\r\n") + "\r\n")  # Gmail's line ends
    assert not unedited(written, written + " Call Alex first.")
    assert not unedited(written, written.replace("Bob", "Rob"))
