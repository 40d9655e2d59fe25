"""Malformed and hostile mail, as bytes. Each case says what a careful reading gives:

* ``intro``: a usable request (these pairs), whatever else is wrong with it;
* ``problem``: not usable; introbot must say so (needs-attention), never crash or guess.

Small cases are written to ``tests/hostile/messages`` by ``build.py``; the huge ones
(25 MB attachment, 500 KB subject, 1,000 nested parts, an HTML bomb, a 1 MB line, 10,000
references) are made on the fly by :func:`huge_cases`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field

ALEX = "Alex Kim <alex.kim@tidepool.io>"
DANA = ("alex.kim@tidepool.io", "dana@northwind.example")
ASK = "Hi Sam,\r\n\r\nCould you introduce me to Dana Whitfield (dana@northwind.example)?\r\n\r\nAlex\r\n"


@dataclass
class Hostile:
    slug: str
    raw: bytes
    outcome: str  # "intro" | "problem"
    pairs: list[tuple[str, str]] = field(default_factory=list)


def _msg(headers: str, body: bytes | str = ASK, sep: str = "\r\n") -> bytes:
    head = headers.strip("\n").replace("\n", "\r\n") + "\r\n"
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head.encode("utf-8", "surrogateescape") + sep.encode() + data


def _plain(
    extra: str = "",
    frm: str = ALEX,
    subject: str = "Intro to Dana?",
    ctype: str = "text/plain; charset=utf-8",
) -> str:
    return f"From: {frm}\nTo: Sam Rivera <connector@example.com>\nSubject: {subject}\nMessage-ID: <h@tidepool.io>\n{extra}Content-Type: {ctype}\n"


def intro(slug: str, raw: bytes, pairs: list[tuple[str, str]] | None = None) -> Hostile:
    return Hostile(slug, raw, "intro", pairs if pairs is not None else [DANA])


def problem(slug: str, raw: bytes) -> Hostile:
    return Hostile(slug, raw, "problem")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def small_cases() -> list[Hostile]:
    cases = [
        # ----------------------------------------------------------- structure
        problem(
            "no-from",
            _msg("To: connector@example.com\nSubject: Intro to Dana?\nContent-Type: text/plain"),
        ),
        problem("no-body", _msg(_plain(), b"")),
        problem("headers-only-no-blank-line", _plain().replace("\n", "\r\n").encode()),
        problem("empty-lines-only", _msg(_plain(), b"\r\n\r\n\r\n\t\r\n \r\n")),
        intro(
            "broken-boundary-never-used",
            _msg(
                _plain(ctype='multipart/mixed; boundary="nope"'),
                "--other\r\nContent-Type: text/plain\r\n\r\n" + ASK,
            ),
        ),
        intro(
            "boundary-without-closing",
            _msg(
                _plain(ctype='multipart/alternative; boundary="b"'),
                "--b\r\nContent-Type: text/plain\r\n\r\n" + ASK,
            ),
        ),
        intro(
            "boundary-mismatch-nested",
            _msg(
                _plain(ctype='multipart/mixed; boundary="a"'),
                '--a\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n--c\r\nContent-Type: text/plain\r\n\r\n'
                + ASK
                + "\r\n--a--\r\n",
            ),
        ),
        problem(
            "multipart-with-no-parts",
            _msg(_plain(ctype='multipart/mixed; boundary="x"'), "--x--\r\n"),
        ),
        intro("content-type-garbage", _msg(_plain(ctype='text/; ;;;=;=""'))),
        intro("content-type-no-subtype", _msg(_plain(ctype="text"))),
        intro(
            "content-type-missing",
            _msg(_plain().replace("Content-Type: text/plain; charset=utf-8\n", "")),
        ),
        problem("header-line-without-colon", _msg(_plain("this line has no colon at all\n"), "")),
        intro(
            "mixed-line-endings",
            _msg(_plain().replace("\n", "\r\r\n"), ASK.replace("\r\n", "\n\r")),
        ),
        intro(
            "form-feeds-and-tabs",
            _msg(_plain(), ASK.replace(" ", "\t").replace("\r\n\r\n", "\r\n\x0c\r\n")),
        ),
        # ---------------------------------------------------------------- charsets
        intro("unknown-charset", _msg(_plain(ctype="text/plain; charset=x-unknown-42"))),
        intro(
            "utf7-smuggles-markup",
            _msg(
                _plain(ctype="text/plain; charset=utf-7"),
                ASK + "+ADw-script+AD4-alert(1)+ADw-/script+AD4-\r\n",
            ),
        ),
        intro(
            "charset-with-quotes-and-junk",
            _msg(_plain(ctype='text/plain; charset="utf-8\\"; evil=1"')),
        ),
        intro(
            "declared-ascii-is-utf8",
            _msg(
                _plain(ctype="text/plain; charset=us-ascii"),
                ASK.replace("Hi Sam", "Héllo Sam, ça va"),
            ),
        ),
        intro(
            "declared-utf8-is-latin1",
            _msg(
                _plain(ctype="text/plain; charset=utf-8"),
                ASK.replace("Hi Sam", "Héllo Sam").encode("latin-1"),
            ),
        ),
        intro(
            "declared-latin1-is-utf8",
            _msg(
                _plain(ctype="text/plain; charset=iso-8859-1"),
                ASK.replace("Hi Sam", "Grüße Sam").encode("utf-8"),
            ),
        ),
        intro("charset-empty", _msg(_plain(ctype="text/plain; charset="))),
        # -------------------------------------------------------------- encodings
        problem(
            "broken-base64",
            _msg(_plain("Content-Transfer-Encoding: base64\n"), b"!!!!@@@@$$$$ not base64 ===="),
        ),
        intro(
            "base64-with-garbage-between-lines",
            _msg(
                _plain("Content-Transfer-Encoding: base64\n"),
                _b64(ASK)[:20] + "\r\n%%%%\r\n" + _b64(ASK)[20:],
            ),
        ),
        intro(
            "quoted-printable-broken-escapes",
            _msg(
                _plain("Content-Transfer-Encoding: quoted-printable\n"),
                ASK.replace("Sam", "S=ZZam=\r").replace("Alex\r\n", "Alex="),
            ),
        ),
        intro("unknown-transfer-encoding", _msg(_plain("Content-Transfer-Encoding: x-uuencode\n"))),
        # ------------------------------------------------------------ header attacks
        problem(
            "encoded-newline-injects-bcc-in-from",
            _msg(
                _plain(
                    frm="=?utf-8?q?Mallory=0D=0ABcc=3A_victim=40evil=2Eexample?= <mallory@evil.example>"
                ),
                "hello",
            ),
        ),
        intro(
            "encoded-newline-in-requester-name",
            _msg(
                _plain(
                    frm="=?utf-8?q?Alex=0D=0ABcc=3A_victim=40evil=2Eexample?= <alex.kim@tidepool.io>"
                )
            ),
        ),
        intro(  # decoded once, the name *is* an encoded word: Python's folding would decode it again
            "double-encoded-newline-in-requester-name",
            _msg(
                _plain(
                    frm="=?utf-8?b?"
                    + _b64("=?utf-8?q?Alex=0D=0ABcc=3A_victim=40evil=2Eexample?=")
                    + "?= <alex.kim@tidepool.io>"
                )
            ),
        ),
        intro(
            "encoded-newline-in-subject",
            _msg(_plain(subject="=?utf-8?q?Intro=0D=0ABcc=3A_victim=40evil=2Eexample?=")),
        ),
        intro(
            "contact-name-with-encoded-newline-in-html",
            _msg(
                _plain(ctype="text/html; charset=utf-8"),
                'Could you introduce me to <a href="mailto:dana@northwind.example">Dana&#13;&#10;Bcc: victim@evil.example</a>?',
            ),
        ),
        intro(
            "folded-header-continuation-with-bcc",
            _msg(
                _plain().replace(
                    "Subject: Intro to Dana?", "Subject: Intro to Dana?\n Bcc: victim@evil.example"
                )
            ),
        ),
        problem("two-from-headers", _msg(_plain("From: Mallory <mallory@evil.example>\n"), ASK)),
        problem(
            "from-with-two-addresses",
            _msg(_plain(frm="Alex <alex.kim@tidepool.io>, Mallory <mallory@evil.example>")),
        ),
        problem("from-group-syntax", _msg(_plain(frm="undisclosed-recipients:;"))),
        intro(
            "bare-cr-in-header",
            _msg(_plain().replace("Subject: Intro to Dana?", "Subject: Intro\rto Dana?")),
        ),
        intro("nul-bytes-in-headers", _msg(_plain(frm="Al\x00ex <alex.kim@tidepool.io\x00>"))),
        intro("nul-bytes-in-body", _msg(_plain(), ASK.replace("Hi Sam", "Hi\x00 Sam"))),
        intro("garbage-date", _msg(_plain("Date: the 45th of Smarch, year zero\n"))),
        intro(
            "malformed-message-ids",
            _msg(_plain("In-Reply-To: <<<>>> <a@b <c@d>>\nReferences: >< <>\n")),
        ),
        intro(
            "thousand-junk-headers",
            _msg(_plain("".join(f"X-Junk-{i}: {'j' * 20}\n" for i in range(1000)))),
        ),
        intro("subject-of-res", _msg(_plain(subject="Re: " * 500 + "Intro to Dana?"))),
        intro("rfc2047-unknown-charset-subject", _msg(_plain(subject="=?x-klingon?q?Intro?="))),
        intro(
            "rfc2047-invalid-encoding-subject",
            _msg(_plain(subject="=?utf-8?x?abc?= =?utf-8?b?@@@?=")),
        ),
        # ------------------------------------------------------------------ names
        intro(
            "zero-width-in-names",
            _msg(
                _plain(
                    frm="=?utf-8?b?" + _b64("Al\u200bex\u200d Kim") + "?= <alex.kim@tidepool.io>"
                ),
                ASK.replace("Dana Whitfield", "Da\u200bna Whit\u200cfield"),
            ),
        ),
        intro(
            "rtl-override-in-names",
            _msg(
                _plain(
                    frm="=?utf-8?b?" + _b64("\u202eAlex Kim\u202c") + "?= <alex.kim@tidepool.io>"
                ),
                ASK.replace("Dana Whitfield", "\u202edleifitihW anaD\u202c"),
            ),
        ),
        intro(
            "very-long-display-name",
            _msg(_plain(frm=f"{'Alexander ' * 500}<alex.kim@tidepool.io>")),
        ),
        intro(
            "idn-contact-domain",
            _msg(_plain(), ASK.replace("dana@northwind.example", "dana@nörthwind.example")),
            [("alex.kim@tidepool.io", "dana@nörthwind.example")],
        ),
        intro(
            "idn-requester-domain",
            _msg(_plain(frm="Alex <alex@tïdepool.io>")),
            [("alex@tïdepool.io", "dana@northwind.example")],
        ),
        intro(
            "punycode-contact-domain",
            _msg(_plain(), ASK.replace("dana@northwind.example", "dana@xn--nrthwind-n4a.example")),
            [("alex.kim@tidepool.io", "dana@xn--nrthwind-n4a.example")],
        ),
        intro(
            "cyrillic-homoglyph-domain",
            _msg(_plain(), ASK.replace("dana@northwind.example", "dana@n\u043erthwind.example")),
            [("alex.kim@tidepool.io", "dana@n\u043erthwind.example")],
        ),
        # -------------------------------------------------------------------- html
        intro(
            "html-with-scripts-and-handlers",
            _msg(
                _plain(ctype="text/html; charset=utf-8"),
                "<html><head><script>alert(1)</script><style>*{display:none}</style></head><body "
                'onload="steal()"><p>Could you introduce me to Dana Whitfield (dana@northwind.example)?</p>'
                "<img src=x onerror=alert(2)><iframe src=javascript:alert(3)></iframe>"
                '<a href="javascript:alert(4)">click</a></body></html>',
            ),
        ),
        intro(
            "html-mailto-with-crlf-injection",
            _msg(
                _plain(ctype="text/html; charset=utf-8"),
                'Could you introduce me to <a href="mailto:dana@northwind.example%0d%0aBcc:victim@evil.example">Dana Whitfield</a>?',
            ),
        ),
        intro(
            "html-unclosed-tags",
            _msg(
                _plain(ctype="text/html; charset=utf-8"),
                "<div><p>Could you introduce me to <a href=mailto:dana@northwind.example>Dana Whitfield</a<b><i><table><tr><td>",
            ),
        ),
        problem(
            "html-address-only-in-a-comment",
            _msg(
                _plain(ctype="text/html; charset=utf-8"),
                "<p>Could you introduce me to Dana?</p><!-- dana@northwind.example -->",
            ),
        ),
        problem(
            "binary-garbage-body",
            _msg(_plain(ctype="application/octet-stream"), bytes(range(256)) * 20),
        ),
        # -------------------------------------------------------------- requests
        problem(
            "contact-is-the-connector",
            _msg(_plain(), ASK.replace("dana@northwind.example", "connector@example.com")),
        ),
        problem(
            "contact-is-noreply",
            _msg(_plain(), ASK.replace("dana@northwind.example", "no-reply@northwind.example")),
        ),
        problem(
            "contact-is-the-requester",
            _msg(_plain(), ASK.replace("dana@northwind.example", "alex.kim@tidepool.io")),
        ),
        problem(
            "too-many-contacts",
            _msg(
                _plain(),
                "Could you introduce me to "
                + ", ".join(f"Person {i} (p{i}@corp{i}.example)" for i in range(50))
                + "?",
            ),
        ),
        intro(  # the injected Bcc never becomes a party: only the two real addresses do
            "note-with-injected-header-in-address",
            _msg(
                _plain(
                    frm="Sam Rivera <connector@example.com>",
                    subject="Alex <alex.kim@tidepool.io> -> Dana <dana@northwind.example\r\n Bcc: victim@evil.example>",
                )
            ),
        ),
        problem(
            "request-forwarded-as-attachment",
            _msg(
                _plain(
                    frm="Sam Rivera <connector@example.com>", ctype='multipart/mixed; boundary="f"'
                ),
                "--f\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n"
                "From: Alex <alex.kim@tidepool.io>\r\nSubject: intro\r\n\r\n"
                + ASK
                + "\r\n--f--\r\n",
            ),
        ),
        problem(
            "fake-bounce-report",
            _msg(
                _plain(
                    frm="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                    ctype='multipart/report; report-type=delivery-status; boundary="r"',
                ),
                "--r\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; dana@northwind.example\r\nAction: failed\r\n\r\n--r--\r\n",
            ),
        ),
        problem(
            "auto-submitted-odd-case",
            _msg(_plain("Auto-Submitted: AUTO-GENERATED; owner=x\nPrecedence: BULK\n")),
        ),
    ]
    return cases


def huge_cases() -> Iterator[Hostile]:
    """Made on the fly: too big to keep in the repository."""
    attachment = base64.encodebytes(b"\x00" * (25 * 1024 * 1024)).decode()
    yield intro(
        "25mb-attachment",
        _msg(
            _plain(ctype='multipart/mixed; boundary="big"'),
            "--big\r\nContent-Type: text/plain\r\n\r\n"
            + ASK
            + "\r\n--big\r\nContent-Type: application/pdf\r\n"
            'Content-Disposition: attachment; filename="deck.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + attachment
            + "\r\n--big--\r\n",
        ),
    )
    yield intro(
        "500kb-encoded-subject", _msg(_plain(subject="=?utf-8?b?" + _b64("x" * 380_000) + "?="))
    )
    nested = "".join(
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n' for i in range(1000)
    )
    yield problem(
        "thousand-nested-parts", _msg(_plain(ctype='multipart/mixed; boundary="b0"'), nested)
    )
    bomb = (
        "<div>" * 100_000
        + "Could you introduce me to Dana Whitfield (dana@northwind.example)?"
        + "</div>" * 100_000
    )
    # The ask sits past what introbot reads of a body: it must say so, fast, not parse forever.
    yield problem("html-bomb-nesting", _msg(_plain(ctype="text/html; charset=utf-8"), bomb))
    yield intro("one-megabyte-line", _msg(_plain(), ASK + "x" * 1_000_000 + "\r\n"))
    refs = " ".join(f"<ref{i}@tidepool.io>" for i in range(10_000))
    yield intro("ten-thousand-references", _msg(_plain(f"References: {refs}\n")))
