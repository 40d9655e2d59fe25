"""Plain values the Gmail client returns, so that nothing else sees Gmail's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HistoryKind = Literal["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]


@dataclass(frozen=True, slots=True)
class Profile:
    email: str
    history_id: int
    messages_total: int
    threads_total: int


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    name: str
    type: Literal["system", "user"]


@dataclass(frozen=True, slots=True)
class MessageRef:
    id: str
    thread_id: str


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """A message seen with ``format=metadata``: labels and the headers asked for."""

    id: str
    thread_id: str
    label_ids: frozenset[str]
    history_id: int
    internal_date: int  # milliseconds since the epoch
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message seen with ``format=raw``: its RFC 822 bytes."""

    id: str
    thread_id: str
    label_ids: frozenset[str]
    history_id: int
    internal_date: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class Thread:
    id: str
    history_id: int
    messages: tuple[MessageMeta, ...]


@dataclass(frozen=True, slots=True)
class Draft:
    """A draft. Its id is stable; its message id changes on every update."""

    id: str
    message_id: str
    thread_id: str


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    history_id: int
    kind: HistoryKind
    message: MessageRef
    label_ids: frozenset[str]  # the message's labels after the change (empty if deleted)
    changed: frozenset[str]  # labels added or removed by this change


@dataclass(frozen=True, slots=True)
class History:
    events: tuple[HistoryEvent, ...]
    history_id: int  # the mailbox's current history id: the next cursor
