"""From Gmail's history to observations: what changed since the cursor, read and matched.

Incremental sync reads ``history.list`` from the stored cursor with no label filter (replies
do not carry the request label). An idle poll is that one call. When there are changes,
only what they need is fetched: metadata for sent copies and possible replies, raw bytes
for the messages that must be read, in batches. When the cursor is missing or Gmail has
expired it (404), a full sync lists the request label once and reconciles open intros; the
profile's history id is taken *before* listing, so nothing that happens meanwhile is lost.

This module only fetches. Which intro a draft, a sent copy or a reply belongs to is decided
by :mod:`introbot.matching` from the values fetched here (a draft gone with no sent copy is
reported as gone, and the workflow keeps it pending); whether the sender is right and
authenticated is judged by the workflow, which sees the sender and Gmail's verdict.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from introbot.gmail.client import GmailClient
from introbot.gmail.errors import HistoryExpired
from introbot.gmail.types import HistoryEvent, MessageRef, RawMessage
from introbot.matching import (
    Awaited,
    Fate,
    Owner,
    Present,
    Seen,
    Tracked,
    awaited_answers,
    claim_bounce,
    claim_reply,
    draft_fates,
    from_connector,
    returned_draft,
    sent_copy,
)
from introbot.model import (
    Consent,
    Draft,
    DraftCreated,
    DraftEdited,
    DraftGone,
    DraftKind,
    DraftSent,
    DraftState,
    Gone,
    Intro,
    Observation,
    ReplyReceived,
    RequestGone,
    Verdict,
    address_key,
)
from introbot.reading.automated import delivery_report_sender
from introbot.reading.automated import detect as detect_automated
from introbot.reading.mime import Mail, read_mail, unreadable_mail
from introbot.reading.per_contact import Contact, read_shared_reply
from introbot.reading.replies import ReplyReading, read_reply_as
from introbot.reading.requests import NOBODY, RequestReading, read_request
from introbot.rules import Phrases
from introbot.store import Store
from introbot.workflow import label_decisions, labeled_anew, read_before, request_reading

log = logging.getLogger(__name__)

SENT_LOOKED_AT = 20  # sent messages to a draft's recipients read to find its lost send
REPLY_HEADERS = ("From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References")
MAX_REQUEST_MESSAGES = 3
_MSGID = re.compile(r"<[^<>\s]{1,500}>")


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
    fix: bool = False  # a new message of a known thread labeled again: the request now


@dataclass
class SyncResult:
    history_id: int
    now: datetime
    full: bool = False
    requests: list[RequestSeen] = field(default_factory=list)
    observations: list[tuple[str, Observation, str]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # message ids read by this sync
    sent_texts: dict[str, str] = field(default_factory=dict)  # draft key -> text as sent
    draft_texts: dict[str, str] = field(default_factory=dict)  # draft key -> text as edited

    def observe(self, intro_id: str, observation: Observation, why: str) -> None:
        self.observations.append((intro_id, observation, why))


# Where a failure comes from that is no fault of the message being read: the database (its
# server restarted, the connection cut) or the lease (lost meanwhile).
_NOT_THE_MESSAGE = ("psycopg", "sqlite3", "introbot.store", "introbot.leases")


def not_the_message(exc: BaseException) -> bool:
    """Whether ``exc``, raised while a reply was read, is the database's or the lease's:
    never a reason to set the message aside as unreadable (a PostgreSQL restart in the
    middle of a reply made it "unclear" for good). The poll fails and the next reads it."""
    return any(kind.__module__.startswith(_NOT_THE_MESSAGE) for kind in type(exc).__mro__)


def _at(internal_date_ms: int) -> datetime:
    return datetime.fromtimestamp(internal_date_ms / 1000, tz=UTC)


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
        self.known_names: tuple[str, ...] = ()  # the connector's name, as replies may use it

    def run(self, now: datetime | None = None) -> SyncResult:
        now = now or datetime.now(UTC)
        cursor = self.store.cursor()
        if cursor is None:
            return self.full_sync("first run", now)
        try:
            history = self.client.history(cursor)
        except HistoryExpired:
            return self.full_sync(f"history from {cursor} has expired", now)
        result = SyncResult(history.history_id, now)
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
        threads: Iterable[str] = (),
    ) -> None:
        """Did the connector send, edit or discard one of our drafts? Gmail traffic only:
        what each change means is :func:`introbot.matching.draft_fates`'s to say."""
        tracked, sharing = _one_per_draft(self.store.drafts_awaiting_fate())
        if not tracked:
            return
        sent_added = [e.message.id for e in added.values() if "SENT" in e.label_ids]
        # A pending draft is looked at again when something is sent (its copy, late: Undo
        # send, Schedule send) or a draft appears (it came back to Drafts: Undo).
        drafts_added = any("DRAFT" in e.label_ids for e in added.values())
        check = [
            (intro_id, d)
            for intro_id, d in tracked
            if d.message_id in deleted
            or d.message_id in sent_labeled
            or (d.state is DraftState.PENDING and (sent_added or drafts_added or threads))
        ]
        if not check:
            return  # a SENT message in a draft's thread, the draft still there: not its copy
        present: dict[str, Present | None] = {}
        for _, draft in check:
            current = self.client.get_draft(draft.draft_id or "")
            present[draft.draft_id or ""] = (
                Present(current.id, current.message_id, current.thread_id) if current else None
            )
        gone = [d for _, d in check if present.get(d.draft_id or "") is None]
        if not gone:
            copies: list[Seen] = []
        else:
            ids = [*sent_added, *(m for m in sent_labeled if m not in added)]
            gone_threads = {d.thread_id for d in gone if d.thread_id} & set(threads)
            ids += [m for t in sorted(gone_threads) for m in self._thread_sent(t)]
            known = self.store.sent_copies()
            raws = self.client.get_raw_messages(dict.fromkeys(i for i in ids if i not in known))
            copies = [seen_of(raw, read_mail(raw.raw)) for raw in raws.values()]
        intros = {intro_id: self.store.load(intro_id) for intro_id, _ in check}
        wanted = [
            Tracked(
                intro_id,
                draft,
                frozenset(_draft_recipients(intro, draft)),
                self.store.body(draft.key) or "",
            )
            for intro_id, draft in check
            if (intro := intros[intro_id]) is not None
        ]
        before = len(result.observations)
        fates = draft_fates(wanted, present, copies)
        gone_now = {f.key for f in fates if f.fate is Fate.GONE}
        returned: dict[str, tuple[Present, Seen]] = {}
        if gone_now and drafts_added:
            lost = [t for t in wanted if t.draft.key in gone_now]
            returned = self._returned(lost, added, {d.draft_id for _, d in tracked})
        for fate in fates:
            draft = next(d for _, d in check if d.key == fate.key)
            if fate.key in returned:
                self._came_back(fate.intro_id, draft, *returned[fate.key], result)
            elif fate.fate is Fate.EDITED and fate.current is not None:
                self._edited(fate.intro_id, draft, fate.current, result)
            elif fate.fate is Fate.UNCHANGED and draft.state is DraftState.PENDING:
                assert fate.current is not None  # back in Drafts as it was
                back = DraftEdited(draft.key, fate.current.message_id, fate.current.thread_id)
                result.observe(fate.intro_id, back, "the draft is back in Drafts")
            elif fate.fate is Fate.SENT and fate.copy is not None:
                copy = fate.copy
                sent = sent_as(draft.key, copy)
                result.sent_texts[draft.key] = copy.text or ""
                result.observe(fate.intro_id, sent, f"sent as message {copy.id}: {fate.why}")
            elif fate.fate is Fate.GONE and draft.state is DraftState.CREATED:
                gone_obs = DraftGone(draft.key, result.now)
                result.observe(fate.intro_id, gone_obs, "draft gone, no sent copy yet")
        self._share_fates(result, before, sharing)

    @staticmethod
    def _share_fates(
        result: SyncResult, since: int, sharing: dict[str, list[tuple[str, Draft]]]
    ) -> None:
        """A consent draft shared by the intros of one request: what became of it (sent,
        edited, gone, back) is each intro's, observed for each under its own key."""
        for intro_id, observation, why in list(result.observations[since:]):
            if not isinstance(observation, DraftEdited | DraftSent | DraftGone):
                continue
            key = observation.key
            for other_id, record in sharing.get(key, ()):
                if isinstance(observation, DraftGone) and record.state is not DraftState.CREATED:
                    continue
                mine: DraftEdited | DraftSent | DraftGone = replace(observation, key=record.key)
                result.observe(other_id, mine, f"{why} (the draft it shares with {intro_id})")
                for texts in (result.sent_texts, result.draft_texts):
                    if key in texts:
                        texts[record.key] = texts[key]

    def _returned(
        self, lost: list[Tracked], added: dict[str, HistoryEvent], known: set[str | None]
    ) -> dict[str, tuple[Present, Seen]]:
        """Drafts gone from Drafts that are back under a new draft id (Undo pressed inside
        the Undo-send window), by key: a new draft added since the cursor, in the lost
        draft's thread, that :func:`introbot.matching.returned_draft` takes for it."""
        new_messages = {e.message.id for e in added.values() if "DRAFT" in e.label_ids}
        threads = {t.draft.thread_id for t in lost}
        new = [
            Present(d.id, d.message_id, d.thread_id)
            for d in self.client.list_drafts()
            if d.id not in known and d.message_id in new_messages and d.thread_id in threads
        ]
        if not new:
            return {}
        raws = self.client.get_raw_messages([p.message_id for p in new])
        candidates = [
            (p, seen_of(raw, read_mail(raw.raw)))
            for p in new
            if (raw := raws.get(p.message_id)) is not None
        ]
        found: dict[str, tuple[Present, Seen]] = {}
        for t in lost:
            free = [c for c in candidates if all(c[0] != f[0] for f in found.values())]
            back = returned_draft(t, free)
            if back is not None:
                found[t.draft.key] = next(c for c in free if c[0] == back)
        return found

    def _came_back(
        self, intro_id: str, draft: Draft, current: Present, seen: Seen, result: SyncResult
    ) -> None:
        """The lost draft is back in Drafts under ``current``'s new draft id."""
        result.draft_texts[draft.key] = seen.text or ""
        back = DraftEdited(
            draft.key,
            current.message_id,
            current.thread_id,
            tuple(sorted(seen.recipients)),
            draft_id=current.draft_id,
        )
        result.observe(intro_id, back, "back in Drafts under a new draft id: Undo send")

    def _thread_sent(self, thread_id: str) -> list[str]:
        thread = self.client.get_thread(thread_id, ("From",))
        return [m.id for m in thread.messages if "SENT" in m.label_ids] if thread else []

    def _edited(self, intro_id: str, draft: Draft, current: Present, result: SyncResult) -> None:
        """The connector edited a draft: read it, to know its last text and recipients."""
        raws = self.client.get_raw_messages([current.message_id])
        raw = raws.get(current.message_id)
        recipients: tuple[str, ...] | None = None
        if raw is not None:
            mail = read_mail(raw.raw)
            result.draft_texts[draft.key] = mail.text
            recipients = tuple(sorted({p.key for p in (*mail.to, *mail.cc)}))
        edited = DraftEdited(draft.key, current.message_id, current.thread_id, recipients)
        result.observe(intro_id, edited, "you edited the draft")

    # ------------------------------------------------------------------- replies
    def _awaited(self, result: SyncResult) -> list[Awaited]:
        """The consent messages actually sent, as recorded, and as found sent in this very
        sync (a party may answer within one poll of the connector pressing Send)."""
        sent_now = [obs for _, obs, _ in result.observations if isinstance(obs, DraftSent)]
        return awaited_answers(self.store.intros(open_only=True), sent_now)

    def _requests(self) -> frozenset[str]:
        """Gmail ids and Message-IDs of request messages: never anyone's reply."""
        return frozenset(
            ref
            for intro in self.store.intros(open_only=True)
            for ref in (intro.request.message_id, intro.request.rfc822_id)
            if ref
        )

    def _replies(self, added: dict[str, HistoryEvent], result: SyncResult) -> None:
        incoming = [
            e
            for e in added.values()
            if not ({"SENT", "DRAFT"} & e.label_ids) and not self.store.seen(e.message.id)
        ]
        if not incoming or not self.store.has_open_work():
            return
        awaited = self._awaited(result)
        if not awaited:
            return
        threads = {a.thread_id for a in awaited}
        in_threads = [e.message.id for e in incoming if e.message.thread_id in threads]
        elsewhere = [e.message.id for e in incoming if e.message.thread_id not in threads]
        wanted = set(in_threads)
        if elsewhere:  # an edited subject moves a reply to a new thread: match by References
            for meta in self.client.get_message_metadata(elsewhere, REPLY_HEADERS).values():
                named = f"{meta.header('In-Reply-To') or ''} {meta.header('References') or ''}"
                refs = set(_MSGID.findall(named))
                if any(
                    a.rfc822_id in refs for a in awaited if a.rfc822_id
                ) or delivery_report_sender(meta.header("From") or ""):
                    wanted.add(meta.id)
        if not wanted:
            return
        requests = self._requests()
        for raw in self.client.get_raw_messages(
            m for m in [*in_threads, *elsewhere] if m in wanted
        ).values():
            try:
                self._reply(raw, awaited, requests, result)
            except Exception as exc:  # one unreadable message never stops the poll
                if not_the_message(exc):
                    raise  # the poll fails; the next one reads the message again
                self._unreadable_reply(raw, awaited, exc, result)

    def _unreadable_reply(
        self, raw: RawMessage, awaited: list[Awaited], exc: Exception, result: SyncResult
    ) -> None:
        """Set aside: the message is not read again, and a reply in a consent thread that
        cannot be read is unclear for that party (the connector reads it in Gmail)."""
        log.error("cannot read message=%s why=%s", raw.id, type(exc).__name__)
        result.seen.append(raw.id)
        why = f"introbot could not read this reply ({type(exc).__name__}); read it in Gmail"
        owners = {(a.intro_id, a.role) for a in awaited if a.thread_id == raw.thread_id}
        for intro_id, role in sorted(owners):
            unreadable = ReplyReceived(
                role, raw.id, Verdict.UNCLEAR, why, "", None, "", _at(raw.internal_date)
            )
            result.observe(intro_id, unreadable, f"reply {raw.id} (unreadable)")

    def _reply(
        self,
        raw: RawMessage,
        awaited: list[Awaited],
        requests: frozenset[str],
        result: SyncResult,
    ) -> None:
        mail = read_mail(raw.raw)
        seen = seen_of(raw, mail)
        if from_connector(seen, frozenset(self.me)):
            result.seen.append(raw.id)  # never anyone's reply: not fetched again
            return
        claim = claim_reply(seen, awaited, frozenset(self.me), requests)
        if claim is None:  # outside the consent threads: a bounce names its party
            automation = detect_automated(mail, self.phrases)
            if automation is None or automation.kind != "bounce":
                return
            failed = [address_key(a) for a in automation.failed_recipients]
            claim = claim_bounce(seen, failed, awaited)
            if claim is None:
                return
        result.seen.append(raw.id)
        owners = list(claim.owners)
        sent = self._sent_text(owners[-1], result)
        if claim.shared is not None and claim.doubt is None:
            said, how = self._per_contact(mail, owners, sent), " (one answer, per contact)"
        else:
            said, how = self._per_party(mail, owners, sent, claim.doubt), ""
        for (intro_id, role), (reading, about_others) in said.items():
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
                about_others=about_others,
            )
            result.observe(intro_id, observation, f"reply {raw.id}{how}")

    def _per_party(
        self, mail: Mail, owners: list[Owner], sent: str | None, doubt: str | None
    ) -> dict[Owner, tuple[ReplyReading, bool]]:
        """The reply as each owner's party wrote it (a requester's is read in parts); a
        claim in doubt is unclear for every owner, and carries none of their words."""
        by_role = read_reply_as(mail, self.phrases, sent, (role for _, role in owners))
        said: dict[Owner, tuple[ReplyReading, bool]] = {}
        for owner in owners:
            reading = by_role[owner[1]]
            if doubt is not None:
                reading = replace(
                    reading, verdict=Verdict.UNCLEAR, evidence=doubt, preference="", blurb=""
                )
            said[owner] = (reading, False)
        return said

    def _per_contact(
        self, mail: Mail, owners: list[Owner], sent: str | None
    ) -> dict[Owner, tuple[ReplyReading, bool]]:
        """The requester's answer to one ask about several contacts, read per contact
        (``reading/per_contact.py``): each intro gets its own contact's answer, and whether
        the answer names only the others (the workflow decides what that means)."""
        intros = {intro_id: self.store.load(intro_id) for intro_id, _ in owners}
        contacts = [
            Contact(intro_id, intro.contact.person.name)
            for intro_id, intro in intros.items()
            if intro is not None
        ]
        whole, split = read_shared_reply(mail, self.phrases, sent, contacts, self.known_names)
        if split is None:  # mail no person wrote (an auto-reply, a bounce): every contact's
            return {owner: (whole, False) for owner in owners}
        said: dict[Owner, tuple[ReplyReading, bool]] = {}
        for owner in owners:
            answer = split.answers.get(owner[0])
            verdict, evidence = (
                (answer.verdict, answer.evidence)
                if answer
                else (Verdict.UNCLEAR, "the contact of this intro is not in the answer")
            )
            reading = replace(
                whole,
                verdict=verdict,
                evidence=evidence,
                preference=split.preference,
                blurb=split.blurb,
            )
            said[owner] = (reading, answer is not None and not answer.mentioned)
        return said

    def _sent_text(self, owner: Owner, result: SyncResult) -> str | None:
        """The consent message this party got, as sent (the connector may have edited it),
        to drop its lines pasted back in a reply: as recorded, or as found sent in this
        very sync (``result``)."""
        intro = self.store.load(owner[0])
        sent_now = {
            obs.key
            for intro_id, obs, _ in result.observations
            if intro_id == owner[0] and isinstance(obs, DraftSent)
        }
        sent = (
            [
                d
                for d in intro.drafts_of(DraftKind.CONSENT, owner[1])
                if d.state is DraftState.SENT or d.key in sent_now
            ]
            if intro
            else []
        )
        if not sent:
            return None
        key = sent[-1].key
        return result.sent_texts.get(key) or self.store.sent_body(key) or self.store.body(key)

    # ------------------------------------------------------ decisions, unlabeling
    def _decisions(self, decisions: list[tuple[HistoryEvent, str]], result: SyncResult) -> None:
        if not decisions:
            return
        awaited = self._awaited(result)
        for event, label_id in decisions:
            consent = Consent.YES if label_id == self.labels.yes else Consent.NO
            owners = [a.owner for a in awaited if a.thread_id == event.message.thread_id]
            loaded = [(self.store.load(i), role) for i, role in dict.fromkeys(owners)]
            found = [(intro, role) for intro, role in loaded if intro is not None]
            for intro_id, decision in label_decisions(found, consent):  # one, or ambiguous
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
                result.observe(intro.id, RequestGone(Gone.UNLABELED), f"thread {thread_id}")

    def _request_gone(self, trashed: set[str], deleted: set[str], result: SyncResult) -> None:
        """The connector trashed or deleted a request (what that means: the workflow's)."""
        if not (trashed or deleted):
            return
        for intro in self.store.intros(open_only=True):
            if intro.request.thread_id in trashed:
                result.observe(intro.id, RequestGone(Gone.TRASHED), "trash")
            elif intro.request.message_id in deleted:
                result.observe(intro.id, RequestGone(Gone.DELETED), "deleted")

    # ------------------------------------------------------------------ requests
    def read_requests(self, threads: dict[str, list[str]]) -> list[RequestSeen]:
        """Read newly labeled threads. The message that was labeled last is usually the
        request: all of those are fetched in one batch (5 units each); only a thread
        where it yields nothing is read as a whole. A known thread labeled again with new
        messages: the newest of them is the request, whatever it yields
        (workflow.request_reading)."""
        fixes = {t: self._labeled_anew(t, ids) for t, ids in threads.items()}
        aside = {t for t in threads if fixes[t] and not self.store.intros(thread_id=t)}
        latest = {thread_id: ids[-1] for thread_id, ids in threads.items() if ids}
        wanted = dict.fromkeys([*latest.values(), *(m for ids in fixes.values() for m in ids)])
        raws = self.client.get_raw_messages(wanted)
        found = []
        for thread_id in threads:
            anew = [raws[m] for m in fixes[thread_id] if m in raws]
            readings = [s for s in (self._reading(thread_id, raw) for raw in anew) if s]
            seen = request_reading(readings, _yields, _asks, True, thread_id in aside)
            seen = replace(seen, fix=True) if seen is not None else None
            if seen is None:
                raw = raws.get(latest.get(thread_id, ""))
                seen = self._reading(thread_id, raw) if raw is not None else None
                if seen is None or not seen.reading.intros:
                    seen = self.read_request(thread_id, skip=raw.id if raw else None) or seen
            if seen is not None:
                found.append(seen)
        return found

    def _labeled_anew(self, thread_id: str, labeled: list[str]) -> tuple[str, ...]:
        """A thread introbot knows (intros, or set aside), labeled again: the messages the
        label went on that introbot never read (none for a thread it does not know)."""
        if not self.store.known_thread(thread_id):
            return ()
        record = self.store.thread(thread_id)
        read = read_before(
            self.store.intros(thread_id=thread_id), record.message_id if record else None
        )
        return tuple(m for m in labeled_anew(labeled, read) if not self.store.seen(m))

    def _reading(self, thread_id: str, raw: RawMessage) -> RequestSeen | None:
        if "DRAFT" in raw.label_ids:
            return None
        try:
            mail = read_mail(raw.raw)
            reading = read_request(mail, sorted(self.me), self.phrases, "SENT" in raw.label_ids)
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
        readings = [self._reading(thread_id, raws[m.id]) for m in candidates if m.id in raws]
        return request_reading([s for s in readings if s], _yields, _asks)

    # ----------------------------------------------------------------- full sync
    def full_sync(self, why: str, now: datetime | None = None) -> SyncResult:
        log.info("full_sync why=%r", why)
        history_id = self.client.profile().history_id  # taken before listing
        result = SyncResult(history_id, now or datetime.now(UTC), full=True)
        labeled = set(self.client.list_threads(label_ids=[self.labels.request]))
        for thread_id in sorted(labeled):
            if not self.store.known_thread(thread_id):
                seen = self.read_request(thread_id)
                if seen is not None:
                    result.requests.append(seen)
        open_intros = self.store.intros(open_only=True)
        for intro in open_intros:
            if intro.request.thread_id not in labeled:
                result.observe(intro.id, RequestGone(Gone.UNLABELED), "full sync")
        self._reconcile(open_intros, result)
        return result

    def _reconcile(self, intros: list[Intro], result: SyncResult) -> None:
        """After a gap: catch sends, edits, discards and replies history no longer shows.
        Every sent message of the tracked drafts' threads is looked at; matching tells the
        draft's own copy from the connector's hand, and a reply from the request itself."""
        gone: set[str] = set()
        threads: set[str] = set()
        for _, draft in self.store.drafts_awaiting_fate():
            gone.add(draft.message_id or "")
            if draft.thread_id:
                threads.add(draft.thread_id)
        if gone:
            self._drafts({}, gone, set(), result, threads)
        threads = {
            d.thread_id
            for i in intros
            for d in i.drafts
            if d.state is DraftState.SENT and d.thread_id and d.to
        }
        threads |= {
            obs.thread_id for _, obs, _ in result.observations if isinstance(obs, DraftSent)
        }
        self._replies(self._thread_events(threads), result)

    # -------------------------------------------------------------- lost sends
    def sent_while_away(
        self, wanted: Tracked, sharing: Sequence[tuple[str, str]], now: datetime
    ) -> SyncResult | None:
        """A draft introbot never heard Gmail create (a crash came between Gmail's answer
        and the record), looked for among the sent messages (``wanted``: the draft as it
        was to be written; which copy is its send: :func:`introbot.matching.sent_copy`).
        Found, the result is what a poll would have observed, for the poll's own path to
        apply: for each intro recording the draft (``sharing``: intro id, its key), the
        draft written and sent, its texts as written and as sent, and the replies in the
        copy's thread, whatever the cursor says (history may have shown them while the
        draft was not known sent). None: no sent copy is the draft's, it is to be written."""
        found = sent_copy(wanted, self._sent_candidates(wanted))
        if found is None:
            return None
        copy, why = found
        result = SyncResult(self.store.cursor() or 0, now)
        for intro_id, key in sharing:
            result.draft_texts[key] = wanted.text
            result.sent_texts[key] = copy.text or ""
            created = DraftCreated(key, "", copy.id, copy.thread_id)
            result.observe(intro_id, created, "written before a restart")
            result.observe(intro_id, sent_as(key, copy), f"sent: {why}")
        self._replies(self._thread_events({copy.thread_id}), result)
        return result

    def draft_left_since_cursor(
        self, thread_id: str | None, known: Iterable[str]
    ) -> MessageRef | None:
        """The trace a draft Gmail made for a retried create, whose answer was lost, leaves
        when it goes before introbot hears of it (sent with Undo or Schedule send, its copy
        yet to appear; or discarded): a draft message added since the stored cursor and
        gone again (deleted, or its DRAFT label removed), for a draft answering in a thread
        in that thread. Not one of ``known``, nor of introbot's own (the drafts it wrote,
        rewrote or deleted: ``Store.own_messages``), nor one whose thread got a sent
        message after it was made (that draft went out as that copy, which the sent-copy
        search did not take for ours: an email the connector wrote and sent meanwhile).
        None when history shows none, or no longer reaches back."""
        cursor = self.store.cursor()
        if cursor is None:
            return None
        try:
            events = self.client.history(cursor).events
        except HistoryExpired:
            return None
        skip = set(known)
        added: dict[str, MessageRef] = {}
        gone: list[MessageRef] = []
        for e in events:
            if e.kind == "messageAdded" and "SENT" in e.label_ids:
                sent_in = e.message.thread_id
                gone = [m for m in gone if m.thread_id != sent_in]
                added = {k: m for k, m in added.items() if m.thread_id != sent_in}
            elif e.kind == "messageAdded" and "DRAFT" in e.label_ids and e.message.id not in skip:
                added[e.message.id] = e.message
            elif e.message.id in added and (
                e.kind == "messageDeleted" or (e.kind == "labelRemoved" and "DRAFT" in e.changed)
            ):
                gone.append(added.pop(e.message.id))
        gone = [m for m in gone if thread_id in (None, m.thread_id)]
        own = self.store.own_messages(m.id for m in gone) if gone else frozenset()
        return next((m for m in gone if m.id not in own), None)

    def _sent_candidates(self, wanted: Tracked) -> list[Seen]:
        """Sent messages that could be the lost draft's copy: those carrying its
        Message-ID, and the sent messages of its thread (or, for a new thread, those to
        its recipients since it was queued, and the latest sent messages). Copies already
        another draft's are left out.

        Search (``q=``) lags seconds behind a send, so a new thread's copy is also looked
        for among the latest SENT messages listed by label, which does not lag: a replica
        taking over right after the connector sent the draft a dead one had created would
        otherwise find nothing and write it a second time (the kill -9 test's m45)."""
        draft = wanted.draft
        ids = [m.id for m in self.client.find_messages(draft.key)]
        if draft.thread_id:
            thread = self.client.get_thread(draft.thread_id)
            ids += [m.id for m in thread.messages if "SENT" in m.label_ids] if thread else []
        elif wanted.recipients:
            query = "in:sent " + " ".join(f"to:{r}" for r in sorted(wanted.recipients))
            if wanted.since is not None:
                query += f" after:{int(wanted.since.timestamp())}"
            ids += [m.id for m in self.client.list_messages(query, limit=SENT_LOOKED_AT)]
            latest = self.client.list_messages(label_ids=["SENT"], limit=SENT_LOOKED_AT)
            ids += [m.id for m in latest]
        taken = self.store.sent_copies()
        raws = self.client.get_raw_messages(dict.fromkeys(i for i in ids if i not in taken))
        return [seen_of(r, read_mail(r.raw)) for r in raws.values()]

    def _thread_events(self, threads: set[str]) -> dict[str, HistoryEvent]:
        """Every message of these threads, as if history had just shown it added."""
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
        return added


def _yields(seen: RequestSeen) -> bool:
    return bool(seen.reading.intros)


def _asks(seen: RequestSeen) -> bool:
    """Does the message ask for an intro, even a broken one: intros, or a request that
    names someone (a "thanks" in a thread with intros names nobody new)?"""
    reading = seen.reading
    return bool(reading.intros) or (
        reading.form != "none" and any(p != NOBODY for p in reading.problems)
    )


def _one_per_draft(
    tracked: list[tuple[str, Draft]],
) -> tuple[list[tuple[str, Draft]], dict[str, list[tuple[str, Draft]]]]:
    """One record per Gmail draft: a consent draft shared by several intros is looked at
    once (by the record that wrote it, if it still waits), its fate then shared with the
    others (key of the record looked at -> the other intros' records)."""
    groups: dict[str, list[tuple[str, Draft]]] = {}
    alone: list[tuple[str, Draft]] = []
    for intro_id, draft in tracked:
        if draft.shared:
            groups.setdefault(draft.shared, []).append((intro_id, draft))
        else:
            alone.append((intro_id, draft))
    sharing: dict[str, list[tuple[str, Draft]]] = {}
    for shared, records in groups.items():
        records.sort(key=lambda r: r[1].key != shared)
        (head, *rest) = records
        alone.append(head)
        sharing[head[1].key] = rest
    return alone, sharing


def _draft_recipients(intro: Intro, draft: Draft) -> set[str]:
    if draft.to is None:
        return {intro.requester.person.key, intro.contact.person.key}
    return {intro.party(draft.to).person.key}


def seen_of(raw: RawMessage, mail: Mail) -> Seen:
    """A fetched message as matching sees it."""
    dated = mail.date
    if dated is not None and dated.tzinfo is None:
        dated = dated.replace(tzinfo=UTC)
    return Seen(
        id=raw.id,
        thread_id=raw.thread_id,
        labels=raw.label_ids,
        at=_at(raw.internal_date),
        sender=mail.sender.key if mail.sender else None,
        recipients=frozenset(p.key for p in (*mail.to, *mail.cc)),
        rfc822_id=mail.message_id,
        refs=(*mail.in_reply_to, *mail.references),
        dated=dated,
        text=mail.text,
        subject=mail.subject,
    )


def sent_as(key: str, copy: Seen) -> DraftSent:
    """The observation that the draft ``key`` was sent as ``copy``."""
    return DraftSent(
        key,
        copy.id,
        copy.rfc822_id,
        copy.thread_id,
        copy.at,
        copy.subject,
        tuple(sorted(copy.recipients)),
    )
