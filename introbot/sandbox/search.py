"""The part of Gmail's search language (`q=`) the sandbox understands.

Terms are ANDed; ``-term`` negates; ``a OR b`` joins neighbours. Operators: ``label:``,
``in:``, ``is:``, ``from:``, ``to:``, ``cc:``, ``bcc:``, ``deliveredto:``, ``subject:``,
``rfc822msgid:``, ``has:attachment``, ``after:``/``before:`` (YYYY/MM/DD or epoch
seconds), ``newer_than:``/``older_than:`` (Nd, Nm, Ny). Anything else is free text matched
against subject, sender and body. Quotes group words: ``subject:"hello there"``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from introbot.sandbox.errors import bad_request
from introbot.sandbox.message import ParsedMessage

_TOKEN = re.compile(r'(-?)(?:([A-Za-z_][A-Za-z0-9_]*):)?("([^"]*)"|\S+)')
_IN_LABELS = {
    "inbox": "INBOX",
    "sent": "SENT",
    "draft": "DRAFT",
    "drafts": "DRAFT",
    "trash": "TRASH",
    "spam": "SPAM",
    "starred": "STARRED",
    "important": "IMPORTANT",
    "chats": "CHAT",
}
_IS_LABELS = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}
_AGE_UNITS = {"d": 86_400, "m": 30 * 86_400, "y": 365 * 86_400}


class Searchable(Protocol):
    label_ids: list[str]
    parsed: ParsedMessage
    internal_date: int

    @property
    def has_attachment(self) -> bool: ...


def label_key(name: str) -> str:
    """How Gmail compares label names in queries: case and separators do not matter."""
    return re.sub(r"[\s/_\-]+", "-", name.strip().casefold())


@dataclass(frozen=True)
class Query:
    """A compiled query: ``matches(message)`` and whether it reaches into spam/trash."""

    clauses: tuple[tuple[Callable[[Searchable], bool], ...], ...]  # AND of ORs
    includes_spam_trash: bool

    def matches(self, message: Searchable) -> bool:
        return all(any(term(message) for term in clause) for clause in self.clauses)


def _contains(haystack: list[str] | str | None, needle: str) -> bool:
    if haystack is None:
        return False
    if isinstance(haystack, list):
        return any(needle in item.casefold() for item in haystack)
    return needle in haystack.casefold()


def _parse_date(value: str) -> float:
    if value.isdigit():
        return float(value)
    for fmt in ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise bad_request(f"Invalid date in query: {value}")


def _term(
    op: str | None, value: str, resolve_label: Callable[[str], str | None], now: float
) -> Callable[[Searchable], bool]:
    needle = value.casefold()
    if op == "label":
        label_id = resolve_label(value)
        return lambda m: label_id is not None and label_id in m.label_ids
    if op == "in":
        if needle == "anywhere":
            return lambda m: True
        wanted = _IN_LABELS.get(needle) or resolve_label(value)
        return lambda m: wanted is not None and wanted in m.label_ids
    if op == "is":
        if needle == "read":
            return lambda m: "UNREAD" not in m.label_ids
        wanted = _IS_LABELS.get(needle)
        return lambda m: wanted is not None and wanted in m.label_ids
    if op in ("from", "to", "cc", "bcc"):
        header = op.capitalize()
        return lambda m: _contains(m.parsed.header(header), needle)
    if op == "deliveredto":
        return lambda m: _contains(m.parsed.addresses.get("delivered-to"), needle)
    if op == "subject":
        return lambda m: _contains(m.parsed.subject, needle)
    if op == "rfc822msgid":
        wanted_id = value.strip().strip("<>")
        return lambda m: m.parsed.message_id is not None and m.parsed.message_id[1:-1] == wanted_id
    if op == "has" and needle == "attachment":
        return lambda m: m.has_attachment
    if op in ("after", "before"):
        cutoff_ms = _parse_date(value) * 1000
        if op == "after":
            return lambda m: m.internal_date > cutoff_ms
        return lambda m: m.internal_date < cutoff_ms
    if op in ("newer_than", "older_than"):
        match = re.fullmatch(r"(\d+)([dmy])", needle)
        if not match:
            raise bad_request(f"Invalid {op} value in query: {value}")
        cutoff_ms = (now - int(match[1]) * _AGE_UNITS[match[2]]) * 1000
        if op == "newer_than":
            return lambda m: m.internal_date > cutoff_ms
        return lambda m: m.internal_date < cutoff_ms
    text = f"{op}:{value}".casefold() if op else needle
    return lambda m: (
        _contains(m.parsed.subject, text)
        or _contains(m.parsed.header("From"), text)
        or _contains(m.parsed.text, text)
    )


def compile_query(
    q: str, resolve_label: Callable[[str], str | None], now: float | None = None
) -> Query:
    """Compile ``q``; ``now`` (epoch seconds) anchors ``newer_than:``/``older_than:``."""
    now = time.time() if now is None else now
    clauses: list[list[Callable[[Searchable], bool]]] = []
    join_next = False
    reaches_spam_trash = False
    for match in _TOKEN.finditer(q):
        negate, op, bare, quoted = match.groups()
        value = quoted if quoted is not None else bare
        op = op.lower() if op else None
        if op is None and not negate and value == "OR":
            join_next = bool(clauses)
            continue
        if op == "in" and value.casefold() in ("trash", "spam", "anywhere"):
            reaches_spam_trash = True
        term = _term(op, value, resolve_label, now)
        if negate:
            term = (lambda t: lambda m: not t(m))(term)
        if join_next:
            clauses[-1].append(term)
            join_next = False
        else:
            clauses.append([term])
    return Query(tuple(tuple(c) for c in clauses), reaches_spam_trash)
