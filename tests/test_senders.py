"""Sender authenticity from Gmail's own Authentication-Results header."""

from __future__ import annotations

import pytest

from introbot.reading.mime import read_mail
from introbot.reading.senders import check_sender


def _check(
    results: list[str], sender: str = "Dana <dana@northwind.example>"
) -> tuple[bool | None, str]:
    headers = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    raw = f"{headers}From: {sender}\r\nSubject: x\r\n\r\nbody".encode()
    check = check_sender(read_mail(raw))
    return check.authenticated, check.evidence


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (
            [
                "mx.google.com; dkim=pass header.i=@northwind.example; dmarc=pass (p=NONE) header.from=northwind.example"
            ],
            True,
        ),
        (["mx.google.com; dmarc=fail (p=REJECT) header.from=northwind.example"], False),
        (["mx.google.com; dmarc=pass header.from=evil.example"], False),
        (["mx.google.com; dkim=pass header.i=@mail.northwind.example; spf=neutral"], True),
        (["mx.google.com; spf=pass smtp.mailfrom=bounce@northwind.example"], True),
        (["mx.google.com; spf=softfail smtp.mailfrom=dana@northwind.example"], False),
        (
            [
                "mx.google.com; dkim=pass header.i=@other.example; spf=pass smtp.mailfrom=x@other.example"
            ],
            False,
        ),
        (
            [
                "mx.google.com; dmarc=bestguesspass header.from=northwind.example; dkim=pass header.d=northwind.example"
            ],
            True,
        ),
        ([], None),
        (["spamfilter.example.org; dmarc=pass header.from=northwind.example"], None),
    ],
)
def test_verdicts(results: list[str], expected: bool | None) -> None:
    assert _check(results)[0] is expected


def test_only_the_topmost_gmail_header_counts() -> None:
    # The sender forged a passing header below the one Gmail prepended.
    real = "mx.google.com; dmarc=fail (p=REJECT) header.from=northwind.example"
    forged = "mx.google.com; dmarc=pass header.from=northwind.example"
    assert _check([real, forged])[0] is False
    assert _check([forged, real])[0] is True  # what Gmail wrote is always on top


def test_no_from_is_not_authenticated() -> None:
    authenticated, evidence = _check(["mx.google.com; dmarc=pass header.from=x.example"], sender="")
    assert authenticated is False
    assert "From" in evidence
