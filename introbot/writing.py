"""Drafts as RFC 822 bytes, from a :class:`DraftSpec` and the user's templates. Pure.

Headers are built only from cleaned ``str`` values (no CR, LF or control characters, names
capped) through :class:`email.headerregistry.Address`, never copied from a parsed message;
IDN domains are encoded. The policy refuses any header value with a line break, so a name
that slipped through cleaning would raise rather than inject (CVE-2024-6923).
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import re
from collections.abc import Iterable, Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses
from typing import Any

import jinja2

from introbot.model import DraftSpec, Person, address_key
from introbot.reading.text import clean_line
from introbot.rules import Template

MAX_NAME = 80
MAX_SUBJECT = 200
_MSGID = re.compile(r"^<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{3,250}>$")


class WritingError(Exception):
    """A draft cannot be written (an address that cannot be encoded, a template error)."""


def _domain(domain: str) -> str:
    try:
        domain.encode("ascii")
        return domain
    except UnicodeEncodeError:
        try:
            return domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise WritingError(f"cannot encode the domain {domain!r}: {exc}") from None


def header_text(value: str, limit: int) -> str:
    """One line of text for a header. Beyond cleaning, RFC 2047 syntax is broken up: a name
    that *contains* an encoded word (an attacker can encode one inside another) would be
    decoded again by Python's own header folding, and on Python < 3.11.10 an encoded CR LF
    there becomes a real header line (CVE-2024-6923)."""
    return re.sub(r"=\?", "= ?", clean_line(value, limit))


def address(person: Person) -> Address:
    local, _, domain = clean_line(person.email).rpartition("@")
    if not local or not domain or not local.isascii():
        raise WritingError(f"cannot write to the address {person.email!r}")
    name = header_text(person.name or "", MAX_NAME)
    try:
        return Address(display_name=name, addr_spec=f"{local}@{_domain(domain)}")
    except (ValueError, IndexError, email.errors.MessageError) as exc:
        # HeaderParseError: an empty domain label ("dana@northwind..io", "x@.y.io")
        raise WritingError(f"cannot write to the address {person.email!r}: {exc}") from None


def _message_ids(values: Iterable[str | None]) -> list[str]:
    return [v for v in values if v and _MSGID.match(v)]


def render(template: Template, fields: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a template with these fields."""
    try:
        subject = template.subject.render(**fields)
    except Exception as exc:  # a template may fail in any way Python can (1 / 0)
        raise WritingError(f"{template.path}: line 1: {_reason(exc)}") from None
    try:
        body = template.body.render(**fields)
    except Exception as exc:
        line = _template_line(exc)
        where = f"line {template.body_line + line - 1}: " if line else ""
        raise WritingError(f"{template.path}: {where}{_reason(exc)}") from None
    return header_text(subject, MAX_SUBJECT), body.strip() + "\n"


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"


def _template_line(exc: BaseException) -> int | None:
    """The template line an error came from: Jinja rewrites its tracebacks so that the
    frames of template code carry the template's own line numbers."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def write_draft(spec: DraftSpec, templates: Mapping[str, Template], sender: Person) -> bytes:
    """The draft's RFC 822 bytes."""
    template = templates.get(spec.template)
    if template is None:
        raise WritingError(f"no template named {spec.template}")
    subject, body = render(template, spec.fields)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = address(sender)
    msg["To"] = [address(p) for p in spec.to]
    if spec.cc:
        msg["Cc"] = [address(p) for p in spec.cc]
    msg["Subject"] = header_text(spec.subject, MAX_SUBJECT) if spec.subject else subject
    if not _MSGID.match(spec.key):
        raise WritingError(f"not a usable Message-ID: {spec.key!r}")
    msg["Message-ID"] = spec.key
    replying_to = _message_ids([spec.in_reply_to])
    if replying_to:
        msg["In-Reply-To"] = replying_to[0]
    references = _message_ids(spec.references)
    if references:
        msg["References"] = " ".join(references)
    msg["X-Introbot"] = spec.kind.value
    msg.set_content(body)
    raw = msg.as_bytes()
    _check(raw, spec)
    return raw


_HEADERS = {
    "from", "to", "cc", "subject", "message-id", "in-reply-to", "references", "x-introbot",
    "content-type", "content-transfer-encoding", "mime-version",
}  # fmt: skip


def _check(raw: bytes, spec: DraftSpec) -> None:
    """Parse the draft back: exactly our headers, exactly our recipients, or no draft."""
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    names = [name.lower() for name in parsed]
    wanted = {address_key(a.addr_spec) for a in (*map(address, spec.to), *map(address, spec.cc))}
    found = {
        address_key(a) for _, a in getaddresses(parsed.get_all("To", []) + parsed.get_all("Cc", []))
    }
    if set(names) - _HEADERS or len(names) != len(set(names)) or found != wanted:
        raise WritingError(f"the draft {spec.key} did not come out as written; not creating it")
