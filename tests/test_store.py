"""The store keeps exactly what it was given, and refuses what it cannot keep: on both
engines (SQLite, PostgreSQL) unless a test is about one engine's own file or rows."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.model import Action, CreateDraft, DeleteDraft, Note, Person
from introbot.store import (
    SCHEMA_VERSION,
    Store,
    StoreError,
    StoreLocation,
    action_from_json,
    action_to_json,
)
from introbot.workflow import OWN_MESSAGES_KEPT, Transition, open_intro, threads_to_relabel
from tests.postgres import StoreMaker
from tests.test_workflow import states

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(stores: StoreMaker) -> Store:
    return stores()


def test_every_intro_state_round_trips(locations: Callable[[], StoreLocation]) -> None:
    for _, intro, _ in states():
        store = locations().open()  # draft keys carry the intro id: one intro per store
        store.save(intro, (), NOW)
        assert store.load(intro.id) == intro
        changed = intro.with_party(
            replace(intro.contact, person=Person("Dana W.", "dana.w@northwind.example"))
        )
        changed = replace(changed, attention="look at this")
        store.save(changed, (), NOW)
        assert store.load(intro.id) == changed
        store.close()


def first_step() -> Transition:
    """A freshly opened intro and the actions its first step queued."""
    _, intro, rules = next(states())
    return open_intro(
        intro.id,
        intro.request,
        intro.requester.person,
        intro.contact.person,
        intro.context,
        NOW,
        rules,
        secret=intro.secret or "0" * 32,
    )


def test_actions_round_trip_through_the_outbox(store: Store) -> None:
    _, intro, _ = next(states())
    opened = first_step()
    creates = [a for a in opened.actions if isinstance(a, CreateDraft)]
    actions: list[Action] = [
        *creates,
        DeleteDraft(intro.id, creates[0].spec.key),
        Note(intro.id, "noted"),
    ]
    store.save(intro, actions, NOW, "observed something")
    pending = store.pending_actions()
    assert [a for _, a, _ in pending] == actions[:-1]  # notes go to the audit trail, not the outbox
    for action in actions[:-1]:
        assert action_from_json(action_to_json(action)) == action
    assert [line.detail for line in store.timeline(intro.id)] == ["observed something", "noted"]
    store.mark_attempt(pending[0][0])
    assert store.pending_actions()[0][2] == 1
    store.mark_done(pending[0][0], NOW)
    assert len(store.pending_actions()) == len(actions) - 2


def test_a_save_records_the_threads_it_is_told_to_relabel(store: Store) -> None:
    """Which threads to relabel is the workflow's to say; the store records them, and for
    the request thread the message its labels go on."""
    _, intro, _ = next(states())
    store.save(intro, (), NOW)
    assert store.dirty_threads() == []
    store.save(intro, (), NOW, relabel=[intro.request.thread_id, "t-consent"])
    assert sorted(store.dirty_threads()) == sorted([intro.request.thread_id, "t-consent"])
    request = store.thread(intro.request.thread_id)
    assert request is not None and request.message_id == intro.request.message_id
    consent = store.thread("t-consent")
    assert consent is not None and consent.message_id is None


def test_threads_labels_and_seen(store: Store) -> None:
    store.set_problem("t1", "no address", NOW)
    assert store.known_thread("t1") and not store.known_thread("t2")
    assert store.dirty_threads() == ["t1"]
    store.set_labels("t1", ["Label_2", "Label_1"])
    assert store.thread("t1") is not None and store.thread("t1").labels == {"Label_1", "Label_2"}  # type: ignore[union-attr]
    assert store.dirty_threads() == []
    store.mark_seen(["m1", "m1"], NOW)
    assert store.seen("m1") and not store.seen("m2")
    store.set_cursor(12345)
    assert store.cursor() == 12345


def test_a_newer_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "introbot.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer introbot"):
        Store(path)
    assert path.read_bytes() == before


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "introbot.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable introbot database"):
        Store(path)


def test_an_older_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    from introbot.store import MIGRATIONS

    path = tmp_path / "introbot.db"
    with sqlite3.connect(path) as db:  # the database as the first version left it
        for statement in MIGRATIONS[0].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO meta (key, value) VALUES ('history_id', '777')")
        db.execute(
            "INSERT INTO threads (thread_id, problem, labels, dirty) VALUES ('t1', 'no address', '[\"Label_3\"]', 0)"
        )
    upgraded = Store(path)
    assert upgraded.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert upgraded.cursor() == 777
    record = upgraded.thread("t1")
    assert record is not None
    assert (record.problem, set(record.labels), record.message_id) == (
        "no address",
        {"Label_3"},
        None,
    )
    _, intro, _ = next(states())
    upgraded.save(intro, (), NOW, relabel=threads_to_relabel(intro))
    saved = upgraded.thread(intro.request.thread_id)
    assert saved is not None and saved.message_id == intro.request.message_id


def test_an_upgrade_keeps_every_intro_and_adds_what_is_new(tmp_path: Path) -> None:
    """A database of schema 2 (before parties recorded when they answered) opens under this
    introbot: migrated in place, nothing lost, the new field empty."""
    path = tmp_path / "introbot.db"
    store = Store(path)
    answered = [intro for _, intro, _ in states() if intro.requester.answered_at is not None]
    assert answered, "the workflow states include answered parties"
    intro = answered[0]
    store.save(intro, (), NOW)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE own_messages")  # schema 8: introbot's own draft messages
        db.execute("ALTER TABLE outbox DROP COLUMN awaiting_copy_since")
        db.execute("ALTER TABLE threads DROP COLUMN note")  # schema 7: a thread's note to you
        db.execute("ALTER TABLE parties DROP COLUMN answered_at")
        db.execute("DROP INDEX drafts_shared")  # schema 6: a shared consent draft
        db.execute("ALTER TABLE drafts DROP COLUMN shared")
        for table, column in (("intros", "secret"), ("drafts", "gone_at"), ("drafts", "edited")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # the attribution schema
        db.execute("DROP TABLE sent_bodies")
        db.execute("DROP TABLE commands")
        db.execute("PRAGMA user_version = 2")
    upgraded = Store(path)
    assert upgraded.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    loaded = upgraded.load(intro.id)
    assert loaded is not None
    assert loaded.requester.answered_at is None
    # Schema 4: an intro from before gets a random secret of its own (its drafts keep theirs).
    assert re.fullmatch(r"[0-9a-f]{32}", loaded.secret) and loaded.secret != intro.secret
    assert loaded == replace(
        intro.with_party(replace(intro.requester, answered_at=None)).with_party(
            replace(intro.contact, answered_at=None)
        ),
        secret=loaded.secret,
    )


def test_introbots_own_draft_messages_and_an_awaited_copy_are_kept(store: Store) -> None:
    store.keep_own_messages(["m-note", "m-ask", "m-note", ""], NOW, NOW - OWN_MESSAGES_KEPT)
    store.keep_own_messages([], NOW, NOW)  # nothing to keep: no transaction, nothing forgotten
    assert store.own_messages(["m-ask", "m-connectors", "m-note"]) == {"m-ask", "m-note"}
    assert store.own_messages([]) == frozenset()
    _, intro, _ = next(states())
    creates = [a for a in first_step().actions if isinstance(a, CreateDraft)]
    store.save(intro, creates[:1], NOW)
    ((action_id, _, _),) = store.pending_actions()
    assert store.awaiting_copy_since(action_id) is None
    store.await_copy(action_id, NOW)
    assert store.awaiting_copy_since(action_id) == NOW


def _reopened_at(path: Path, version: int, *undo: str) -> Store:
    """The SQLite database at ``path`` taken back to schema ``version`` (``undo``: what the
    later migrations made undone), opened again: migrated by this introbot."""
    with sqlite3.connect(path) as db:
        for statement in undo:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
    return Store(path)


def test_an_upgrade_counts_the_drafts_recorded_so_far_as_introbots_own(tmp_path: Path) -> None:
    """Schema 7 to 8: every message id a draft record names is introbot's own."""
    path = tmp_path / "introbot.db"
    store = Store(path)
    written = [
        (i, d.message_id) for _, i, _ in states() for d in i.drafts if d.message_id is not None
    ]
    assert written, "the workflow states include written drafts"
    intro = written[0][0]
    store.save(intro, (), NOW)
    store.close()
    upgraded = _reopened_at(
        path, 7, "DROP TABLE own_messages", "ALTER TABLE outbox DROP COLUMN awaiting_copy_since"
    )
    ids = {d.message_id for d in intro.drafts if d.message_id}
    assert upgraded.own_messages([*ids, "m-not-ours"]) == ids


def test_own_draft_messages_are_forgotten_four_weeks_after_they_were_last_kept(
    store: Store,
) -> None:
    """Schema 9: each row is dated when kept; rows last kept before ``forget_before`` go
    at the next keep, a message kept again (introbot deletes a draft it wrote) is dated anew."""
    day = timedelta(days=1)
    store.keep_own_messages(["m-old", "m-deleted-later"], NOW, NOW - OWN_MESSAGES_KEPT)
    later = NOW + 20 * day
    store.keep_own_messages(["m-deleted-later", "m-new"], later, later - OWN_MESSAGES_KEPT)
    everything = ["m-old", "m-deleted-later", "m-new"]
    assert store.own_messages(everything) == set(everything)  # 20 days: all still needed
    much_later = NOW + OWN_MESSAGES_KEPT + day
    store.keep_own_messages(["m-newest"], much_later, much_later - OWN_MESSAGES_KEPT)
    assert store.own_messages([*everything, "m-newest"]) == {
        "m-deleted-later",
        "m-new",
        "m-newest",
    }


def test_an_upgrade_dates_the_own_messages_kept_before_at_the_next_keep(tmp_path: Path) -> None:
    """Schema 8 to 9: the rows kept before have no date; they are not forgotten at once
    (a draft written just before the upgrade is still introbot's), but dated at the next
    keep and forgotten OWN_MESSAGES_KEPT after it."""
    path = tmp_path / "introbot.db"
    store = Store(path)
    store.keep_own_messages(["m-before"], NOW, NOW - OWN_MESSAGES_KEPT)
    store.close()
    upgraded = _reopened_at(
        path, 8, "DROP INDEX own_messages_kept", "ALTER TABLE own_messages DROP COLUMN kept_at"
    )
    assert upgraded.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert upgraded.own_messages(["m-before"]) == {"m-before"}
    upgrade = NOW + 3 * OWN_MESSAGES_KEPT
    upgraded.keep_own_messages(["m-after"], upgrade, upgrade - OWN_MESSAGES_KEPT)
    assert upgraded.own_messages(["m-before", "m-after"]) == {"m-before", "m-after"}
    past = upgrade + OWN_MESSAGES_KEPT + timedelta(days=1)
    upgraded.keep_own_messages(["m-last"], past, past - OWN_MESSAGES_KEPT)
    assert upgraded.own_messages(["m-before", "m-after", "m-last"]) == {"m-last"}
