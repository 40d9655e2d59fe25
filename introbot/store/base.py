"""The store: intros, parties, drafts, the audit trail, the outbox, threads, the sync cursor.

One mailbox's records, on either engine (:mod:`introbot.store.sqlite`, one file per account;
:mod:`introbot.store.postgres`, a schema per mailbox in a shared database): every query is
written once, here, in the SQL both understand. Every step of the workflow is saved in one
transaction together with the actions it queued (the outbox) and its audit lines, so a crash
leaves either all of it or none; write transactions of one mailbox never interleave. The
schema is versioned (:mod:`introbot.store.schema`) and migrated forward on open; a database
from a newer introbot is refused, never rewritten.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from introbot.model import (
    Action,
    Cancel,
    Consent,
    CreateDraft,
    Decision,
    DeleteDraft,
    Draft,
    DraftKind,
    DraftSpec,
    DraftState,
    Intro,
    Note,
    Order,
    Party,
    Person,
    RequestRef,
    Role,
    Stage,
    address_key,
)
from introbot.store.backend import Backend, Row, StoreError
from introbot.store.schema import SCHEMA_VERSION, statements

NOTE_DRAFT = "note-draft:"  # meta key prefix: the draft id of a note to the connector, by key
ASK_AGAIN = "ask-again:"  # meta key prefix: a request thread to ask again, at the connector's say


class WrongMailbox(StoreError):
    """The database keeps the intros of another mailbox than the one signed in."""

    def __init__(self, where: str, kept: str, signed_in: str) -> None:
        super().__init__(
            f"{where} keeps the intros of {kept}, but Gmail is signed in as {signed_in}: "
            f"working on it would mix two mailboxes, so nothing was done. Give {signed_in} "
            "its own database (--db NEW-FILE, or --account NAME for another account), or "
            f"sign in as {kept} (`introbot auth`)."
        )
        self.kept = kept
        self.signed_in = signed_in


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# ------------------------------------------------------------- actions as JSON
def _person(p: Person) -> dict[str, Any]:
    return {"name": p.name, "email": p.email}


def action_to_json(action: Action) -> str:
    if isinstance(action, CreateDraft):
        spec = action.spec
        return json.dumps(
            {
                "type": "create_draft",
                "intro_id": action.intro_id,
                "key": spec.key,
                "kind": spec.kind.value,
                "template": spec.template,
                "to": [_person(p) for p in spec.to],
                "cc": [_person(p) for p in spec.cc],
                "thread_id": spec.thread_id,
                "in_reply_to": spec.in_reply_to,
                "references": list(spec.references),
                "subject": spec.subject,
                "fields": dict(spec.fields),
            },
            ensure_ascii=False,
        )
    if isinstance(action, DeleteDraft):
        only = {"unless_edited": True} if action.unless_edited else {}
        return json.dumps(
            {"type": "delete_draft", "intro_id": action.intro_id, "key": action.key, **only}
        )
    raise TypeError(f"{type(action).__name__} is not an outbox action")


def action_from_json(text: str) -> CreateDraft | DeleteDraft:
    data = json.loads(text)
    if data["type"] == "delete_draft":
        return DeleteDraft(data["intro_id"], data["key"], bool(data.get("unless_edited")))
    spec = DraftSpec(
        key=data["key"],
        kind=DraftKind(data["kind"]),
        template=data["template"],
        to=tuple(Person(p["name"], p["email"]) for p in data["to"]),
        cc=tuple(Person(p["name"], p["email"]) for p in data["cc"]),
        thread_id=data["thread_id"],
        in_reply_to=data["in_reply_to"],
        references=tuple(data["references"]),
        subject=data["subject"],
        fields=data["fields"],
    )
    return CreateDraft(data["intro_id"], spec)


def _command_json(observation: Decision | Cancel) -> str:
    if isinstance(observation, Cancel):
        return json.dumps({"type": "cancel", "reason": observation.reason}, ensure_ascii=False)
    return json.dumps(
        {
            "type": "decision",
            "role": observation.role.value,
            "consent": observation.consent.value,
            "source": observation.source,
        }
    )


def _command(text: str) -> Decision | Cancel:
    data = json.loads(text)
    if data["type"] == "cancel":
        return Cancel(data["reason"])
    return Decision(Role(data["role"]), Consent(data["consent"]), data["source"])


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    intro_id: str | None
    kind: str
    detail: str


# The message a thread's labels go on (threads.message_id) is the first one named, and it
# stays: Gmail keeps labels per message and shows a thread with the union of its messages',
# so labels moved to a later request message would leave the old ones showing on the first
# (a fixed request still "needing attention"). A thread labeled whole before it had a
# message (labels applied, none named) stays labeled whole, for the same reason.
LABELED_MESSAGE = (
    "message_id = COALESCE(threads.message_id, "
    "CASE WHEN threads.labels = '[]' THEN excluded.message_id END)"
)


@dataclass(frozen=True)
class ThreadRecord:
    thread_id: str
    problem: str | None
    labels: frozenset[str]
    dirty: bool
    message_id: str | None  # the message its labels are on (None: the whole thread)
    note: str | None = None  # the Message-ID of the note to the connector it holds


class Store:
    """One mailbox's records. ``Store(path)`` opens (or creates) an SQLite file; an engine's
    backend (see :func:`introbot.store.open_store`) opens anything else."""

    def __init__(self, where: Path | Backend) -> None:
        if isinstance(where, Path):
            from introbot.store.sqlite import SqliteBackend

            self.db: Backend = SqliteBackend(where)
        else:
            self.db = where
        self._cursor_read: int | None = None  # the sync cursor as this store last read it
        try:
            self._migrate()
        except StoreError:
            self.db.close()
            raise
        except self.db.errors as exc:
            self.db.close()
            raise StoreError(f"{self.where} is not a usable introbot database: {exc}") from None
        self.db.release()  # opened and migrated: the next statement takes a connection again

    @property
    def where(self) -> str:
        """The database, as a person recognises it (a path, or a server and mailbox; never
        a password)."""
        return self.db.where

    @property
    def path(self) -> Path:
        """The file the one-writer lock is taken on (:func:`introbot.daemon.single_instance`):
        the SQLite file itself, or a file standing for the mailbox in a shared database."""
        return self.db.lock_path

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def release(self) -> None:
        """Give back the database connection until the next statement (between two polls:
        a process serving many mailboxes holds a connection only for those polling now)."""
        self.db.release()

    def close(self) -> None:
        self.db.close()

    def answers(self) -> str | None:
        """None when the database answers now, else why not (a health check: a connection
        of its own, safe beside a poll on another thread)."""
        return self.db.answers()

    # ---------------------------------------------------------------- schema
    def schema_version(self) -> int:
        return self.db.schema_version()

    def _migrate(self) -> None:
        version = self.db.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.where} was written by a newer introbot (schema {version}, this one knows "
                f"{SCHEMA_VERSION}). Upgrade introbot; the database was left untouched."
            )
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                if self.db.schema_version() > number:
                    continue  # another process migrated it meanwhile (PostgreSQL)
                for statement in statements(number, self.db.dialect):
                    self.db.execute(statement)
                self.db.set_schema_version(number + 1)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; the writes of one mailbox one transaction at a time (SQLite's
        ``BEGIN IMMEDIATE``, PostgreSQL's lock on the mailbox's row). Nested: one."""
        with self.db.transaction():
            yield

    # ------------------------------------------------------------------- meta
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def cursor(self) -> int | None:
        value = self.get_meta("history_id")
        self._cursor_read = int(value) if value else None
        return self._cursor_read

    def set_cursor(self, history_id: int) -> None:
        """The sync cursor moved on. Unchanged since this store last read it (an idle poll):
        nothing written, no transaction (no lock, no fence: a replica that lost its lease
        cannot write anything this way either). Only a read sets what is compared with,
        never a write that might yet roll back."""
        if history_id == self._cursor_read:
            return
        self.set_meta("history_id", str(history_id))

    # ----------------------------------------------------------------- intros
    def new_intro_id(self) -> str:
        while True:
            candidate = secrets.token_hex(3)
            if (
                self.db.execute("SELECT 1 FROM intros WHERE id = ?", (candidate,)).fetchone()
                is None
            ):
                return candidate

    def save(
        self,
        intro: Intro,
        actions: Sequence[Action],
        now: datetime,
        observed: str | None = None,
        relabel: Iterable[str] = (),
    ) -> None:
        """Save an intro after a step, queue its actions and audit it, atomically; the
        threads ``relabel`` names (which ones: :func:`introbot.workflow.threads_to_relabel`)
        are recorded as due to have their labels brought in line."""
        with self.transaction():
            self._write_intro(intro, now)
            if observed:
                self._audit(now, intro.id, "observed", observed)
            for action in actions:
                if isinstance(action, Note):
                    self._audit(now, intro.id, "decided", action.text)
                else:
                    self.db.execute(
                        "INSERT INTO outbox (intro_id, action, created_at) VALUES (?, ?, ?)",
                        (intro.id, action_to_json(action), _iso(now)),
                    )
            for thread_id in dict.fromkeys(relabel):
                requested = thread_id == intro.request.thread_id  # labels go on its message
                self._mark_dirty(thread_id, intro.request.message_id if requested else None)

    def _write_intro(self, intro: Intro, now: datetime) -> None:
        r = intro.request
        self.db.execute(
            """INSERT INTO intros (id, request_thread_id, request_message_id, request_rfc822_id,
                   request_subject, author_name, author_email, form, context, workflow_order, stage,
                   attention, created_at, updated_at, closed_at, secret)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET stage = excluded.stage,
                   attention = excluded.attention, updated_at = excluded.updated_at,
                   closed_at = excluded.closed_at""",
            (
                intro.id, r.thread_id, r.message_id, r.rfc822_id, r.subject, r.author.name,
                r.author.email, r.form, intro.context, intro.order.value, intro.stage.value,
                intro.attention, _iso(intro.created_at), _iso(now), _iso(intro.closed_at),
                intro.secret,
            ),
        )  # fmt: skip
        for party in (intro.requester, intro.contact):
            self.db.execute(
                """INSERT INTO parties (intro_id, role, name, email, consent, evidence, words,
                       assistant, asked_at, answered_at, reminded, reply_ids)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (intro_id, role) DO UPDATE SET name = excluded.name,
                       email = excluded.email, consent = excluded.consent,
                       evidence = excluded.evidence, words = excluded.words,
                       assistant = excluded.assistant, asked_at = excluded.asked_at,
                       answered_at = excluded.answered_at, reminded = excluded.reminded,
                       reply_ids = excluded.reply_ids""",
                (
                    intro.id, party.role.value, party.person.name, party.person.email,
                    party.consent.value, party.evidence, party.words, party.assistant,
                    _iso(party.asked_at), _iso(party.answered_at), int(party.reminded),
                    json.dumps(list(party.reply_ids)),
                ),
            )  # fmt: skip
        for seq, draft in enumerate(intro.drafts):
            self.db.execute(
                """INSERT INTO drafts (key, intro_id, seq, kind, recipient, state, draft_id,
                       message_id, thread_id, subject, sent_message_id, sent_rfc822_id, sent_at,
                       gone_at, edited, shared)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, state = excluded.state,
                       draft_id = excluded.draft_id, message_id = excluded.message_id,
                       thread_id = excluded.thread_id, subject = excluded.subject,
                       sent_message_id = excluded.sent_message_id,
                       sent_rfc822_id = excluded.sent_rfc822_id, sent_at = excluded.sent_at,
                       gone_at = excluded.gone_at, edited = excluded.edited,
                       shared = excluded.shared""",
                (
                    draft.key, intro.id, seq, draft.kind.value,
                    draft.to.value if draft.to else None, draft.state.value, draft.draft_id,
                    draft.message_id, draft.thread_id,
                    draft.subject, draft.sent_message_id, draft.sent_rfc822_id, _iso(draft.sent_at),
                    _iso(draft.gone_at), int(draft.edited), draft.shared,
                ),
            )  # fmt: skip

    def load(self, intro_id: str) -> Intro | None:
        row = self.db.execute("SELECT * FROM intros WHERE id = ?", (intro_id,)).fetchone()
        return self._intro(row) if row else None

    def find(self, prefix: str) -> list[Intro]:
        """Intros whose id starts with ``prefix``, in any case (SQLite's LIKE ignores ASCII
        case, PostgreSQL's does not: both compare lower case here)."""
        rows = self.db.execute(
            "SELECT * FROM intros WHERE lower(id) LIKE ? ORDER BY created_at",
            (prefix.lower() + "%",),
        ).fetchall()
        return [self._intro(row) for row in rows]

    def intros(
        self, stage: Stage | None = None, thread_id: str | None = None, open_only: bool = False
    ) -> list[Intro]:
        query = "SELECT * FROM intros WHERE 1=1"
        args: list[Any] = []
        if stage is not None:
            query += " AND stage = ?"
            args.append(stage.value)
        if thread_id is not None:
            query += " AND request_thread_id = ?"
            args.append(thread_id)
        if open_only:
            query += " AND stage IN (?, ?)"
            args += [Stage.ASKING.value, Stage.READY.value]
        rows = self.db.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [self._intro(row) for row in rows]

    def intros_of(self, emails: Iterable[str]) -> list[Intro]:
        """Every intro any of these addresses is a party to (up to ASCII case, as
        :func:`~introbot.model.address_key` compares them): what introbot remembers of them."""
        keys = sorted({address_key(e) for e in emails})
        if not keys:
            return []  # PostgreSQL refuses an empty IN ()
        marks = ", ".join("?" * len(keys))
        rows = self.db.execute(
            "SELECT * FROM intros WHERE id IN "
            f"(SELECT intro_id FROM parties WHERE lower(email) IN ({marks})) "
            "ORDER BY created_at, id",
            keys,
        ).fetchall()
        return [self._intro(row) for row in rows]

    def _intro(self, row: Row) -> Intro:
        parties = {
            p["role"]: Party(
                role=Role(p["role"]),
                person=Person(p["name"], p["email"]),
                consent=Consent(p["consent"]),
                evidence=p["evidence"],
                words=p["words"],
                assistant=p["assistant"],
                asked_at=_dt(p["asked_at"]),
                answered_at=_dt(p["answered_at"]),
                reminded=bool(p["reminded"]),
                reply_ids=tuple(json.loads(p["reply_ids"])),
            )
            for p in self.db.execute("SELECT * FROM parties WHERE intro_id = ?", (row["id"],))
        }
        drafts = tuple(
            _draft(d)
            for d in self.db.execute(
                "SELECT * FROM drafts WHERE intro_id = ? ORDER BY seq", (row["id"],)
            )
        )
        created = _dt(row["created_at"])
        assert created is not None
        return Intro(
            id=row["id"],
            request=RequestRef(
                thread_id=row["request_thread_id"],
                message_id=row["request_message_id"],
                rfc822_id=row["request_rfc822_id"],
                subject=row["request_subject"],
                author=Person(row["author_name"], row["author_email"]),
                form=row["form"],
            ),
            requester=parties[Role.REQUESTER.value],
            contact=parties[Role.CONTACT.value],
            context=row["context"],
            order=Order(row["workflow_order"]),
            stage=Stage(row["stage"]),
            created_at=created,
            drafts=drafts,
            attention=row["attention"],
            closed_at=_dt(row["closed_at"]),
            secret=row["secret"] or "",
        )

    # ---------------------------------------------------------- draft lookups
    def draft_owner(self, key: str) -> str | None:
        row = self.db.execute("SELECT intro_id FROM drafts WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def drafts_in_gmail(self) -> list[tuple[str, Draft]]:
        """Drafts that exist in Gmail and may be sent, edited or discarded any time."""
        rows = self.db.execute(
            "SELECT * FROM drafts WHERE state = ? AND draft_id IS NOT NULL ORDER BY intro_id, seq",
            (DraftState.CREATED.value,),
        ).fetchall()
        return [(row["intro_id"], _draft(row)) for row in rows]

    def drafts_awaiting_fate(self) -> list[tuple[str, Draft]]:
        """Drafts in Gmail, and drafts gone from it whose sent copy is awaited (pending)."""
        rows = self.db.execute(
            "SELECT * FROM drafts WHERE state IN (?, ?) AND draft_id IS NOT NULL "
            "ORDER BY intro_id, seq",
            (DraftState.CREATED.value, DraftState.PENDING.value),
        ).fetchall()
        return [(row["intro_id"], _draft(row)) for row in rows]

    def sharing(self, shared: str) -> list[str]:
        """The intros whose records name the shared draft ``shared`` (one request, several
        contacts, one consent draft to the requester)."""
        rows = self.db.execute(
            "SELECT DISTINCT intro_id FROM drafts WHERE shared = ? ORDER BY intro_id", (shared,)
        )
        return [str(row[0]) for row in rows]

    def sent_copies(self) -> frozenset[str]:
        """Gmail ids of messages already recorded as some draft's sent copy."""
        rows = self.db.execute(
            "SELECT sent_message_id FROM drafts WHERE sent_message_id IS NOT NULL"
        )
        return frozenset(str(row[0]) for row in rows)

    def intros_with_pending(self) -> list[Intro]:
        """Intros, open or closed, with a draft pending (its grace period runs on ticks)."""
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT DISTINCT intro_id FROM drafts WHERE state = ? ORDER BY intro_id",
                (DraftState.PENDING.value,),
            )
        ]
        return [intro for intro in map(self.load, ids) if intro is not None]

    def intros_with_drafts_in(self, thread_id: str) -> list[Intro]:
        """The intros with a draft in this thread (their consent messages, their notes)."""
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT DISTINCT intro_id FROM drafts WHERE thread_id = ? ORDER BY intro_id",
                (thread_id,),
            )
        ]
        return [intro for intro in map(self.load, ids) if intro is not None]

    def save_body(self, key: str, body: str) -> None:
        """The text of a draft as written, to recognise it when a reply pastes it back."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO draft_bodies (key, body) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET body = excluded.body",
                (key, body),
            )

    def body(self, key: str) -> str | None:
        row = self.db.execute("SELECT body FROM draft_bodies WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def save_sent_body(self, key: str, body: str) -> None:
        """The text of a draft's sent copy, as Gmail holds it (the connector may have edited
        it): what a reply is compared with to drop our own words."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO sent_bodies (key, body) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET body = excluded.body",
                (key, body),
            )

    def sent_body(self, key: str) -> str | None:
        row = self.db.execute("SELECT body FROM sent_bodies WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def has_open_work(self) -> bool:
        """Open intros or drafts in Gmail: without them, new mail needs no reading."""
        row = self.db.execute(
            "SELECT 1 FROM intros WHERE stage IN (?, ?) UNION "
            "SELECT 1 FROM drafts WHERE state IN (?, ?) LIMIT 1",
            (
                Stage.ASKING.value,
                Stage.READY.value,
                DraftState.CREATED.value,
                DraftState.PENDING.value,
            ),
        ).fetchone()
        return row is not None

    # ----------------------------------------------------------------- outbox
    def pending_actions(self) -> list[tuple[int, CreateDraft | DeleteDraft, int]]:
        """(id, action, attempts started) of every action not yet confirmed done."""
        rows = self.db.execute(
            "SELECT id, action, attempts FROM outbox WHERE done_at IS NULL ORDER BY id"
        ).fetchall()
        return [(int(r["id"]), action_from_json(r["action"]), int(r["attempts"])) for r in rows]

    def queued_at(self, action_id: int) -> datetime | None:
        """When an action was queued (introbot's clock): a lower bound on its attempts."""
        row = self.db.execute("SELECT created_at FROM outbox WHERE id = ?", (action_id,)).fetchone()
        return _dt(row["created_at"]) if row else None

    def queue(self, actions: Iterable[CreateDraft | DeleteDraft], now: datetime) -> None:
        with self.transaction():
            for action in actions:
                self.db.execute(
                    "INSERT INTO outbox (intro_id, action, created_at) VALUES (?, ?, ?)",
                    (action.intro_id or None, action_to_json(action), _iso(now)),
                )

    def mark_done(self, action_id: int, now: datetime) -> None:
        with self.transaction():
            self.db.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (_iso(now), action_id))

    def mark_attempt(self, action_id: int, error: str | None = None) -> None:
        """Record that an action is about to touch Gmail (or failed to): after a crash,
        an action with attempts must first check whether Gmail already did it."""
        with self.transaction():
            self.db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error, action_id),
            )

    def awaiting_copy_since(self, action_id: int) -> datetime | None:
        """When a retried create first saw its lost draft gone from Drafts (``await_copy``)."""
        row = self.db.execute(
            "SELECT awaiting_copy_since FROM outbox WHERE id = ?", (action_id,)
        ).fetchone()
        return _dt(row["awaiting_copy_since"]) if row else None

    def await_copy(self, action_id: int, now: datetime) -> None:
        """The action's draft may have been made and sent (Undo send): its copy is awaited."""
        with self.transaction():
            self.db.execute(
                "UPDATE outbox SET awaiting_copy_since = ? WHERE id = ?", (_iso(now), action_id)
            )

    def keep_own_messages(
        self, message_ids: Iterable[str], now: datetime, forget_before: datetime
    ) -> None:
        """Gmail message ids of drafts introbot wrote, or is about to delete: its own, kept
        ``now``. Those last kept before ``forget_before`` are forgotten in the same
        transaction (the table grows only with what is kept, and an idle poll writes
        nothing); rows from before schema 9, undated, are dated ``now``."""
        rows = [(m, _iso(now)) for m in dict.fromkeys(message_ids) if m]
        if not rows:
            return
        with self.transaction():
            self.db.executemany(
                "INSERT INTO own_messages (message_id, kept_at) VALUES (?, ?) "
                "ON CONFLICT (message_id) DO UPDATE SET kept_at = excluded.kept_at",
                rows,
            )
            self.db.execute(
                "UPDATE own_messages SET kept_at = ? WHERE kept_at IS NULL", (_iso(now),)
            )
            self.db.execute("DELETE FROM own_messages WHERE kept_at < ?", (_iso(forget_before),))

    def own_messages(self, message_ids: Iterable[str]) -> frozenset[str]:
        """Those of ``message_ids`` that are drafts introbot wrote or deleted."""
        wanted = list(dict.fromkeys(message_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self.db.execute(
                f"SELECT message_id FROM own_messages WHERE message_id IN ({marks})", chunk
            )
            found |= {str(row[0]) for row in rows}
        return frozenset(found)

    # --------------------------------------------------------------- commands
    def queue_command(self, intro_id: str, observation: Decision | Cancel, now: datetime) -> int:
        """A decision or cancel for the daemon's next poll (it holds the lock)."""
        with self.transaction():
            row = self.db.execute(
                "INSERT INTO commands (intro_id, observation, created_at) VALUES (?, ?, ?) "
                "RETURNING id",
                (intro_id, _command_json(observation), _iso(now)),
            ).fetchone()
        return int(row[0])

    def pending_commands(self) -> list[tuple[int, str, Decision | Cancel]]:
        rows = self.db.execute(
            "SELECT id, intro_id, observation FROM commands WHERE done_at IS NULL ORDER BY id"
        ).fetchall()
        return [(int(r["id"]), r["intro_id"], _command(r["observation"])) for r in rows]

    def command_done(self, command_id: int, now: datetime) -> None:
        with self.transaction():
            self.db.execute("UPDATE commands SET done_at = ? WHERE id = ?", (_iso(now), command_id))

    # ---------------------------------------------------------------- threads
    def thread(self, thread_id: str) -> ThreadRecord | None:
        row = self.db.execute("SELECT * FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is None:
            return None
        return ThreadRecord(
            row["thread_id"],
            row["problem"],
            frozenset(json.loads(row["labels"])),
            bool(row["dirty"]),
            row["message_id"],
            row["note"],
        )

    def _mark_dirty(self, thread_id: str, message_id: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO threads (thread_id, dirty, message_id) VALUES (?, 1, ?) "
            f"ON CONFLICT (thread_id) DO UPDATE SET dirty = 1, {LABELED_MESSAGE}",
            (thread_id, message_id),
        )

    def set_problem(
        self,
        thread_id: str,
        problem: str | None,
        now: datetime,
        message_id: str | None = None,
        note: str | None = None,
    ) -> None:
        """A request thread needs attention, and why (``problem``; None: no more), with
        the Message-ID of the note to the connector about it (``note``)."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO threads (thread_id, problem, dirty, message_id, note) "
                "VALUES (?, ?, 1, ?, ?) "
                "ON CONFLICT (thread_id) DO UPDATE SET problem = excluded.problem, dirty = 1, "
                f"{LABELED_MESSAGE}, note = excluded.note",
                (thread_id, problem, message_id, note),
            )
            if problem:
                self._audit(now, None, "problem", f"thread {thread_id}: {problem}")

    def keep_note_draft(self, key: str, draft_id: str) -> None:
        """The Gmail draft id of the note to the connector whose Message-ID is ``key``: it
        is found by id when the note goes (search finds a new draft only seconds later)."""
        self.set_meta(f"{NOTE_DRAFT}{key}", draft_id)

    def note_draft(self, key: str) -> str | None:
        return self.get_meta(f"{NOTE_DRAFT}{key}")

    def forget_note_draft(self, key: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM meta WHERE key = ?", (f"{NOTE_DRAFT}{key}",))

    def ask_again(self, thread_id: str, now: datetime) -> None:
        """The connector's say: the request thread's intros are opened although introbot
        remembers these people (the next poll reads the thread again)."""
        self.set_meta(f"{ASK_AGAIN}{thread_id}", now.isoformat())
        self.audit(now, None, "request", f"thread {thread_id}: ask again, at your say")

    def asked_again(self) -> list[str]:
        """Request threads the connector said to ask again, not yet read again."""
        rows = self.db.execute(
            "SELECT key FROM meta WHERE key LIKE ? ORDER BY value", (f"{ASK_AGAIN}%",)
        ).fetchall()
        return [str(row[0]).removeprefix(ASK_AGAIN) for row in rows]

    def asked_again_done(self, thread_id: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM meta WHERE key = ?", (f"{ASK_AGAIN}{thread_id}",))

    def problem_threads(self) -> list[tuple[str, str]]:
        """(thread id, why) of every request thread set aside as needing attention."""
        rows = self.db.execute(
            "SELECT thread_id, problem FROM threads WHERE problem IS NOT NULL ORDER BY thread_id"
        ).fetchall()
        return [(str(row[0]), str(row[1])) for row in rows]

    def dirty_threads(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT thread_id FROM threads WHERE dirty = 1")]

    def mark_labelled(self, thread_ids: Iterable[str]) -> None:
        """Record that these threads already carry their labels (nothing to relabel)."""
        with self.transaction():
            self.db.executemany(
                "UPDATE threads SET dirty = 0 WHERE thread_id = ?", ((t,) for t in thread_ids)
            )

    def checkpoint(self) -> None:
        """Fold SQLite's write-ahead log into the database file, for another process to read
        (nothing to do on a server)."""
        self.db.checkpoint()

    def set_labels(self, thread_id: str, labels: Iterable[str]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE threads SET labels = ?, dirty = 0 WHERE thread_id = ?",
                (json.dumps(sorted(labels)), thread_id),
            )

    def known_thread(self, thread_id: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM intros WHERE request_thread_id = ? UNION "
            "SELECT 1 FROM threads WHERE thread_id = ? AND problem IS NOT NULL LIMIT 1",
            (thread_id, thread_id),
        ).fetchone()
        return row is not None

    # ------------------------------------------------------------ seen and audit
    def seen(self, message_id: str) -> bool:
        return (
            self.db.execute("SELECT 1 FROM seen WHERE message_id = ?", (message_id,)).fetchone()
            is not None
        )

    def mark_seen(self, message_ids: Iterable[str], now: datetime) -> None:
        """None to mark (an idle poll): no transaction at all."""
        rows = [(m, _iso(now)) for m in message_ids]
        if not rows:
            return
        with self.transaction():
            self.db.executemany(
                "INSERT INTO seen (message_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
            )

    def _audit(self, now: datetime, intro_id: str | None, kind: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO audit (at, intro_id, kind, detail) VALUES (?, ?, ?, ?)",
            (_iso(now), intro_id, kind, detail),
        )

    def audit(self, now: datetime, intro_id: str | None, kind: str, detail: str) -> None:
        with self.transaction():
            self._audit(now, intro_id, kind, detail)

    def timeline(self, intro_id: str) -> list[AuditLine]:
        rows = self.db.execute(
            "SELECT * FROM audit WHERE intro_id = ? ORDER BY id", (intro_id,)
        ).fetchall()
        return [
            AuditLine(datetime.fromisoformat(r["at"]), r["intro_id"], r["kind"], r["detail"])
            for r in rows
        ]


def _draft(d: Row) -> Draft:
    return Draft(
        key=d["key"],
        kind=DraftKind(d["kind"]),
        to=Role(d["recipient"]) if d["recipient"] else None,
        state=DraftState(d["state"]),
        draft_id=d["draft_id"],
        message_id=d["message_id"],
        thread_id=d["thread_id"],
        subject=d["subject"],
        sent_message_id=d["sent_message_id"],
        sent_rfc822_id=d["sent_rfc822_id"],
        sent_at=_dt(d["sent_at"]),
        gone_at=_dt(d["gone_at"]),
        edited=bool(d["edited"]),
        shared=d["shared"],
    )
