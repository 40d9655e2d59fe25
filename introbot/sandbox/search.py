"""The part of Gmail's search language (`q=`) the sandbox understands.

Terms are ANDed; ``-term`` negates; ``a OR b`` (or ``{a b}``) joins neighbours; ``( )``
groups, also after an operator (``to:(a OR b)``). Operators: ``label:``,
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

    terms: tuple[Callable[[Searchable], bool], ...]  # ANDed
    includes_spam_trash: bool

    def matches(self, message: Searchable) -> bool:
        return all(term(message) for term in self.terms)


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


_LEXEME = re.compile(
    r'\s*(?:(?P<punct>[(){}])|(?P<neg>-)(?=\S)|(?P<word>[^\s(){}"]*"[^"]*"?|[^\s(){}"]+))'
)
_OPERATOR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(.*)", re.S)
Predicate = Callable[[Searchable], bool]


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda m: a(m) or b(m)


def _negated(term: Predicate) -> Predicate:
    return lambda m: not term(m)


class _Parser:
    """Gmail's grammar: terms side by side are ANDed (``AND`` may be written), ``a OR b``
    (or ``{a b}``) ORs them, ``-term`` negates, ``( )`` groups, ``"..."`` is one phrase,
    and ``op:(a b)`` / ``op:{a b}`` applies one operator to a group. Gmail is lenient with
    unbalanced brackets; so is this."""

    def __init__(self, q: str, resolve_label: Callable[[str], str | None], now: float) -> None:
        self.tokens: list[tuple[str, str]] = []
        for match in _LEXEME.finditer(q):
            if match["punct"]:
                self.tokens.append(("punct", match["punct"]))
            elif match["neg"]:
                self.tokens.append(("neg", "-"))
            elif match["word"]:
                self.tokens.append(("word", match["word"]))
        self.pos = 0
        self.resolve_label = resolve_label
        self.now = now
        self.reaches_spam_trash = False

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def sequence(self, op: str | None, closer: str | None) -> list[Predicate]:
        """Terms up to ``closer`` (or the end), ORs already folded in."""
        terms: list[Predicate] = []
        while (token := self.peek()) is not None:
            if token == ("punct", closer or ""):
                self.take()
                break
            if token[0] == "punct" and token[1] in ")}":
                self.take()  # a stray closing bracket: Gmail ignores it
                continue
            if token == ("word", "AND"):
                self.take()
                continue
            if token == ("word", "OR") and terms:
                self.take()
                following = self.unary(op)
                if following is not None:
                    left = terms.pop()
                    terms.append(_either(left, following))
                continue
            term = self.unary(op)
            if term is not None:
                terms.append(term)
        return terms

    def unary(self, op: str | None) -> Predicate | None:
        token = self.peek()
        if token is None:
            return None
        if token[0] == "neg":
            self.take()
            inner = self.unary(op)
            return None if inner is None else _negated(inner)
        return self.primary(op)

    def primary(self, op: str | None) -> Predicate | None:
        kind, text = self.take()
        if kind == "punct" and text in "({":
            terms = self.sequence(op, ")" if text == "(" else "}")
            if text == "{":
                return lambda m: any(t(m) for t in terms)
            return lambda m: all(t(m) for t in terms)
        if kind != "word":
            return None
        matched = _OPERATOR.fullmatch(text) if op is None else None
        if matched:
            name, value = matched[1].lower(), matched[2]
            following = self.peek()
            if (
                not value
                and following is not None
                and following in (("punct", "("), ("punct", "{"))
            ):
                return self.primary(name)  # op:(a b) and op:{a b}
            if value.startswith('"'):
                value = value.strip('"')
            return self.atom(name, value)
        return self.atom(op, text.strip('"') if text.startswith('"') else text)

    def atom(self, op: str | None, value: str) -> Predicate:
        if op == "in" and value.casefold() in ("trash", "spam", "anywhere"):
            self.reaches_spam_trash = True
        return _term(op, value, self.resolve_label, self.now)


def compile_query(
    q: str, resolve_label: Callable[[str], str | None], now: float | None = None
) -> Query:
    """Compile ``q``; ``now`` (epoch seconds) anchors ``newer_than:``/``older_than:``."""
    parser = _Parser(q, resolve_label, time.time() if now is None else now)
    terms = parser.sequence(None, None)
    return Query(tuple(terms), parser.reaches_spam_trash)
