"""One vocabulary: an intro's state in `list`, `show`, `stats` and their JSON is the name of
the Gmail label introbot puts on its request thread; `list` has a legend; `list --attention`
shows all that waits for you, requests set aside included; the next step names exactly who
or what is awaited."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from introbot.cli import views
from introbot.cli.intros import STATES
from introbot.model import (
    Consent,
    Draft,
    DraftKind,
    DraftState,
    Intro,
    Order,
    Party,
    Person,
    RequestRef,
    Role,
    Stage,
)
from introbot.workflow import STAGE_LABELS
from tests.cli import invoke
from tests.world import ALEX, REQUEST, World

BOB, CAROL = "Bob Stone <bob@stone.example>", "Carol Diaz <carol@diaz.example>"
PRIYA, EVE = "Priya Natarajan <priya@lumen.dev>", "Eve Park <eve@park.example>"


def _ask(name: str, address: str) -> str:
    return f"Hi Sam,\n\nCould you introduce me to {name} ({address})? It would help.\n\nThanks"


def _cli(world: World, *args: str) -> str:
    done = invoke(*args, "--db", str(world.db), "--sandbox", world.server.url, "--name", "Sam")
    assert done.exit_code == 0, done.stderr
    return done.stdout


def _by_pair(listed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{i['requester']['email']}>{i['contact']['email']}": i for i in listed}


def _story(world: World) -> dict[str, dict[str, str]]:
    """Four intros, each waiting on someone else, and a request set aside."""
    requests = {"alex": world.asked()}  # Alex -> Dana: both asked; Alex says yes
    world.reply(ALEX, "Yes please.")
    world.poll()
    requests["bob"] = world.request(_ask("Carol Diaz", "carol@diaz.example"), sender=BOB)
    world.poll()
    world.send_drafts(to="bob@stone.example")
    world.send_drafts(to="carol@diaz.example")
    world.poll()
    world.reply(BOB, "Yes please.")
    world.reply(CAROL, "No thanks, not this quarter.")
    world.poll()  # Bob -> Carol: declined, the decline note to Bob waits for you
    # Eve -> someone with no name: the reply is unclear.
    requests["eve"] = world.request(_ask("a friend", "frank@frank.example"), sender=EVE)
    world.poll()
    world.send_drafts(to="eve@park.example")
    world.send_drafts(to="frank@frank.example")
    world.poll()
    world.reply(EVE, "Yes please.")
    world.reply("frank@frank.example", "Possibly. Let me check with my team first.")
    world.poll()
    requests["priya"] = world.request(_ask("Dana Whitfield", "dana@northwind.example"), PRIYA)
    world.poll()  # Priya -> Dana: consent drafts written, not sent
    requests["broken"] = world.request("Hi Sam, could you introduce me to someone? Thanks")
    world.poll()  # a request introbot cannot use: set aside
    return requests


def test_one_vocabulary_in_list_show_stats_json_and_gmail(world: World) -> None:
    requests = _story(world)
    listed = json.loads(_cli(world, "list", "--json"))
    intros = _by_pair(listed["intros"])
    alex = intros["alex.kim@tidepool.io>dana@northwind.example"]
    bob = intros["bob@stone.example>carol@diaz.example"]
    eve = intros["eve@park.example>frank@frank.example"]
    priya = intros["priya@lumen.dev>dana@northwind.example"]

    # Every state shown is the label Gmail shows on the request thread.
    for intro, who in ((alex, "alex"), (bob, "bob"), (eve, "eve"), (priya, "priya")):
        assert f"introbot/{intro['state']}" in world.thread_labels(requests[who]["threadId"])
    assert eve["needs_attention"] is True
    assert "introbot/needs-attention" in world.thread_labels(requests["eve"]["threadId"])
    states = [alex["state"], bob["state"], priya["state"]]
    assert states == ["awaiting-consent", "declined", "awaiting-consent"]

    # The next step names exactly who or what is awaited.
    assert alex["next_step"] == "wait for Dana Whitfield's reply"  # Alex said yes already
    assert bob["next_step"] == "send the decline note to Bob Stone"
    assert eve["next_step"].startswith("read frank@frank.example's reply, then `introbot decide")
    assert eve["next_step"].endswith(" contact yes|no`")
    assert priya["next_step"] == "send the consent drafts to Priya Natarajan and Dana Whitfield"
    assert [i["waiting_for_you"] for i in (alex, bob, eve, priya)] == [False, True, True, True]

    # The table, its legend, and the requests set aside with the fix.
    table = _cli(world, "list")
    assert "awaiting-consent" in table and "asking" not in table
    assert "declined, needs-attention" not in table and "awaiting-consent, needs-attention" in table
    assert "States (the labels introbot puts on the request threads in Gmail):" in table
    for name in ("awaiting-consent", "declined", "needs-attention"):
        assert any(line.strip().startswith(f"{name} ") for line in table.splitlines()), name
    assert f"thread {requests['broken']['threadId']}:" in table

    # --attention: what waits for you, and nothing else.
    attention = _cli(world, "list", "--attention")
    assert "Bob Stone -> Carol Diaz" in attention and "Priya Natarajan -> Dana" in attention
    assert "Eve Park -> frank@frank.example" in attention
    assert "Alex Kim -> Dana" not in attention
    assert f"thread {requests['broken']['threadId']}:" in attention
    assert "fix: correct the request" in attention
    waiting = json.loads(_cli(world, "list", "--attention", "--json"))
    assert len(waiting["intros"]) == 3
    assert [r["thread_id"] for r in waiting["request_threads"]] == [requests["broken"]["threadId"]]

    # The old names stay accepted by --state, for scripts; the same intros come back.
    old = json.loads(_cli(world, "list", "--state", "asking", "--json"))
    new = json.loads(_cli(world, "list", "--state", "awaiting-consent", "--json"))
    assert old == new and len(new["intros"]) == 3

    # show says the same as list.
    shown = _cli(world, "show", str(alex["id"]))
    assert "state:     awaiting-consent\n" in shown
    assert "next step: wait for Dana Whitfield's reply" in shown
    detail = json.loads(_cli(world, "show", str(eve["id"]), "--json"))
    assert detail["state"] == "awaiting-consent" and detail["needs_attention"] is True
    assert "awaiting-consent, needs-attention (" in _cli(world, "show", str(eve["id"]))

    # stats counts by the same names, and what needs attention.
    stats = json.loads(_cli(world, "stats", "--json"))
    assert list(stats["by_state"]) == list(STAGE_LABELS.values())
    assert stats["by_state"]["awaiting-consent"] == 3 and stats["by_state"]["declined"] == 1
    assert stats["needs_attention"] == {"intros": 1, "requests": 1}
    assert "Needs attention: 1 intro(s), 1 request(s)" in _cli(world, "stats")


def test_the_state_names_are_the_labels_and_the_old_names() -> None:
    assert list(STATES) == views.state_names()
    assert {views.stage_for(name) for name in STATES} == set(Stage)
    assert views.stage_for("asking") is views.stage_for("awaiting-consent") is Stage.ASKING
    assert set(views.LEGEND) == {*STAGE_LABELS.values(), "needs-attention"}


def test_a_pending_draft_is_waited_for_by_name(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    draft = world.draft_to("dana@northwind.example")
    world.gmail.drafts().delete(userId="me", id=draft["id"]).execute()  # or Schedule send
    world.poll()
    (intro,) = json.loads(_cli(world, "list", "--json"))["intros"]
    assert intro["next_step"] == "send the consent draft to Alex Kim"
    world.send_drafts()
    world.poll()
    (intro,) = json.loads(_cli(world, "list", "--json"))["intros"]
    assert intro["next_step"] == (
        "wait for the sent copy of the consent draft to Dana Whitfield "
        "(it left Drafts: Undo or Schedule send)"
    )


# ------------------------------------------------------------- the next step, pure
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ALEX_P, DANA_P = Person("Alex Kim", "alex@a.io"), Person(None, "dana@d.io")


def _intro(
    stage: Stage,
    requester: Consent,
    contact: Consent,
    *drafts: tuple[DraftKind, Role | None, DraftState],
) -> Intro:
    return Intro(
        id="abc123",
        request=RequestRef("t", "m", None, "s", ALEX_P, "direct"),
        requester=Party(Role.REQUESTER, ALEX_P, requester),
        contact=Party(Role.CONTACT, DANA_P, contact),
        context="",
        order=Order.REQUESTER_FIRST,
        stage=stage,
        created_at=NOW,
        drafts=tuple(Draft(f"k{n}", kind, to, state) for n, (kind, to, state) in enumerate(drafts)),
    )


SENT, MADE = DraftState.SENT, DraftState.CREATED


@pytest.mark.parametrize(
    ("intro", "step", "yours"),
    [
        (
            _intro(
                Stage.ASKING,
                Consent.ASKED,
                Consent.NOT_ASKED,
                (DraftKind.CONSENT, Role.REQUESTER, SENT),
            ),
            "wait for Alex Kim's reply (dana@d.io is asked after that yes)",
            False,
        ),
        (
            _intro(Stage.ASKING, Consent.ASKED, Consent.ASKED),
            "wait for replies from Alex Kim and dana@d.io",
            False,
        ),
        (
            _intro(
                Stage.ASKING, Consent.YES, Consent.ASKED, (DraftKind.REMINDER, Role.CONTACT, MADE)
            ),
            "send the reminder draft to dana@d.io",
            True,
        ),
        (
            _intro(Stage.READY, Consent.YES, Consent.YES, (DraftKind.JOINT, None, MADE)),
            "send the introduction draft to both",
            True,
        ),
        (
            _intro(
                Stage.EXPIRED,
                Consent.YES,
                Consent.ASKED,
                (DraftKind.EXPIRY_NOTE, Role.REQUESTER, MADE),
            ),
            "send the no-answer note to Alex Kim",
            True,
        ),
        (
            _intro(
                Stage.DECLINED,
                Consent.YES,
                Consent.NO,
                (DraftKind.DECLINE_NOTE, Role.REQUESTER, SENT),
            ),
            "-",
            False,
        ),
        (
            _intro(
                Stage.DECLINED,
                Consent.YES,
                Consent.NO,
                (DraftKind.DECLINE_NOTE, Role.REQUESTER, DraftState.HELD),
            ),
            "send or delete the other introbot draft in the request thread: the decline note "
            "to Alex Kim is written once it is gone",
            True,
        ),
        (
            replace(_intro(Stage.ASKING, Consent.UNCLEAR, Consent.UNCLEAR), attention="both"),
            "read Alex Kim's reply and dana@d.io's reply, then "
            "`introbot decide abc123 requester|contact yes|no`",
            True,
        ),
    ],
)
def test_the_next_step_names_who_or_what(intro: Intro, step: str, yours: bool) -> None:
    assert views.next_step(intro) == views.NextStep(step, yours)
