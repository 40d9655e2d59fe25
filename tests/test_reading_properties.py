"""Property tests: no input makes the reading pipeline raise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from introbot.reading.mime import read_mail
from introbot.reading.quotes import plain_new_text
from introbot.reading.replies import judge, read_reply
from introbot.reading.requests import read_request
from introbot.rules import default_phrases

PHRASES = default_phrases()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

header_names = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted",
     "Authentication-Results", "References", "In-Reply-To", "Date", "X-Failed-Recipients"]
)  # fmt: skip
header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        ["multipart/mixed; boundary=x", "text/html; charset=utf-7", "=?utf-8?q?=0D=0ABcc:x?=",
         "base64", "quoted-printable", "a@b.example", "<>", "mx.google.com; dmarc=pass"]
    ),
)  # fmt: skip


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=8))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    body = draw(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
    return head.encode("utf-8", "surrogatepass") + b"\r\n" + body


@pytest.mark.slow
@SETTINGS
@given(messages())
def test_structured_garbage_never_raises(raw: bytes) -> None:
    mail = read_mail(raw)
    read_reply(mail, PHRASES)
    read_request(mail, ["connector@example.com"], PHRASES)


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    mail = read_mail(raw)
    read_reply(mail, PHRASES, sent_text="Would you like to meet Alex?")
    read_request(mail, ["connector@example.com"], PHRASES)


@SETTINGS
@given(st.text(max_size=600))
def test_any_text_gets_a_verdict(text: str) -> None:
    _, evidence = judge(text, PHRASES)
    assert evidence
    plain_new_text(text, PHRASES, sent_text=text[:50])
