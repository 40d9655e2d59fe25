"""Malformed and hostile mail: never a crash, never a guess, never an injected header.

Each message of tests/hostile (62 kept as files, 6 huge ones made on the fly) is read as
a request and as a reply, and delivered to the sandbox as a labeled request for a real
poll. Usable ones become intros with exactly the expected parties; the others put their
thread in needs-attention with a note saying why. Every draft introbot writes is parsed
back: only the intended recipients, only the headers introbot sets, no markup."""

from __future__ import annotations

import email
import email.policy
import json
from email.utils import getaddresses
from pathlib import Path

import pytest

from introbot.model import Verdict
from introbot.reading.mime import read_mail
from introbot.reading.replies import read_reply
from introbot.reading.requests import read_request
from introbot.rules import default_phrases
from tests.hostile import build
from tests.hostile.cases import Hostile, huge_cases, small_cases
from tests.world import World

PHRASES = default_phrases()
ME = ["connector@example.com"]
ALLOWED_HEADERS = {
    "from", "to", "cc", "subject", "message-id", "in-reply-to", "references", "x-introbot",
    "content-type", "content-transfer-encoding", "mime-version",
}  # fmt: skip


@pytest.mark.slow
def test_the_corpus_is_big_enough_and_matches_its_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = small_cases()
    assert len(cases) + len(list(huge_cases())) >= 60
    monkeypatch.setattr(build, "HERE", tmp_path)
    build.build()
    here = Path(build.__file__).parent
    assert json.loads((tmp_path / "index.json").read_text()) == json.loads(
        (here / "index.json").read_text()
    )
    for made in (tmp_path / "messages").iterdir():
        assert made.read_bytes() == (here / "messages" / made.name).read_bytes(), made.name


def _from_the_connector(raw: bytes) -> bool:
    """Written by the connector: in Gmail such a message is in their Sent mail."""
    sender = read_mail(raw).sender
    return sender is not None and sender.key == ME[0]


def _check_reading(case: Hostile) -> None:
    mail = read_mail(case.raw)
    reading = read_request(mail, ME, PHRASES, in_sent=_from_the_connector(case.raw))
    got = sorted((i.requester.email, i.contact.email) for i in reading.intros)
    if case.outcome == "intro":
        assert got == sorted(case.pairs), (case.slug, reading.problems, mail.problems)
    else:
        assert got == [] and reading.problems, (case.slug, got)
    assert read_reply(mail, PHRASES).verdict is not Verdict.YES  # none of them consents


@pytest.mark.parametrize("case", small_cases(), ids=lambda c: c.slug)
def test_each_hostile_message_is_read_without_harm(case: Hostile) -> None:
    _check_reading(case)


@pytest.mark.slow
def test_the_huge_ones_too() -> None:
    for case in huge_cases():
        _check_reading(case)


# ------------------------------------------------------------------ end to end
def _deliver_all(world: World, cases: list[Hostile]) -> dict[str, Hostile]:
    threads = {}
    for case in cases:
        sent = ("SENT",) if _from_the_connector(case.raw) else ()
        delivered = world.control.deliver(case.raw, labels=("INBOX", "intro-request", *sent))
        threads[delivered["threadId"]] = case
    return threads


def _assert_outcomes(world: World, threads: dict[str, Hostile]) -> None:
    drafts = world.drafts()
    everywhere = {(i.requester.person.email, i.contact.person.email) for i in world.intros()}
    for thread_id, case in threads.items():
        intros = world.store.intros(thread_id=thread_id)
        pairs = sorted((i.requester.person.email, i.contact.person.email) for i in intros)
        record = world.store.thread(thread_id)
        problem = record.problem if record is not None else None
        if case.outcome == "intro" and not pairs and problem is not None:
            # The same two already asked for in another thread: set aside, not asked twice.
            assert "are already being introduced: intro" in problem, case.slug
            assert set(case.pairs) <= everywhere, case.slug
        elif case.outcome == "intro":
            assert pairs == sorted(case.pairs), case.slug
        else:
            assert pairs == [], case.slug
            assert "introbot/needs-attention" in world.thread_labels(thread_id), case.slug
            notes = [d for d in drafts if f"problem.{thread_id}." in d["headers"]["Message-ID"]]
            assert notes and "could not use it" in notes[0]["text"], case.slug


def _assert_drafts_are_clean(world: World) -> None:
    for draft in world.drafts():
        raw = world.control.raw(draft["messageId"])
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        names = {name.lower() for name in msg}
        assert names <= ALLOWED_HEADERS, names
        for header in ("To", "Cc"):
            for value in msg.get_all(header, []):
                assert "\n" not in str(value) and "\r" not in str(value)
        recipients = [
            addr for _, addr in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", []))
        ]
        if draft["to"] != "Sam Rivera <connector@example.com>":
            assert len(recipients) in (1, 2), recipients
        assert "victim@evil.example" not in recipients
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        for markup in ("<script", "onerror", "javascript:", "<iframe", "<img"):
            assert markup not in text.lower(), (markup, draft["subject"])


@pytest.mark.slow
def test_every_hostile_request_through_a_real_poll(world: World) -> None:
    threads = _deliver_all(world, small_cases())
    world.poll()
    _assert_outcomes(world, threads)
    _assert_drafts_are_clean(world)
    # The injected Bcc never reached a header of any draft or a party of any intro.
    for intro in world.intros():
        assert "victim@evil.example" not in (
            intro.requester.person.email,
            intro.contact.person.email,
        )


@pytest.mark.slow
def test_the_huge_ones_through_a_real_poll(world: World) -> None:
    threads = _deliver_all(world, list(huge_cases()))
    world.poll()
    _assert_outcomes(world, threads)
    _assert_drafts_are_clean(world)
