"""One Gmail mailbox in memory: labels, messages, threads, drafts and the history log.

Behaves like Gmail where introbot depends on it:

* ids: message ids are 16 hex digits, the thread id is the id of the thread's first
  message, draft ids start with ``r``; a draft keeps its id across updates while its
  message id changes.
* history: every change gets a new, larger history id (with gaps); records are
  ``messageAdded``, ``messageDeleted``, ``labelAdded`` and ``labelRemoved``. History
  before :attr:`Mailbox.history_floor` has expired: asking for it is a 404.
* threading: an arriving message joins the thread of a message its In-Reply-To or
  References names, if the subjects match once Re:/Fwd:/AW:/TR: are stripped. A message
  created with an explicit ``threadId`` (drafts, insert) joins that thread only when its
  subject matches and its In-Reply-To/References names a message of that thread, as Gmail
  documents; otherwise it starts a new one.

With :class:`~introbot.sandbox.realism.Realism` switched on it is also unkind where Gmail is:
sends from the UI that appear late (Undo send, Schedule send) with Gmail's own Message-ID,
UI edits that move a draft to a new thread, search that lags behind ``get``, 400 for a
deleted ``threadId`` (see ``docs/sandbox.md``, "Realism").

Not thread-safe: the server serialises access.
"""

from __future__ import annotations

import base64
import bisect
import email.policy
import html
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from introbot.sandbox.errors import ApiError, bad_request, not_found
from introbot.sandbox.message import ParsedMessage, normalize_subject, parse
from introbot.sandbox.realism import KIND, Realism
from introbot.sandbox.search import compile_query, label_key

SYSTEM_LABELS = (
    "INBOX",
    "SENT",
    "DRAFT",
    "UNREAD",
    "SPAM",
    "TRASH",
    "STARRED",
    "IMPORTANT",
    "CHAT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
)
_HIDDEN_SYSTEM = {"SPAM", "TRASH"}
_RESERVED_NAMES = {name.casefold() for name in SYSTEM_LABELS} | {
    "drafts",
    "sent mail",
    "all mail",
    "chats",
    "bin",
}
_NOT_MODIFIABLE = {"DRAFT", "SENT"}
FIRST_HISTORY_ID = 1_000_000
_FIRST_MESSAGE_ID = 0x19A0_0000_0000_0000


def _gap(n: int) -> int:
    """Deterministic history-id gap of 1..7, like Gmail's non-contiguous ids."""
    return 1 + ((n * 2654435761) >> 7) % 7


def _header_date_ms(value: str | None) -> int | None:
    try:
        return int(parsedate_to_datetime(value or "").timestamp() * 1000)
    except (TypeError, ValueError, IndexError):
        return None


@dataclass
class Label:
    id: str
    name: str
    type: str  # "system" | "user"
    message_list_visibility: str | None = None
    label_list_visibility: str | None = None
    color: dict[str, str] | None = None


@dataclass
class Message:
    id: str
    thread_id: str
    raw: bytes
    label_ids: list[str]
    internal_date: int  # milliseconds since the epoch
    history_id: int
    seq: int
    parsed: ParsedMessage = field(repr=False)
    attachments: dict[str, bytes] = field(repr=False, default_factory=dict)
    indexed_at: float = 0.0  # epoch seconds from which search (q=) finds it

    @property
    def has_attachment(self) -> bool:
        return bool(self.attachments)

    @property
    def is_draft(self) -> bool:
        return "DRAFT" in self.label_ids


@dataclass
class PendingSend:
    """A message that will appear later: sent with Undo send, scheduled, or from another
    client. ``keep_id`` is the message that becomes the sent copy (else a new one)."""

    due: float  # epoch seconds
    raw: bytes
    labels: list[str]
    thread_id: str | None
    keep_id: str | None = None
    thread_by_headers: bool = False
    gmail_headers: bool = False  # Gmail writes Message-ID and Date when it sends
    draft_id: str | None = None  # sent from the Gmail UI: the draft Undo can bring back

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "raw": base64.b64encode(self.raw).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingSend:
        return cls(**{**data, "raw": base64.b64decode(data["raw"])})


_HEX_ID = re.compile(r"[0-9a-fA-F]{1,16}")
_HEADER_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")


def _gmail_message_id() -> str:
    """Gmail's own Message-ID: random, like ``<CAF...@mail.gmail.com>``."""
    return f"<CA{secrets.token_urlsafe(36).replace('-', '+').replace('_', '=')}@mail.gmail.com>"


def _split_raw(raw: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(sep)
        if found:
            return head, body
    return raw, b""


def _head_lines(head: bytes) -> list[bytes]:
    """Header fields of a raw head, each with its continuation lines."""
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def replace_headers(
    raw: bytes, drop: Iterable[str], add: Iterable[tuple[str, str]], body: bytes | None = None
) -> bytes:
    """``raw`` without the fields named in ``drop``, with ``add`` on top (as Gmail writes),
    and with another ``body`` if given."""
    dropped = {name.lower().encode() for name in drop}
    head, old_body = _split_raw(raw)
    body = old_body if body is None else body
    kept = []
    for line in _head_lines(head):
        name = _HEADER_NAME.match(line)
        if name is None or name[1].lower() not in dropped:
            kept.append(line if line.endswith(b"\n") else line + b"\r\n")
    new = [f"{name}: {value}\r\n".encode() for name, value in add]
    return b"".join(new + kept) + b"\r\n" + body


def _encode_header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


@dataclass(frozen=True)
class HistoryRecord:
    id: int
    kind: str  # messageAdded | messageDeleted | labelAdded | labelRemoved
    message_id: str
    thread_id: str
    label_ids: tuple[str, ...]  # the message's labels after the change
    changed: tuple[str, ...] = ()  # labels added or removed


class Mailbox:
    def __init__(self, user: str, clock: Callable[[], float] = time.time) -> None:
        self.user = user.lower()
        self.clock = clock
        self.labels: dict[str, Label] = {
            name: Label(
                name,
                name,
                "system",
                None if name in _HIDDEN_SYSTEM else "show",
                None if name in _HIDDEN_SYSTEM else "labelShow",
            )
            for name in SYSTEM_LABELS
        }
        self.messages: dict[str, Message] = {}
        self.threads: dict[str, list[str]] = {}
        self.drafts: dict[str, str] = {}  # draft id -> message id
        self._by_rfc822_id: dict[str, list[str]] = {}  # Message-ID header -> message ids
        self.history: list[HistoryRecord] = []
        self.history_id = FIRST_HISTORY_ID
        self.history_floor = 0  # history before this id has expired
        self._counter = 0
        self._label_counter = 0
        self.realism: Realism = KIND  # set by the server; not saved with the mailbox
        self.pending: list[PendingSend] = []

    # ----------------------------------------------------------------- ids and history
    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _new_draft_id(self) -> str:
        return f"r{5_000_000_000_000_000_000 + self._next() * 7919}"

    def _new_message_id(self) -> str:
        return f"{_FIRST_MESSAGE_ID + self._next() * 4099:016x}"

    def _record(self, kind: str, message: Message, changed: Iterable[str] = ()) -> HistoryRecord:
        self.history_id += _gap(self._next())
        message.history_id = self.history_id
        record = HistoryRecord(
            self.history_id,
            kind,
            message.id,
            message.thread_id,
            tuple(message.label_ids),
            tuple(changed),
        )
        self.history.append(record)
        return record

    def expire_history_before(self, history_id: int) -> None:
        """Forget history older than ``history_id``: older start ids now answer 404."""
        self.history_floor = max(self.history_floor, history_id)
        self.history = [r for r in self.history if r.id >= self.history_floor]

    def history_since(
        self, start: int, kinds: set[str] | None = None, label_id: str | None = None
    ) -> list[HistoryRecord]:
        if start < self.history_floor or start < FIRST_HISTORY_ID - 1:
            raise not_found()
        first = bisect.bisect_right(self.history, start, key=lambda r: r.id)
        return [
            r
            for r in self.history[first:]
            if (kinds is None or r.kind in kinds)
            and (label_id is None or label_id in r.label_ids or label_id in r.changed)
        ]

    # ------------------------------------------------------------------------- labels
    def label(self, label_id: str) -> Label:
        try:
            return self.labels[label_id]
        except KeyError:
            raise not_found() from None

    def label_by_name(self, name: str) -> Label | None:
        key = label_key(name)
        return next((lab for lab in self.labels.values() if label_key(lab.name) == key), None)

    def resolve_label(self, name_or_id: str) -> str | None:
        if name_or_id in self.labels:
            return name_or_id
        found = self.label_by_name(name_or_id)
        return found.id if found else None

    def _check_label_name(self, name: str, exclude: str | None = None) -> str:
        clean = " ".join(name.split())
        if not clean or len(clean) > 225 or clean.casefold() in _RESERVED_NAMES:
            raise bad_request("Invalid label name")
        for other in self.labels.values():
            if other.id != exclude and other.name.casefold() == clean.casefold():
                raise ApiError(409, "Label name exists or conflicts")
        return clean

    def create_label(self, name: str, **extra: Any) -> Label:
        clean = self._check_label_name(name)
        self._label_counter += 1
        label = Label(
            f"Label_{self._label_counter}",
            clean,
            "user",
            extra.get("messageListVisibility", "show"),
            extra.get("labelListVisibility", "labelShow"),
            extra.get("color"),
        )
        self.labels[label.id] = label
        return label

    def ensure_label(self, name: str) -> Label:
        """The label with this name, created if missing (the connector's Gmail UI does this)."""
        return self.labels.get(name) or self.label_by_name(name) or self.create_label(name)

    def patch_label(self, label_id: str, changes: dict[str, Any]) -> Label:
        label = self.label(label_id)
        if label.type == "system":
            raise bad_request("Invalid label: system labels cannot be modified")
        if "name" in changes:
            label.name = self._check_label_name(changes["name"], exclude=label_id)
        label.message_list_visibility = changes.get(
            "messageListVisibility", label.message_list_visibility
        )
        label.label_list_visibility = changes.get(
            "labelListVisibility", label.label_list_visibility
        )
        label.color = changes.get("color", label.color)
        return label

    def delete_label(self, label_id: str) -> None:
        label = self.label(label_id)
        if label.type == "system":
            raise bad_request("Invalid label: system labels cannot be deleted")
        for message in self.messages.values():
            if label_id in message.label_ids:
                self._change_labels(message, add=(), remove=(label_id,))
        del self.labels[label_id]

    def label_counts(self, label_id: str) -> dict[str, int]:
        tagged = [m for m in self.messages.values() if label_id in m.label_ids]
        unread = [m for m in tagged if "UNREAD" in m.label_ids]
        return {
            "messagesTotal": len(tagged),
            "messagesUnread": len(unread),
            "threadsTotal": len({m.thread_id for m in tagged}),
            "threadsUnread": len({m.thread_id for m in unread}),
        }

    # ----------------------------------------------------------------------- messages
    def _check_id(self, value: str) -> None:
        """Gmail answers 400 to an id that is not an in-range hex number, 404 to the rest."""
        parses = _HEX_ID.fullmatch(value) is not None and int(value, 16) < 2**63
        if self.realism.malformed_id_status == 400 and not parses:
            raise bad_request("Invalid id value")

    def message(self, message_id: str) -> Message:
        try:
            return self.messages[message_id]
        except KeyError:
            self._check_id(message_id)
            raise not_found() from None

    def _check_label_ids(self, label_ids: Iterable[str]) -> list[str]:
        ids = list(dict.fromkeys(label_ids))
        for label_id in ids:
            if label_id not in self.labels:
                raise bad_request(f"Invalid label: {label_id}")
        return ids

    def _thread_by_headers(self, parsed: ParsedMessage) -> str | None:
        subject = normalize_subject(parsed.subject)
        for ref in parsed.references:
            for candidate in self._by_rfc822_id.get(ref, []):
                message = self.messages[candidate]
                if not message.is_draft and normalize_subject(message.parsed.subject) == subject:
                    return message.thread_id
        return None

    def _thread_if_allowed(self, thread_id: str, parsed: ParsedMessage) -> str | None:
        """Gmail's rule for an explicit threadId: subject matches and headers name the thread."""
        if thread_id not in self.threads:
            if self.realism.unknown_thread_status == 400:
                raise bad_request("Invalid thread_id value")
            raise not_found()
        members = [self.messages[i] for i in self.threads[thread_id]]
        subject = normalize_subject(parsed.subject)
        names_thread = any(m.parsed.message_id in parsed.references for m in members)
        same_subject = any(normalize_subject(m.parsed.subject) == subject for m in members)
        return thread_id if names_thread and same_subject else None

    def add_message(
        self,
        raw: bytes,
        label_ids: Iterable[str],
        *,
        thread_id: str | None = None,
        thread_by_headers: bool = True,
        internal_date: int | None = None,
        date_from_header: bool = False,
    ) -> Message:
        """Store a message, thread it, and record ``messageAdded``."""
        labels = self._check_label_ids(label_ids)
        parsed, attachments = parse(raw)
        if date_from_header:
            internal_date = _header_date_ms(parsed.header("Date")) or internal_date
        joined = None
        if thread_id is not None:
            joined = self._thread_if_allowed(thread_id, parsed)
        elif thread_by_headers:
            joined = self._thread_by_headers(parsed)
        return self._store(raw, parsed, attachments, labels, joined, internal_date)

    def _store(
        self,
        raw: bytes,
        parsed: ParsedMessage,
        attachments: dict[str, bytes],
        labels: list[str],
        thread_id: str | None,
        internal_date: int | None = None,
    ) -> Message:
        message_id = self._new_message_id()
        message = Message(
            id=message_id,
            thread_id=thread_id or message_id,
            raw=raw,
            label_ids=labels,
            internal_date=internal_date if internal_date is not None else int(self.clock() * 1000),
            history_id=0,
            seq=self._counter,
            parsed=parsed,
            attachments=attachments,
            indexed_at=self.clock() + self.realism.search_lag_seconds,
        )
        self.messages[message_id] = message
        self.threads.setdefault(message.thread_id, []).append(message_id)
        if parsed.message_id:
            self._by_rfc822_id.setdefault(parsed.message_id, []).append(message_id)
        self._record("messageAdded", message)
        return message

    def remove_message(self, message_id: str) -> None:
        message = self.message(message_id)
        del self.messages[message_id]
        members = self.threads[message.thread_id]
        members.remove(message_id)
        if not members:
            del self.threads[message.thread_id]
        if message.parsed.message_id:
            self._by_rfc822_id[message.parsed.message_id].remove(message_id)
        for draft_id, draft_message in list(self.drafts.items()):
            if draft_message == message_id:
                del self.drafts[draft_id]
        self._record("messageDeleted", message)

    def _change_labels(self, message: Message, add: Iterable[str], remove: Iterable[str]) -> None:
        added = [lab for lab in add if lab not in message.label_ids]
        message.label_ids.extend(added)
        if added:
            self._record("labelAdded", message, added)
        removed = [lab for lab in remove if lab in message.label_ids and lab not in added]
        for lab in removed:
            message.label_ids.remove(lab)
        if removed:
            self._record("labelRemoved", message, removed)

    def modify_messages(
        self, message_ids: Iterable[str], add: Iterable[str], remove: Iterable[str]
    ) -> list[Message]:
        add_ids = self._check_label_ids(add)
        remove_ids = self._check_label_ids(remove)
        for label_id in add_ids + remove_ids:
            if label_id in _NOT_MODIFIABLE:
                raise bad_request(f"Invalid label: {label_id}")
        targets = [self.message(i) for i in message_ids]
        for message in targets:
            self._change_labels(message, add_ids, remove_ids)
        return targets

    def matching(
        self,
        q: str | None = None,
        label_ids: Iterable[str] = (),
        include_spam_trash: bool = False,
        drafts_only: bool = False,
    ) -> list[Message]:
        """Messages matching a search, newest first, as ``messages.list`` orders them. A
        search (``q``) finds a message only once indexed (``Realism.search_lag_seconds``)."""
        now = self.clock()
        query = compile_query(q or "", self.resolve_label, now)
        wanted = list(label_ids)
        reach = include_spam_trash or query.includes_spam_trash
        found = [
            m
            for m in self.messages.values()
            if all(lab in m.label_ids for lab in wanted)
            and (reach or not ({"SPAM", "TRASH"} & set(m.label_ids)))
            and (not drafts_only or m.is_draft)
            and (not q or m.indexed_at <= now)
            and query.matches(m)
        ]
        found.sort(key=lambda m: (m.internal_date, m.seq), reverse=True)
        return found

    # ------------------------------------------------------------------------ threads
    def thread(self, thread_id: str) -> list[Message]:
        if thread_id not in self.threads:
            self._check_id(thread_id)
            raise not_found()
        members = [self.messages[i] for i in self.threads[thread_id]]
        return sorted(members, key=lambda m: (m.internal_date, m.seq))

    def matching_threads(
        self, q: str | None, label_ids: Iterable[str], include_spam_trash: bool
    ) -> list[str]:
        """Thread ids with a matching message, newest activity first."""
        now = self.clock()
        query = compile_query(q or "", self.resolve_label, now)
        wanted = list(label_ids)
        reach = include_spam_trash or query.includes_spam_trash
        latest: dict[str, tuple[int, int]] = {}
        for thread_id, member_ids in self.threads.items():
            members = [self.messages[i] for i in member_ids]
            visible = [m for m in members if reach or not ({"SPAM", "TRASH"} & set(m.label_ids))]
            labels = {lab for m in visible for lab in m.label_ids}
            if not visible or not all(lab in labels for lab in wanted):
                continue
            if q and not any(m.indexed_at <= now and query.matches(m) for m in visible):
                continue
            latest[thread_id] = max((m.internal_date, m.seq) for m in visible)
        return sorted(latest, key=lambda t: latest[t], reverse=True)

    def thread_history_id(self, thread_id: str) -> int:
        return max(m.history_id for m in self.thread(thread_id))

    # ------------------------------------------------------------------------- drafts
    def draft_message(self, draft_id: str) -> Message:
        try:
            return self.messages[self.drafts[draft_id]]
        except KeyError:
            raise not_found() from None

    def create_draft(self, raw: bytes, thread_id: str | None) -> tuple[str, Message]:
        message = self.add_message(raw, ["DRAFT"], thread_id=thread_id, thread_by_headers=False)
        draft_id = self._new_draft_id()
        self.drafts[draft_id] = message.id
        return draft_id, message

    def update_draft(self, draft_id: str, raw: bytes, thread_id: str | None) -> Message:
        """Replace the draft's message: same draft id, new message id (as in Gmail)."""
        old = self.draft_message(draft_id)
        parsed, attachments = parse(raw)
        target = None
        if thread_id is not None and self.threads.get(thread_id) == [old.id]:
            target = thread_id  # the draft's own thread, about to be emptied
        elif thread_id is not None:
            target = self._thread_if_allowed(thread_id, parsed)
        self.remove_message(old.id)
        message = self._store(raw, parsed, attachments, ["DRAFT"], target)
        self.drafts[draft_id] = message.id
        return message

    def delete_draft(self, draft_id: str) -> None:
        self.remove_message(self.draft_message(draft_id).id)

    def send_draft(self, draft_id: str) -> Message:
        """The draft disappears; a new SENT message with a Message-ID joins its thread."""
        draft = self.draft_message(draft_id)
        raw = self._complete_for_sending(draft.raw, draft.parsed)
        self.remove_message(draft.id)
        recipients = {
            a for name in ("to", "cc", "bcc") for a in draft.parsed.addresses.get(name, [])
        }
        labels = ["SENT", "INBOX"] if self.user in recipients else ["SENT"]
        # The sent copy stays in the draft's thread, even if the draft was its only message.
        return self._sent_copy(raw, labels, draft.thread_id)

    def send_message(self, raw: bytes, thread_id: str | None) -> Message:
        parsed, _ = parse(raw)
        target = self._thread_if_allowed(thread_id, parsed) if thread_id else None
        return self._sent_copy(self._complete_for_sending(raw, parsed), ["SENT"], target)

    def _sent_copy(self, raw: bytes, labels: list[str], thread_id: str | None) -> Message:
        parsed, attachments = parse(raw)
        return self._store(raw, parsed, attachments, labels, thread_id)

    def _complete_for_sending(self, raw: bytes, parsed: ParsedMessage) -> bytes:
        extra = b""
        if parsed.message_id is None:
            extra += f"Message-ID: <CA+sandbox{self._next()}@mail.gmail.com>\r\n".encode()
        if parsed.header("Date") is None:
            extra += f"Date: {formatdate(self.clock(), localtime=False)}\r\n".encode()
        if parsed.header("From") is None:
            extra += f"From: {self.user}\r\n".encode()
        return extra + raw

    # ------------------------------------------------------------ the Gmail UI
    def _recipients(self, parsed: ParsedMessage) -> set[str]:
        return {a for name in ("to", "cc", "bcc") for a in parsed.addresses.get(name, [])}

    def send_from_ui(self, draft_id: str, at: float | None = None) -> Message | PendingSend:
        """The connector presses Send (or Schedule send, ``at``) in Gmail. The draft leaves
        Drafts at once; the sent copy appears now, after Undo send, or at ``at``."""
        draft = self.draft_message(draft_id)
        realism = self.realism
        labels = ["SENT", "INBOX"] if self.user in self._recipients(draft.parsed) else ["SENT"]
        keep_id = None
        if realism.sent_copy_id == "draft":
            del self.drafts[draft_id]
            self._change_labels(draft, add=(), remove=("DRAFT",))
            keep_id = draft.id
        else:
            self.remove_message(draft.id)
        due = at if at is not None else self.clock() + realism.undo_send_seconds
        pending = PendingSend(
            due,
            draft.raw,
            labels,
            draft.thread_id,
            keep_id=keep_id,
            gmail_headers=realism.sent_message_id != "draft",
            draft_id=draft_id,
        )
        if due > self.clock():
            self.pending.append(pending)
            return pending
        return self._deliver_pending(pending)

    def undo_send(self, draft_id: str) -> tuple[str, Message]:
        """The connector presses Undo inside the Undo-send window (or Cancel send on a
        scheduled send): no copy is ever sent, and the message comes back as a draft under a
        new draft id and a new message id in the same thread (history: the new message added
        with DRAFT). Answers the new draft id and its message."""
        pending = next((p for p in self.pending if p.draft_id == draft_id), None)
        if pending is None:
            raise not_found()  # sent already (or never sent): too late to undo
        self.pending.remove(pending)
        if pending.keep_id in self.messages:
            self.remove_message(pending.keep_id)
        parsed, attachments = parse(pending.raw)
        message = self._store(pending.raw, parsed, attachments, ["DRAFT"], pending.thread_id)
        new_id = self._new_draft_id()
        self.drafts[new_id] = message.id
        return new_id, message

    def send_elsewhere(
        self,
        draft_id: str,
        *,
        subject: str | None = None,
        client: str = "apple-mail",
        delay: float = 0.0,
        keep_references: bool = True,
    ) -> Message | PendingSend:
        """The connector sends the draft from another client (Apple Mail, Outlook over IMAP):
        the draft is deleted and a separately composed message, with that client's own
        Message-ID and perhaps another subject, is stored in Sent and threaded by its headers."""
        draft = self.draft_message(draft_id)
        self.remove_message(draft.id)
        parsed = draft.parsed
        domain = self.user.rpartition("@")[2] or "example.com"
        if client == "outlook":
            token = secrets.token_hex(12).upper()
            message_id = f"<DM6PR{token}@DM6PR{token[:8]}.namprd04.prod.outlook.com>"
            mailer = "Microsoft Outlook 16.0"
        else:
            token = secrets.token_hex(16).upper()
            message_id = f"<{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:]}@{domain}>"
            mailer = "Apple Mail (2.3774.600.62)"
        msg = EmailMessage()
        for name in ("From", "To", "Cc"):
            value = parsed.header(name)
            if value:
                msg[name] = value
        msg["Subject"] = subject if subject is not None else parsed.subject
        msg["Message-ID"] = message_id
        msg["X-Mailer"] = mailer
        if keep_references:
            for name in ("In-Reply-To", "References"):
                value = parsed.header(name)
                if value:
                    msg[name] = value
        msg.set_content(parsed.text, cte="quoted-printable")
        pending = PendingSend(
            self.clock() + delay,
            msg.as_bytes(),
            ["SENT"],
            None,
            thread_by_headers=True,
            gmail_headers=False,
        )
        if delay > 0:
            self.pending.append(pending)
            return pending
        return self._deliver_pending(pending)

    def edit_in_ui(
        self,
        draft_id: str,
        *,
        text: str | None = None,
        subject: str | None = None,
        to: str | None = None,
        cc: str | None = None,
        autosaves: int = 1,
    ) -> Message:
        """The connector edits the draft in Gmail: each autosave replaces the draft's message
        (new message id, same draft id); a new subject may move it into a new thread."""
        old = self.draft_message(draft_id)
        parsed = old.parsed
        changes: list[tuple[str, str]] = []
        for name, value in (("Subject", subject), ("To", to), ("Cc", cc)):
            if value is not None:
                changes.append((name, _encode_header(value)))
        body = EmailMessage()
        new_text = parsed.text if text is None else text
        if self.realism.ui_rewrites_mime:
            body.set_content(new_text)
            lines = "".join(
                f"<div>{html.escape(line) or '<br>'}</div>" for line in new_text.splitlines()
            )
            body.add_alternative(f'<div dir="ltr">{lines}</div>\n', subtype="html")
        else:
            body.set_content(new_text)
        _, mime_body = _split_raw(body.as_bytes(policy=email.policy.SMTP))  # sets the boundary
        content = [(name, str(value)) for name, value in body.items()]
        drop = [name for name, _ in changes] + [name for name, _ in content]
        raw = replace_headers(old.raw, drop, changes + content, body=mime_body)
        new_parsed, attachments = parse(raw)
        moved = subject is not None and normalize_subject(subject) != normalize_subject(
            parsed.subject
        )
        target = None if moved and self.realism.subject_edit_moves_thread else old.thread_id
        message = old
        for _ in range(max(1, autosaves)):
            current = self.draft_message(draft_id)
            alone = self.threads.get(current.thread_id) == [current.id]
            if alone and self.realism.lone_draft_changes_thread:
                target = None
            self.remove_message(current.id)
            message = self._store(raw, new_parsed, attachments, ["DRAFT"], target)
            target = message.thread_id
            self.drafts[draft_id] = message.id
        return message

    def run_due(self) -> list[Message]:
        """Deliver the pending sends whose time has come (the sandbox's clock)."""
        now = self.clock()
        due = sorted((p for p in self.pending if p.due <= now), key=lambda p: p.due)
        self.pending = [p for p in self.pending if p.due > now]
        return [self._deliver_pending(p) for p in due]

    def _deliver_pending(self, pending: PendingSend) -> Message:
        raw = pending.raw
        if pending.gmail_headers:
            original, _ = parse(raw)
            add = [("Message-ID", _gmail_message_id())]
            if self.realism.sent_message_id == "gmail-keeps-original" and original.message_id:
                add.append(("X-Google-Original-Message-ID", original.message_id))
            add.append(("Date", formatdate(pending.due, localtime=False)))
            raw = replace_headers(raw, ["Message-ID", "Date"], add)
        parsed, _ = parse(raw)
        raw = self._complete_for_sending(raw, parsed)
        parsed, attachments = parse(raw)
        internal_date = int(pending.due * 1000)
        kept = self.messages.get(pending.keep_id or "")
        if kept is None:
            thread_id = pending.thread_id
            if pending.thread_by_headers:
                thread_id = self._thread_by_headers(parsed)
            return self._store(raw, parsed, attachments, pending.labels, thread_id, internal_date)
        if kept.parsed.message_id:
            self._by_rfc822_id[kept.parsed.message_id].remove(kept.id)
        if parsed.message_id:
            self._by_rfc822_id.setdefault(parsed.message_id, []).append(kept.id)
        kept.raw, kept.parsed, kept.attachments = raw, parsed, attachments
        kept.internal_date = internal_date
        kept.indexed_at = self.clock() + self.realism.search_lag_seconds
        self._change_labels(kept, add=pending.labels, remove=())
        return kept

    # ------------------------------------------------------------------- persistence
    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "history_id": self.history_id,
            "history_floor": self.history_floor,
            "counter": self._counter,
            "label_counter": self._label_counter,
            "labels": [vars(label) for label in self.labels.values()],
            "messages": [
                {
                    "id": m.id,
                    "thread_id": m.thread_id,
                    "raw": base64.b64encode(m.raw).decode("ascii"),
                    "label_ids": m.label_ids,
                    "internal_date": m.internal_date,
                    "history_id": m.history_id,
                    "seq": m.seq,
                    "indexed_at": m.indexed_at,
                }
                for m in self.messages.values()
            ],
            "pending": [p.to_json() for p in self.pending],
            "threads": self.threads,
            "drafts": self.drafts,
            "history": [vars(r) for r in self.history],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], clock: Callable[[], float] = time.time) -> Mailbox:
        box = cls(data["user"], clock)
        box.history_id = data["history_id"]
        box.history_floor = data["history_floor"]
        box._counter = data["counter"]
        box._label_counter = data["label_counter"]
        box.labels = {d["id"]: Label(**d) for d in data["labels"]}
        for d in data["messages"]:
            raw = base64.b64decode(d["raw"])
            parsed, attachments = parse(raw)
            message = box.messages[d["id"]] = Message(
                d["id"],
                d["thread_id"],
                raw,
                d["label_ids"],
                d["internal_date"],
                d["history_id"],
                d["seq"],
                parsed,
                attachments,
                d.get("indexed_at", 0.0),
            )
            if parsed.message_id:
                box._by_rfc822_id.setdefault(parsed.message_id, []).append(message.id)
        box.threads = {k: list(v) for k, v in data["threads"].items()}
        box.drafts = dict(data["drafts"])
        box.pending = [PendingSend.from_json(p) for p in data.get("pending", [])]
        box.history = [
            HistoryRecord(
                r["id"],
                r["kind"],
                r["message_id"],
                r["thread_id"],
                tuple(r["label_ids"]),
                tuple(r["changed"]),
            )
            for r in data["history"]
        ]
        return box
