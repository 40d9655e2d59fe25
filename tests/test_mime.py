"""From RFC 822 bytes to text: charsets, encodings, HTML, caps, and hostile headers."""

from __future__ import annotations

import base64

import pytest

from introbot.reading import mime
from introbot.reading.html_text import html_to_text
from introbot.reading.mime import looks_like_mail, read_mail
from introbot.reading.text import clean_line


def _mail(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body


def test_prefers_plain_text_in_alternative() -> None:
    raw = _mail(
        "From: Dana <dana@northwind.example>\nSubject: hi\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain words\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html words</p>\r\n--b--\r\n",
    )
    mail = read_mail(raw)
    assert mail.text.strip() == "plain words"
    assert mail.html is not None and "html words" in mail.html
    assert mail.sender is not None and mail.sender.email == "dana@northwind.example"


def test_html_only_becomes_text_with_breaks_and_mailto() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
        "<p>Hello&nbsp;Sam,</p><div>Please meet <a href='mailto:dana@northwind.example'>Dana "
        "Whitfield</a>.<br>Second line</div><ul><li>one</li><li>two</li></ul></body></html>"
    )
    text = html_to_text(html)
    assert "alert" not in text and "color" not in text
    assert "Dana Whitfield <dana@northwind.example>" in text
    assert text.split("\n")[0] == "Hello Sam,"
    assert "Second line" in text.split("\n")
    assert "one" in text.split("\n") and "two" in text.split("\n")


@pytest.mark.parametrize(
    ("charset", "encoding", "payload"),
    [
        ("iso-8859-1", "quoted-printable", b"Caf=E9 cr=E8me"),
        ("windows-1252", "8bit", "Café crème".encode("cp1252")),
        ("utf-8", "base64", base64.b64encode("Café crème".encode())),
        ("UTF-8", "quoted-printable", b"Caf=C3=A9 cr=C3=A8me"),
    ],
)
def test_charsets_and_transfer_encodings(charset: str, encoding: str, payload: bytes) -> None:
    raw = _mail(
        f"From: a@b.example\nContent-Type: text/plain; charset={charset}\n"
        f"Content-Transfer-Encoding: {encoding}\n",
        payload,
    )
    mail = read_mail(raw)
    assert mail.text.strip() == "Café crème"
    assert mail.problems == ()


@pytest.mark.parametrize(
    ("charset", "problem"),
    [("utf-7", "not trusted"), ("x-klingon", "unknown charset"), ("utf-8", "wrong")],
)
def test_bad_charsets_fall_back_with_a_problem(charset: str, problem: str) -> None:
    body = b"Ok +ADw-script+AD4-" if charset == "utf-7" else "café".encode("latin-1")
    if charset == "x-klingon":
        body = b"hello"
    raw = _mail(f"From: a@b.example\nContent-Type: text/plain; charset={charset}\n", body)
    mail = read_mail(raw)
    assert any(problem in p for p in mail.problems)
    assert "<script>" not in mail.text  # utf-7 is never decoded into markup


def test_broken_base64_and_missing_headers_do_not_raise() -> None:
    mail = read_mail(b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64 at all===")
    assert mail.sender is None
    assert "no usable From address" in mail.problems


def test_attachments_are_not_text() -> None:
    raw = _mail(
        'From: a@b.example\nContent-Type: multipart/mixed; boundary="m"\n',
        b"--m\r\nContent-Type: text/plain\r\n\r\nbody text\r\n--m\r\nContent-Type: text/plain\r\n"
        b'Content-Disposition: attachment; filename="notes.txt"\r\n\r\nsecret yes\r\n--m--\r\n',
    )
    mail = read_mail(raw)
    assert "secret" not in mail.text
    assert mail.attachments == ("notes.txt",)


@pytest.mark.slow
def test_deep_nesting_is_capped() -> None:
    depth = 1000
    head = b"".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode()
        for i in range(depth)
    )
    raw = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + head
    mail = read_mail(raw)
    assert mail.problems  # too deep, or too many parts: said, not raised


def test_huge_header_and_body_are_capped() -> None:
    subject = "=?utf-8?b?" + base64.b64encode(b"x" * 400_000).decode() + "?="
    body = b"word " * (mime.MAX_TEXT_CHARS // 2)
    mail = read_mail(f"From: a@b.example\r\nSubject: {subject}\r\n\r\n".encode() + body)
    assert len(mail.subject) <= mime.MAX_HEADER_VALUE
    assert len(mail.text) <= mime.MAX_TEXT_CHARS
    assert mail.problems


def test_encoded_newlines_in_headers_are_cleaned() -> None:
    # CVE-2024-6923: an RFC 2047 encoded newline must not survive into a header value.
    evil = "=?utf-8?q?Dana=0D=0ABcc=3A_attacker=40evil=2Eexample?="
    raw = _mail(f"From: {evil} <dana@northwind.example>\nSubject: {evil}\n", b"hi")
    mail = read_mail(raw)
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.sender is not None and mail.sender.name is not None
    assert "\n" not in mail.sender.name
    assert all("\n" not in v and "\r" not in v for _, v in mail.headers)


def test_invisible_and_direction_characters_are_removed_from_names() -> None:
    name = "Da\u200bna \u202eWhitfield\u202c"
    raw = _mail(
        f"From: =?utf-8?b?{base64.b64encode(name.encode()).decode()}?= <d@n.example>\n", b"x"
    )
    mail = read_mail(raw)
    assert mail.sender is not None and mail.sender.name == "Dana Whitfield"


def test_clean_line() -> None:
    assert clean_line("a\r\nb\tc\x00d\u2028e") == "a b c d e"
    assert clean_line("x" * 50, 10) == "x" * 10


def test_delivery_status_reports_are_read() -> None:
    raw = _mail(
        "From: mailer-daemon@googlemail.com\nContent-Type: multipart/report; "
        'report-type=delivery-status; boundary="r"\n',
        b"--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--r\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; dana@northwind.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"\r\n--r--\r\n",
    )
    mail = read_mail(raw)
    assert mail.reports[0]["final-recipient"] == "rfc822; dana@northwind.example"
    assert mail.text.strip() == "failed"


@pytest.mark.parametrize(
    ("raw", "is_mail"),
    [
        (b"From: a@b.example\r\nSubject: x\r\n\r\nbody", True),
        (b"Received: from x\r\n\tby y\r\nX-Other: 1\r\n\r\n", True),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", False),
        (b'{"json": true}', False),
        (b"just some words\nand more words", False),
        (b"", False),
    ],
)
def test_looks_like_mail(raw: bytes, is_mail: bool) -> None:
    assert looks_like_mail(raw) is is_mail
