"""Memory of people: before a new intro asks anyone, introbot looks at the intros it made
before. The same pair under way or introduced (either way round), either of the two having
declined an intro to the other (the contact declining this requester, or the requester
declining this contact), or a contact who declined any intro lately (``[workflow]
remember_declines_days``), and the request is set aside for you with the reason and a note
to you in its thread; nobody is asked again until you say so with ``introbot ask-again``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.daemon import DAEMON, single_instance
from introbot.model import Consent, Intro, Party, Person, RequestRef, Role, Stage
from introbot.workflow import WorkflowRules, remembered
from tests.cli import invoke
from tests.world import ALEX, CONNECTOR, DANA, REQUEST, World, make_world

DANA_AGAIN = (
    "Hi Sam,\n\nFollowing up from a different angle: could you introduce me to Dana Whitfield "
    "(dana@northwind.example)? Our new sensor line might suit her team after all.\n\nAlex"
)
ALEX_FROM_DANA = (
    "Hi Sam,\n\nWould you put me in touch with Alex Kim (alex.kim@tidepool.io)? His sensors "
    "came up in our planning meeting.\n\nDana"
)
PRIYA_TO_DANA = (
    "Hi Sam,\n\nCould you introduce me to Dana Whitfield (dana@northwind.example)? We make "
    "routing software for cold storage.\n\nPriya"
)


def _cli(world: World, *args: str) -> str:
    done = invoke(*args, "--db", str(world.db), "--sandbox", world.server.url, "--name", "Sam")
    assert done.exit_code == 0, done.stderr
    return done.stdout


def _declined(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "No thanks - we are not looking at new vendors this year.")
    world.poll()
    assert world.only_intro().stage is Stage.DECLINED


def _to_dana(world: World) -> list[dict[str, object]]:
    return [d for d in world.drafts() if "dana@northwind.example" in str(d["to"] or "")]


def _held_note(world: World, thread: str) -> dict[str, object]:
    """The one draft in a held request's thread: a note to you alone."""
    (note,) = [d for d in world.drafts() if d["threadId"] == thread]
    assert note["to"] == f"Sam Rivera <{CONNECTOR}>" and not note.get("cc")
    assert "introbot ask-again " + thread in str(note["text"])
    return note


def test_a_contact_who_declined_this_requester_is_not_asked_again_until_you_say(
    world: World,
) -> None:
    _declined(world)
    again = world.request(DANA_AGAIN, subject="Dana again?")
    report = world.poll()
    assert len(world.intros()) == 1  # no second intro, no consent draft to Dana
    assert _to_dana(world) == []
    thread = again["threadId"]
    assert "introbot/needs-attention" in world.thread_labels(thread)
    (line,) = [d for d in report.decisions if d.startswith(f"thread {thread}")]
    assert "Dana Whitfield declined an intro to Alex Kim on" in line
    assert f"introbot ask-again {thread}" in line
    # You are told in a note to yourself in that thread: which intro, when, which way.
    first = world.store.intros()[0]
    note = str(_held_note(world, thread)["text"])
    assert f"Dana Whitfield declined an intro to Alex Kim on {first.closed_at:%-d %b %Y}" in note
    assert f"(intro {first.id}: requester Alex Kim, contact Dana Whitfield)" in note

    # list --attention and stats show it, with the fix; the thread is named.
    attention = _cli(world, "list", "--attention")
    assert f"thread {thread}: Dana Whitfield declined an intro to Alex Kim" in attention
    assert f"`introbot ask-again {thread}`" in attention
    assert "needs-attention" in attention  # and the legend says what that is
    listed = json.loads(_cli(world, "list", "--attention", "--json"))
    assert [r["thread_id"] for r in listed["request_threads"]] == [thread]
    stats = json.loads(_cli(world, "stats", "--json"))
    assert stats["needs_attention"] == {"intros": 0, "requests": 1}
    assert "1 request(s) set aside" in _cli(world, "stats")

    # Labeling the thread again is no say: it stays set aside.
    world.control.label_thread(thread, remove=(world.settings.labels.request,))
    world.poll()
    world.control.label_thread(thread, add=(world.settings.labels.request,))
    world.poll()
    assert len(world.intros()) == 1 and _to_dana(world) == []
    _held_note(world, thread)  # still the one note: read again, nothing new to say

    # Your say, in one step: the intro opens, Dana's consent draft is written, and the note
    # that said why nobody was asked is gone (the thread holds one introbot draft at a time).
    asked = _cli(world, "ask-again", thread)
    assert f"thread {thread}: asked again, 1 intro(s) opened." in asked
    world.check_invariants()
    fresh = [i for i in world.store.intros() if i.request.thread_id == thread]
    assert len(fresh) == 1 and fresh[0].stage is Stage.ASKING
    assert len(_to_dana(world)) == 1
    in_thread = [d for d in world.drafts() if d["threadId"] == thread]
    assert [d["to"] for d in in_thread] == ["Alex Kim <alex.kim@tidepool.io>"], in_thread
    assert "introbot/needs-attention" not in world.thread_labels(thread)
    assert world.store.problem_threads() == []
    world.poll()  # and the say is used once: nothing more is drafted
    assert len(_to_dana(world)) == 1


def test_ask_again_while_the_daemon_runs_is_done_by_its_next_poll(world: World) -> None:
    _declined(world)
    thread = world.request(DANA_AGAIN, subject="Dana again?")["threadId"]
    world.poll()
    not_set_aside = invoke(
        "ask-again", "19a0000000000000", "--db", str(world.db), "--sandbox", world.server.url
    )
    assert not_set_aside.exit_code == 2 and "list --attention" in not_set_aside.stderr
    with single_instance(world.db, DAEMON):  # `introbot run` holds the database
        asked = _cli(world, "ask-again", thread)
    assert "recorded, since introbot (pid" in asked and "its next poll asks again" in asked
    assert _to_dana(world) == []
    world.poll()  # the daemon's next poll
    assert len(world.intros()) == 2 and len(_to_dana(world)) == 1


def test_the_same_pair_in_a_second_thread_is_not_a_second_intro(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    second = world.request(DANA_AGAIN, subject="Intro to Dana?")
    report = world.poll()
    assert len(world.intros()) == 1 and len(_to_dana(world)) == 1
    (line,) = [d for d in report.decisions if d.startswith(f"thread {second['threadId']}")]
    intro = world.only_intro()
    assert f"Alex Kim and Dana Whitfield are already being introduced: intro {intro.id}" in line
    assert "awaiting-consent since" in line


@pytest.fixture
def forgetful(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, workflow={"remember_declines_days": 0})


def _dana_declined_someone_else(world: World) -> dict[str, str]:
    _declined(world)
    return world.request(PRIYA_TO_DANA, sender="Priya Natarajan <priya@lumen.dev>", subject="Dana")


def test_a_contact_who_declined_lately_is_not_asked_by_another_requester(world: World) -> None:
    request = _dana_declined_someone_else(world)
    report = world.poll()
    assert len(world.intros()) == 1 and _to_dana(world) == []
    (line,) = [d for d in report.decisions if d.startswith(f"thread {request['threadId']}")]
    assert "Dana Whitfield declined an intro to Alex Kim on" in line
    assert "within the last 90 days ([workflow] remember_declines_days)" in line


def test_remember_declines_days_zero_asks_another_requester(forgetful: World) -> None:
    _dana_declined_someone_else(forgetful)
    forgetful.poll()
    assert len(forgetful.intros()) == 2 and len(_to_dana(forgetful)) == 1


# ------------------------------------------------------------- the decision, pure
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
A, D, P = Person("Alex", "alex@a.io"), Person(None, "dana@d.io"), Person("Priya", "p@p.io")


def _past(
    requester: Person,
    contact: Person,
    stage: Stage,
    said: Consent,
    ago: int,
    asker_said: Consent = Consent.YES,
) -> Intro:
    at = NOW - timedelta(days=ago)
    ref = RequestRef("t", "m", None, "s", requester, "direct")
    return Intro(
        id=f"i{ago}",
        request=ref,
        requester=Party(Role.REQUESTER, requester, asker_said, answered_at=at),
        contact=Party(Role.CONTACT, contact, said, answered_at=at),
        context="",
        order=WorkflowRules(A).order,
        stage=stage,
        created_at=at,
        closed_at=at if stage.closed else None,
    )


@pytest.mark.parametrize(
    ("past", "requester", "reason"),
    [
        ([], A, None),
        ([_past(A, D, Stage.ASKING, Consent.ASKED, 3)], A, "already being introduced"),
        ([_past(D, A, Stage.INTRODUCED, Consent.YES, 300)], A, "were already introduced on"),
        ([_past(A, D, Stage.DECLINED, Consent.NO, 400)], A, "dana@d.io declined an intro to Alex"),
        ([_past(A, D, Stage.DECLINED, Consent.NO, 40)], P, "within the last 90 days"),
        ([_past(A, D, Stage.DECLINED, Consent.NO, 91)], P, None),
        ([_past(A, D, Stage.EXPIRED, Consent.ASKED, 5)], A, None),
        ([_past(A, D, Stage.CANCELLED, Consent.ASKED, 5)], A, None),
        ([_past(D, P, Stage.DECLINED, Consent.YES, 5)], A, None),  # Priya said no, not Dana
        # The other way round: Dana asked for Alex; now Alex asks for Dana.
        ([_past(D, A, Stage.ASKING, Consent.ASKED, 3)], A, "requester dana@d.io, contact Alex"),
        ([_past(D, A, Stage.READY, Consent.YES, 3)], A, "already being introduced"),
        # This requester declined Dana: as the contact Dana asked for ...
        ([_past(D, A, Stage.DECLINED, Consent.NO, 400)], A, "Alex declined an intro to dana@d.io"),
        # ... or as the requester of an intro to Dana that you proposed.
        (
            [_past(A, D, Stage.DECLINED, Consent.ASKED, 400, asker_said=Consent.NO)],
            A,
            "Alex declined an intro to dana@d.io on 27 Oct 2025 (intro i400: requester Alex,",
        ),
        # Dana, as a requester, declined an intro to Alex.
        (
            [_past(D, A, Stage.DECLINED, Consent.YES, 400, asker_said=Consent.NO)],
            A,
            "dana@d.io declined an intro to Alex",
        ),
        # The requester declining someone else lately does not hold back their own request.
        ([_past(A, P, Stage.DECLINED, Consent.ASKED, 5, asker_said=Consent.NO)], A, None),
        ([_past(P, A, Stage.DECLINED, Consent.NO, 5)], A, None),
        # The latest of several is said.
        (
            [
                _past(A, D, Stage.DECLINED, Consent.NO, 400),
                _past(D, A, Stage.DECLINED, Consent.NO, 9),
            ],
            A,
            "Alex declined an intro to dana@d.io",
        ),
    ],
)
def test_what_introbot_remembers(past: list[Intro], requester: Person, reason: str | None) -> None:
    why = remembered(past, requester, D, NOW, WorkflowRules(A))
    assert why is None if reason is None else reason in (why or "")


def test_a_declined_request_labeled_again_is_set_aside_not_silent(world: World) -> None:
    request = world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "No thanks - we are not looking at new vendors this year.")
    world.poll()
    thread = request["threadId"]
    world.control.label_thread(thread, remove=(world.settings.labels.request,))
    world.poll()
    world.control.label_thread(thread, add=(world.settings.labels.request,))
    report = world.poll()
    assert len(world.intros()) == 1 and _to_dana(world) == []
    (line,) = [d for d in report.decisions if d.startswith(f"thread {thread}")]
    assert "Dana Whitfield declined an intro to Alex Kim" in line
    assert [t for t, _ in world.store.problem_threads()] == [thread]


def test_the_same_pair_the_other_way_round_is_not_a_second_intro(world: World) -> None:
    """Dana asks for Alex while Alex's request for Dana is under way: held, with a note."""
    world.request(REQUEST)
    world.poll()
    back = world.request(ALEX_FROM_DANA, sender=DANA, subject="Alex Kim?")
    report = world.poll()
    assert len(world.intros()) == 1
    thread = back["threadId"]
    (line,) = [d for d in report.decisions if d.startswith(f"thread {thread}")]
    intro = world.only_intro()
    assert "Dana Whitfield and Alex Kim are already being introduced" in line
    note = str(_held_note(world, thread)["text"])
    assert f"intro {intro.id}: requester Alex Kim, contact Dana Whitfield" in note


def test_a_requester_who_declined_this_contact_is_not_asked_again(world: World) -> None:
    """Dana declined an intro to Alex; later Dana asks to meet Alex. Nobody is asked (not
    Alex, who has not been told of Dana's no, not Dana) until you say so."""
    _declined(world)
    before = len(world.drafts())
    back = world.request(ALEX_FROM_DANA, sender=DANA, subject="Alex Kim?")
    world.poll()
    thread = back["threadId"]
    assert len(world.intros()) == 1
    assert len(world.drafts()) == before + 1  # the note to you, nothing to a party
    note = _held_note(world, thread)
    assert "Dana Whitfield declined an intro to Alex Kim on" in str(note["text"])
    assert "introbot/needs-attention" in world.thread_labels(thread)
    raw = world.control.raw(str(note["messageId"])).lower()
    assert b"alex.kim@tidepool.io" not in raw.partition(b"\r\n\r\n")[0]  # no party's header
    world.poll()  # read again: still one note
    assert len([d for d in world.drafts() if d["threadId"] == thread]) == 1


def test_a_requester_who_withdrew_is_not_asked_again(world: World) -> None:
    """Alex said no to his own intro to Dana (after her yes); asking for Dana again holds."""
    world.asked()
    world.reply(DANA, "Happy to talk with him.")
    world.reply(ALEX, "On reflection, not now - we have paused the pilot.")
    world.poll()
    assert world.only_intro().requester.consent is Consent.NO
    again = world.request(DANA_AGAIN, subject="Dana, after all?")
    world.poll()
    assert len(world.intros()) == 1
    note = str(_held_note(world, again["threadId"])["text"])
    assert "Alex Kim declined an intro to Dana Whitfield on" in note


DANA_AND_PRIYA = (
    "Hi Sam,\n\nTwo people I would like to meet: Dana Whitfield (dana@northwind.example), "
    "about our new sensor line, and Priya Nair (priya@lumen.dev), about cold-chain "
    "routing.\n\nAlex"
)


def test_a_request_partly_held_keeps_its_note_out_of_the_thread_the_ask_is_in(
    world: World,
) -> None:
    _declined(world)
    again = world.request(DANA_AND_PRIYA, subject="Two more intros")
    world.poll()
    thread = again["threadId"]
    # Priya is asked (the ask to Alex is a reply in his thread); Dana is not.
    assert _to_dana(world) == []
    (ask,) = [d for d in world.drafts() if d["threadId"] == thread]
    assert ask["to"] == "Alex Kim <alex.kim@tidepool.io>"
    assert "Priya" in str(ask["text"]) and "Dana" not in str(ask["text"])
    # The note to you is in a thread of its own that names the request: one draft a thread.
    (note,) = [d for d in world.drafts() if "introbot ask-again " + thread in str(d["text"])]
    assert note["threadId"] != thread
    assert note["to"] == f"Sam Rivera <{CONNECTOR}>" and not note.get("cc")
    text = str(note["text"])
    assert '"Two more intros"' in text and "I asked about the others it names" in text
    assert "I have asked nobody yet" not in text
    world.check_invariants()

    # Your say on Dana while the ask about Priya is still a draft in the thread: a second
    # ask there would collide with it, so Dana waits and you are told why and what to do.
    _cli(world, "ask-again", thread)
    world.check_invariants()
    assert _to_dana(world) == []
    assert [d["id"] for d in world.drafts() if d["threadId"] == thread] == [ask["id"]]
    (waits,) = [d for d in world.drafts() if "not asked about yet" in str(d["text"])]
    assert waits["threadId"] != thread and str(waits["to"]).endswith(f"<{CONNECTOR}>")
    assert f"run `introbot ask-again {thread}` again" in str(waits["text"])
    assert "introbot/needs-attention" in world.thread_labels(thread)

    # You send the ask about Priya, and say again: now Dana is asked, one draft in the thread.
    world.send_drafts(to="alex.kim@tidepool.io")
    world.poll()
    _cli(world, "ask-again", thread)
    world.check_invariants()
    assert len(_to_dana(world)) == 1
    in_thread = [d for d in world.drafts() if d["threadId"] == thread]
    assert len(in_thread) == 1 and "Dana" in str(in_thread[0]["text"]), in_thread
