"""One poll: the imperative shell around the workflow.

    sync (history since the cursor) -> observations
    -> workflow.step, saved with its queued actions in one transaction
    -> the outbox: each action executed, idempotently, then marked done
    -> ticks for reminders and expiry (time is the ``now`` argument)
    -> the labels of every touched thread brought in line with its intros
    -> the cursor advanced, only after all of the above

A crash anywhere leaves the cursor behind: the next poll sees the same changes again, and
the workflow and the outbox make that harmless.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from introbot.gmail.client import GmailClient
from introbot.gmail.errors import GmailRejected, NotFound
from introbot.gmail.types import Draft as GmailDraft
from introbot.languages import NAMES, Drafting, drafting
from introbot.matching import DATE_SKEW, Tracked, unedited
from introbot.model import (
    Action,
    CreateDraft,
    DeleteDraft,
    DraftCreated,
    DraftFailed,
    Intro,
    Note,
    Observation,
    Person,
    RequestRef,
    Stage,
    Tick,
)
from introbot.reading.mime import read_mail
from introbot.reading.requests import read_request
from introbot.rules import Rules
from introbot.settings import Settings
from introbot.store import Store, WrongMailbox
from introbot.sync import LabelIds, RequestSeen, Sync, SyncResult
from introbot.workflow import (
    ATTENTION_LABEL,
    OWN_MESSAGES_KEPT,
    STAGE_LABELS,
    InvalidTransition,
    ThreadNote,
    Transition,
    WorkflowRules,
    asking_again,
    finished_in_gmail,
    lost_draft_waits,
    open_intros,
    plan_request,
    queued_record,
    rebuilt_from_gmail,
    settle_thread,
    step,
    still_wanted,
    thread_labels,
    threads_to_relabel,
)
from introbot.writing import WritingError, write_draft

log = logging.getLogger("introbot")
# What each observation is called in an intro's timeline (`introbot show`); logs keep the
# class names, which are for machines.
OBSERVED_WORDS = {
    "DraftCreated": "draft written in Gmail",
    "DraftEdited": "you edited a draft",
    "DraftGone": "a draft left Drafts",
    "DraftFailed": "a draft could not be written",
    "DraftSent": "you sent a draft",
    "DraftDiscarded": "you discarded a draft",
    "ReplyReceived": "a message from a party",
    "Decision": "your decision",
    "Cancel": "cancelled",
    "RequestGone": "you unlabeled, trashed or deleted the request",
    "Attention": "needs your decision",
    "Tick": "time passed",
    "FinishedInGmail": "Gmail shows it finished",
}
LABEL_CHECK_EVERY = timedelta(hours=1)
BATCH_LABELING = 10  # from this many messages changing alike, one batchModify (50 units)
#: Gmail's answers that refuse one action for good (retrying cannot help, and the others
#: may still succeed): the action is set aside, the intro needs attention.
SET_ASIDE_STATUSES = frozenset({400, 404, 413})


@dataclass
class PollReport:
    full_sync: bool = False
    requests: int = 0
    observations: int = 0
    actions: int = 0
    drafts_created: int = 0
    decisions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    """What one observation came to: the intro after it (None: no such intro) and, when
    the workflow refused the observation, why (the same words as the timeline's)."""

    intro: Intro | None
    rejected: str | None = None


class Engine:
    def __init__(self, client: GmailClient, store: Store, settings: Settings, rules: Rules) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.rules = rules
        self._label_ids: dict[str, str] | None = None
        self._me: tuple[str, ...] | None = None
        self._bound = False  # the database's mailbox checked against Gmail's, once a process
        self._shown: dict[str, frozenset[Stage]] = {}  # full sync: the stages Gmail shows
        self._marked: dict[str, str] = {}  # ... and the message of each thread carrying them

    # ------------------------------------------------------------ account facts
    def me(self) -> tuple[str, ...]:
        """The connector's addresses: the signed-in one (asked once, then kept) and aliases."""
        if self._me is None:
            address = self.store.get_meta("address")
            if address is None:
                address = self.client.profile().email.lower()
                self.store.set_meta("address", address)
                self._bound = True
            self._me = (address, *[a for a in self.settings.me if a != address])
        return self._me

    def check_mailbox(self) -> None:
        """A database is bound to its mailbox: a poll with the database of another one is
        refused (WrongMailbox), before anything is read or written. One getProfile a
        process; none when the address was only just asked."""
        self.me()
        if self._bound:
            return
        signed_in = self.client.profile().email.lower()
        if signed_in != self.me()[0]:
            raise WrongMailbox(self.store.where, self.me()[0], signed_in)
        self._bound = True

    def connector(self) -> Person:
        return self.settings.connector_person(self.me()[0])

    def workflow_rules(self) -> WorkflowRules:
        wf = self.settings.workflow
        return WorkflowRules(
            connector=self.connector(),
            order=wf.order,
            remind_after=timedelta(days=wf.remind_after_days),
            expire_after=timedelta(days=wf.expire_after_days),
            pending_grace=timedelta(days=wf.pending_grace_days),
            remember_declines=timedelta(days=wf.remember_declines_days),
            guess_organisation=self.settings.drafts.guess_organisation,
            signature=self.settings.connector.signature,
        )

    def label_ids(self, now: datetime | None = None, refresh: bool = False) -> dict[str, str]:
        """Logical label -> Gmail label id, creating missing labels. Kept in the store so an
        idle poll costs no label call; checked again hourly (a label deleted or renamed in
        Gmail is recreated under its configured name) and whenever Gmail refuses one."""
        names = self.settings.all_labels()
        now = now or datetime.now(UTC)
        cached = json.loads(self.store.get_meta("labels") or "{}")
        checked = datetime.fromisoformat(cached["checked"]) if "checked" in cached else None
        stale = checked is None or now - checked > LABEL_CHECK_EVERY or now < checked
        if refresh or stale or cached.get("names") != names:
            by_name = self.client.ensure_labels(names.values())
            ids = {logical: by_name[name] for logical, name in names.items()}
            self.store.set_meta(
                "labels", json.dumps({"names": names, "ids": ids, "checked": now.isoformat()})
            )
            self._label_ids = ids
        elif self._label_ids is None:
            self._label_ids = dict(cached["ids"])
        return self._label_ids

    # --------------------------------------------------------------------- poll
    def poll(self, now: datetime | None = None) -> PollReport:
        now = now or datetime.now(UTC)
        report = PollReport()
        self.check_mailbox()
        labels = self.label_ids(now)
        sync = self._sync(labels)
        result = sync.run(now)
        report.full_sync = result.full
        self._shown = self.stages_in_gmail(labels) if result.full else {}
        self.close_finished_in_gmail(now, report)
        rules = self.workflow_rules()
        for seen in result.requests:
            report.requests += 1
            self._request(seen, now, rules, report)
        self.ask_again(sync, now, rules, report)
        self.observe(result, now, report)
        self.apply_commands(now, report)
        self.drain(now, report)
        ticking = {i.id: i for i in self.store.intros(open_only=True)}
        ticking.update((i.id, i) for i in self.store.intros_with_pending())
        for intro in ticking.values():
            self.apply(intro.id, Tick(), now, None, report)
        self.drain(now, report)
        self.converge_labels()
        self.store.set_cursor(result.history_id)
        return report

    def observe(self, result: SyncResult, now: datetime, report: PollReport | None) -> None:
        """What sync found, carried out: the drafts' texts as edited and as sent kept (to
        recognise a send, and to read a reply without the lines it quotes), each
        observation stepped in order, the messages read marked seen."""
        for key, text in result.draft_texts.items():
            self.store.save_body(key, text)
        for key, text in result.sent_texts.items():
            self.store.save_sent_body(key, text)
        for intro_id, observation, why in result.observations:
            if report is not None:
                report.observations += 1
            self.apply(intro_id, observation, now, why, report)
        self.store.mark_seen(result.seen, now)

    def _sync(self, labels: dict[str, str]) -> Sync:
        sync = Sync(
            self.client,
            self.store,
            LabelIds(labels["request"], labels["yes"], labels["no"]),
            self.me(),
            self.rules.phrases,
        )
        sync.known_names = tuple(n for n in (self.connector().name,) if n)
        return sync

    # --------------------------------------------------------------- decisions
    def apply(
        self,
        intro_id: str,
        observation: Observation,
        now: datetime,
        why: str | None,
        report: PollReport | None = None,
    ) -> Applied:
        intro = self.store.load(intro_id)
        if intro is None:
            log.warning("observation for unknown intro=%s: %s", intro_id, observation)
            return Applied(None)
        try:
            transition = step(intro, observation, now, self.workflow_rules())
        except InvalidTransition as exc:
            self.store.audit(now, intro_id, "rejected", str(exc))
            log.warning("rejected intro=%s why=%r", intro_id, str(exc))
            return Applied(intro, str(exc))
        if transition.intro == intro and not transition.actions:
            return Applied(intro)
        observed = OBSERVED_WORDS.get(type(observation).__name__, type(observation).__name__)
        observed += f" ({why})" if why else ""
        # The step and what it means for the other intros of its request thread (one
        # introbot draft to the requester at a time; a shared draft): workflow.settle_thread.
        members = {m.id: m for m in self.store.intros(thread_id=intro.request.thread_id)}
        members[intro.id] = intro
        settled = settle_thread(transition, list(members.values()), now, self.workflow_rules())
        with self.store.transaction():
            for t in settled:
                mine = t.intro.id == intro_id
                seen = type(observation).__name__ if mine else "the request thread"
                self._save(t, now, observed if mine else seen)
                self._log(members[t.intro.id], t.intro, seen, t.actions, report)
        return Applied(self.store.load(intro_id) or transition.intro)

    def _save(self, transition: Transition, now: datetime, observed: str) -> None:
        """Save a step with its actions, and the threads whose labels it may change (which
        ones is the workflow's to say; ``converge_labels`` brings them in line)."""
        intro = transition.intro
        self.store.save(intro, transition.actions, now, observed, threads_to_relabel(intro))

    def _log(
        self,
        before: Intro | None,
        after: Intro,
        observed: str,
        actions: tuple[Action, ...],
        report: PollReport | None,
    ) -> None:
        """One INFO line per decision, safe by construction (ids, stages, counts); the
        note's words, which may quote a reply or name a party, go to DEBUG."""
        notes = [a.text for a in actions if isinstance(a, Note)]
        drafts = sum(isinstance(a, CreateDraft) for a in actions)
        deletes = sum(isinstance(a, DeleteDraft) for a in actions)
        stage = after.stage.value
        if before is not None and before.stage is not after.stage:
            stage = f"{before.stage.value}->{stage}"
        log.info(
            "decision intro=%s observed=%s stage=%s drafts=%d deletes=%d",
            after.id,
            observed,
            stage,
            drafts,
            deletes,
        )
        for text in notes:
            log.debug("note intro=%s text=%r", after.id, text)
        if report is not None:
            report.decisions += [f"{after.id}: {text}" for text in notes]
            report.actions += len(actions) - len(notes)

    def _request(
        self,
        seen: RequestSeen,
        now: datetime,
        rules: WorkflowRules,
        report: PollReport,
        ask_anyway: bool = False,
    ) -> None:
        """``ask_anyway``: the connector said to ask although introbot remembers them."""
        thread_id = seen.thread_id
        existing = self.store.intros(thread_id=thread_id)
        if not existing and self._rebuild(seen, now, rules, report):
            return
        request = _request_ref(seen)
        wanted = [
            (
                Person(w.requester.name, w.requester.email),
                Person(w.contact.name, w.contact.email),
                w.context,
            )
            for w in seen.reading.intros
        ]
        past = None  # ask anyway: what introbot remembers of the people does not hold it back
        if not ask_anyway:  # what introbot remembers of each pair, from any request
            past = {(r.key, c.key): self.store.intros_of((r.email, c.email)) for r, c, _ in wanted}
        record = self.store.thread(thread_id)
        noted = ThreadNote(record.problem, record.note) if record is not None else None
        problems = seen.reading.problems
        plan = plan_request(
            existing, wanted, problems, request, now, rules, past, noted, fix=seen.fix
        )
        opening = [  # each new intro's id, and its secret (Message-IDs derive from it)
            (
                requester,
                [(self.store.new_intro_id(), c, why, secrets.token_hex(16)) for c, why in asked],
            )
            for requester, asked in plan.opening
        ]
        with self.store.transaction():  # all of a request's plan, or none of it (a crash)
            self.store.queue(list(plan.first), now)
            for requester, new in opening:
                for transition in open_intros(new, request, requester, now, rules):
                    self._save(transition, now, f"request in thread {thread_id}")
                    self._log(None, transition.intro, "request", transition.actions, report)
            self.store.queue(list(plan.actions), now)
            if plan.records_thread:
                self.store.set_problem(thread_id, plan.problem, now, seen.message.id, plan.note)
        if plan.read_again:
            self.store.audit(now, None, "request", f"thread {thread_id}: read again, nothing new")
            return
        if plan.problem is not None:
            for why in plan.attention:
                report.decisions.append(f"thread {thread_id}: needs attention: {why}")
            if seen.reading.problems:
                problems = seen.reading.problems
                log.info("needs_attention thread=%s problems=%d", thread_id, len(problems))
                log.debug("problems thread=%s text=%r", thread_id, problems)
            if plan.held:
                log.info("remembered thread=%s pairs=%d", thread_id, len(plan.held))

    def ask_again(
        self, sync: Sync, now: datetime, rules: WorkflowRules, report: PollReport
    ) -> None:
        """The request threads the connector said to ask again (`introbot ask-again`): read
        again, their intros opened whatever introbot remembers of the people."""
        for thread_id in self.store.asked_again():
            seen = sync.read_request(thread_id)
            if seen is not None:
                report.requests += 1
                self.store.queue(list(asking_again(thread_id, rules)), now)
                self._request(seen, now, rules, report, ask_anyway=True)
            else:
                self.store.audit(now, None, "request", f"thread {thread_id}: gone, not asked")
            self.store.asked_again_done(thread_id)

    def apply_commands(self, now: datetime, report: PollReport | None = None) -> None:
        """Decisions and cancels that `introbot decide`/`cancel` queued while this daemon
        held the lock: each applied and marked done in one transaction."""
        for command_id, intro_id, observation in self.store.pending_commands():
            with self.store.transaction():
                self.apply(intro_id, observation, now, "command line, queued", report)
                self.store.command_done(command_id, now)

    # ------------------------------------------------------ Gmail as ground truth
    def stages_in_gmail(self, labels: dict[str, str]) -> dict[str, frozenset[Stage]]:
        """Thread id -> the stages its introbot/* labels show (one messages.list a stage).
        The message that carries them is the request (labels go on it), kept to be read
        when the thread's latest messages are introbot's own mail."""
        shown: dict[str, set[Stage]] = defaultdict(set)
        self._marked = {}
        for stage, logical in STAGE_LABELS.items():
            for ref in self.client.list_messages(label_ids=[labels[logical]]):
                shown[ref.thread_id].add(stage)
                self._marked[ref.thread_id] = ref.id  # newest first: the oldest stays
        return {thread_id: frozenset(stages) for thread_id, stages in shown.items()}

    def close_finished_in_gmail(self, now: datetime, report: PollReport) -> None:
        """After a full sync: the open intros of each request thread Gmail's labels show
        as finished close as Gmail says (which ones, and how: workflow.finished_in_gmail)."""
        for thread_id, shown in self._shown.items():
            intros = self.store.intros(thread_id=thread_id)
            for intro_id, finished, why in finished_in_gmail(shown, intros):
                self.apply(intro_id, finished, now, why, report)

    def _rebuild(
        self, seen: RequestSeen, now: datetime, rules: WorkflowRules, report: PollReport
    ) -> bool:
        """A request thread this database never saw, that Gmail shows introbot worked on:
        its finished intros are recorded as finished, one under way is set aside; never a
        draft to a party. False: Gmail shows nothing, it is a new request."""
        shown = self._shown.get(seen.thread_id, frozenset())
        if not shown:
            return False
        marked = self._marked.get(seen.thread_id)
        if marked and marked != seen.message.id:  # read the message the labels are on
            raw = self.client.get_raw_messages([marked]).get(marked)
            if raw is not None and "DRAFT" not in raw.label_ids:
                mail = read_mail(raw.raw)
                reading = read_request(mail, sorted(self.me()), self.rules.phrases)
                if reading.intros:
                    seen = RequestSeen(seen.thread_id, raw, mail, reading)
        request = _request_ref(seen)
        wanted = [
            (
                self.store.new_intro_id(),
                Person(w.requester.name, w.requester.email),
                Person(w.contact.name, w.contact.email),
                w.context,
            )
            for w in seen.reading.intros
        ]
        rebuilt = rebuilt_from_gmail(shown, request, wanted, now, rules)
        if rebuilt is None:
            return False
        for transition in rebuilt.transitions:
            self._save(transition, now, "Gmail's labels")
            self._log(None, transition.intro, "rebuilt", transition.actions, report)
        if rebuilt.problem:
            thread_id, problem = seen.thread_id, rebuilt.problem
            self.store.set_problem(thread_id, problem, now, seen.message.id, rebuilt.note)
            self.store.queue(list(rebuilt.actions), now)
            report.decisions.append(f"thread {seen.thread_id}: needs attention: {rebuilt.problem}")
            log.info("needs_attention thread=%s rebuilt=false", seen.thread_id)
        return True

    # ------------------------------------------------------------------ outbox
    def drain(self, now: datetime, report: PollReport | None = None) -> None:
        """Execute every queued action, in order, each one idempotently.

        An action Gmail refuses for good (400, a 404 that starting a new thread does not
        cure, 413) is set aside with the reason and the ones behind it go on: one action
        never blocks the outbox. A refusal of the account (403), transient trouble (rate
        limits, 5xx, timeouts: retried in the client, then GmailUnavailable) and a refused
        sign-in end the pass as before; the next pass resumes at the same action."""
        for action_id, action, attempts in self.store.pending_actions():
            try:
                if isinstance(action, CreateDraft):
                    self._create(action_id, action, attempts, now, report)
                else:
                    self._delete(action_id, action, now)
            except GmailRejected as exc:
                if exc.status not in SET_ASIDE_STATUSES:
                    raise  # e.g. 403: the account, not this action; the pass stops, says why
                self._set_aside(action_id, action, now, str(exc))

    def _set_aside(
        self, action_id: int, action: CreateDraft | DeleteDraft, now: datetime, reason: str
    ) -> None:
        """Done with an action that cannot be done: the intro needs attention, saying why."""
        log.error("action set aside id=%d kind=%s why=%s", action_id, type(action).__name__, reason)
        self.store.mark_attempt(action_id, reason)
        if isinstance(action, CreateDraft) and action.intro_id:
            for intro_id, key in self._sharing(action):
                self.apply(intro_id, DraftFailed(key, reason), now, "Gmail refused the draft")
        elif isinstance(action, CreateDraft):
            kind = action.spec.kind.value
            self.store.audit(now, None, "failed", f"cannot create {kind} draft: {reason}")
        else:
            if action.intro_id:
                refused = DraftFailed(action.key, reason, deleting=True)
                self.apply(action.intro_id, refused, now, "Gmail refused to delete the draft")
            else:
                self.store.audit(now, None, "failed", f"cannot delete a draft: {reason}")
        self.store.mark_done(action_id, now)

    def _create(
        self,
        action_id: int,
        action: CreateDraft,
        attempts: int,
        now: datetime,
        report: PollReport | None,
    ) -> None:
        """Create a draft exactly once: the attempt is recorded before Gmail is asked, and a
        retried attempt first looks for the draft by its Message-ID (a crash may have come
        after Gmail created it, before we heard), then for its sent copy (the connector
        may have sent it meanwhile: ``_sent_while_away``)."""
        spec = action.spec
        if not attempts and not self._still_queued(action):
            self.store.mark_done(action_id, now)  # held back or withdrawn before written
            return
        try:
            written = self._drafting(action, attempts, now)
            raw = write_draft(written.spec, written.templates, self.connector())
        except Exception as exc:  # WritingError, or any surprise of the email package
            if not isinstance(exc, WritingError):
                exc = WritingError(f"{type(exc).__name__}: {exc}")
            log.error("cannot write draft key=%s why=%s", spec.key, exc)
            self.store.mark_attempt(action_id, str(exc))
            if action.intro_id:
                for intro_id, key in self._sharing(action):
                    self.apply(intro_id, DraftFailed(key, str(exc)), now, "writing failed")
            else:
                self.store.audit(
                    now, None, "failed", f"cannot write {spec.kind.value} draft: {exc}"
                )
            self.store.mark_done(action_id, now)
            return
        self.store.save_body(spec.key, read_mail(raw).text)
        existing = []
        if attempts:  # a crash may have come after Gmail created it: look for it first
            existing = self.client.find_new_draft(spec.key, self._known_drafts())
            if not existing and self._sent_while_away(action_id, action, raw, now, report):
                return
            if not existing and self._copy_awaited(action_id, action, now):
                return  # made, then gone: its sent copy may yet appear (Undo send)
        self.store.mark_attempt(action_id)
        if existing:
            draft = existing[0]
        else:
            try:
                draft = self.client.create_draft(raw, spec.thread_id)
            except GmailRejected as exc:
                # The thread to answer in is gone (404, or 400 for a deleted thread id):
                # start a new one. Anything else is refused for good: set aside by drain.
                if not spec.thread_id or not (isinstance(exc, NotFound) or exc.status == 400):
                    raise
                draft = self.client.create_draft(raw, None)
            if report is not None:
                report.drafts_created += 1
        with self.store.transaction():  # every intro sharing the draft learns of it at once
            self.store.keep_own_messages([draft.message_id], now, now - OWN_MESSAGES_KEPT)
            if not action.intro_id:  # a note to the connector: no intro keeps its id
                self.store.keep_note_draft(spec.key, draft.id)
            for intro_id, key in self._sharing(action):
                created = DraftCreated(key, draft.id, draft.message_id, draft.thread_id)
                self.store.save_body(key, self.store.body(spec.key) or "")
                self.apply(intro_id, created, now, f"draft {draft.id}")
            self.store.mark_done(action_id, now)

    def _sent_while_away(
        self,
        action_id: int,
        action: CreateDraft,
        raw: bytes,
        now: datetime,
        report: PollReport | None,
    ) -> bool:
        """A retried draft not in Drafts may have been created, then sent by the connector
        before introbot heard of it (a crash between Gmail's answer and the record). Sync
        looks for its sent copy (``Sync.sent_while_away``); what it found (the draft
        written and sent, the replies in its thread) is applied as a poll applies what
        sync found (``observe``), with the action marked done. False: not sent, the
        draft is to be created."""
        spec = action.spec
        intro = self.store.load(action.intro_id) if action.intro_id else None
        record = queued_record(intro, spec.key)
        if record is None:
            return False
        queued = self.store.queued_at(action_id)
        wanted = Tracked(
            action.intro_id,
            replace(record, thread_id=spec.thread_id, message_id=None),
            frozenset(p.key for p in (*spec.to, *spec.cc)),
            read_mail(raw).text,
            since=queued - DATE_SKEW if queued else None,
        )
        sync = self._sync(self.label_ids(now))
        found = sync.sent_while_away(wanted, self._sharing(action), now)
        if found is None:
            return False
        log.info("draft found sent key=%s observations=%d", spec.key, len(found.observations))
        self.store.mark_attempt(action_id)
        with self.store.transaction():  # every intro sharing the draft learns of it at once
            self.observe(found, now, report)
            self.store.mark_done(action_id, now)
        return True

    def _copy_awaited(self, action_id: int, action: CreateDraft, now: datetime) -> bool:
        """A retried draft neither in Drafts nor sent may have been created, then sent with
        Undo send (its copy appears up to 30 s later) before introbot heard of it. History
        since the cursor may show its trace (``Sync.draft_left_since_cursor``: a draft
        added and gone, not introbot's own); when first seen is kept on the action, and
        :func:`introbot.workflow.lost_draft_waits` says whether to wait on (the action stays
        queued, its copy looked for on each poll) or write it. False: write it now."""
        intro = self.store.load(action.intro_id) if action.intro_id else None
        if queued_record(intro, action.spec.key) is None:
            return False
        since = self.store.awaiting_copy_since(action_id)
        if since is None:
            sync = self._sync(self.label_ids(now))
            ref = sync.draft_left_since_cursor(action.spec.thread_id, self._known_drafts())
            if ref is None:
                return False
            log.info("draft made and gone key=%s message=%s: copy awaited", action.spec.key, ref.id)
            self.store.await_copy(action_id, now)
            since = now
        if lost_draft_waits(since, now):
            return True
        log.info("no sent copy of key=%s appeared: written", action.spec.key)
        return False

    def _still_queued(self, action: CreateDraft) -> bool:
        """Is the draft still wanted as it was queued? The workflow may have held it back
        or withdrawn it since (workflow.settle_thread): then it is never written."""
        intro = self.store.load(action.intro_id) if action.intro_id else None
        return still_wanted(intro, action.spec.key)

    def _sharing(self, action: CreateDraft) -> list[tuple[str, str]]:
        """(intro id, its key for the draft) of every intro the draft is for: the one that
        asked for it and, for a shared consent draft, each other intro recording it."""
        if not action.intro_id:
            return []
        found = [(action.intro_id, action.spec.key)]
        for intro_id in self.store.sharing(action.spec.key):
            intro = self.store.load(intro_id)
            for d in intro.drafts if intro and intro_id != action.intro_id else ():
                if d.shared == action.spec.key:
                    found.append((intro_id, d.key))
        return found

    def _drafting(self, action: CreateDraft, attempts: int, now: datetime) -> Drafting:
        """The draft's language and templates (introbot.languages); anything but the plain
        default (a language chosen, an English fallback) is said in the timeline, once."""
        languages = self.settings.languages
        written = drafting(action.spec, self.rules, languages.people, languages.default)
        if not attempts and written.worth_saying(languages.default):
            self.store.audit(
                now,
                action.intro_id or None,
                "language",
                f"{action.spec.template} in {NAMES.get(written.language, written.language)}: "
                f"{written.why}",
            )
        return written

    def _known_drafts(self) -> set[str]:
        """The message ids of the intros' drafts introbot knows of."""
        return {d.message_id for _, d in self.store.drafts_awaiting_fate() if d.message_id}

    def _delete(self, action_id: int, action: DeleteDraft, now: datetime) -> None:
        kept = None if action.intro_id else self.store.note_draft(action.key)
        doomed = self._drafts_for(action, kept)
        # Kept first: a crash after a delete must not leave a draft of ours that history
        # shows added and gone looking like one introbot never recorded (_copy_awaited).
        self.store.keep_own_messages((m for _, m in doomed if m), now, now - OWN_MESSAGES_KEPT)
        for draft_id, _ in doomed:
            self.client.delete_draft(draft_id)
        with self.store.transaction():
            self.store.mark_done(action_id, now)
            if kept is not None:
                self.store.forget_note_draft(action.key)

    def _drafts_for(self, action: DeleteDraft, kept: str | None) -> list[tuple[str, str | None]]:
        """The drafts in Gmail a delete is for, as (draft id, message id if known), found
        the cheapest way that works for what introbot kept of them:

        - an intro's draft: by the draft id its record keeps;
        - a note to the connector: by the draft id kept when it was written (``kept``), else
          by search; with ``unless_edited`` only while it is still as introbot wrote it;
        - a note whose id nothing kept: by the search for new drafts (search lags behind a
          draft made seconds ago);
        - else by search for its Message-ID."""
        intro = self.store.load(action.intro_id)
        draft = intro.draft(action.key) if intro else None
        if draft and draft.draft_id:
            return [(draft.draft_id, draft.message_id)]
        if kept is not None or action.unless_edited:
            found = self._note(action.key, kept)
            if action.unless_edited:
                found = [d for d in found if self._as_written(action.key, d)]
        elif not action.intro_id:
            found = self.client.find_new_draft(action.key, self._known_drafts())
        else:
            found = self.client.find_drafts(action.key)
        return [(d.id, d.message_id) for d in found]

    def _note(self, key: str, kept: str | None) -> list[GmailDraft]:
        """The note to the connector with Message-ID ``key``: by the draft id kept when it
        was written (drafts.get, 5 units: search finds a new draft only seconds later),
        else by search (a note written before introbot kept ids)."""
        if kept is None:
            return self.client.find_drafts(key)
        draft = self.client.get_draft(kept)
        return [draft] if draft is not None else []

    def _as_written(self, key: str, draft: GmailDraft) -> bool:
        """Is the draft's message still as introbot wrote draft ``key``?"""
        written = self.store.body(key)
        raw = self.client.get_raw_messages([draft.message_id]).get(draft.message_id)
        if written is None or raw is None:
            return False
        return unedited(written, read_mail(raw.raw).text)

    # ------------------------------------------------------------------ labels
    def converge_labels(self) -> None:
        """Give every touched thread the introbot labels its intros call for.

        Labels go on the request message (Gmail shows a conversation with the labels of any
        of its messages): 5 units a message, or one 50-unit batchModify for many threads
        that change alike; threads without a known message are labeled whole (10 units)."""
        ids = self.label_ids()
        ours = {ids[logical] for logical in (*STAGE_LABELS.values(), ATTENTION_LABEL)}
        alike: dict[tuple[frozenset[str], frozenset[str]], list[tuple[str, str, set[str]]]]
        alike = defaultdict(list)
        for thread_id in self.store.dirty_threads():
            record = self.store.thread(thread_id)
            applied = set(record.labels) if record else set()
            wanted = {ids[logical] for logical in self._thread_labels(thread_id)}
            if wanted == applied:
                self.store.set_labels(thread_id, wanted)
            elif record is not None and record.message_id:
                change = (frozenset(wanted - applied), frozenset(ours - wanted))
                alike[change].append((thread_id, record.message_id, wanted))
            else:
                self._label_thread(thread_id, wanted, ours)
        for (add, remove), members in alike.items():
            message_ids = [message_id for _, message_id, _ in members]
            try:
                if len(members) >= BATCH_LABELING:
                    self.client.modify_messages(message_ids, sorted(add), sorted(remove))
                    done = set(message_ids)
                else:
                    done = {
                        m
                        for m in message_ids
                        if self.client.modify_message(m, sorted(add), sorted(remove))
                    }
            except GmailRejected as exc:
                if exc.status != 400:
                    raise
                ids = self.label_ids(refresh=True)  # a label was deleted meanwhile
                ours = {ids[logical] for logical in (*STAGE_LABELS.values(), ATTENTION_LABEL)}
                done = set()
            for thread_id, message_id, wanted in members:
                if message_id in done:
                    self.store.set_labels(thread_id, wanted)
                else:  # the message is gone, or a label was: label the thread as it is now
                    fresh = {ids[logical] for logical in self._thread_labels(thread_id)}
                    self._label_thread(thread_id, fresh, ours)

    def _label_thread(self, thread_id: str, wanted: set[str], ours: set[str]) -> None:
        try:
            self.client.modify_thread(thread_id, sorted(wanted), sorted(ours - wanted))
        except GmailRejected as exc:
            if exc.status != 400:
                raise
            ids = self.label_ids(refresh=True)
            ours = {ids[logical] for logical in (*STAGE_LABELS.values(), ATTENTION_LABEL)}
            wanted = {ids[logical] for logical in self._thread_labels(thread_id)}
            self.client.modify_thread(thread_id, sorted(wanted), sorted(ours - wanted))
        self.store.set_labels(thread_id, wanted)

    def _thread_labels(self, thread_id: str) -> frozenset[str]:
        """A request thread shows its intros' stages; a consent thread shows attention
        while the reply in it waits for the connector's decision."""
        record = self.store.thread(thread_id)
        intros = {i.id: i for i in self.store.intros(thread_id=thread_id)}
        intros.update((i.id, i) for i in self.store.intros_with_drafts_in(thread_id))
        return thread_labels(thread_id, intros.values(), bool(record and record.problem))


def _request_ref(seen: RequestSeen) -> RequestRef:
    mail = seen.mail
    return RequestRef(
        thread_id=seen.thread_id,
        message_id=seen.message.id,
        rfc822_id=mail.message_id,
        subject=mail.subject,
        author=mail.sender or Person(None, "unknown@invalid"),
        form=seen.reading.form,
    )


__all__ = ["Applied", "Engine", "PollReport"]
