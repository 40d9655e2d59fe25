"""From RFC 822 bytes to a :class:`Mail`: clean headers, addresses and the text to read.

Nothing raises out of :func:`read_mail`: broken MIME, unknown or hostile charsets, bad
base64, deep nesting, huge headers or bodies all give a value, with what went wrong listed
in :attr:`Mail.problems`. Header values come out decoded and *cleaned*: no CR, LF or other
control or invisible formatting characters survive, so a value read here can never inject a
header into a message written later (CVE-2024-6923 and friends).
"""

from __future__ import annotations

import codecs
import email
import email.errors
import email.message
import email.parser
import email.policy
import email.utils
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from introbot.reading.addresses import Person, read_addresses
from introbot.reading.html_text import MAX_HTML_CHARS, html_hides_text, html_to_text, html_unchecked
from introbot.reading.text import NOT_READ, clean_line, clean_text, decode_words

#: What is looked at of one message (Gmail takes about 25 MB of attachments, ~35 MB
#: encoded). Before parsing, the message is shrunk (see :func:`shrink`): the bodies of
#: attachments are dropped and a text part is kept to its first ``MAX_PART_BYTES``, because
#: the email parser costs about a microsecond a line and nothing reads further than that.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_PART_BYTES = 128 * 1024  # of one text part's body handed to the parser
MAX_PARSED_BYTES = 512 * 1024  # of the whole shrunk message handed to the parser
MAX_HEADER_BYTES = 256 * 1024  # the whole header block
MAX_HEADER_VALUE = 8 * 1024  # one header, decoded
MAX_HEADERS = 400
MAX_PARTS = 300
MAX_DEPTH = 40
MAX_TEXT_CHARS = 200_000  # text kept from one body part
#: The header :func:`shrink` puts on a part whose body it cut (a sender who writes it
#: only makes their own text read as cut: never a yes).
CUT_HEADER = "X-Introbot-Not-Read"

#: Charsets that can smuggle markup or that no one sends in good faith.
_DISTRUSTED_CHARSETS = {"utf-7", "utf7", "unicode-1-1-utf-7", "csunicode11utf7"}
_MSGID = re.compile(r"<[^<>\s]{1,500}>")


def _utf8(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: read them as UTF-8 (RFC 6532)."""
    try:
        return value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value  # already text


# ---------------------------------------------------------------------------- Mail
@dataclass(frozen=True)
class Mail:
    """A message as introbot reads it."""

    headers: tuple[tuple[str, str], ...]
    subject: str
    sender: Person | None
    to: tuple[Person, ...]
    cc: tuple[Person, ...]
    reply_to: tuple[Person, ...]
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None
    content_type: str
    plain: str | None  # the text/plain body, if there is one
    html: str | None  # the text/html body, if there is one (capped)
    reports: tuple[dict[str, str], ...] = ()  # per-recipient fields of delivery-status parts
    attachments: tuple[str, ...] = ()  # file names, for information only
    problems: tuple[str, ...] = ()
    #: (name, value) as it arrived, unfolded but not RFC 2047-decoded (for structured
    #: headers such as Authentication-Results, where a decoded word could pose as syntax)
    raw_headers: tuple[tuple[str, str], ...] = ()
    #: (header, address, why it cannot receive mail) for From, To, Cc and Reply-To
    bad_addresses: tuple[tuple[str, str, str], ...] = ()

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def headers_named(self, name: str) -> list[str]:
        lowered = name.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    def raw_headers_named(self, name: str) -> list[str]:
        lowered = name.lower()
        return [v for k, v in self.raw_headers if k.lower() == lowered]

    @functools.cached_property
    def text(self) -> str:
        """The body as plain text: text/plain when present, else the HTML as text."""
        if self.plain is not None:
            return self.plain
        return html_to_text(self.html) if self.html is not None else ""

    @functools.cached_property
    def html_hidden_text(self) -> bool:
        """True when the HTML body holds words a reader does not see: hidden by CSS or an
        attribute, in the background's colour, too small, or possibly hidden by a style
        rule that cannot be resolved (see reading/visible.py). False without HTML."""
        return self.html is not None and html_hides_text(self.html)

    @functools.cached_property
    def html_unchecked(self) -> str:
        """Why the HTML body's visible text could not be worked out ("" when it was, or
        without HTML): too many tags, cut short, or rejected by the parser."""
        return html_unchecked(self.html) if self.html is not None else ""


class _Collector:
    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.reports: list[dict[str, str]] = []
        self.attachments: list[str] = []
        self.problems: list[str] = []
        self.parts = 0

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


def _decode_payload(part: email.message.Message, found: _Collector) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, AssertionError, LookupError):
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        payload = raw.encode("utf-8", "replace") if isinstance(raw, str) else b""
    if part.defects:
        names = sorted({type(d).__name__ for d in part.defects})
        found.problem(f"malformed MIME part ({', '.join(names)})")
    charset = (part.get_content_charset() or "utf-8").strip().lower()
    text = _decode_bytes(payload[: MAX_TEXT_CHARS * 4], charset, found)
    cut = part.get(CUT_HEADER) is not None or CUT_HEADER in text
    if len(text) > MAX_TEXT_CHARS or cut:
        found.problem("body too long: the rest was not read")
        text = clean_text(text[: MAX_TEXT_CHARS - len(NOT_READ) - 2])
        return text + "\n\n" + NOT_READ
    return clean_text(text)


def _decode_bytes(data: bytes, charset: str, found: _Collector) -> str:
    if charset in _DISTRUSTED_CHARSETS:
        found.problem(f"charset {charset} is not trusted: read as UTF-8")
        return data.decode("utf-8", "replace")
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        found.problem(f"unknown charset {charset!r}: read as UTF-8")
        return data.decode("utf-8", "replace")
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        pass
    declared = codecs.lookup(charset).name
    for fallback in ("utf-8", "cp1252"):
        if codecs.lookup(fallback).name == declared:
            continue
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        found.problem(f"declared charset {charset} was wrong: read as {fallback}")
        return text
    found.problem(f"text does not decode as {charset}: unreadable bytes replaced")
    return data.decode(charset, "replace")


def _walk(root: email.message.Message, found: _Collector) -> Iterator[email.message.Message]:
    """Leaf parts in order, with caps on depth and count (no recursion)."""
    stack: list[tuple[email.message.Message, int]] = [(root, 0)]
    while stack:
        part, depth = stack.pop()
        found.parts += 1
        if found.parts > MAX_PARTS:
            found.problem(f"more than {MAX_PARTS} MIME parts: the rest was not read")
            return
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/rfc822", "text/rfc822-headers"):
            yield part  # a report, or an attached message: not the body of this one
            continue
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                found.problem(f"MIME parts nested deeper than {MAX_DEPTH}: the rest was not read")
                continue
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(
                    (child, depth + 1)
                    for child in reversed(children)
                    if isinstance(child, email.message.Message)
                )
            continue
        yield part


def _read_report(part: email.message.Message, found: _Collector) -> None:
    """message/delivery-status: one block per recipient (Final-Recipient, Action, Status)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser splits the report into header blocks
        blocks = [
            {str(k).lower(): clean_line(str(v), 500) for k, v in block.items()}
            for block in payload
            if isinstance(block, email.message.Message)
        ]
    else:
        blocks = []
        for chunk in re.split(r"\n\s*\n", _decode_payload(part, found)):
            fields: dict[str, str] = {}
            for line in chunk.splitlines():
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    fields[key.strip().lower()] = clean_line(value, 500)
            blocks.append(fields)
    found.reports += [b for b in blocks if "final-recipient" in b or "original-recipient" in b]


def _read_parts(msg: email.message.Message, found: _Collector) -> None:
    for part in _walk(msg, found):
        kind = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        description = str(part.get("Content-Description") or "").lower()
        if kind == "message/delivery-status" or (
            kind == "text/plain" and "delivery-status" in description
        ):
            _read_report(part, found)
            continue
        if kind in ("message/rfc822", "text/rfc822-headers"):
            found.attachments.append(f"({kind})")
            continue
        if disposition == "attachment" or filename:
            found.attachments.append(clean_line(decode_words(str(filename or "")), 200))
            continue
        if kind == "text/html":
            found.html.append(_decode_payload(part, found))
        elif kind == "text/plain" or (kind.startswith("text/") and kind != "text/calendar"):
            found.plain.append(_decode_payload(part, found))  # text/, text/enriched: as text


def _read_broken_structure(raw: bytes, found: _Collector) -> None:
    """A multipart message whose parts cannot be found (a boundary never used, a nesting
    that does not close): read what follows the headers as plain text, minus MIME lines."""
    split = re.search(rb"\r?\n\r?\n", raw)
    if split is None:
        return
    body = raw[split.end() : split.end() + MAX_TEXT_CHARS * 4].decode("utf-8", "replace")
    lines = [
        line
        for line in body.replace("\r\n", "\n").split("\n")
        if not line.startswith("--") and not re.match(r"(?i)content-[\w-]+:", line)
    ]
    text = clean_text("\n".join(lines)).strip()
    if text:
        found.problem("broken MIME structure: the body was read as plain text")
        found.plain.append(text[:MAX_TEXT_CHARS])


# ------------------------------------------------------------------ shrinking
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LONE_CR = re.compile(rb"\r(?!\n)")
_HEADERS_ONLY = email.parser.BytesParser(policy=email.policy.compat32)
#: Parts whose bodies no reader looks at (attachments are listed by name only).
_NOT_READ_TYPES = ("application/", "image/", "audio/", "video/", "font/", "model/")
_MAX_PREAMBLE = 1024  # of a multipart's preamble copied (the parser drops it)


class _Shrinker:
    """One pass over the raw message that finds its MIME structure as the email parser
    will (each header block read by the parser itself, the boundary it declares, the
    delimiter lines found with ``bytes.find``), and copies it with attachment bodies
    dropped and long text parts cut, each such part marked with :data:`CUT_HEADER`. Where
    the structure is not plain (a header block the parser would end early, a multipart
    without delimiters) the bytes are copied as they are and the total cap applies."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.out: list[bytes] = []
        self.size = 0
        self.entities = 0
        self.cut = False  # some part was cut (and marked)
        self.truncated = False  # the message was cut short (marked on nothing)

    def emit(self, start: int, end: int) -> None:
        self.out.append(self.raw[start:end])
        self.size += end - start

    def mark(self) -> None:
        self.out.append(CUT_HEADER.encode() + b": yes\r\n")
        self.cut = True

    def entity(self, start: int, end: int, depth: int) -> None:
        """Copy the entity at ``raw[start:end]``: headers, a blank line, a body."""
        raw = self.raw
        self.entities += 1
        if raw.startswith((b"\n", b"\r\n"), start):
            head_end = start  # no headers: a text/plain body
            kind, boundary = "text/plain", None
        else:
            split = _HEAD_END.search(raw, start, end)
            if split is None:
                self.emit(start, end)  # headers only
                return
            head_end = split.end()
            headers = _HEADERS_ONLY.parsebytes(raw[start:head_end], headersonly=True)
            if headers.defects or str(headers.get_payload()).strip():
                self.emit(start, end)  # the parser would see a body start earlier
                return
            kind, boundary = headers.get_content_type(), headers.get_boundary()
        if kind.startswith("multipart/"):
            self.multipart(start, head_end, end, boundary, depth)
        elif end - head_end <= MAX_PART_BYTES:
            self.emit(start, end)
        elif kind.startswith(_NOT_READ_TYPES):
            self.mark()
            self.emit(start, head_end)
        else:
            cut = raw.rfind(b"\n", head_end, head_end + MAX_PART_BYTES) + 1
            cut = cut if cut > head_end else head_end + MAX_PART_BYTES
            self.mark()
            self.emit(start, cut)
            if raw[cut - 1 : cut] != b"\n":
                self.out.append(b"\r\n")

    def multipart(
        self, start: int, head_end: int, end: int, boundary: str | None, depth: int
    ) -> None:
        mark = b"--" + boundary.encode("utf-8", "surrogateescape") if boundary else b""
        found = self.delimiters(mark, head_end, end) if mark else []
        if not found or depth >= MAX_DEPTH:
            self.emit(start, end)  # the parser finds no parts here either: copied as it is
            return
        self.emit(start, min(found[0][0], head_end + _MAX_PREAMBLE))
        if found[0][0] > head_end + _MAX_PREAMBLE:
            self.out.append(b"\r\n")
        for (line, line_end, closing), following in zip(
            found, [*found[1:], (end, end, True)], strict=True
        ):
            self.emit(line, line_end)
            if closing:
                return  # the epilogue: dropped by the parser
            if self.entities >= MAX_PARTS or self.size > MAX_PARSED_BYTES:
                self.truncated = True
                return
            self.entity(line_end, following[0], depth + 1)

    def delimiters(self, mark: bytes, start: int, end: int) -> list[tuple[int, int, bool]]:
        """The delimiter lines ``--boundary`` and ``--boundary--`` (then only spaces) in
        ``raw[start:end]``, as (start, end, closing), up to the closing one."""
        raw, found = self.raw, []
        line = start if raw.startswith(mark, start) else raw.find(b"\n" + mark, start, end) + 1
        while line > 0:
            newline = raw.find(b"\n", line, end)
            line_end = end if newline < 0 else newline + 1
            rest = raw[line + len(mark) : line_end].rstrip(b"\r\n")
            closing = rest.startswith(b"--")
            if not rest.removeprefix(b"--").strip(b" \t"):
                found.append((line, line_end, closing))
                if closing or len(found) > 2 * MAX_PARTS:
                    break
            if line_end >= end:
                break
            line = raw.find(b"\n" + mark, line_end - 1, end) + 1
        return found


def shrink(raw: bytes) -> tuple[bytes, bool]:
    """The message with attachment bodies dropped and text parts cut to
    ``MAX_PART_BYTES`` (see :class:`_Shrinker`: each such part is marked), at most
    ``MAX_PARSED_BYTES`` long; and whether the whole was cut short (marked on nothing)."""
    shrinker = _Shrinker(raw)
    shrinker.entity(0, len(raw), 0)
    out = b"".join(shrinker.out)
    truncated = shrinker.truncated or len(out) > MAX_PARSED_BYTES
    if len(out) > MAX_PARSED_BYTES:
        out = out[: out.rfind(b"\n", 0, MAX_PARSED_BYTES) + 1 or MAX_PARSED_BYTES]
    return out, truncated


def _parse(raw: bytes, found: _Collector) -> email.message.Message:
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    except RecursionError:
        found.problem("MIME structure too deep to read: only the headers were read")
    except Exception as exc:  # the parser promises not to raise; be sure anyway
        found.problem(f"unreadable MIME structure ({type(exc).__name__})")
    head, _, _ = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    return email.message_from_bytes(head + b"\n\n", policy=email.policy.compat32)


def _cap_header_block(raw: bytes, found: _Collector) -> bytes:
    split = re.search(rb"\r?\n\r?\n", raw)
    end = split.start() if split else len(raw)
    if end <= MAX_HEADER_BYTES:
        return raw
    found.problem(f"header block larger than {MAX_HEADER_BYTES // 1024} KB: cut short")
    head = raw[:MAX_HEADER_BYTES]
    head = head[: head.rfind(b"\n") + 1] or head
    return head + b"\n" + (raw[split.end() :] if split else b"")


def _clean_headers(msg: email.message.Message, found: _Collector) -> list[tuple[str, str, str]]:
    """(name, decoded and cleaned value, undecoded but unfolded value) per header."""
    headers = []
    items = [(n, v) for n, v in msg.raw_items() if str(n).lower() != CUT_HEADER.lower()]
    for index, (name, value) in enumerate(items):
        if index >= MAX_HEADERS:
            found.problem(f"more than {MAX_HEADERS} headers: the rest were not read")
            break
        raw_value = _utf8(str(value))
        if len(raw_value) > MAX_HEADER_VALUE * 4:
            found.problem(f"header {clean_line(str(name), 60)} too long: cut short")
            raw_value = raw_value[: MAX_HEADER_VALUE * 4]
        decoded = clean_line(decode_words(raw_value), MAX_HEADER_VALUE)
        headers.append((clean_line(str(name), 100), decoded, clean_line(raw_value)))
    return headers


def read_mail(raw: bytes) -> Mail:
    """Parse and clean a message. Never raises; problems are listed on the result."""
    try:
        return _read_mail(raw)
    except Exception as exc:  # a bug or a parser surprise: one message never stops a poll
        return unreadable_mail(exc)


def unreadable_mail(exc: BaseException) -> Mail:
    """What is left of a message that could not be read at all: nothing to act on, and
    the reason, so that it goes to the connector."""
    return Mail(
        headers=(),
        subject="",
        sender=None,
        to=(),
        cc=(),
        reply_to=(),
        message_id=None,
        in_reply_to=(),
        references=(),
        date=None,
        content_type="text/plain",
        plain=None,
        html=None,
        problems=(f"introbot could not read this message ({type(exc).__name__})",),
    )


def _read_mail(raw: bytes) -> Mail:
    found = _Collector()
    truncated = len(raw) > MAX_MESSAGE_BYTES
    raw = raw[:MAX_MESSAGE_BYTES] if truncated else raw
    # A lone CR ends a line for the parser: in the headers, or just before a delimiter.
    if _LONE_CR.search(raw, 0, MAX_HEADER_BYTES) or b"\r--" in raw:
        raw = _LONE_CR.sub(b"\n", raw)
    raw = _cap_header_block(raw, found)
    raw, cut_short = shrink(raw)
    if truncated or cut_short:
        found.problem("message too large: only its start was read")
    msg = _parse(raw, found)
    read_headers = _clean_headers(msg, found)
    headers = [(name, value) for name, value, _ in read_headers]

    def every(name: str) -> list[str]:
        return [v for k, v in headers if k.lower() == name]

    def first(name: str) -> str | None:
        values = every(name)
        return values[0] if values else None

    bad: list[tuple[str, str, str]] = []

    def people(name: str) -> tuple[Person, ...]:
        raw_values = [raw for k, _, raw in read_headers if k.lower() == name]
        found_people: list[Person] = []
        for value in raw_values:
            good, rejected = read_addresses(value)
            found_people += good
            bad.extend((name.title(), address, why) for address, why in rejected)
        return tuple(found_people)

    senders = people("from")
    to, cc, reply_to = people("to"), people("cc"), people("reply-to")
    for header, address, why in bad[:10]:
        found.problem(f"the {header} address {address} cannot receive mail: {why}")
    if not senders:
        found.problem("no usable From address")
    elif len(senders) > 1:
        found.problem("more than one From address")
    try:
        _read_parts(msg, found)
    except RecursionError:
        found.problem("MIME structure too deep to read")
    if (
        not (found.plain or found.html or found.attachments)
        and msg.get_content_maintype() == "multipart"
    ):
        _read_broken_structure(raw, found)
    date = None
    if first("date"):
        try:
            date = email.utils.parsedate_to_datetime(first("date") or "")
        except (TypeError, ValueError, IndexError):
            found.problem("unreadable Date header")
    message_ids = _MSGID.findall(first("message-id") or "")
    try:
        content_type = msg.get_content_type()
    except Exception:  # a hostile Content-Type must not stop the read
        content_type = "text/plain"
    return Mail(
        headers=tuple(headers),
        subject=first("subject") or "",
        sender=senders[0] if len(senders) == 1 else None,
        to=to,
        cc=cc,
        reply_to=reply_to,
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=tuple(_MSGID.findall(first("in-reply-to") or "")),
        references=tuple(_MSGID.findall(" ".join(every("references")))),
        date=date,
        content_type=content_type,
        plain=_with_end_unread(found.plain, truncated or cut_short),
        html=_with_end_unread(found.html, truncated or cut_short, "\n", MAX_HTML_CHARS),
        reports=tuple(found.reports),
        attachments=tuple(found.attachments),
        problems=tuple(found.problems),
        raw_headers=tuple((name, raw) for name, _, raw in read_headers),
        bad_addresses=tuple(bad),
    )


def _with_end_unread(
    texts: list[str], cut_short: bool, joiner: str = "\n\n", limit: int | None = None
) -> str | None:
    """The parts of one kind as one text; when the message was cut short, saying so at
    the end (the parts read may not be all of them)."""
    if not texts:
        return None
    text = joiner.join(texts)[:limit]
    if cut_short and not text.endswith(NOT_READ):
        text += "\n\n" + NOT_READ
    return text


def looks_like_mail(raw: bytes) -> bool:
    """True when the bytes start with RFC 822 headers (for rejecting non-mail input)."""
    if not raw.strip():
        return False
    head = raw[:8192].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    if b"\x00" in head:  # binary data; a stray NUL in a body (some MTAs) is still mail
        return False
    names = [
        line.split(b":", 1)[0].strip().lower()
        for line in head.split(b"\n")
        if line and line[:1] not in (b" ", b"\t") and b":" in line
    ]
    known = {b"from", b"to", b"subject", b"date", b"message-id", b"received", b"return-path",
             b"mime-version", b"content-type", b"delivered-to", b"cc", b"reply-to"}  # fmt: skip
    return bool(names) and any(n in known for n in names)
