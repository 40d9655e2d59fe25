"""Fuzz: mutated corpus mail through real polls, beside ordinary intros (issue 12).

Every mutant (see tests/fuzz.py) is read by the pure readers, then delivered to the
sandbox as a labeled request, as a stranger's mail or as a reply in the threads of a
"decoy" intro, and introbot polls. No poll may fail; the invariants of every poll hold
(tests/world.py: nothing sent, no address before consent, no decline leaked, no yes from
an untrusted reply); and the ordinary intro in the same mailbox still completes, as does
one requested after the fuzzing.

CI runs a few rounds; ``scripts/fuzz`` runs many more (INTROBOT_FUZZ_ROUNDS, _PER_ROUND,
_SEED). A failure names the seed and the round, so it can be replayed."""

from __future__ import annotations

import os
import random
import re
from typing import Any

import pytest

from introbot.model import Stage
from introbot.reading.mime import read_mail
from introbot.reading.replies import read_reply
from introbot.reading.requests import read_request
from introbot.rules import default_phrases
from tests.fuzz import MUTATIONS, Mutant, corpus, mutants
from tests.world import CONNECTOR, World

SEED = int(os.environ.get("INTROBOT_FUZZ_SEED", "1207"))
ROUNDS = int(os.environ.get("INTROBOT_FUZZ_ROUNDS", "3"))
PER_ROUND = int(os.environ.get("INTROBOT_FUZZ_PER_ROUND", "12"))
PHRASES = default_phrases()
# People no corpus message names: an intro between them can only be the test's own.
KAI = "Kai Moreno <kai@morenoworks.example>"
NOOR = "Noor Haddad <noor@haddadlogistics.example>"
ORDINARY_REQUEST = (
    "Hi Sam,\n\nCould you introduce me to Noor Haddad (noor@haddadlogistics.example)? Her "
    "team runs the routes we want to pilot on.\n\nThanks,\nKai"
)
BEA = "Bea Ortiz <bea@tidepool.io>"
RAY = "Ray Chen <ray@moreno-chen.example>"
DECOY_REQUEST = (
    "Hi Sam,\n\nCould you introduce me to Lee Park (lee@parkworks.example)? We would love "
    "to learn how his team runs cold storage.\n\nThanks,\nBea"
)


def test_the_corpus_feeds_every_kind_of_mutation() -> None:
    messages = corpus()
    assert len(messages) >= 100
    made = list(mutants(SEED, 60))
    assert {how for m in made for how in m.how} == set(MUTATIONS)
    assert all(m.raw != dict(messages)[m.source] for m in made[:20])  # each one is changed
    assert [m.raw for m in mutants(SEED, 5)] == [m.raw for m in made[:5]]  # seeded


@pytest.mark.slow
def test_the_readers_never_raise_on_mutants() -> None:
    for mutant in mutants(SEED + 1, ROUNDS * PER_ROUND * 2):
        mail = read_mail(mutant.raw)
        read_request(mail, [CONNECTOR], PHRASES)
        read_reply(mail, PHRASES)


def _into_thread(raw: bytes, original: dict[str, Any]) -> bytes:
    """The mutant as a reply in ``original``'s thread (Gmail threads by References and
    subject): those three headers replaced, everything else as mutated."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    kept = [
        line
        for line in re.split(rb"\r?\n(?![ \t])", head)
        if not line.lower().startswith((b"subject:", b"in-reply-to:", b"references:"))
    ]
    message_id = original["headers"]["Message-ID"].encode()
    subject = ("Re: " + original["headers"].get("Subject", "")).encode("utf-8")
    threading = [
        b"Subject: " + subject,
        b"In-Reply-To: " + message_id,
        b"References: " + message_id,
    ]
    return b"\r\n".join(threading + kept) + b"\r\n\r\n" + body


def _deliver(world: World, index: int, mutant: Mutant, decoy_sent: list[dict[str, Any]]) -> None:
    kind = index % 4
    if kind == 0:
        world.control.deliver(mutant.raw, labels=("INBOX", world.settings.labels.request))
    elif kind == 1:
        world.control.deliver(mutant.raw)
    elif kind == 2:
        original = decoy_sent[index % len(decoy_sent)]
        world.control.deliver(_into_thread(mutant.raw, original))
    else:  # a stranger "from postmaster": read as a possible bounce
        raw = re.sub(
            rb"(?im)^from:[^\r\n]*",
            b"From: Mail System <postmaster@mx.example>",
            mutant.raw,
            count=1,
        )
        world.control.deliver(raw)


def _sent_to(world: World, address: str) -> list[dict[str, Any]]:
    box = world.control.mailbox()["messages"]
    return [m for m in box if "SENT" in m["labelIds"] and address in m["headers"].get("To", "")]


def _finish(world: World, requester: str, contact: str, thread_id: str) -> None:
    """Both say yes; the connector sends the introduction draft; the intro is done."""
    world.reply(requester, "Yes please!")
    world.reply(contact, "Yes, happy to.")
    world.poll()
    (intro,) = world.store.intros(thread_id=thread_id)
    assert intro.stage is Stage.READY, (intro.stage, intro.attention)
    joint = [
        d
        for d in world.drafts()
        if intro.requester.person.email in (d["to"] or "")
        and intro.contact.person.email in (d["to"] or "")
    ]
    assert len(joint) == 1
    world.control.send_draft(joint[0]["id"])
    world.poll()
    (intro,) = world.store.intros(thread_id=thread_id)
    assert intro.stage is Stage.INTRODUCED


@pytest.mark.slow
def test_mutants_through_real_polls_stop_nothing(world: World) -> None:
    ordinary = world.request(ORDINARY_REQUEST, sender=KAI, subject="Intro to Noor Haddad?")
    decoy = world.request(DECOY_REQUEST, sender=BEA, subject="Intro to Lee?")
    world.poll()
    world.send_drafts()
    world.poll()
    decoy_sent = _sent_to(world, "bea@tidepool.io") + _sent_to(world, "lee@parkworks.example")
    assert len(decoy_sent) == 2
    rng = random.Random(SEED)
    for round_ in range(ROUNDS):
        seed = rng.randrange(2**32)
        for index, mutant in enumerate(mutants(seed, PER_ROUND)):
            _deliver(world, index, mutant, decoy_sent)
        try:
            world.poll()
        except Exception as exc:  # pragma: no cover - the report a failure needs
            pytest.fail(f"a poll failed: INTROBOT_FUZZ_SEED={SEED}, round {round_}: {exc!r}")
        assert world.store.pending_actions() == [], f"INTROBOT_FUZZ_SEED={SEED}, round {round_}"
    _finish(world, KAI, NOOR, ordinary["threadId"])
    # A request made after all that still becomes an intro and completes.
    later = world.request(
        "Hi Sam,\n\nCould you introduce me to Noor Haddad (noor@haddadlogistics.example)?\n\n"
        "Thanks,\nRay",
        sender=RAY,
        subject="Intro to Noor, please",
    )
    world.poll()
    world.send_drafts(to="ray@moreno-chen.example")
    world.send_drafts(to="noor@haddadlogistics.example")
    world.poll()
    _finish(world, RAY, NOOR, later["threadId"])
    assert world.store.intros(thread_id=decoy["threadId"])  # the decoy stands, set aside or not
