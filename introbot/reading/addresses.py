"""Address primitives: the :class:`Person` type, what makes two addresses one person
(:func:`address_key`), reading addresses out of a header value and telling whether mail to
one can be delivered.

The bottom of introbot: this module imports nothing of introbot but the bottom layer
(:mod:`introbot.reading.text`). :mod:`introbot.model` names :class:`Person` for the domain.
"""

from __future__ import annotations

import email.utils
import functools
import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from introbot.reading.text import clean_line, decode_words

MAX_DISPLAY_NAME = 120
MAX_ADDRESSES = 200  # addresses read from one header value
#: An address inside free text, found in linear time: it must start where a run of address
#: characters starts (the lookbehind), and every part is bounded, so a megabyte of letters
#: without an "@" costs one pass, not a pass per letter.
EMAIL_IN_TEXT = re.compile(
    r"(?<![\w.%+'-])[\w.%+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,7}\.[^\W\d_]{2,63}(?![\w-])"
)
_ADDR_CHARS = r"[^@\s<>()\[\],;:\"]"
_EMAIL = re.compile(
    rf"^{_ADDR_CHARS}{{1,64}}@{_ADDR_CHARS}{{1,253}}\.[^@\s<>()\[\],;:\".]{{2,63}}$"
)

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def ascii_lower(text: str) -> str:
    """``text`` with A-Z lowercased and every other character exactly as it is."""
    return text.translate(_ASCII_LOWER)


def address_key(email: str) -> str:
    """What makes two addresses one person: the same address up to ASCII case.

    Domains are case-insensitive (DNS), and local parts are compared ASCII case-insensitively
    too, as Gmail, Outlook and nearly every server deliver them. Nothing else is folded: no
    Unicode case folding, no NFKC, no IDNA mapping. So ``\ufb01ona@x.io`` (a ligature) is not
    ``fiona@x.io``, a Cyrillic "\u0430" is not a Latin "a", and a U-label domain is not its
    ``xn--`` form (two keys for one person only ever makes a reply unclear)."""
    return ascii_lower(email)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone with an address. ``email`` is compared by ``address_key``."""

    name: str | None
    email: str

    @property
    def key(self) -> str:
        return address_key(self.email)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@functools.lru_cache(maxsize=4096)
def undeliverable(address: str) -> str | None:
    """Why mail to ``address`` cannot be delivered, or None when it can be.

    Syntax only, with email-validator's rules (no DNS query): an empty domain label
    (``dana@northwind..io``, ``x@.y.io``), a domain without a dot, a special-use domain
    (``.invalid``, ``.local``, ``.test``), a quoted local part or an IP literal all give a
    reason. An internationalized address (``jürgen@kühlwerk.de``) can be delivered: it is
    the writer that refuses a non-ASCII local part, and says so for that draft."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc) or "not a valid email address"
    except Exception as exc:  # the library must not take the reader down with it
        return f"not a valid email address ({type(exc).__name__})"
    return None


def parse_address(value: str) -> Person | None:
    """``Name <a@b.example>`` -> Person; None when there is no usable address."""
    people = parse_addresses(value)
    return people[0] if people else None


def parse_addresses(value: str) -> list[Person]:
    """Addresses in a header value. Give it the value *before* RFC 2047 decoding, so that
    encoded words can only ever be display names, never address syntax; names are decoded
    and cleaned here. Addresses that cannot receive mail are left out (see
    :func:`read_addresses` for why)."""
    return read_addresses(value)[0]


def read_addresses(value: str) -> tuple[list[Person], list[tuple[str, str]]]:
    """(the deliverable addresses in a header value, (address, why not) for the others).
    At most :data:`MAX_ADDRESSES` are read."""
    found: list[Person] = []
    rejected: list[tuple[str, str]] = []
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # a crafted value must not stop the read
        return [], []
    for name, address in pairs[:MAX_ADDRESSES]:
        address = address.strip().strip("<>").strip()
        if not _EMAIL.match(address):
            if "@" in address and len(address) <= 320:
                reason = undeliverable(address) or "not a valid email address"
                rejected.append((clean_line(address, 254), reason))
            continue
        why = undeliverable(address)
        if why is not None:
            rejected.append((clean_line(address, 254), why))
            continue
        local, _, domain = address.rpartition("@")
        display = clean_line(decode_words(name), MAX_DISPLAY_NAME).strip("'\" ") or None
        found.append(Person(display, f"{local}@{ascii_lower(domain)}"))
    return found, rejected
