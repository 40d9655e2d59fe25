"""What the sandbox needs to know about an RFC 822 message, read once when it is stored.

This is the *server's* view (what Gmail shows in its JSON), deliberately forgiving: a
broken message is still stored and served, like Gmail does, never rejected.
"""

from __future__ import annotations

import base64
import email
import email.errors
import email.header
import email.message
import email.policy
import email.utils
import html
import re
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup

MAX_DEPTH = 64
SNIPPET_CHARS = 200
_MSGID = re.compile(r"<[^<>\s]+>")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|tr|rv|sv|vs|antw)\s*(\[\d+\])?\s*:\s*)+", re.I)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_decode(value: str) -> bytes:
    padded = value + "=" * (-len(value) % 4)
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"))


def decode_header_value(value: str) -> str:
    """Unfold and decode RFC 2047 words, as Gmail shows header values in JSON."""
    unfolded = re.sub(r"\r?\n[ \t]", " ", str(value))
    try:
        return str(email.header.make_header(email.header.decode_header(unfolded)))
    except (LookupError, UnicodeError, ValueError, email.errors.MessageError):
        return unfolded  # CharsetError too: "=?\u00fc?q?x?=" names no charset


def normalize_subject(subject: str) -> str:
    return " ".join(_SUBJECT_PREFIX.sub("", subject).split()).casefold()


def _decode_part(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _is_attachment(part: email.message.Message) -> bool:
    return part.get_content_disposition() == "attachment" or bool(part.get_filename())


@dataclass
class ParsedMessage:
    headers: list[tuple[str, str]]
    payload: dict[str, Any]
    text: str
    message_id: str | None
    references: list[str]
    subject: str
    addresses: dict[str, list[str]] = field(default_factory=dict)  # "from"/"to"/... -> emails

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    @property
    def snippet(self) -> str:
        return html.escape(" ".join(self.text.split())[:SNIPPET_CHARS], quote=True)


def _render_part(
    part: email.message.Message, part_id: str, depth: int, attachments: dict[str, bytes]
) -> dict[str, Any]:
    headers = [{"name": k, "value": decode_header_value(v)} for k, v in part.items()]
    rendered: dict[str, Any] = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": decode_header_value(part.get_filename() or ""),
        "headers": headers,
    }
    if part.is_multipart() and depth < MAX_DEPTH:
        rendered["body"] = {"size": 0}
        children = [c for c in part.get_payload() if isinstance(c, email.message.Message)]
        prefix = f"{part_id}." if part_id else ""
        rendered["parts"] = [
            _render_part(child, f"{prefix}{i}", depth + 1, attachments)
            for i, child in enumerate(children)
        ]
        return rendered
    data = part.get_payload(decode=True)
    data = data if isinstance(data, bytes) else b""
    if _is_attachment(part):
        attachment_id = f"att{len(attachments)}"
        attachments[attachment_id] = data
        rendered["body"] = {"attachmentId": attachment_id, "size": len(data)}
    else:
        rendered["body"] = {"size": len(data), "data": b64url(data)} if data else {"size": 0}
    return rendered


def _extract_text(msg: email.message.Message) -> str:
    plain: str | None = None
    markup: str | None = None
    stack: list[tuple[email.message.Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop(0)
        if part.is_multipart():
            children = part.get_payload()
            if depth < MAX_DEPTH and isinstance(children, list):
                stack[0:0] = [
                    (child, depth + 1)
                    for child in children
                    if isinstance(child, email.message.Message)
                ]
            continue
        if _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decode_part(part)
        elif kind == "text/html" and markup is None:
            markup = _decode_part(part)
    if plain is not None:
        return plain
    if markup is not None:
        return BeautifulSoup(markup, "html.parser").get_text("\n")
    return ""


def _message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def parse(raw: bytes) -> tuple[ParsedMessage, dict[str, bytes]]:
    """Parse stored bytes; returns the parsed view and its attachments by id. A structure
    too deep for Python's parser is served as its headers and a flat body, like Gmail
    serves mail it cannot take apart."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        attachments: dict[str, bytes] = {}
        payload = _render_part(msg, "", 0, attachments)
        text = _extract_text(msg)
    except RecursionError:
        head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
        msg = email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.compat32)
        attachments = {}
        payload = {"partId": "", "mimeType": "text/plain", "filename": "", "headers": [],
                   "body": {"size": len(body), "data": b64url(body)}}  # fmt: skip
        text = body.decode("utf-8", "replace")
    headers = [(k, decode_header_value(v)) for k, v in msg.items()]
    payload["headers"] = (
        [{"name": k, "value": v} for k, v in headers]
        if not payload["headers"]
        else payload["headers"]
    )
    parsed = ParsedMessage(
        headers=headers,
        payload=payload,
        text=text,
        message_id=None,
        references=[],
        subject="",
    )
    ids = _message_ids(parsed.header("Message-ID"))
    parsed.message_id = ids[0] if ids else None
    # Most recent ancestor first: In-Reply-To, then References from the end.
    refs = (
        _message_ids(parsed.header("In-Reply-To")) + _message_ids(parsed.header("References"))[::-1]
    )
    parsed.references = list(dict.fromkeys(refs))
    parsed.subject = parsed.header("Subject") or ""
    for name in ("from", "to", "cc", "bcc", "delivered-to"):
        values = [v for k, v in headers if k.lower() == name]
        parsed.addresses[name] = [
            addr.lower() for _, addr in email.utils.getaddresses(values) if "@" in addr
        ]
    return parsed, attachments
