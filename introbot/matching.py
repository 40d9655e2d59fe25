"""Which intro a draft, a sent copy or a reply belongs to. Pure: values in, verdicts out.

No Gmail, no database, no clock. ``sync.py`` fetches what Gmail shows and describes
it as :class:`Seen` messages and :class:`Present` drafts; introbot's expectations come as
:class:`Tracked` drafts and :class:`Awaited` consent messages. Two questions are answered:

**A draft's fate** (:func:`draft_fates`). A draft still in Drafts is unchanged or edited (its
message id changes on every save). A draft gone from Drafts is *sent* only on evidence: a
sent copy (labelled SENT, dated no earlier than the draft) that is the draft's own message,
carries the draft's Message-ID, or sits in the draft's thread (the thread it moved to when
the subject was edited) with the draft's last text, allowing for the connector's edits; out
of the thread, the text must match and the recipients be exactly the draft's (another mail
client composes a new message, perhaps with another subject). Anything else is *gone*: the
workflow keeps it pending for a grace period (Undo send, Schedule send), never takes an
unrelated message to the same person for the send. A message the connector writes by hand
in a tracked thread has other text, so it is never a draft's send. Each copy serves one
draft: when two gone drafts could claim one copy, the closer text wins.

**A reply's owner** (:func:`claim_reply`). A message answers a consent message only when it
is in the thread the consent message was actually sent in, or its In-Reply-To/References
name that sent copy's *real* Message-ID (Gmail writes its own on send); when it is dated
after that send (Gmail's date and, allowing for clock skew, its own Date header); and when
it is not the connector's, not a request message, not in SENT or DRAFT. A message that could
answer more than one open intro is claimed by all of them *with a doubt*: it goes to the
connector and counts for none; unless they all share the one consent message it answers (a
request for several contacts asks the requester once): then it is claimed by all of them
as ``shared``, and read per contact (``reading/per_contact.py``). One not addressed to the
connector goes to the connector too. Whether the sender is the party, and authenticated, is
the workflow's to judge (it sees both). Which consent messages await an answer at all is
:func:`awaited_answers`'s to say (only those actually sent), and a message the connector
wrote is never a reply (:func:`from_connector`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from introbot.model import Draft, DraftKind, DraftSent, DraftState, Intro, Role

SIMILAR_ENOUGH = 0.6  # a connector's edits keep a draft well above; a hand-written note far below
DATE_SKEW = timedelta(minutes=15)  # a sender's clock may run this far behind Gmail's
MAX_WORDS = 2000  # texts are compared on their first words only (bounded cost)

Owner = tuple[str, Role]  # (intro id, the party a message belongs to)


@dataclass(frozen=True, slots=True)
class Seen:
    """A message as Gmail shows it, reduced to what matching needs."""

    id: str
    thread_id: str
    labels: frozenset[str]
    at: datetime  # Gmail's internalDate
    sender: str | None = None  # the From address, as an address key
    recipients: frozenset[str] = frozenset()  # To and Cc, as address keys
    rfc822_id: str | None = None  # its Message-ID header
    refs: tuple[str, ...] = ()  # the Message-IDs its In-Reply-To and References name
    dated: datetime | None = None  # its Date header, if it has a readable one
    text: str | None = None  # its text, when it was fetched
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Present:
    """A draft that is in Gmail's Drafts now."""

    draft_id: str
    message_id: str
    thread_id: str


@dataclass(frozen=True, slots=True)
class Tracked:
    """A draft introbot made, as introbot last knew it."""

    intro_id: str
    draft: Draft
    recipients: frozenset[str]  # the address keys it was written to
    text: str  # its last known text
    since: datetime | None = None  # when it was made, by Gmail's clock: a copy is not older


class Fate(enum.StrEnum):
    UNCHANGED = "unchanged"
    EDITED = "edited"
    SENT = "sent"
    GONE = "gone"  # not in Drafts, no sent copy: pending, for the workflow


@dataclass(frozen=True, slots=True)
class DraftFate:
    intro_id: str
    key: str
    fate: Fate
    copy: Seen | None = None  # the sent copy (SENT)
    current: Present | None = None  # the draft as it is now (EDITED)
    why: str = ""


@dataclass(frozen=True, slots=True)
class Awaited:
    """A consent message actually sent, whose answer is awaited."""

    intro_id: str
    role: Role
    party: str  # the party's address key
    thread_id: str  # the thread the sent copy is in
    rfc822_id: str | None  # the sent copy's real Message-ID
    sent_at: datetime
    shared: str | None = None  # one consent message about several intros: its draft's key

    @property
    def owner(self) -> Owner:
        return (self.intro_id, self.role)


@dataclass(frozen=True, slots=True)
class Claim:
    """Who a message answers; ``doubt`` says why it must go to the connector instead."""

    message_id: str
    owners: tuple[Owner, ...]
    doubt: str | None = None
    shared: str | None = None  # the owners share one consent message: read it per intro


# ------------------------------------------------------------------------- text
_QUOTE_START = re.compile(
    r"^\s*(>|on .{0,200} wrote:\s*$|le .{0,200} a écrit\s*:|am .{0,200} schrieb .{0,100}:|"
    r"-{2,}\s*original message|from:\s.+@)",
    re.I,
)


def normalized_words(text: str) -> list[str]:
    """The words of a message's own text: quoted lines and anything after an attribution
    line dropped, case and punctuation folded."""
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_START.match(line):
            if line.lstrip().startswith(">"):
                continue
            break
        kept.append(line)
    return re.findall(r"\w+", " ".join(kept).casefold())[:MAX_WORDS]


def similarity(draft_text: str, copy_text: str) -> float:
    """How alike two texts are, 0..1, word by word (Ratcliff/Obershelp)."""
    a, b = normalized_words(draft_text), normalized_words(copy_text)
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


# ------------------------------------------------------------------- draft fates
def _evidence(tracked: Tracked, copy: Seen) -> tuple[float, str] | None:
    """How strongly ``copy`` is this draft's sent copy (higher is stronger), or None."""
    draft = tracked.draft
    if "SENT" not in copy.labels or "DRAFT" in copy.labels:
        return None
    if copy.id == draft.message_id:
        return 3.0, "its own message, now sent"
    if copy.rfc822_id is not None and copy.rfc822_id == draft.key:
        return 2.0, "its Message-ID"
    if tracked.since is not None and copy.at < tracked.since:
        return None
    if copy.text is None:
        return None
    score = similarity(tracked.text, copy.text)
    if score < SIMILAR_ENOUGH:
        return None
    if copy.thread_id == draft.thread_id:
        return score, f"its thread and its text ({score:.2f})"
    if copy.recipients == tracked.recipients:
        return score - 1.0, f"its recipients and its text ({score:.2f}), in another thread"
    return None


def draft_fates(
    tracked: Iterable[Tracked],
    present: Mapping[str, Present | None],
    copies: Sequence[Seen],
) -> list[DraftFate]:
    """The fate of each tracked draft whose presence in Drafts was checked (``present``:
    draft id -> the draft now, or None when gone); drafts not checked are left out."""
    checked = [t for t in tracked if t.draft.draft_id in present]
    fates: dict[str, DraftFate] = {}
    gone: list[Tracked] = []
    for t in checked:
        now = present[t.draft.draft_id or ""]
        if now is None:
            gone.append(t)
        elif now.message_id != t.draft.message_id:
            fates[t.draft.key] = DraftFate(t.intro_id, t.draft.key, Fate.EDITED, current=now)
        else:
            fates[t.draft.key] = DraftFate(t.intro_id, t.draft.key, Fate.UNCHANGED, current=now)
    pairs = sorted(
        (
            (found[0], n, i, found[1])
            for n, t in enumerate(gone)
            for i, copy in enumerate(copies)
            if (found := _evidence(t, copy)) is not None
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    claimed: set[int] = set()
    for _, n, i, why in pairs:
        t = gone[n]
        if t.draft.key in fates or i in claimed:
            continue
        claimed.add(i)
        fates[t.draft.key] = DraftFate(t.intro_id, t.draft.key, Fate.SENT, copy=copies[i], why=why)
    for t in gone:
        if t.draft.key not in fates:
            why = "gone from Drafts, no sent copy"
            fates[t.draft.key] = DraftFate(t.intro_id, t.draft.key, Fate.GONE, why=why)
    return [fates[t.draft.key] for t in checked]


def returned_draft(tracked: Tracked, drafts: Sequence[tuple[Present, Seen]]) -> Present | None:
    """The draft ``tracked`` became when the connector pressed Undo inside the Undo-send
    window: back in Drafts under a new draft id, in its thread, carrying its Message-ID (or
    its recipients and its text). None: none of ``drafts`` (new drafts: each as in Drafts
    and as read) is it; a draft the connector wrote themselves never is."""
    found: list[tuple[float, int]] = []
    for n, (present, seen) in enumerate(drafts):
        if "DRAFT" not in seen.labels or present.thread_id != tracked.draft.thread_id:
            continue
        if seen.rfc822_id is not None and seen.rfc822_id == tracked.draft.key:
            found.append((2.0, -n))
        elif seen.text is not None and seen.recipients == tracked.recipients:
            score = similarity(tracked.text, seen.text)
            if score >= SIMILAR_ENOUGH:
                found.append((score, -n))
    if not found:
        return None
    return drafts[-max(found)[1]][0]


def sent_copy(tracked: Tracked, copies: Sequence[Seen]) -> tuple[Seen, str] | None:
    """The sent copy of a draft introbot never heard Gmail create (a crash came between
    Gmail's answer and the record), found on the same evidence as :func:`draft_fates`:
    its Message-ID, or its thread (or its recipients) and its text, dated since
    ``tracked.since``. None: no copy is this draft's; an unrelated message never is."""
    found = [
        (evidence[0], -n, evidence[1])
        for n, copy in enumerate(copies)
        if (evidence := _evidence(tracked, copy)) is not None
    ]
    if not found:
        return None
    _, n, why = max(found)
    return copies[-n], why


def unedited(written: str, current: str) -> bool:
    """A draft is still as introbot wrote it (``written``: its text then): any edit of the
    connector's, however small, makes it theirs. Gmail may rewrite line ends and wrapping:
    the words and their order are compared."""
    return written.split() == current.split()


# ---------------------------------------------------------------------- replies
def awaited_answers(intros: Iterable[Intro], sent_now: Iterable[DraftSent]) -> list[Awaited]:
    """The consent messages (and reminders) of ``intros`` whose answer is awaited: those
    recorded as sent, and those ``sent_now`` shows sent in this very sync (a party may
    answer within one poll of the connector pressing Send). A reminder of a shared ask is
    as shared as the ask."""
    just_sent = {obs.key: obs for obs in sent_now}
    awaited: list[Awaited] = []
    for intro in intros:
        for draft in intro.drafts:
            if draft.to is None or draft.kind not in (DraftKind.CONSENT, DraftKind.REMINDER):
                continue
            sent = just_sent.get(draft.key)
            if sent is not None:
                thread_id, rfc822_id, at = sent.thread_id, sent.rfc822_id, sent.at
            elif draft.state is DraftState.SENT and draft.thread_id and draft.sent_at:
                thread_id, rfc822_id, at = draft.thread_id, draft.sent_rfc822_id, draft.sent_at
            else:
                continue
            party = intro.party(draft.to).person.key
            shared = next(
                (d.shared for d in intro.drafts_of(DraftKind.CONSENT, draft.to) if d.shared),
                None,
            )
            awaited.append(Awaited(intro.id, draft.to, party, thread_id, rfc822_id, at, shared))
    return awaited


def from_connector(message: Seen, me: frozenset[str]) -> bool:
    """The connector writing (in a consent thread, or anywhere): never anyone's reply, now
    or later. ``me``: the connector's address keys."""
    return message.sender is not None and message.sender in me


def claim_reply(
    message: Seen,
    awaited: Iterable[Awaited],
    me: frozenset[str],
    requests: frozenset[str] = frozenset(),
) -> Claim | None:
    """Which consent message ``message`` answers, if any. ``me``: the connector's address
    keys; ``requests``: Gmail ids and Message-IDs of request messages (never replies)."""
    if {"SENT", "DRAFT"} & message.labels:
        return None
    if from_connector(message, me):
        return None
    if message.id in requests or (message.rfc822_id and message.rfc822_id in requests):
        return None
    refs = set(message.refs)
    candidates = [
        a
        for a in awaited
        if a.thread_id == message.thread_id or (a.rfc822_id is not None and a.rfc822_id in refs)
    ]
    candidates = [a for a in candidates if _after(message, a.sent_at)]
    owners = tuple(dict.fromkeys(a.owner for a in candidates))
    if not owners:
        return None
    shared = {a.shared for a in candidates}
    together = next(iter(shared)) if len(shared) == 1 and len(owners) > 1 else None
    if together is not None:  # the answer to one ask about several contacts: all of them
        if me and not (message.recipients & me):
            why = "this message was not addressed to the connector"
            return Claim(message.id, owners, why, together)
        return Claim(message.id, owners, shared=together)
    if len(owners) > 1:
        listed = ", ".join(f"{intro_id} ({role.value})" for intro_id, role in owners)
        return Claim(message.id, owners, f"this message could answer several intros: {listed}")
    if me and not (message.recipients & me):
        return Claim(message.id, owners, "this message was not addressed to the connector")
    return Claim(message.id, owners)


def claim_bounce(message: Seen, failed: Iterable[str], awaited: Iterable[Awaited]) -> Claim | None:
    """A bounce outside the consent thread: the party whose address failed, if exactly one
    consent message to it was sent before the bounce; several: the connector decides."""
    addresses = set(failed)
    owners = tuple(
        dict.fromkeys(
            a.owner for a in awaited if a.party in addresses and _after(message, a.sent_at)
        )
    )
    if not owners:
        return None
    if len(owners) > 1:
        listed = ", ".join(f"{intro_id} ({role.value})" for intro_id, role in owners)
        return Claim(message.id, owners, f"this bounce could concern several intros: {listed}")
    return Claim(message.id, owners)


def _after(message: Seen, sent_at: datetime) -> bool:
    """Dated after the send: by Gmail's clock, and by its own Date header within skew."""
    if message.at < sent_at:
        return False
    return message.dated is None or message.dated >= sent_at - DATE_SKEW
