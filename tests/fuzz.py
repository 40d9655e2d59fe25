"""Mutated mail for the fuzz test (tests/test_fuzz.py) and ``scripts/fuzz``.

Messages of the corpora (tests/corpus, tests/hostile) are changed with a seeded random
generator in four ways: their bytes (flipped, cut, repeated, NUL and CR thrown in), their
headers (duplicated, dropped, encoded words in charsets that are no charset, folding that
never ends), their MIME structure (wrapped in multiparts nested deep, boundaries that lie,
charsets and transfer encodings that lie) and their addresses (empty domain labels,
missing parts, quoted local parts, non-ASCII, 300 characters). A run delivers them to the
sandbox as new requests, as mail from strangers (some "from postmaster") and as replies
in the threads of an intro, and polls: no poll may fail, and the ordinary intros in the
same mailbox must still complete."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
CORPORA = (HERE / "corpus" / "requests", HERE / "corpus" / "replies", HERE / "hostile" / "messages")

BAD_ADDRESSES = (
    "dana@northwind..io",
    "x@.y.io",
    "@northwind.example",
    "dana@",
    "a@b",
    '"dana whitfield"@northwind.example',
    "dana@[127.0.0.1]",
    "dan\u00e4@northwind.example",
    "d" * 300 + "@northwind.example",
    "dana@northwind.example.",
    "dana@-northwind.example",
    "dana@northwind.invalid",
    "<>",
    "dana@@northwind.example",
)
BAD_WORDS = (
    "=?\u00fc?q?x?=",
    "=?utf-7?q?+ADw-script+AD4-?=",
    "=?x-unknown?b?QUJD?=",
    "=?utf-8?b?////?=",
    "=?utf-8?q?=0D=0ABcc:_victim@evil.example?=",
    "=??q?x?=",
    "=?utf-8*en?q?x?=",
    "=?iso-8859-1?q?" + "=E9" * 400 + "?=",
)
CHARSETS = ("utf-8", "x-unknown", "\u00fc", "utf-7", "ascii", "iso-2022-jp", "cp1252", "utf-16")
ENCODINGS = ("base64", "quoted-printable", "8bit", "x-uuencode", "7bit", "gzip")


def corpus() -> list[tuple[str, bytes]]:
    """(name, bytes) of every corpus message, in a stable order."""
    found = []
    for folder in CORPORA:
        for path in sorted(folder.rglob("*.eml")):
            found.append((str(path.relative_to(HERE)), path.read_bytes()))
    return found


def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    match = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[: match.start()], raw[match.end() :]) if match else (raw, b"")
    lines = re.split(rb"\r?\n(?![ \t])", head) if head else []
    return lines, body


def _join(lines: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# ------------------------------------------------------------------ the mutations
def _bytes(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        if not data:
            break
        at = rng.randrange(len(data))
        choice = rng.random()
        if choice < 0.3:
            data[at] = rng.randrange(256)
        elif choice < 0.5:
            data[at:at] = rng.choice([b"\x00", b"\r", b"\n", b"\xff\xfe", b"\x1b", b"=?"])
        elif choice < 0.7:
            del data[at : at + rng.randint(1, 64)]
        elif choice < 0.85:
            chunk = bytes(data[at : at + rng.randint(1, 200)])
            data[at:at] = chunk * rng.randint(2, 50)
        else:
            del data[at:]
    return bytes(data)


def _headers(rng: random.Random, raw: bytes) -> bytes:
    lines, body = _split(raw)
    if not lines:
        return raw
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines))
        choice = rng.random()
        if choice < 0.25:
            lines.insert(rng.randrange(len(lines) + 1), lines[at])  # a duplicate
        elif choice < 0.4 and len(lines) > 1:
            del lines[at]
        elif choice < 0.75:
            name, _, value = lines[at].partition(b":")
            word = rng.choice(BAD_WORDS).encode("utf-8")
            lines[at] = name + b": " + word + b" " + value.strip()
        elif choice < 0.9:
            name = rng.choice([b"From", b"Subject", b"To", b"Cc", b"References"])
            lines.append(name + b": " + b"\r\n ".join([b"x" * 70] * rng.randint(10, 400)))
        else:
            lines.append(b"X-Broken \xff\x00: " + bytes(rng.randrange(256) for _ in range(40)))
    return _join(lines, body)


def _mime(rng: random.Random, raw: bytes) -> bytes:
    lines, body = _split(raw)
    lines = [line for line in lines if not line.lower().startswith((b"content-", b"mime-"))]
    choice = rng.random()
    if choice < 0.35:
        depth = rng.choice([2, 10, 50, 200])
        opened = b"".join(
            b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i, i + 1)
            for i in range(depth)
        )
        inner = b"--b%d\r\nContent-Type: text/plain\r\n\r\n" % depth + body
        closed = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth + 1)))
        body = opened + inner + (closed if rng.random() < 0.5 else b"")
        lines.append(b'Content-Type: multipart/mixed; boundary="b0"')
    elif choice < 0.55:
        lines.append(b'Content-Type: multipart/alternative; boundary="never-used"')
    elif choice < 0.8:
        charset = rng.choice(CHARSETS).encode("utf-8")
        kind = rng.choice([b"text/plain", b"text/html", b"text/enriched", b"application/pdf"])
        lines.append(b"Content-Type: " + kind + b'; charset="' + charset + b'"')
    else:
        lines.append(b"Content-Type: text/plain; charset=utf-8")
        lines.append(b"Content-Transfer-Encoding: " + rng.choice(ENCODINGS).encode())
    lines.append(b"MIME-Version: 1.0")
    return _join(lines, body)


def _addresses(rng: random.Random, raw: bytes) -> bytes:
    lines, body = _split(raw)
    names = (b"from:", b"to:", b"cc:", b"reply-to:")
    targets = [i for i, line in enumerate(lines) if line.lower().startswith(names)]
    if not targets:
        lines.append(b"Cc: Dana <" + rng.choice(BAD_ADDRESSES).encode("utf-8") + b">")
        targets = [len(lines) - 1]
    for at in rng.sample(targets, rng.randint(1, len(targets))):
        name = lines[at].partition(b":")[0]
        bad = rng.choice(BAD_ADDRESSES).encode("utf-8")
        lines[at] = (
            name + b": " + rng.choice([b"Dana Whitfield <%s>" % bad, bad, bad + b", " + bad])
        )
    if rng.random() < 0.5:  # and in the body, where a request names its contact
        bad = rng.choice(BAD_ADDRESSES).encode("utf-8")
        body = b"Could you introduce me to Dana Whitfield (" + bad + b")?\r\n\r\n" + body
    return _join(lines, body)


MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "bytes": _bytes,
    "headers": _headers,
    "mime": _mime,
    "addresses": _addresses,
}


@dataclass(frozen=True)
class Mutant:
    source: str
    how: tuple[str, ...]
    raw: bytes


def mutants(seed: int, count: int) -> Iterator[Mutant]:
    """``count`` mutated messages: each a corpus message changed in one to three ways."""
    rng = random.Random(seed)
    messages = corpus()
    for _ in range(count):
        source, raw = rng.choice(messages)
        how = tuple(rng.sample(sorted(MUTATIONS), rng.randint(1, 3)))
        for name in how:
            raw = MUTATIONS[name](rng, raw)
        raw = raw[: 2 * 1024 * 1024]
        if not raw.strip():  # Gmail (and the sandbox) take no empty message: a bare one
            raw = b"Subject: (cut to nothing)\r\n\r\n"
        yield Mutant(source, how, raw)
