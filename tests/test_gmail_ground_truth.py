"""Gmail is the ground truth for what is finished: a database is bound to its mailbox, and a
fresh database on a mailbox introbot worked on never re-opens what Gmail's introbot/* labels
show as finished, nor asks anyone a second time (issue 12)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.engine import Engine
from introbot.model import Consent, CreateDraft, DraftKind, Person, RequestRef, Stage
from introbot.rules import load_rules
from introbot.sandbox import SandboxServer
from introbot.store import Store, WrongMailbox
from introbot.workflow import WorkflowRules, rebuilt_from_gmail
from tests.cli import invoke
from tests.world import ALEX, DANA, REQUEST, World


def _introduced(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please!")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    world.send_drafts()
    world.poll()


def _declined(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "No thanks - my plate is full through Q2.")
    world.poll()
    world.send_drafts()
    world.poll()


def _cancelled(world: World) -> None:
    world.asked()
    (intro,) = world.intros()
    from introbot.model import Cancel

    world.engine.apply(intro.id, Cancel("cancelled from the command line"), world.now, "test")
    world.engine.drain(world.now)
    world.engine.converge_labels()


def _expired(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.poll()
    world.poll(after=timedelta(days=5))
    world.send_drafts()  # the reminder
    world.poll(after=timedelta(days=17))
    world.send_drafts()  # the note to the requester
    world.poll()


def _fresh(world: World, name: str = "fresh.db") -> None:
    """The connector throws the database away (or points --db elsewhere)."""
    world.store.close()
    world.db = world.db.with_name(name)
    world.store = Store(world.db)
    world.engine = Engine(
        world.client, world.store, world.settings, load_rules(world.settings.paths.rules)
    )


@pytest.mark.parametrize(
    ("finish", "stage"),
    [
        (_introduced, Stage.INTRODUCED),
        (_declined, Stage.DECLINED),
        (_cancelled, Stage.CANCELLED),
        (_expired, Stage.EXPIRED),
    ],
)
def test_a_fresh_database_never_reopens_a_finished_intro(
    world: World, finish: Callable[[World], None], stage: Stage
) -> None:
    finish(world)
    assert world.only_intro().stage is stage
    drafts_before = world.drafts()
    labels_before = world.thread_labels(world.only_intro().request.thread_id)
    _fresh(world)
    world.control.reset_stats()
    report = world.poll()
    assert report.full_sync and report.drafts_created == 0
    assert world.drafts() == drafts_before  # nobody is asked again
    assert "drafts.create" not in world.control.stats()["by_method"]
    (intro,) = world.intros()
    assert intro.stage is stage and intro.attention is None
    assert intro.contact.person.email == "dana@northwind.example"
    assert world.thread_labels(intro.request.thread_id) == labels_before
    if stage is Stage.INTRODUCED:
        assert intro.requester.consent is intro.contact.consent is Consent.YES
    assert any("rebuilt from Gmail" in line.detail for line in world.store.timeline(intro.id))
    world.poll(after=timedelta(days=30))  # reminders and expiry have nothing to act on
    assert world.drafts() == drafts_before


def test_an_intro_under_way_is_set_aside_not_asked_twice(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.poll()
    thread_id = world.only_intro().request.thread_id
    _fresh(world)
    report = world.poll()
    assert report.full_sync
    assert world.intros() == []
    (note,) = world.drafts()  # one note to the connector, nothing to a party
    assert note["to"] == "Sam Rivera <connector@example.com>"
    assert "another database" in note["text"]
    assert "introbot/needs-attention" in world.thread_labels(thread_id)
    record = world.store.thread(thread_id)
    assert record is not None and record.problem and "nobody is asked twice" in record.problem


def test_a_request_introbot_never_worked_on_opens_as_usual(world: World) -> None:
    """The fresh database's full sync asks what Gmail shows; a plain request shows nothing."""
    world.request(REQUEST)
    world.poll()
    assert world.only_intro().stage is Stage.ASKING
    assert len(world.drafts()) == 2


@pytest.fixture
def other_mailbox() -> Iterator[SandboxServer]:
    with SandboxServer(user="someone.else@example.com") as server:
        yield server


def test_a_poll_with_the_database_of_another_mailbox_is_refused(
    world: World, other_mailbox: SandboxServer, home: Path
) -> None:
    world.asked()
    world.store.close()
    before = world.db.read_bytes()
    result = invoke("poll", "--sandbox", other_mailbox.url, "--db", str(world.db))
    assert result.exit_code == 2
    assert "keeps the intros of connector@example.com" in result.stderr
    assert "signed in as someone.else@example.com" in result.stderr
    assert "--db" in result.stderr and "Traceback" not in result.stderr
    assert world.db.read_bytes() == before  # nothing written
    from introbot.sandbox.control import SandboxControl

    by_method = SandboxControl(other_mailbox.url).stats()["by_method"]
    assert set(by_method) == {"getProfile"}, by_method


def test_the_engine_refuses_another_mailbox_before_any_change(
    world: World, other_mailbox: SandboxServer
) -> None:
    world.asked()
    from introbot.gmail.client import GmailClient

    client = GmailClient.for_sandbox(other_mailbox.url, timeout=5)
    engine = Engine(client, world.store, world.settings, load_rules(world.settings.paths.rules))
    cursor = world.store.cursor()
    with pytest.raises(WrongMailbox, match="introbot auth"):
        engine.poll(world.now)
    assert world.store.cursor() == cursor
    client.close()


# ------------------------------------------------- the decision itself, pure values
SAM = Person("Sam Rivera", "connector@example.com")
REQUEST_REF = RequestRef(
    "t1", "m1", "<r1@tidepool.io>", "Two intros?", Person("Alex", "alex@t.io"), "direct"
)
WANTED = [
    ("i1", Person("Alex", "alex@t.io"), Person("Dana", "dana@n.io"), ""),
    ("i2", Person("Alex", "alex@t.io"), Person("Marcus", "marcus@c.io"), ""),
]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_gmail_showing_no_stage_is_a_new_request() -> None:
    assert rebuilt_from_gmail(frozenset(), REQUEST_REF, WANTED, NOW, WorkflowRules(SAM)) is None


def test_several_finished_stages_record_each_intro_finished_and_flag_the_guess() -> None:
    shown = frozenset({Stage.INTRODUCED, Stage.DECLINED})
    rebuilt = rebuilt_from_gmail(shown, REQUEST_REF, WANTED, NOW, WorkflowRules(SAM))
    assert rebuilt is not None and rebuilt.problem is None
    intros = [t.intro for t in rebuilt.transitions]
    assert {i.stage for i in intros} == shown  # the labels Gmail shows, all kept
    assert all(i.stage.closed and i.attention and "cannot tell" in i.attention for i in intros)
    assert all(not isinstance(a, CreateDraft) for t in rebuilt.transitions for a in t.actions)


def test_a_stage_under_way_sets_the_thread_aside() -> None:
    shown = frozenset({Stage.INTRODUCED, Stage.ASKING})
    rebuilt = rebuilt_from_gmail(shown, REQUEST_REF, WANTED, NOW, WorkflowRules(SAM))
    assert rebuilt is not None and rebuilt.transitions == ()
    assert rebuilt.problem and "awaiting-consent" in rebuilt.problem
    (note,) = rebuilt.actions  # the connector is told, in the request thread
    assert note.intro_id == "" and note.spec.kind is DraftKind.PROBLEM_NOTE
    assert note.spec.thread_id == REQUEST_REF.thread_id


def _restore(world: World, backup: Path) -> None:
    """The connector restores an older copy of the database (or runs a stale copy)."""
    world.store.close()
    world.db = backup
    world.store = Store(world.db)
    world.engine = Engine(
        world.client, world.store, world.settings, load_rules(world.settings.paths.rules)
    )


@pytest.mark.parametrize(
    ("finish", "stage"),
    [
        (_introduced, Stage.INTRODUCED),
        (_declined, Stage.DECLINED),
        (_cancelled, Stage.CANCELLED),
        (_expired, Stage.EXPIRED),
    ],
)
def test_a_stale_database_closes_what_gmail_shows_finished(
    world: World,
    finish: Callable[[World], None],
    stage: Stage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backup = tmp_path / "backup.db"
    asked = world.asked

    def asked_then_backed_up(body: str = REQUEST) -> dict[str, str]:
        request = asked(body)
        world.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(world.db, backup)  # the intro is under way in this copy
        return request

    monkeypatch.setattr(world, "asked", asked_then_backed_up)
    finish(world)
    assert world.only_intro().stage is stage
    drafts_before = world.drafts()
    labels_before = world.thread_labels(world.only_intro().request.thread_id)
    _restore(world, backup)
    assert world.only_intro().stage is Stage.ASKING
    world.control.expire_history()  # the stale cursor is long gone: a full sync
    world.control.reset_stats()
    report = world.poll()
    assert report.full_sync and report.drafts_created == 0
    assert "drafts.create" not in world.control.stats()["by_method"]
    (intro,) = world.intros()
    assert intro.stage is stage, [line.detail for line in world.store.timeline(intro.id)]
    assert world.drafts() == drafts_before  # nobody is asked again
    labels = world.thread_labels(intro.request.thread_id)
    if stage is Stage.EXPIRED:  # the requester's yes, read now, is taken for a late one
        assert intro.attention == "the requester said yes after the intro expired"
        labels -= {"introbot/needs-attention"}
    else:
        assert intro.attention is None
    assert labels == labels_before
    assert any("Gmail labels the request" in line.detail for line in world.store.timeline(intro.id))
    world.poll(after=timedelta(days=30))  # reminders and expiry have nothing to act on
    assert world.drafts() == drafts_before
    assert world.only_intro().stage is stage


def test_a_stale_database_leaves_a_thread_gmail_shows_under_way(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    world.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    world.control.expire_history()
    report = world.poll()
    assert report.full_sync
    assert world.only_intro().stage is Stage.ASKING  # Gmail shows it awaiting consent too
    assert len(world.drafts()) == 2
