"""One request for several contacts: one consent draft to the requester, its answer read per
contact (issue 11: "One request thread holds at most one introbot draft at a time"; issue 10:
"the answer per contact asked for"). introbot against the sandbox (tests/world.py)."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from introbot.model import Cancel, Consent, DraftKind, DraftState, Intro, Role, Stage
from introbot.sandbox import SandboxServer
from introbot.store import StoreLocation
from tests.conftest import left_out_by_markers
from tests.postgres import crash_cases
from tests.test_crash_safety import Run
from tests.world import ALEX, World, make_world

ALEX_ADDRESS = "alex.kim@tidepool.io"
DANA = "Dana Whitfield <dana@northwind.example>"
BOB = "Bob Lee <bob@lee.example>"
TWO = (
    "Hi Sam,\n\nCould you introduce me to Dana Whitfield (dana@northwind.example) and "
    "Bob Lee (bob@lee.example)? We build cold-chain sensors and both of them run fleets.\n\n"
    "Thanks,\nAlex"
)
GRACE = timedelta(days=3, minutes=1)


def to_alex(world: World) -> list[dict[str, Any]]:
    return [d for d in world.drafts() if ALEX_ADDRESS in (d["to"] or "")]


def by_contact(world: World) -> dict[str, Intro]:
    return {i.contact.person.email.split("@")[0]: i for i in world.intros()}


def requester_ask(intro: Intro) -> Any:
    (draft,) = [d for d in intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER) if d.open]
    return draft


def asked_both(world: World) -> dict[str, Intro]:
    """The request arrives; the connector sends every draft (one to Alex, one to each)."""
    world.request(TWO, subject="Two intros?")
    world.poll()
    world.send_drafts()
    world.poll()
    return by_contact(world)


def test_a_two_contact_request_makes_one_draft_to_the_requester(world: World) -> None:
    request = world.request(TWO, subject="Two intros?")
    world.poll()
    intros = by_contact(world)
    assert set(intros) == {"dana", "bob"}
    (ask,) = to_alex(world)  # one draft in the request thread, about both
    assert ask["threadId"] == request["threadId"]
    text = world.control.raw(ask["messageId"]).decode()
    assert "Dana Whitfield" in text and "Bob Lee" in text
    assert "dana@northwind" not in text and "bob@lee" not in text  # names only
    assert len(world.draft_to("dana@northwind.example")["id"]) > 0  # each their own
    assert len(world.draft_to("bob@lee.example")["id"]) > 0
    for intro in intros.values():  # every intro records the one draft
        record = requester_ask(intro)
        assert record.draft_id == ask["id"] and record.state is DraftState.CREATED
        assert intro.requester.consent is Consent.DRAFTED
    assert len({requester_ask(i).key for i in intros.values()}) == 2  # each its own record
    world.poll()
    assert len(to_alex(world)) == 1  # and nothing more on later polls


def test_sending_the_shared_draft_asks_the_requester_in_each_intro(world: World) -> None:
    intros = asked_both(world)
    for intro in intros.values():
        assert intro.requester.consent is Consent.ASKED
        (sent,) = intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
        assert sent.state is DraftState.SENT
    copies = {
        i.drafts_of(DraftKind.CONSENT, Role.REQUESTER)[0].sent_message_id for i in intros.values()
    }
    assert len(copies) == 1  # one message sent, recorded by both


def test_yes_to_both_counts_for_each(world: World) -> None:
    asked_both(world)
    world.reply(ALEX, "Yes to both, thanks Sam!")
    world.poll()
    for intro in by_contact(world).values():
        assert intro.requester.consent is Consent.YES, intro.requester.evidence
        assert intro.attention is None


def test_a_plain_yes_is_yes_to_all_that_were_asked(world: World) -> None:
    asked_both(world)
    world.reply(ALEX, "Yes please!")
    world.poll()
    assert all(i.requester.consent is Consent.YES for i in by_contact(world).values())


def test_yes_to_one_and_no_to_the_other(world: World) -> None:
    asked_both(world)
    world.reply(DANA, "Sure, happy to chat with Alex.")
    world.reply(ALEX, "Happy to meet Dana, skip Bob for now.")
    world.poll()
    intros = by_contact(world)
    dana, bob = intros["dana"], intros["bob"]
    assert dana.requester.consent is Consent.YES
    assert dana.stage is Stage.READY  # both said yes: the introduction is drafted
    assert bob.requester.consent is Consent.NO
    assert bob.stage is Stage.DECLINED
    # Bob, already asked, gets a thank-you draft rather than silence; no address of Alex.
    thanks = [d for d in world.drafts() if "bob@lee.example" in (d["to"] or "")]
    assert len(thanks) == 1


def test_an_answer_that_cannot_be_split_goes_to_the_connector(world: World) -> None:
    asked_both(world)
    world.reply(ALEX, "Yes to Dana, and Bob only if he is still at Lee Logistics.")
    world.poll()
    intros = by_contact(world)
    assert intros["dana"].requester.consent is Consent.YES
    bob = intros["bob"]
    assert bob.requester.consent is Consent.UNCLEAR  # a condition: never a yes by doubt
    assert bob.attention and "Bob" in bob.attention


def test_an_answer_about_only_one_leaves_the_other_unclear(world: World) -> None:
    asked_both(world)
    world.reply(ALEX, "Yes, happy to meet Dana.")
    world.poll()
    intros = by_contact(world)
    assert intros["dana"].requester.consent is Consent.YES
    assert intros["bob"].requester.consent is Consent.UNCLEAR


def test_a_later_word_about_one_contact_leaves_the_other_s_answer_alone(world: World) -> None:
    asked_both(world)
    world.reply(ALEX, "Yes, happy to meet Dana.")
    world.reply(DANA, "Sure, glad to.")
    world.poll()
    dana = by_contact(world)["dana"]
    assert dana.stage is Stage.READY and dana.drafts_of(DraftKind.JOINT)
    world.reply(ALEX, "And please skip Bob, thanks.")
    world.poll()
    intros = by_contact(world)
    assert intros["bob"].requester.consent is Consent.NO
    dana = intros["dana"]
    assert dana.stage is Stage.READY  # the joint draft stays: the word was not about Dana
    assert [d.state for d in dana.drafts_of(DraftKind.JOINT)] == [DraftState.CREATED]


def test_a_name_nobody_was_asked_about_is_unclear_for_all(world: World) -> None:
    asked_both(world)
    world.reply(ALEX, "Yes to Carol please.")
    world.poll()
    assert all(i.requester.consent is Consent.UNCLEAR for i in by_contact(world).values())


def test_discarding_the_shared_draft_vetoes_every_intro(world: World) -> None:
    world.request(TWO, subject="Two intros?")
    world.poll()
    (ask,) = to_alex(world)
    world.control.discard_draft(ask["id"])
    world.poll()
    for intro in by_contact(world).values():  # pending: Undo send may bring a copy
        assert requester_ask(intro).state is DraftState.PENDING
        assert intro.stage is Stage.ASKING
    world.poll(after=GRACE)
    for intro in by_contact(world).values():
        assert intro.stage is Stage.CANCELLED
        (record,) = intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
        assert record.state is DraftState.DISCARDED
    assert world.drafts() == []  # the contacts' drafts are withdrawn too


def test_an_edit_of_the_shared_draft_is_each_intro_s(world: World) -> None:
    world.request(TWO, subject="Two intros?")
    world.poll()
    (ask,) = to_alex(world)
    world.control.edit_draft(ask["id"], text="Hi Alex, shall I ask Dana and Bob? Sam")
    world.poll()
    for intro in by_contact(world).values():
        assert requester_ask(intro).edited
    world.control.send_draft(ask["id"])
    world.poll()
    for intro in by_contact(world).values():
        assert intro.requester.consent is Consent.ASKED


@pytest.fixture
def realistic(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, realism="realistic")  # Undo send: 30 s


def test_undo_send_of_the_shared_draft_keeps_every_intro_pending(realistic: World) -> None:
    world = realistic
    world.request(TWO, subject="Two intros?")
    world.poll()
    (ask,) = to_alex(world)
    world.control.send_draft(ask["id"])  # gone at once, the copy 30 s later
    world.poll()
    for intro in by_contact(world).values():
        assert requester_ask(intro).state is DraftState.PENDING
        assert intro.requester.consent is Consent.DRAFTED
    world.control.advance_clock(31)
    world.poll(after=timedelta(seconds=31))
    for intro in by_contact(world).values():
        assert intro.requester.consent is Consent.ASKED
    world.reply(ALEX, "Happy to meet Bob, not Dana.")
    world.poll()
    intros = by_contact(world)
    assert intros["bob"].requester.consent is Consent.YES
    assert intros["dana"].requester.consent is Consent.NO


def test_an_intro_cancelled_before_the_ask_is_sent_rewrites_it(world: World) -> None:
    """The connector cancels Bob's intro while the ask waits unedited in Drafts: the ask is
    written again about Dana alone (sending the old one would ask Alex about Bob)."""
    world.request(TWO, subject="Two intros?")
    world.poll()
    (old,) = to_alex(world)
    bob = by_contact(world)["bob"]
    world.engine.apply(bob.id, _cancel(), world.now, "test")
    world.engine.drain(world.now)
    world.check_invariants()
    (new,) = to_alex(world)  # still one draft in the thread, a new one
    assert new["id"] != old["id"]
    text = world.control.raw(new["messageId"]).decode()
    assert "Dana" in text and "Bob" not in text
    intros = by_contact(world)
    assert intros["bob"].stage is Stage.CANCELLED
    dana = intros["dana"]
    assert requester_ask(dana).shared is None  # an ask of one intro again
    world.control.send_draft(new["id"])
    world.poll()
    world.reply(ALEX, "Yes please!")
    world.poll()
    assert by_contact(world)["dana"].requester.consent is Consent.YES


def test_an_intro_cancelled_after_the_ask_was_edited_is_left_to_the_connector(
    world: World,
) -> None:
    world.request(TWO, subject="Two intros?")
    world.poll()
    (ask,) = to_alex(world)
    world.control.edit_draft(ask["id"], text="Hi Alex - Dana and Bob, both ok? Sam")
    world.poll()
    bob = by_contact(world)["bob"]
    world.engine.apply(bob.id, _cancel(), world.now, "test")
    world.engine.drain(world.now)
    (still,) = to_alex(world)
    assert still["id"] == ask["id"]  # the connector's words are not thrown away
    dana = by_contact(world)["dana"]
    assert dana.attention and "Bob Lee" in dana.attention


def test_all_intros_cancelled_delete_the_shared_draft(world: World) -> None:
    request = world.request(TWO, subject="Two intros?")
    world.poll()
    world.control.label_thread(request["threadId"], remove=(world.settings.labels.request,))
    world.poll()
    assert all(i.stage is Stage.CANCELLED for i in world.intros())
    assert world.drafts() == []


def _cancel() -> Cancel:
    return Cancel("the connector cancelled it")


# ------------------------------------------------------------------ crash safety
def _first_poll(run: Run) -> None:
    msg = EmailMessage()
    msg["From"] = ALEX
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = "Two intros?"
    msg["Message-ID"] = "<two-intros@tidepool.io>"
    msg.set_content(TWO)
    delivered = run.control.deliver(msg.as_bytes())
    run.control.label_thread(delivered["threadId"], add=("intro-request",))
    run.poll()  # crashed at the chosen request, then the restarted daemon's next poll
    run.poll()


@functools.cache
def _requests_of_a_clean_first_poll() -> int:
    with tempfile.TemporaryDirectory() as folder, SandboxServer(realism="tests") as server:
        run = Run(server, StoreLocation.sqlite(Path(folder) / "clean.db"))
        _first_poll(run)
        run.client.close()
        run.store.close()
        return run.counter[0]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every Gmail request of the polls that draft the shared ask, crashed before it
    reaches Gmail and after Gmail acted (every third one on PostgreSQL)."""
    if "crash_at" in metafunc.fixturenames and not left_out_by_markers(metafunc):
        n = _requests_of_a_clean_first_poll()
        cases = crash_cases(n)
        metafunc.parametrize(("engine", "crash_at", "after"), cases, ids=lambda v: str(v))


def crashed(
    where: StoreLocation | Path, crash_at: int, after: bool, *played: Callable[[Run], None]
) -> tuple[list[dict[str, Any]], list[Intro]]:
    """Gmail's drafts and the intros after ``played`` (each given the run) with one crash
    at the ``crash_at``-th Gmail request (before it reaches Gmail, or ``after`` it acted);
    the store at ``where`` (a folder: an SQLite file in it)."""
    location = (
        where if isinstance(where, StoreLocation) else StoreLocation.sqlite(where / "crash.db")
    )
    with SandboxServer(realism="tests") as server:
        run = Run(server, location, crash_at, after)
        for play in played:
            play(run)
        assert run.crashed
        drafts = run.drafts()
        run.client.close()
        store = location.open()
        intros = store.intros()
        store.close()
    return drafts, intros


@pytest.mark.slow  # the whole crash matrix, like tests/test_crash_safety.py
def test_a_crash_while_drafting_the_shared_ask_never_makes_two(
    location: StoreLocation, crash_at: int, after: bool
) -> None:
    drafts, intros = crashed(location, crash_at, after, _first_poll)
    recipients = sorted((d["to"] or "").rpartition("<")[2].rstrip(">") for d in drafts)
    assert recipients == ["alex.kim@tidepool.io", "bob@lee.example", "dana@northwind.example"]
    assert len(intros) == 2
    (ask,) = [d for d in drafts if ALEX_ADDRESS in (d["to"] or "")]
    for intro in intros:
        (record,) = intro.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
        assert record.draft_id == ask["id"] and record.state is DraftState.CREATED
        assert intro.requester.consent is Consent.DRAFTED
