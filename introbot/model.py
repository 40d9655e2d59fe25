"""Domain values shared across introbot: people, intros and their parties, drafts, and the
observations and actions that the workflow trades in. Plain frozen values, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

# A person is defined in the bottom layer, where addresses are read into it; the domain
# names the one type here too (tests/test_architecture.py allows only these two).
from introbot.reading.addresses import Person as Person
from introbot.reading.addresses import address_key as address_key


class Verdict(enum.StrEnum):
    """What a reply to a consent message says."""

    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


class Role(enum.StrEnum):
    REQUESTER = "requester"
    CONTACT = "contact"

    @property
    def other(self) -> Role:
        return Role.CONTACT if self is Role.REQUESTER else Role.REQUESTER


class Stage(enum.StrEnum):
    """Where an intro stands. The last four are final."""

    ASKING = "asking"  # consent messages drafted or out, waiting for both yeses
    READY = "ready"  # both said yes: the joint introduction is drafted
    INTRODUCED = "introduced"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def closed(self) -> bool:
        return self not in (Stage.ASKING, Stage.READY)


class Consent(enum.StrEnum):
    """One party's side of the intro."""

    NOT_ASKED = "not_asked"  # requester_first: the contact is asked after the requester's yes
    DRAFTING = "drafting"  # the consent draft is queued
    DRAFTED = "drafted"  # the consent draft waits in Gmail for the connector
    ASKED = "asked"  # the connector sent it: waiting for the reply
    UNCLEAR = "unclear"  # a reply came that the connector must judge
    YES = "yes"
    NO = "no"


class DraftKind(enum.StrEnum):
    CONSENT = "consent"
    REMINDER = "reminder"
    JOINT = "joint"
    DECLINE_NOTE = "decline_note"  # to the requester, after the contact's no
    THANKS_NOTE = "thanks_note"  # to the contact, after the requester withdrew
    EXPIRY_NOTE = "expiry_note"  # to the requester, when the contact never answered
    PROBLEM_NOTE = "problem_note"  # to the connector, about a request introbot cannot use


class DraftState(enum.StrEnum):
    QUEUED = "queued"  # the action to create it is in the outbox
    # Decided, but its thread already holds another introbot draft (two reply drafts in one
    # thread collide in Gmail's web UI): written once that one is sent or gone.
    HELD = "held"
    CREATED = "created"  # it exists in Gmail as a draft
    PENDING = "pending"  # gone from Drafts, no sent copy seen yet (Undo or Schedule send)
    SENT = "sent"
    DISCARDED = "discarded"  # the connector deleted it
    WITHDRAWN = "withdrawn"  # introbot deleted it (the intro closed first)
    FAILED = "failed"  # introbot could not write it


class Order(enum.StrEnum):
    PARALLEL = "parallel"
    REQUESTER_FIRST = "requester_first"


@dataclass(frozen=True, slots=True)
class Draft:
    """A draft introbot asked for, identified by ``key``: the Message-ID it carries."""

    key: str
    kind: DraftKind
    to: Role | None  # None: both parties (joint) or the connector (problem note)
    state: DraftState = DraftState.QUEUED
    draft_id: str | None = None
    message_id: str | None = None  # the draft's current Gmail message (changes on edit)
    thread_id: str | None = None  # the draft's thread, then the sent message's
    subject: str = ""
    sent_message_id: str | None = None  # Gmail id of the sent copy
    sent_rfc822_id: str | None = None  # its Message-ID header, for matching replies
    sent_at: datetime | None = None
    gone_at: datetime | None = None  # when it left Drafts with no sent copy (PENDING)
    edited: bool = False  # the connector changed it in Gmail
    # A request for several contacts has one consent draft to the requester: each intro
    # keeps its own record of it, all naming the key of the first one (the Gmail draft's
    # Message-ID). Its fate is each intro's; None for a draft of one intro only.
    shared: str | None = None

    @property
    def open(self) -> bool:
        """Not sent, not ended: introbot still means it to go out."""
        return self.state in (
            DraftState.HELD,
            DraftState.QUEUED,
            DraftState.CREATED,
            DraftState.PENDING,
        )


@dataclass(frozen=True, slots=True)
class Party:
    role: Role
    person: Person
    consent: Consent = Consent.NOT_ASKED
    evidence: str = ""  # what decided the consent (phrase, header, the connector)
    words: str = ""  # what the other side may see: a requester's note, a contact's preference
    assistant: str | None = None  # an address named to handle scheduling
    asked_at: datetime | None = None  # when the consent message went out
    answered_at: datetime | None = None  # when the yes or no was counted
    reminded: bool = False
    reply_ids: tuple[str, ...] = ()  # Gmail ids of replies already read


@dataclass(frozen=True, slots=True)
class RequestRef:
    """The labeled thread an intro came from."""

    thread_id: str
    message_id: str
    rfc822_id: str | None
    subject: str
    author: Person  # who wrote the request message
    form: str  # direct | forwarded | note | third_party


@dataclass(frozen=True, slots=True)
class Intro:
    id: str
    request: RequestRef
    requester: Party
    contact: Party
    context: str
    order: Order
    stage: Stage
    created_at: datetime
    drafts: tuple[Draft, ...] = ()
    attention: str | None = None  # why the connector must look; None when all is well
    closed_at: datetime | None = None
    # Random, made with the intro; the Message-IDs of its drafts derive from it. Never shown.
    secret: str = field(default="", repr=False)

    def party(self, role: Role) -> Party:
        return self.requester if role is Role.REQUESTER else self.contact

    def with_party(self, party: Party) -> Intro:
        if party.role is Role.REQUESTER:
            return replace(self, requester=party)
        return replace(self, contact=party)

    def draft(self, key: str) -> Draft | None:
        return next((d for d in self.drafts if d.key == key), None)

    def drafts_of(self, kind: DraftKind, to: Role | None = None) -> list[Draft]:
        return [d for d in self.drafts if d.kind is kind and (to is None or d.to is to)]

    def with_draft(self, draft: Draft) -> Intro:
        kept = tuple(d for d in self.drafts if d.key != draft.key)
        return replace(self, drafts=(*kept, draft))


# ------------------------------------------------------------------- observations
@dataclass(frozen=True, slots=True)
class DraftCreated:
    key: str
    draft_id: str
    message_id: str
    thread_id: str


@dataclass(frozen=True, slots=True)
class DraftEdited:
    """The connector edited a draft: same draft id, new message, maybe a new thread. With
    ``draft_id``: the draft came back to Drafts under that new id (Undo pressed inside the
    Undo-send window), its message as it was sent."""

    key: str
    message_id: str
    thread_id: str
    recipients: tuple[str, ...] | None = None  # To and Cc of the edited draft, when read
    draft_id: str | None = None


@dataclass(frozen=True, slots=True)
class DraftGone:
    """A draft left Drafts and no sent copy of it is seen (yet): sent with Undo or Schedule
    send, sent from another client, or discarded. Pending until the grace period ends."""

    key: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DraftFailed:
    """introbot could not write a draft it decided on (or, ``deleting``, Gmail refused for
    good to delete one it no longer wants)."""

    key: str
    reason: str
    deleting: bool = False


@dataclass(frozen=True, slots=True)
class FinishedInGmail:
    """Gmail's introbot/* labels show the intro's request finished (``stage``) while this
    database still has it open: another database or a restored backup went on without it.
    ``attention``: why the connector should look (Gmail shows more than one ending)."""

    stage: Stage
    attention: str | None = None


@dataclass(frozen=True, slots=True)
class DraftSent:
    key: str
    message_id: str
    rfc822_id: str | None
    thread_id: str
    at: datetime
    subject: str = ""  # as sent (the connector may have edited it)
    recipients: tuple[str, ...] = ()  # To and Cc as sent (the connector may have edited them)


@dataclass(frozen=True, slots=True)
class DraftDiscarded:
    key: str


@dataclass(frozen=True, slots=True)
class ReplyReceived:
    role: Role
    message_id: str
    verdict: Verdict
    evidence: str
    text: str
    authenticated: bool | None
    sender: str  # the From address
    at: datetime
    assistant: str | None = None
    failed_recipients: tuple[str, ...] = ()
    preference: str = ""  # how they like to be reached, in their words
    blurb: str = ""  # a requester's note for the contact
    # One answer about several contacts (a shared ask) that names only the others: whether
    # it says anything about this intro is the workflow's to decide.
    about_others: bool = False

    @property
    def words(self) -> str:
        """What of this reply the other side may see once both agreed: a requester's note
        for the contact (and how they like to be reached), a contact's preference."""
        if self.role is Role.REQUESTER:
            return "\n\n".join(part for part in (self.blurb, self.preference) if part)
        return self.preference


def vouched_for(authenticated: bool | None) -> bool:
    """THE rule for a yes, decided here and nowhere else: a yes counts only when Gmail
    authenticated its sender (``True``, from ``reading/senders.py``). Not authenticated
    (``False``) and no verdict of Gmail's on the message (``None``: no Authentication-Results
    of Gmail's, as on mail that reached the mailbox another way) alike leave the yes unclear,
    for the connector: a false yes hands a person to someone they refused, a false unclear
    costs one glance. The reader's verdict (``reading/replies.py``, what ``introbot explain``
    shows) and the workflow (which holds every observation to it, a shared answer read per
    contact included) both ask this function."""
    return authenticated is True


@dataclass(frozen=True, slots=True)
class Decision:
    """The connector decided for a party: an ``introbot/yes|no`` label or the CLI."""

    role: Role
    consent: Consent  # YES or NO
    source: str  # "label" | "cli"


@dataclass(frozen=True, slots=True)
class Cancel:
    reason: str


class Gone(enum.StrEnum):
    """How a request left introbot's hands in Gmail."""

    UNLABELED = "unlabeled"  # the request label is off the whole conversation
    TRASHED = "trashed"  # the request thread was moved to the trash
    DELETED = "deleted"  # the request message was deleted


@dataclass(frozen=True, slots=True)
class RequestGone:
    """The connector took the request away in Gmail (``how``): a fact, as sync saw it;
    what it means for the request's intros is the workflow's."""

    how: Gone


@dataclass(frozen=True, slots=True)
class Attention:
    """Something only the connector can settle (a label that could mean several intros):
    the intro needs their attention, saying ``why``; nothing else changes."""

    why: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: reminders and expiry are due or not."""


Observation = (
    DraftCreated
    | DraftEdited
    | DraftFailed
    | DraftSent
    | DraftGone
    | DraftDiscarded
    | ReplyReceived
    | Decision
    | Cancel
    | RequestGone
    | Attention
    | Tick
    | FinishedInGmail
)


# ------------------------------------------------------------------------ actions
@dataclass(frozen=True, slots=True)
class DraftSpec:
    """Everything needed to write one draft, resolved at decision time, so the outbox can
    write it later (after a crash, say) exactly as decided."""

    key: str
    kind: DraftKind
    template: str
    to: tuple[Person, ...]
    cc: tuple[Person, ...] = ()
    thread_id: str | None = None  # reply in this thread, or None for a new thread
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str | None = None  # fixed subject for replies; None: the template's
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CreateDraft:
    intro_id: str
    spec: DraftSpec


@dataclass(frozen=True, slots=True)
class DeleteDraft:
    intro_id: str
    key: str
    # Only while it is as introbot wrote it (an old note to the connector): once they
    # edited it, it is theirs.
    unless_edited: bool = False


@dataclass(frozen=True, slots=True)
class Note:
    """A line for the audit trail and the log: what was decided and why."""

    intro_id: str
    text: str


Action = CreateDraft | DeleteDraft | Note
