"""Drafts are built from cleaned strings only: parsed back, they hold exactly what was meant."""

from __future__ import annotations

import email
import email.policy
from email.utils import getaddresses

import pytest

from introbot.model import DraftKind, DraftSpec, Person
from introbot.rules import load_templates
from introbot.writing import MAX_NAME, WritingError, write_draft

TEMPLATES = load_templates()
SAM = Person("Sam Rivera", "connector@example.com")
FIELDS = {
    "connector": {"name": "Sam Rivera", "first": "Sam", "greeting": "Sam", "signature": "Sam"},
    "requester": {"name": "Alex Kim", "first": "Alex", "greeting": "Alex", "org": "Tidepool"},
    "contact": {"name": "Dana Whitfield", "first": "Dana", "greeting": "Dana", "org": "Northwind"},
    "context": "We build sensors.",
    "blurb": "",
    "order": "parallel",
    "remind_days": 4,
}


def _draft(to: Person, **spec: object) -> email.message.EmailMessage:
    defaults: dict[str, object] = {
        "key": "<k1@example.com>",
        "kind": DraftKind.CONSENT,
        "template": "consent_contact",
        "to": (to,),
        "fields": FIELDS,
    }
    raw = write_draft(DraftSpec(**{**defaults, **spec}), TEMPLATES, SAM)  # type: ignore[arg-type]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


@pytest.mark.parametrize(
    "name",
    [
        "Dana\r\nBcc: victim@evil.example",
        "Dana\nBcc: victim@evil.example",
        "=?utf-8?q?Dana=0D=0ABcc=3A_victim=40evil=2Eexample?=",
        "Dana\u2028Bcc: victim@evil.example",
        "\u202eanaD\u202c \u200b",
        "x" * 5000,
    ],
)
def test_a_hostile_name_cannot_add_a_recipient(name: str) -> None:
    msg = _draft(Person(name, "dana@northwind.example"))
    assert msg.get_all("Bcc") is None
    assert [addr for _, addr in getaddresses(msg.get_all("To", []))] == ["dana@northwind.example"]
    to = str(msg["To"])
    assert "\n" not in to and "\r" not in to and "\u202e" not in to and "\u200b" not in to
    display = getaddresses([to])[0][0]
    assert len(display) <= MAX_NAME


def test_idn_domains_are_encoded() -> None:
    msg = _draft(Person("Dana", "dana@nörthwind.example"))
    assert [addr for _, addr in getaddresses(msg.get_all("To", []))] == [
        "dana@xn--nrthwind-n4a.example"
    ]


def test_an_address_that_cannot_be_written_is_an_error_not_a_mangled_header() -> None:
    with pytest.raises(WritingError, match="cannot write to"):
        _draft(Person("Jürgen", "jürgen@kuehlwerk.de"))
    with pytest.raises(WritingError):
        _draft(Person("x", "not an address"))


def test_reply_headers_and_a_bad_message_id() -> None:
    msg = _draft(
        Person("Alex", "alex.kim@tidepool.io"),
        template="consent_requester",
        subject="Re: Intro\r\nBcc: victim@evil.example",
        in_reply_to="<req@tidepool.io>",
        references=("<req@tidepool.io>", "<bad id with spaces>", "<x@y>\r\nBcc: z"),
    )
    assert msg["Subject"] == "Re: Intro Bcc: victim@evil.example"  # one line, no new header
    assert msg["In-Reply-To"] == "<req@tidepool.io>"
    assert msg["References"] == "<req@tidepool.io>"  # the unusable ones are dropped
    assert msg.get_all("Bcc") is None
    with pytest.raises(WritingError, match="Message-ID"):
        _draft(Person("Dana", "dana@northwind.example"), key="<k1@example.com>\r\nBcc: z")


def test_templates_never_get_markup_through() -> None:
    fields = {**FIELDS, "context": "<script>alert(1)</script> We build sensors."}
    msg = _draft(Person("Dana", "dana@northwind.example"), fields=fields)
    assert msg.get_content_type() == "text/plain"  # a text/plain draft: markup is just text
