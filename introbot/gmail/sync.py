"""From Gmail's history to observations: what changed since the cursor, read and matched.

Incremental sync reads ``history.list`` from the stored cursor with no label filter (replies
do not carry the request label). An idle poll is that one call. When there are changes,
only what they need is fetched: metadata for sent copies and possible replies, raw bytes
for the messages that must be read, in batches. When the cursor is missing or Gmail has
expired it (404), a full sync lists the request label once and reconciles open intros; the
profile's history id is taken *before* listing, so nothing that happens meanwhile is lost.

Matching rules: a draft counts as sent when it left the drafts and a SENT copy appeared
(same Message-ID, or the draft's thread and recipients); a reply belongs to a party when it
is in the thread of the consent message sent to them, or names that message in
In-Reply-To/References. Whether the sender is right and authenticated is judged by the
workflow, which sees the sender and Gmail's verdict.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses

from introbot.gmail.client import GmailClient
from introbot.gmail.errors import HistoryExpired
from introbot.gmail.types import HistoryEvent, MessageMeta, MessageRef, RawMessage
from introbot.model import (
    Cancel,
    Consent,
    Decision,
    Draft,
    DraftDiscarded,
    DraftEdited,
    DraftKind,
    DraftSent,
    DraftState,
    Intro,
    Observation,
    ReplyReceived,
    Role,
    Verdict,
    address_key,
)
from introbot.reading.mime import Mail, parse_addresses, read_mail, unreadable_mail
from introbot.reading.replies import read_reply
from introbot.reading.requests import RequestReading, read_request
from introbot.rules import Phrases
from introbot.store import Store

log = logging.getLogger(__name__)

REPLY_HEADERS = ("From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References")
MAX_REQUEST_MESSAGES = 3
Owner = tuple[str, Role]  # (intro id, the party a message belongs to)


@dataclass(frozen=True)
class LabelIds:
    request: str
    yes: str
    no: str


@dataclass(frozen=True)
class RequestSeen:
    thread_id: str
    message: RawMessage
    mail: Mail
    reading: RequestReading


@dataclass
class SyncResult:
    history_id: int
    full: bool = False
    requests: list[RequestSeen] = field(default_factory=list)
    observations: list[tuple[str, Observation, str]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # message ids read by this sync

    def observe(self, intro_id: str, observation: Observation, why: str) -> None:
        self.observations.append((intro_id, observation, why))


@dataclass
class Expected:
    """Where replies are expected: by thread, by our sent Message-ID, by address."""

    by_thread: dict[str, list[Owner]] = field(default_factory=lambda: defaultdict(list))
    by_rfc822: dict[str, Owner] = field(default_factory=dict)
    by_address: dict[str, list[Owner]] = field(default_factory=lambda: defaultdict(list))

    def __bool__(self) -> bool:
        return bool(self.by_thread or self.by_rfc822 or self.by_address)


def _at(internal_date_ms: int) -> datetime:
    return datetime.fromtimestamp(internal_date_ms / 1000, tz=UTC)


def _recipients_of(meta: MessageMeta) -> set[str]:
    return {p.key for name in ("To", "Cc") for p in parse_addresses(meta.header(name) or "")}


class Sync:
    def __init__(
        self,
        client: GmailClient,
        store: Store,
        labels: LabelIds,
        me: Iterable[str],
        phrases: Phrases,
    ) -> None:
        self.client = client
        self.store = store
        self.labels = labels
        self.me = {address_key(address) for address in me}
        self.phrases = phrases

    def run(self) -> SyncResult:
        cursor = self.store.cursor()
        if cursor is None:
            return self.full_sync("first run")
        try:
            history = self.client.history(cursor)
        except HistoryExpired:
            return self.full_sync(f"history from {cursor} has expired")
        result = SyncResult(history.history_id)
        if history.events:
            self._incremental(history.events, result)
        return result

    # ------------------------------------------------------------- incremental
    def _incremental(self, events: tuple[HistoryEvent, ...], result: SyncResult) -> None:
        requests: dict[str, list[str]] = {}  # thread id -> its labeled messages, in order
        unlabeled: set[str] = set()
        added: dict[str, HistoryEvent] = {}
        deleted: set[str] = set()
        sent_labeled: set[str] = set()
        decisions: list[tuple[HistoryEvent, str]] = []
        trashed: set[str] = set()
        for event in events:
            message = event.message
            if event.kind == "messageAdded":
                added[message.id] = event
                # Arriving labeled (a filter) starts a request; a later message in a known
                # thread does not: only the connector labeling the thread again retries it.
                if self.labels.request in event.label_ids and not self.store.known_thread(
                    message.thread_id
                ):
                    requests.setdefault(message.thread_id, []).append(message.id)
            elif event.kind == "messageDeleted":
                deleted.add(message.id)
                added.pop(message.id, None)
            elif event.kind == "labelAdded":
                if self.labels.request in event.changed:
                    requests.setdefault(message.thread_id, []).append(message.id)
                decisions += [
                    (event, lab) for lab in event.changed & {self.labels.yes, self.labels.no}
                ]
                if "SENT" in event.changed:
                    sent_labeled.add(message.id)
                if "TRASH" in event.changed:
                    trashed.add(message.thread_id)
            elif event.kind == "labelRemoved" and self.labels.request in event.changed:
                unlabeled.add(message.thread_id)
        self._drafts(added, deleted, sent_labeled, result)
        self._replies(added, result)
        self._decisions(decisions, result)
        self._unlabeled(unlabeled - set(requests), result)
        self._request_gone(trashed, deleted, result)
        result.requests += self.read_requests(requests)

    # -------------------------------------------------------------------- drafts
    def _drafts(
        self,
        added: dict[str, HistoryEvent],
        deleted: set[str],
        sent_labeled: set[str],
        result: SyncResult,
    ) -> None:
        """Did the connector send, edit or discard one of our drafts?"""
        tracked = self.store.drafts_in_gmail()
        if not tracked:
            return
        sent_added = [e.message.id for e in added.values() if "SENT" in e.label_ids]
        sent_threads = {added[i].message.thread_id for i in sent_added}
        touched = [
            (intro_id, d)
            for intro_id, d in tracked
            if d.message_id in deleted
            or d.message_id in sent_labeled
            or d.thread_id in sent_threads
        ]
        if not touched:
            return
        relabeled = [
            d.message_id for _, d in touched if d.message_id in sent_labeled and d.message_id
        ]
        metas = list(
            self.client.get_message_metadata(sent_added + relabeled, REPLY_HEADERS).values()
        )
        claimed: set[str] = set()
        for intro_id, draft in touched:
            intro = self.store.load(intro_id)
            if intro is None:
                continue
            recipients = _draft_recipients(intro, draft)
            match = _find_sent(draft, recipients, metas, claimed)
            gone = draft.message_id in deleted or draft.message_id in sent_labeled
            if match is None and not gone:
                continue  # a SENT message in its thread, but not this draft's copy
            if match is None:
                current = self.client.get_draft(draft.draft_id or "")
                if current is not None:
                    if current.message_id != draft.message_id:
                        edited = DraftEdited(draft.key, current.message_id, current.thread_id)
                        result.observe(intro_id, edited, "the connector edited the draft")
                    continue
                match = self._search_sent(draft, recipients, claimed, intro.created_at)
            if match is None:
                result.observe(intro_id, DraftDiscarded(draft.key), "draft gone, nothing sent")
                continue
            claimed.add(match.id)
            sent = DraftSent(
                draft.key,
                match.id,
                match.header("Message-ID"),
                match.thread_id,
                _at(match.internal_date),
                match.header("Subject") or "",
                tuple(sorted(_recipients_of(match))),
            )
            result.observe(intro_id, sent, f"sent as message {match.id}")

    def _search_sent(
        self, draft: Draft, recipients: set[str], claimed: set[str], since: datetime
    ) -> MessageMeta | None:
        """The draft vanished with no sent copy in this batch: look in Sent once, for our
        Message-ID or for mail to the same people written after the intro began."""
        found = self.client.list_messages(f"rfc822msgid:{draft.key.strip('<>')} in:sent")
        if not found and recipients:
            query = " OR ".join(f"to:{address}" for address in sorted(recipients))
            found = self.client.list_messages(f"in:sent ({query})", limit=10)
        if not found:
            return None
        metas = list(
            self.client.get_message_metadata([f.id for f in found], REPLY_HEADERS).values()
        )
        exact = _find_sent(draft, recipients, metas, claimed)
        if exact is not None:
            return exact
        later = [m for m in metas if m.id not in claimed and _at(m.internal_date) >= since]
        return next((m for m in later if _recipients_of(m) & recipients), None)

    # ------------------------------------------------------------------- replies
    def _expected(self, result: SyncResult) -> Expected:
        """Replies are expected to what was sent: as recorded, and as found sent in this
        very sync (a party may answer within one poll of the connector pressing Send)."""
        sent_now = {obs.key: obs for _, obs, _ in result.observations if isinstance(obs, DraftSent)}
        expected = Expected()
        for intro in self.store.intros(open_only=True):
            for draft in intro.drafts:
                just_sent = sent_now.get(draft.key)
                if draft.to is None or draft.kind not in (DraftKind.CONSENT, DraftKind.REMINDER):
                    continue
                if draft.state is not DraftState.SENT and just_sent is None:
                    continue
                owner = (intro.id, draft.to)
                thread_id = just_sent.thread_id if just_sent else draft.thread_id
                rfc822_id = just_sent.rfc822_id if just_sent else draft.sent_rfc822_id
                if thread_id and owner not in expected.by_thread[thread_id]:
                    expected.by_thread[thread_id].append(owner)
                if rfc822_id:
                    expected.by_rfc822[rfc822_id] = owner
                if just_sent is not None:
                    expected.by_address[intro.party(draft.to).person.key].append(owner)
            for party in (intro.requester, intro.contact):
                if party.consent in (Consent.ASKED, Consent.UNCLEAR, Consent.YES):
                    expected.by_address[party.person.key].append((intro.id, party.role))
        return expected

    def _replies(self, added: dict[str, HistoryEvent], result: SyncResult) -> None:
        incoming = [
            e
            for e in added.values()
            if not ({"SENT", "DRAFT"} & e.label_ids) and not self.store.seen(e.message.id)
        ]
        if not incoming or not self.store.has_open_work():
            return
        expected = self._expected(result)
        if not expected:
            return
        owners: dict[str, list[Owner]] = {}
        elsewhere = []
        for event in incoming:
            in_thread = expected.by_thread.get(event.message.thread_id)
            if in_thread:
                owners[event.message.id] = in_thread
            else:
                elsewhere.append(event.message.id)
        if elsewhere:  # an edited subject moves a reply to a new thread: match by References
            for meta in self.client.get_message_metadata(elsewhere, REPLY_HEADERS).values():
                refs = f"{meta.header('In-Reply-To') or ''} {meta.header('References') or ''}"
                matched = [
                    owner for rfc822_id, owner in expected.by_rfc822.items() if rfc822_id in refs
                ]
                if matched:
                    owners[meta.id] = matched
                elif _bounce_sender(meta.header("From") or ""):
                    owners[meta.id] = []  # a bounce: its failed address names the party
        if not owners:
            return
        for message_id, raw in self.client.get_raw_messages(owners).items():
            try:
                self._reply(raw, owners[message_id], expected, result)
            except Exception as exc:  # one unreadable message never stops the poll
                self._unreadable_reply(raw, owners[message_id], exc, result)

    def _unreadable_reply(
        self, raw: RawMessage, owners: list[Owner], exc: Exception, result: SyncResult
    ) -> None:
        """Set aside: the message is not read again, and a tracked party's reply that
        cannot be read is unclear (the connector reads it in Gmail)."""
        log.error("cannot read message=%s why=%s", raw.id, type(exc).__name__)
        result.seen.append(raw.id)
        why = f"introbot could not read this reply ({type(exc).__name__}); read it in Gmail"
        for intro_id, role in dict.fromkeys(owners):
            unreadable = ReplyReceived(
                role, raw.id, Verdict.UNCLEAR, why, "", None, "", _at(raw.internal_date)
            )
            result.observe(intro_id, unreadable, f"reply {raw.id} (unreadable)")

    def _reply(
        self, raw: RawMessage, owners: list[Owner], expected: Expected, result: SyncResult
    ) -> None:
        mail = read_mail(raw.raw)
        if mail.sender is not None and mail.sender.key in self.me:
            result.seen.append(raw.id)
            return  # the connector writing in the thread is not a reply
        sent = self._sent_text(owners[-1]) if owners else None
        reading = read_reply(mail, self.phrases, sent)
        if not owners:  # a bounce outside any tracked thread
            if reading.verdict is not Verdict.BOUNCE:
                return
            owners = [
                o
                for address in reading.failed_recipients
                for o in expected.by_address.get(address_key(address), [])
            ]
        result.seen.append(raw.id)
        by_role = {role: read_reply(mail, self.phrases, sent, role) for _, role in owners}
        for intro_id, role in dict.fromkeys(owners):
            reading = by_role[role]  # a requester's reply is read in parts
            observation = ReplyReceived(
                role=role,
                message_id=raw.id,
                verdict=reading.verdict,
                evidence=reading.evidence,
                text=reading.text,
                authenticated=reading.sender.authenticated,
                sender=reading.sender.email or "",
                at=_at(raw.internal_date),
                assistant=reading.assistant,
                failed_recipients=reading.failed_recipients,
                preference=reading.preference,
                blurb=reading.blurb,
            )
            result.observe(intro_id, observation, f"reply {raw.id}")

    def _sent_text(self, owner: Owner) -> str | None:
        """The consent message this party got, to drop its lines pasted back in a reply."""
        intro = self.store.load(owner[0])
        sent = (
            [d for d in intro.drafts_of(DraftKind.CONSENT, owner[1]) if d.state is DraftState.SENT]
            if intro
            else []
        )
        return self.store.body(sent[-1].key) if sent else None

    # ------------------------------------------------------ decisions, unlabeling
    def _decisions(self, decisions: list[tuple[HistoryEvent, str]], result: SyncResult) -> None:
        if not decisions:
            return
        expected = self._expected(result)
        for event, label_id in decisions:
            consent = Consent.YES if label_id == self.labels.yes else Consent.NO
            for intro_id, role in expected.by_thread.get(event.message.thread_id, []):
                decision = Decision(role, consent, "label")
                result.observe(intro_id, decision, f"label on message {event.message.id}")

    def _unlabeled(self, threads: set[str], result: SyncResult) -> None:
        for thread_id in threads:
            open_intros = self.store.intros(thread_id=thread_id, open_only=True)
            if not open_intros:
                continue
            thread = self.client.get_thread(thread_id)
            if thread is not None and any(
                self.labels.request in m.label_ids for m in thread.messages
            ):
                continue  # removed from one message only: the conversation keeps the label
            for intro in open_intros:
                result.observe(
                    intro.id, Cancel("the request label was removed"), f"thread {thread_id}"
                )

    def _request_gone(self, trashed: set[str], deleted: set[str], result: SyncResult) -> None:
        """The connector trashed or deleted a request: its open intros end like unlabeled."""
        if not (trashed or deleted):
            return
        for intro in self.store.intros(open_only=True):
            if intro.request.thread_id in trashed:
                result.observe(
                    intro.id, Cancel("the request thread was moved to the trash"), "trash"
                )
            elif intro.request.message_id in deleted:
                result.observe(intro.id, Cancel("the request message was deleted"), "deleted")

    # ------------------------------------------------------------------ requests
    def read_requests(self, threads: dict[str, list[str]]) -> list[RequestSeen]:
        """Read newly labeled threads. The message that was labeled last is usually the
        request: all of those are fetched in one batch (5 units each); only a thread
        where it yields nothing is read as a whole."""
        latest = {thread_id: ids[-1] for thread_id, ids in threads.items() if ids}
        raws = self.client.get_raw_messages(latest.values())
        found = []
        for thread_id in threads:
            raw = raws.get(latest.get(thread_id, ""))
            seen = self._reading(thread_id, raw) if raw is not None else None
            if seen is None or not seen.reading.intros:
                seen = self.read_request(thread_id, skip=raw.id if raw else None) or seen
            if seen is not None:
                found.append(seen)
        return found

    def _reading(self, thread_id: str, raw: RawMessage) -> RequestSeen | None:
        if "DRAFT" in raw.label_ids:
            return None
        try:
            mail = read_mail(raw.raw)
            reading = read_request(mail, sorted(self.me), self.phrases)
        except Exception as exc:  # set aside with the reason: the thread needs attention
            log.error("cannot read message=%s why=%s", raw.id, type(exc).__name__)
            mail = unreadable_mail(exc)
            why = f"introbot could not read this message ({type(exc).__name__})"
            reading = RequestReading((), (why,), "none")
        return RequestSeen(thread_id, raw, mail, reading)

    def read_request(self, thread_id: str, skip: str | None = None) -> RequestSeen | None:
        """Read a labeled thread once: its latest messages first, until one yields intros."""
        thread = self.client.get_thread(thread_id, ("From", "Subject"))
        if thread is None:
            return None
        candidates = [m for m in reversed(thread.messages) if "DRAFT" not in m.label_ids]
        candidates = [m for m in candidates[:MAX_REQUEST_MESSAGES] if m.id != skip]
        raws = self.client.get_raw_messages([m.id for m in candidates])
        fallback: RequestSeen | None = None
        for meta in candidates:
            raw = raws.get(meta.id)
            seen = self._reading(thread_id, raw) if raw is not None else None
            if seen is None:
                continue
            if seen.reading.intros:
                return seen
            fallback = fallback or seen
        return fallback

    # ----------------------------------------------------------------- full sync
    def full_sync(self, why: str) -> SyncResult:
        log.info("full_sync why=%r", why)
        history_id = self.client.profile().history_id  # taken before listing
        result = SyncResult(history_id, full=True)
        labeled = set(self.client.list_threads(label_ids=[self.labels.request]))
        for thread_id in sorted(labeled):
            if not self.store.known_thread(thread_id):
                seen = self.read_request(thread_id)
                if seen is not None:
                    result.requests.append(seen)
        open_intros = self.store.intros(open_only=True)
        for intro in open_intros:
            if intro.request.thread_id not in labeled:
                result.observe(intro.id, Cancel("the request label was removed"), "full sync")
        self._reconcile(open_intros, result)
        return result

    def _reconcile(self, intros: list[Intro], result: SyncResult) -> None:
        """After a gap: catch sends, edits, discards and replies history no longer shows."""
        gone: set[str] = set()
        for intro_id, draft in self.store.drafts_in_gmail():
            current = self.client.get_draft(draft.draft_id or "")
            if current is None:
                gone.add(draft.message_id or "")
            elif current.message_id != draft.message_id:
                edited = DraftEdited(draft.key, current.message_id, current.thread_id)
                result.observe(intro_id, edited, "full sync")
        if gone:
            self._drafts({}, gone, set(), result)
        threads = {
            d.thread_id
            for i in intros
            for d in i.drafts
            if d.state is DraftState.SENT and d.thread_id and d.to
        }
        added: dict[str, HistoryEvent] = {}
        for thread_id in sorted(threads):
            thread = self.client.get_thread(thread_id)
            for meta in thread.messages if thread else ():
                event = HistoryEvent(
                    meta.history_id,
                    "messageAdded",
                    MessageRef(meta.id, meta.thread_id),
                    meta.label_ids,
                    frozenset(),
                )
                added[meta.id] = event
        self._replies(added, result)


def _bounce_sender(value: str) -> bool:
    """Is this From a delivery report's sender? The address itself must be mailer-daemon
    or postmaster: a display name that says "Postmaster" is not enough to read a message."""
    for _, address in getaddresses([value[:1000]]):
        local = address.rpartition("@")[0] or address
        if local.strip().lower() in ("mailer-daemon", "postmaster"):
            return True
    return False


def _draft_recipients(intro: Intro, draft: Draft) -> set[str]:
    if draft.to is None:
        return {intro.requester.person.key, intro.contact.person.key}
    return {intro.party(draft.to).person.key}


def _find_sent(
    draft: Draft, recipients: set[str], metas: Iterable[MessageMeta], claimed: set[str]
) -> MessageMeta | None:
    """The sent copy of a draft: its own Message-ID, else its thread and recipients."""
    candidates = [m for m in metas if m.id not in claimed and "SENT" in m.label_ids]
    for meta in candidates:
        if meta.header("Message-ID") == draft.key or meta.id == draft.message_id:
            return meta
    for meta in candidates:
        if meta.thread_id == draft.thread_id and (
            not recipients or _recipients_of(meta) & recipients
        ):
            return meta
    return None
