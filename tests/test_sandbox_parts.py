"""The sandbox's pure parts: partial-response masks, the search language, message parsing."""

from __future__ import annotations

from typing import Any

import pytest

from introbot.sandbox import fields
from introbot.sandbox.errors import ApiError
from introbot.sandbox.mailbox import Mailbox
from introbot.sandbox.message import normalize_subject, parse
from tests.mail import make_mail

DOC: dict[str, Any] = {
    "messages": [{"id": "1", "threadId": "t", "labelIds": ["A"]}, {"id": "2", "threadId": "u"}],
    "nextPageToken": "p",
    "resultSizeEstimate": 2,
    "payload": {"headers": [{"name": "Subject", "value": "x"}], "body": {"size": 0}},
}


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ("nextPageToken", {"nextPageToken": "p"}),
        (
            "messages(id),nextPageToken",
            {"messages": [{"id": "1"}, {"id": "2"}], "nextPageToken": "p"},
        ),
        ("messages/threadId", {"messages": [{"threadId": "t"}, {"threadId": "u"}]}),
        ("payload/headers(name)", {"payload": {"headers": [{"name": "Subject"}]}}),
        (
            "payload(body,headers/value)",
            {"payload": {"headers": [{"value": "x"}], "body": {"size": 0}}},
        ),
        ("missing", {}),
    ],
)
def test_fields_masks(mask: str, expected: dict[str, Any]) -> None:
    assert fields.apply(DOC, fields.parse(mask)) == expected


@pytest.mark.parametrize("mask", ["messages(id", "a//b", "a)"])
def test_bad_fields_masks_are_400(mask: str) -> None:
    with pytest.raises(ApiError) as info:
        fields.parse(mask)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("subject", "normal"),
    [
        ("Re: Intro", "intro"),
        ("RE: Fwd: AW:  Intro  ", "intro"),
        ("TR: intro", "intro"),
        ("Re[2]: Intro", "intro"),
        ("Réponse: Intro", "réponse: intro"),
    ],
)
def test_subject_normalisation(subject: str, normal: str) -> None:
    assert normalize_subject(subject) == normal


def _box_with(*raws: bytes) -> tuple[Mailbox, list[str]]:
    box = Mailbox("connector@example.com", clock=lambda: 1_800_000_000.0)
    ids = [box.add_message(raw, ["INBOX"]).id for raw in raws]
    return box, ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [1, 0]),
        ("dana", [0]),
        ("from:alex", [0]),
        ("to:bea", [1]),
        ("cc:carol@", [0]),
        ("subject:(lunch)", []),
        ('subject:"coffee next"', [1]),
        ("-subject:coffee", [0]),
        ("has:attachment", [1]),
        ("is:unread", []),
        ("is:read", [1, 0]),
        ("before:2027/06/01", [1, 0]),
        ("after:2027/06/01", []),
        ("after:1800000000", []),
        ("before:1800000001", [1, 0]),
        ("newer_than:2d", [1, 0]),
        ("older_than:1y", []),
        ("in:anywhere", [1, 0]),
        ("from:nobody OR has:attachment", [1]),
    ],
)
def test_search_language(query: str, expected: list[int]) -> None:
    box, ids = _box_with(
        make_mail(message_id="<a@x>", cc="Carol <carol@example.org>", body="meet Dana?\n"),
        make_mail(
            sender="Bob <bob@example.org>",
            to="Bea <bea@example.org>",
            subject="Coffee next week",
            message_id="<b@x>",
            body="Are you free?\n",
            attachment=b"pdf",
        ),
    )
    box.clock = lambda: 1_800_000_000.0 + 3600
    found = [m.id for m in box.matching(query)]
    assert found == [ids[i] for i in expected]


def test_bad_dates_in_queries_are_400() -> None:
    box, _ = _box_with(make_mail())
    with pytest.raises(ApiError):
        box.matching("after:yesterday")
    with pytest.raises(ApiError):
        box.matching("newer_than:soon")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no headers at all",
        b"Subject: =?x-unknown?q?abc?=\r\n\r\nbody",
        b"Content-Type: text/plain; charset=bogus-8\r\n\r\n\xff\xfe",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nbroken",
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + b"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" * 300,
    ],
)
def test_broken_mail_is_stored_not_rejected(raw: bytes) -> None:
    box, (message_id,) = _box_with(raw)
    assert box.message(message_id).raw == raw
    parsed, _ = parse(raw)
    assert isinstance(parsed.text, str) and isinstance(parsed.payload, dict)
