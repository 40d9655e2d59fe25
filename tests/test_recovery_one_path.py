"""A draft found sent after a restart goes down the poll's own path (issue 14).

Sync reports what it found (the draft written, then sent, and the answers in its thread)
as observations, and the engine applies them as it applies every sync's: the same reply
rules, the same workflow step, the same timeline words. These tests look at what that
path promises and the old second path did not say: the answer is read with the lines of
the ask it pastes back dropped (the text as sent is known to the reader in that very
pass), each observation reaches the timeline once, and the answer is not read again.
"""

from __future__ import annotations

from datetime import timedelta

from introbot.model import Consent, Role
from introbot.sandbox.control import compose_reply
from tests.test_recovery_after_send import (
    DANA_ADDRESS,
    _back_after_hours,
    _drafts_to,
    _killed_at_create,
    _sent_to,
    world,
)
from tests.world import DANA, REQUEST, World

__all__ = ["world"]  # the fixture: Gmail keeping our Message-ID on the copy, or writing its own

YES_ON_TOP = "Sure, happy to talk with Alex."


def _answer_pasting_the_ask(world: World) -> None:
    """Dana answers yes above the ask pasted back without quote marks, as some mail
    clients do: the pasted ask's own words ("a no is fine") must not count."""
    (copy,) = _sent_to(world, DANA_ADDRESS)
    pasted = f"{YES_ON_TOP}\n\n{copy['text']}"
    world.control.deliver(compose_reply(copy, DANA, pasted, at=world.now + timedelta(minutes=5)))


def _lost_ask_sent_and_answered(world: World) -> None:
    """Killed after Gmail wrote the ask to Dana; the connector sent it; Dana answered."""
    _killed_at_create(world, DANA_ADDRESS, after=True)
    (made,) = _drafts_to(world, DANA_ADDRESS)
    world.control.send_draft(made["id"])
    _answer_pasting_the_ask(world)


def test_an_answer_found_after_a_restart_is_read_without_the_ask_it_pastes(world: World) -> None:
    _lost_ask_sent_and_answered(world)
    _back_after_hours(world)
    intro = world.only_intro()
    assert intro.contact.consent is Consent.YES, intro.contact.evidence
    assert intro.contact.evidence == 'yes ("sure", "happy to")'  # not a word of the ask


def test_a_send_and_its_answer_seen_in_one_poll_read_the_same_way(world: World) -> None:
    """No restart: the connector sends the ask and Dana answers before the next poll. The
    same path reads the answer with the ask's text as sent, found in that very pass."""
    world.request(REQUEST)
    world.poll()
    world.poll()
    world.send_drafts(to=DANA_ADDRESS)
    _answer_pasting_the_ask(world)
    world.poll()
    intro = world.only_intro()
    assert intro.contact.consent is Consent.YES, intro.contact.evidence
    assert intro.contact.evidence == 'yes ("sure", "happy to")'


def test_what_a_restart_found_is_in_the_timeline_once_in_order(world: World) -> None:
    _lost_ask_sent_and_answered(world)
    _back_after_hours(world)
    intro = world.only_intro()
    observed = [line.detail for line in world.store.timeline(intro.id) if line.kind == "observed"]
    created, sent, answer = observed[-3:]
    assert created == "draft written in Gmail (written before a restart)", observed
    assert sent.startswith("you sent a draft (sent: its "), observed  # Message-ID, or text
    assert answer == f"a message from a party (reply {intro.contact.reply_ids[0]})", observed
    world.poll()  # the answer was marked read: the next poll does not read it again
    again = [line.detail for line in world.store.timeline(intro.id) if line.kind == "observed"]
    assert sum(text.startswith("a message from a party") for text in again) == 1, again
    assert world.only_intro().party(Role.CONTACT).consent is Consent.YES
