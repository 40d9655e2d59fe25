"""THE state machine of an introduction: ``step(intro, observation, now, rules)`` returns the
new intro and the actions to take. No I/O: no Gmail, no database, no clock (``now`` is an
argument). Three machines live here, each a table of edges (state, event) -> next state just
below: the intro's stage, each party's consent, each draft's state. Only their helpers
(``_move_stage``, ``_set_consent``, ``_set_draft``) change those states, and an edge not in a
table raises :class:`InvalidTransition`; ``TRANSITIONS`` at the bottom says which handler
reads an observation in each stage. ``python -m introbot.workflow`` prints the three
machines as Mermaid diagrams drawn from the tables (the README's architecture section shows
them).

The rules it keeps:

1. **Consent first.** Each party is asked privately. The joint introduction is drafted only
   when both said yes. Nothing is ever sent: every message is a draft for the connector.
2. **No address before a yes.** A draft to the requester never holds the contact's address
   (nor the requester's to the contact) until both agreed: addresses appear only in the
   joint introduction, and templates only ever receive names.
3. **Doubt goes to the connector.** A yes counts only from the party's own address, as Gmail
   authenticated it (:func:`introbot.model.vouched_for`: no verdict of Gmail's is no yes).
   Anything else (unclear, a bounce, another address, an unauthenticated yes) marks the
   intro for attention and waits for the connector's decision.
4. **The connector's hand decides.** Sending a draft moves the intro on; discarding a
   consent or joint draft vetoes the intro; an ``introbot/yes|no`` label or ``introbot
   decide`` overrides a verdict; removing the request label or ``introbot cancel`` cancels.
5. **Declines are gentle and private.** The requester is told "not a fit right now" and never
   the contact's words; a requester who withdraws costs the contact at most a thank-you.
6. **Time is an argument.** ``Tick`` at ``now``: one reminder after ``remind_after`` with no
   reply, expiry after ``expire_after``.
7. **Replays are harmless.** An observation already applied (the same reply, the same sent
   draft) changes nothing; an observation that cannot happen in a stage raises
   :class:`InvalidTransition` instead of being ignored silently.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from introbot import compose
from introbot.model import (
    Action,
    Attention,
    Cancel,
    Consent,
    CreateDraft,
    Decision,
    DeleteDraft,
    Draft,
    DraftCreated,
    DraftDiscarded,
    DraftEdited,
    DraftFailed,
    DraftGone,
    DraftKind,
    DraftSent,
    DraftSpec,
    DraftState,
    FinishedInGmail,
    Gone,
    Intro,
    Note,
    Observation,
    Order,
    Party,
    Person,
    ReplyReceived,
    RequestGone,
    RequestRef,
    Role,
    Stage,
    Tick,
    Verdict,
    address_key,
    vouched_for,
)


@dataclass(frozen=True)
class WorkflowRules:
    connector: Person
    order: Order = Order.PARALLEL
    remind_after: timedelta = timedelta(days=4)
    expire_after: timedelta = timedelta(days=21)
    # How long a draft that left Drafts with no sent copy is "pending" before it counts as
    # discarded: Undo send shows the copy seconds later, Schedule send at the chosen time.
    pending_grace: timedelta = timedelta(days=3)
    # An organisation guessed from a domain (harborbio.com -> "Harborbio") is shown in drafts
    # only when the connector's settings say so: by default drafts use what people wrote.
    guess_organisation: bool = False
    # What drafts put under the sign-off; None: the connector's first name, if they set one.
    signature: str | None = None
    # A contact who declined any intro this recently is not asked again without the
    # connector's say (one who declined the same requester, never); zero: only the latter.
    remember_declines: timedelta = timedelta(days=90)

    @property
    def domain(self) -> str:
        return self.connector.email.rpartition("@")[2] or "introbot.local"


@dataclass(frozen=True)
class Transition:
    intro: Intro
    actions: tuple[Action, ...] = ()


class InvalidTransition(Exception):
    """An observation that cannot happen to an intro in its current state."""

    def __init__(self, intro: Intro, observation: Observation | None, why: str) -> None:
        what = type(observation).__name__ if observation is not None else "edge"
        super().__init__(f"intro {intro.id} ({intro.stage}): {what}: {why}")
        self.intro = intro
        self.observation = observation
        self.why = why


# ------------------------------------------------------------------ the three machines
# Each machine is a table of edges, (state, event) -> next state, and one helper per machine
# is the only code that changes that state (``_move_stage``, ``_set_consent``,
# ``_set_draft``): an edge not in its table raises :class:`InvalidTransition`. The handlers
# below decide *which* event happened; the tables say where it leads.
S = TypeVar("S", Stage, Consent, DraftState)


def _edges(*rows: tuple[Iterable[S], str, S]) -> dict[tuple[S, str], S]:
    """A table from rows of (the states it may start from, the event, the next state)."""
    table: dict[tuple[S, str], S] = {}
    for sources, event, to in rows:
        for source in sources:
            if (source, event) in table:
                raise ValueError(f"two edges for {source} on {event!r}")
            table[(source, event)] = to
    return table


_OPEN_STAGES = (Stage.ASKING, Stage.READY)
STAGE_EDGES: dict[tuple[Stage, str], Stage] = _edges(
    ((Stage.ASKING,), "both said yes", Stage.READY),
    ((Stage.READY,), "a reply in doubt after both said yes", Stage.ASKING),
    ((Stage.READY,), "the introduction was sent", Stage.INTRODUCED),
    (_OPEN_STAGES, "a party said no", Stage.DECLINED),
    ((Stage.ASKING,), "no reply in expire_after", Stage.EXPIRED),
    ((Stage.ASKING,), "a consent draft was discarded", Stage.CANCELLED),
    ((Stage.READY,), "the introduction draft was discarded", Stage.CANCELLED),
    (_OPEN_STAGES, "cancel", Stage.CANCELLED),
    (_OPEN_STAGES, "Gmail shows it introduced", Stage.INTRODUCED),
    (_OPEN_STAGES, "Gmail shows it declined", Stage.DECLINED),
    (_OPEN_STAGES, "Gmail shows it cancelled", Stage.CANCELLED),
    (_OPEN_STAGES, "Gmail shows it expired", Stage.EXPIRED),
)
# Gmail's labels say how an intro ended (another database went on without this one).
_GMAIL_SHOWS = {
    Stage.INTRODUCED: "Gmail shows it introduced",
    Stage.DECLINED: "Gmail shows it declined",
    Stage.CANCELLED: "Gmail shows it cancelled",
    Stage.EXPIRED: "Gmail shows it expired",
}

_C = Consent
_ANSWERABLE = (_C.ASKED, _C.UNCLEAR, _C.YES, _C.NO)  # a reply may come (see _asking_reply)
CONSENT_EDGES: dict[tuple[Consent, str], Consent] = _edges(
    ((_C.NOT_ASKED,), "consent draft queued", _C.DRAFTING),
    ((_C.DRAFTING, _C.DRAFTED, _C.ASKED, _C.UNCLEAR), "shared ask rewritten", _C.DRAFTING),
    ((_C.DRAFTING,), "consent draft in Gmail", _C.DRAFTED),
    ((_C.DRAFTING, _C.DRAFTED), "consent message sent", _C.ASKED),
    ((_C.DRAFTING, _C.DRAFTED, *_ANSWERABLE), "consent message sent to others", _C.UNCLEAR),
    (_ANSWERABLE, "a reply in doubt", _C.UNCLEAR),
    ((_C.ASKED, _C.UNCLEAR, _C.NO), "an authenticated yes", _C.YES),
    (_ANSWERABLE, "a no", _C.NO),
    (tuple(c for c in Consent if c is not _C.YES), "the connector decides yes", _C.YES),
    (tuple(Consent), "the connector decides no", _C.NO),
    (tuple(Consent), "Gmail shows it introduced", _C.YES),
)

_D = DraftState
DRAFT_EDGES: dict[tuple[DraftState, str], DraftState] = _edges(
    ((_D.QUEUED,), "held back: its thread holds another draft", _D.HELD),
    ((_D.HELD,), "its thread is free", _D.QUEUED),
    ((_D.QUEUED,), "written in Gmail", _D.CREATED),
    ((_D.CREATED,), "left Drafts", _D.PENDING),
    ((_D.PENDING,), "back in Drafts", _D.CREATED),
    ((_D.CREATED, _D.PENDING, _D.DISCARDED, _D.WITHDRAWN, _D.FAILED), "sent", _D.SENT),
    ((_D.CREATED, _D.PENDING, _D.FAILED), "discarded", _D.DISCARDED),
    ((_D.HELD, _D.QUEUED, _D.CREATED, _D.PENDING, _D.WITHDRAWN), "withdrawn", _D.WITHDRAWN),
    (tuple(d for d in DraftState if d is not _D.FAILED), "could not be written", _D.FAILED),
)

MACHINES: dict[str, dict[Any, Any]] = {
    "stage": STAGE_EDGES,
    "consent": CONSENT_EDGES,
    "draft": DRAFT_EDGES,
}


def _edge(intro: Intro, machine: str, table: dict[tuple[S, str], S], at: S, event: str) -> S:
    to = table.get((at, event))
    if to is None:
        raise InvalidTransition(intro, None, f"no {machine} edge from {at} on {event!r}")
    return to


def _move_stage(intro: Intro, event: str) -> Intro:
    """The intro in the stage ``event`` leads to from its own."""
    return replace(intro, stage=_edge(intro, "stage", STAGE_EDGES, intro.stage, event))


def _set_consent(intro: Intro, role: Role, event: str, **changes: Any) -> Intro:
    """The intro with ``role``'s consent where ``event`` leads (and ``changes`` to the party)."""
    party = intro.party(role)
    to = _edge(intro, "consent", CONSENT_EDGES, party.consent, event)
    return intro.with_party(replace(party, consent=to, **changes))


def _set_draft(intro: Intro, draft: Draft, event: str, **changes: Any) -> Intro:
    """The intro with ``draft`` in the state ``event`` leads to (and ``changes`` to it)."""
    to = _edge(intro, "draft", DRAFT_EDGES, draft.state, event)
    return intro.with_draft(replace(draft, state=to, **changes))


# ------------------------------------------------------------------- small helpers
def _queue(intro: Intro, spec: DraftSpec, to: Role | None) -> tuple[Intro, Action]:
    draft = Draft(
        key=spec.key, kind=spec.kind, to=to, thread_id=spec.thread_id, subject=spec.subject or ""
    )
    return intro.with_draft(draft), CreateDraft(intro.id, spec)


def _reply_to(
    intro: Intro, kind: DraftKind, role: Role, rules: WorkflowRules
) -> tuple[Intro, Action]:
    """Queue a draft of ``kind`` to one party, in the thread of the consent message they got."""
    return _queue(intro, compose.reply_spec(intro, kind, role, rules), role)


def _withdraw(intro: Intro, draft: Draft) -> tuple[Intro, list[Action]]:
    """Take back a draft not yet sent: deleted from Gmail, unless it never got there (held)
    or other intros share it (settled for all of them: :func:`settle_thread`)."""
    intro = _set_draft(intro, draft, "withdrawn")
    if draft.shared is not None or draft.state is DraftState.HELD:
        return intro, []
    return intro, [DeleteDraft(intro.id, draft.key)]


def _withdraw_open(intro: Intro, keep: Iterable[str] = ()) -> tuple[Intro, list[Action]]:
    """Delete every draft not yet sent (the intro moved on without it)."""
    actions: list[Action] = []
    kept = set(keep)
    for draft in intro.drafts:
        if draft.open and draft.key not in kept:
            intro, deleting = _withdraw(intro, draft)
            actions += deleting
    return intro, actions


def _attention(intro: Intro) -> str | None:
    unclear = [p for p in (intro.requester, intro.contact) if p.consent is Consent.UNCLEAR]
    if not unclear:
        return None
    return "; ".join(f"{p.role.value} {p.person.email}: {p.evidence}" for p in unclear)


def _close(intro: Intro, event: str, now: datetime) -> Intro:
    return replace(_move_stage(intro, event), closed_at=now, attention=None)


def _note(intro: Intro, text: str) -> Note:
    return Note(intro.id, text)


# ------------------------------------------------------------------- opening intros
def already_standing(existing: Iterable[Intro], requester: Person, contact: Person) -> bool:
    """A request read again must not start an intro that stands: one under way, or one that
    ended in the introduction (after a no, an expiry or a cancel it may be asked for anew)."""
    return any(
        (i.requester.person.key, i.contact.person.key) == (requester.key, contact.key)
        and (not i.stage.closed or i.stage is Stage.INTRODUCED)
        for i in existing
    )


def _draft_in_thread(existing: Iterable[Intro], request: RequestRef, requester: Person) -> bool:
    """A new ask to ``requester`` would be a reply in the request thread (they wrote it),
    and the thread already holds an introbot draft to them not yet sent: one at a time."""
    return request.author.key == requester.key and any(
        d.open and d.to is Role.REQUESTER and d.thread_id == request.thread_id
        for i in existing
        if i.requester.person.key == requester.key
        for d in i.drafts
    )


def _waits(
    request: RequestRef, requester: Person, asked: Sequence[tuple[Person, str]], again: bool
) -> str:
    """Why the contacts ``asked`` are not asked about yet, and what to do."""
    names = " and ".join(_named(contact) for contact, _ in asked)
    then = (
        f"run `introbot ask-again {request.thread_id}` again" if again else "label the thread again"
    )
    return (
        f"{names}: not asked about yet, since this thread still holds an unsent draft to "
        f"{_named(requester)} and it holds one introbot draft at a time. Send or delete that "
        f"draft, then {then}."
    )


def _day(when: datetime) -> str:
    return f"{when.day} {when:%b %Y}"


def _named(person: Person) -> str:
    """Someone as the connector reads them in their own tools: the name, else the address."""
    return person.name or person.email


def _way(intro: Intro) -> str:
    """Which way a past intro went, as the connector reads it."""
    return (
        f"intro {intro.id}: requester {_named(intro.requester.person)}, "
        f"contact {_named(intro.contact.person)}"
    )


def remembered(
    past: Iterable[Intro], requester: Person, contact: Person, now: datetime, rules: WorkflowRules
) -> str | None:
    """Before a new intro asks anyone: what introbot remembers of these two from other
    requests. The same pair under way or introduced (in either direction); either of them
    having declined an intro to the other, whichever way it went (the contact declining this
    requester, or the requester declining this contact: as the contact of an earlier
    request, or as the requester of one that someone else proposed); or the contact having
    declined any intro within ``rules.remember_declines``. The reason (which intro, when,
    which way), for the connector to decide whether to ask again; None when nothing stands
    in the way. ``past``: intros either person was in."""
    pair = {requester.key, contact.key}
    earlier = sorted(past, key=lambda i: i.created_at)
    both = f"{_named(requester)} and {_named(contact)}"
    for intro in earlier:
        if {intro.requester.person.key, intro.contact.person.key} != pair:
            continue
        if not intro.stage.closed:
            return (
                f"{both} are already being introduced: {_way(intro)}, "
                f"{STAGE_LABELS[intro.stage]} since {_day(intro.created_at)}"
            )
        if intro.stage is Stage.INTRODUCED:
            when = intro.closed_at or intro.created_at
            return f"{both} were already introduced on {_day(when)} ({_way(intro)})"
    declines = [
        (intro, party, intro.contact if party.role is Role.REQUESTER else intro.requester)
        for intro in earlier
        for party in (intro.requester, intro.contact)
        if party.person.key in pair and party.consent is Consent.NO
    ]
    for intro, party, other in reversed(declines):  # the latest first
        if {party.person.key, other.person.key} == pair:
            return (
                f"{_named(party.person)} declined an intro to {_named(other.person)} "
                f"on {_day(_answered(intro, party))} ({_way(intro)})"
            )
    for intro, party, other in reversed(declines):
        when = _answered(intro, party)
        if party.person.key == contact.key and now - when <= rules.remember_declines:
            days = rules.remember_declines.days
            return (
                f"{_named(contact)} declined an intro to {_named(other.person)} on {_day(when)} "
                f"({_way(intro)}), within the last {days} days "
                "([workflow] remember_declines_days)"
            )
    return None


def _answered(intro: Intro, party: Party) -> datetime:
    """When a party gave their answer (as near as the intro knows)."""
    return party.answered_at or intro.closed_at or intro.created_at


@dataclass(frozen=True)
class ThreadNote:
    """What introbot keeps of a request thread set aside for the connector: why
    (``problem``), and the Message-ID of the note to them about it (``note``; None when
    unknown). A fact :func:`plan_request` is given, as the store has it."""

    problem: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class RequestPlan:
    """What one reading of a request thread comes to; the engine carries it out, in this
    order and in one transaction: ``first`` queued, the intros of ``opening`` opened,
    ``actions`` queued, and the thread's record set (``records_thread``: its problem, or
    none, and ``note``, the key of the note to the connector it holds)."""

    # Per requester, the (contact, context) of each intro to open: one consent ask to them.
    opening: tuple[tuple[Person, tuple[tuple[Person, str], ...]], ...] = ()
    read_again: bool = False  # its intros already stand: nothing new, nothing drafted
    problem: str | None = None  # the thread needs attention, and why
    clears_problem: bool = False  # intros opened: an earlier problem is gone
    actions: tuple[CreateDraft, ...] = ()  # the note to the connector (a problem, a pair held)
    held: tuple[str, ...] = ()  # pairs introbot remembers: not asked without the connector
    attention: tuple[str, ...] = ()  # what the thread needs attention for, said once each
    first: tuple[DeleteDraft, ...] = ()  # queued before the intros open: a note that goes
    note: str | None = None  # the note to the connector the thread holds after the plan

    @property
    def records_thread(self) -> bool:
        """Does the thread's record change: a problem set (again), or cleared?"""
        return self.problem is not None or self.clears_problem


def plan_request(
    existing: Sequence[Intro],
    wanted: Iterable[tuple[Person, Person, str]],
    problems: Sequence[str],
    request: RequestRef,
    now: datetime,
    rules: WorkflowRules,
    past: Mapping[tuple[str, str], Sequence[Intro]] | None = None,
    noted: ThreadNote | None = None,
    fix: bool = False,
) -> RequestPlan:
    """A request thread read (``wanted``: the (requester, contact, context) it asks for;
    ``existing``: its intros so far). Intros that stand are not opened again; nor, unless
    ``past`` is None (the connector said to ask anyway), a pair introbot remembers from the
    intros ``past`` holds per (requester key, contact key): see :func:`remembered`. The
    contacts one requester asks for are asked about together. A thread whose intros all
    stand says nothing new (labeled again, or a later message in it) unless the message
    read is a ``fix`` (:func:`request_reading`) that yields no intros and has problems the
    thread's record does not say; otherwise the
    thread needs the connector's attention, with one note to them in it: the problems, or
    the pairs held back (what is remembered, and how to ask anyway). ``noted``: what the
    thread's record says already; the same problem again drafts no second note."""
    groups: dict[str, tuple[Person, list[tuple[Person, str]]]] = {}
    held: list[str] = []
    asked = list(wanted)
    for requester, contact, context in asked:
        if already_standing(existing, requester, contact):
            continue
        if past is not None:
            why = remembered(
                past.get((requester.key, contact.key), ()), requester, contact, now, rules
            )
            if why is not None:
                held.append(why)
                continue
        groups.setdefault(requester.key, (requester, []))[1].append((contact, context))
    waiting = [
        (requester, asked)
        for requester, asked in groups.values()
        if _draft_in_thread(existing, request, requester)
    ]
    opening = tuple(
        (requester, tuple(asked))
        for requester, asked in groups.values()
        if (requester, asked) not in waiting
    )
    # A message that yields nothing beside intros that stand (a contact without an
    # address, written in the thread and labeled again) has its problems said, once.
    said = noted.problem if noted is not None else None
    new_problem = fix and not asked and bool(problems) and " ".join(problems) != said
    if existing and not opening and not held and not waiting and not new_problem:
        return RequestPlan(read_again=True)  # nothing new to say
    waits = [_waits(request, r, a, again=past is None) for r, a in waiting]
    unusable, problems = list(problems), [*problems, *waits]
    problem = " ".join(problems) if problems else None
    attention = (problem,) if problem else ()
    actions: tuple[CreateDraft, ...] = ()  # CreateDraft(""): a note of no intro's
    command = f"introbot ask-again {request.thread_id}"
    if problems:  # apart from the thread where intros draft (one draft a thread)
        note = problem_note(
            request,
            unusable,
            rules,
            apart=bool(existing or opening),
            waiting=waits,
            ask_again=command if past is None else "",
        )
        actions = (CreateDraft("", note),)
    if held:
        why = (
            "; ".join(held) + ". Nobody is asked again without your say: to ask anyway, "
            f"run `{command}`."
        )
        problem, attention = " ".join((*problems, why)), (*attention, why)
        # One note in the thread says it all: what is remembered, and any problem besides.
        note = compose.held_spec(
            request, held, problems, command, rules, apart=bool(existing or opening)
        )
        actions = (CreateDraft("", note),)
    kept = noted.note if noted is not None else None
    if problem is not None and noted is not None and noted.problem == problem:
        actions = ()  # the same note is in the thread already: not drafted again
    # A note that no longer says what holds (the request was fixed, or says something
    # else) goes before the intros' asks or the new note land in the thread, unless the
    # connector edited it (then it is theirs).
    outdated = kept is not None and (bool(actions) or (bool(opening) and problem is None))
    first = (DeleteDraft("", kept, unless_edited=True),) if kept and outdated else ()
    return RequestPlan(
        opening,
        problem=problem,
        clears_problem=bool(opening) and problem is None,
        actions=actions,
        held=tuple(held),
        attention=attention,
        first=first,
        note=actions[0].spec.key if actions else kept if problem is not None else None,
    )


R = TypeVar("R")


def read_before(intros: Iterable[Intro], carrier: str | None) -> frozenset[str]:
    """The Gmail ids of a request thread's messages introbot has read or written already:
    its intros' request messages, their drafts and sent copies, and the message its labels
    are on (``carrier``, a problem's message). None of them is a fix of the request."""
    known = {carrier} if carrier else set()
    for intro in intros:
        known.add(intro.request.message_id)
        known.update(m for d in intro.drafts for m in (d.message_id, d.sent_message_id) if m)
    return frozenset(known)


def labeled_anew(labeled: Sequence[str], read: Collection[str]) -> tuple[str, ...]:
    """A known request thread labeled again: the messages the label went on now that
    introbot has not read before (``read``), newest first. What the connector means by
    labeling again: a corrected request, or a note "Name <address> -> Name <address>", in
    one of them."""
    return tuple(m for m in dict.fromkeys(reversed(labeled)) if m not in read)


def request_reading(
    readings: Sequence[R],
    yields: Callable[[R], bool],
    asks: Callable[[R], bool],
    again: bool = False,
    set_aside: bool = False,
) -> R | None:
    """Which reading of a labeled thread's messages (``readings``: newest first; ``yields``:
    does it give intros; ``asks``: does it ask for an intro, even a broken one) is
    its request. A thread read for the first time is read as a whole: the newest message
    that yields intros (the label may have gone on a later "thanks"), else the newest (its
    problems say why nothing came of it). A known thread labeled ``again``, ``readings``
    being the messages introbot never read (:func:`labeled_anew`): the newest of them is the
    request, whatever it yields, when the thread is ``set_aside`` (every new message there
    is a fix attempt); beside intros under way, the newest that asks for something (a
    "thanks" is no fix). An older message is never taken instead: a fix that is itself
    broken needs attention for its own reason, not the old request's. None: nothing new
    (a known thread: read as before, and labeling again changes nothing)."""
    if again:
        if set_aside:
            return readings[0] if readings else None
        return next((r for r in readings if asks(r)), None)
    return next((r for r in readings if yields(r)), readings[0] if readings else None)


def asking_again(thread_id: str, rules: WorkflowRules) -> tuple[DeleteDraft, ...]:
    """The connector said to ask anyway (`introbot ask-again`): the note saying why nobody
    was asked goes first, before the thread is read again (one draft in the thread)."""
    return (DeleteDraft("", compose.held_key(thread_id, rules)),)


def open_intro(
    intro_id: str,
    request: RequestRef,
    requester: Person,
    contact: Person,
    context: str,
    now: datetime,
    rules: WorkflowRules,
    *,
    secret: str,
) -> Transition:
    """A new intro from a request: the consent drafts (both, or the requester's first).
    ``secret`` is random (the caller makes it: this module has no randomness) and stays with
    the intro: the Message-IDs of its drafts derive from it."""
    intro = _new_intro(intro_id, request, requester, contact, context, now, rules, secret)
    actions: list[Action] = [
        _note(intro, f"intro opened: {requester} -> {contact} ({request.form})")
    ]
    intro, action = _ask(intro, Role.REQUESTER, rules)
    actions.append(action)
    if rules.order is Order.PARALLEL:
        intro, action = _ask(intro, Role.CONTACT, rules)
        actions.append(action)
    return Transition(intro, tuple(actions))


def _new_intro(
    intro_id: str,
    request: RequestRef,
    requester: Person,
    contact: Person,
    context: str,
    now: datetime,
    rules: WorkflowRules,
    secret: str,
) -> Intro:
    """An intro as a request opens it: asking, nobody asked yet."""
    return Intro(
        id=intro_id,
        request=request,
        requester=Party(Role.REQUESTER, requester),
        contact=Party(Role.CONTACT, contact),
        context=context,
        order=rules.order,
        stage=Stage.ASKING,
        created_at=now,
        secret=secret,
    )


def _ask(intro: Intro, role: Role, rules: WorkflowRules) -> tuple[Intro, Action]:
    """Queue the consent draft to one party."""
    party = intro.party(role)
    spec = compose.consent_spec(intro, role, rules)
    event = "consent draft queued" if party.consent is Consent.NOT_ASKED else "shared ask rewritten"
    intro = _set_consent(intro, role, event)
    return _queue(intro, spec, role)


#: A draft to the connector saying what is missing, and what to do (compose.problem_spec).
problem_note = compose.problem_spec


# ------------------------------------------------ one request for several contacts
def open_intros(
    opened: Sequence[tuple[str, Person, str, str]],
    request: RequestRef,
    requester: Person,
    now: datetime,
    rules: WorkflowRules,
) -> list[Transition]:
    """The intros of one request for several contacts, ``opened`` as (intro id, contact,
    context, secret). The requester gets **one** consent draft about all of them (a request
    thread holds at most one introbot draft at a time); each contact their own, as ever.
    The first intro writes the shared draft; every intro keeps its own record of it, all
    naming its key (``Draft.shared``), so each intro's requester consent follows its fate."""
    if len(opened) == 1:
        ((intro_id, contact, context, secret),) = opened
        return [
            open_intro(intro_id, request, requester, contact, context, now, rules, secret=secret)
        ]
    intros: list[Intro] = []
    actions: list[list[Action]] = []
    for intro_id, contact, context, secret in opened:
        intro = _new_intro(intro_id, request, requester, contact, context, now, rules, secret)
        mine: list[Action] = [
            _note(
                intro,
                f"intro opened: {requester} -> {contact} ({request.form}, one of {len(opened)})",
            )
        ]
        if rules.order is Order.PARALLEL:
            intro, action = _ask(intro, Role.CONTACT, rules)
            mine.append(action)
        intros.append(intro)
        actions.append(mine)
    together = _ask_together(intros, rules)
    return [
        Transition(intro, (*mine, *more))
        for (intro, more), mine in zip(together, actions, strict=True)
    ]


def _ask_together(
    intros: Sequence[Intro], rules: WorkflowRules
) -> list[tuple[Intro, list[Action]]]:
    """One consent draft to the requester about the contacts of all ``intros``: written by
    the first, recorded by each. Each contact is named only as their own request named them."""
    spec = compose.several_consent_spec(intros, rules)
    named = compose.contact_names(intros, rules)
    out: list[tuple[Intro, list[Action]]] = []
    for n, intro in enumerate(intros):
        key = (
            spec.key
            if n == 0
            else compose.draft_key(intro, DraftKind.CONSENT, Role.REQUESTER, rules)
        )
        record = Draft(
            key=key,
            kind=DraftKind.CONSENT,
            to=Role.REQUESTER,
            thread_id=spec.thread_id,
            subject=spec.subject or "",
            shared=spec.key,
        )
        intro = intro.with_draft(record)
        event = (
            "consent draft queued"
            if intro.requester.consent is Consent.NOT_ASKED
            else "shared ask rewritten"
        )
        intro = _set_consent(intro, Role.REQUESTER, event)
        mine: list[Action] = [_note(intro, f"one consent draft to the requester about {named}")]
        if n == 0:
            mine.append(CreateDraft(intro.id, spec))
        out.append((intro, mine))
    return out


def settle_shared_ask(
    members: Sequence[Intro], shared: str, now: datetime, rules: WorkflowRules
) -> list[Transition]:
    """After an intro stopped waiting for a shared consent draft not yet sent (cancelled,
    declined, decided by the connector): the draft must not ask the requester about that
    contact any more. Unedited, it is rewritten for the contacts still asked about (the
    draft as the connector would have written it; nothing of theirs is lost); edited or on
    its way out (pending), it is theirs: the intros still waiting need attention. Nobody
    waiting: it is deleted. ``members``: every intro with a record of ``shared``. A shared
    reminder is not rewritten here: it is withdrawn, and :func:`settle_thread` writes one
    again for the intros still waiting for the requester."""
    records = [(i, d) for i in members for d in i.drafts if d.shared == shared]
    decided = (DraftState.SENT, DraftState.DISCARDED, DraftState.FAILED)  # each intro's fate
    if not records or any(d.state in decided for _, d in records):
        return []
    left = [(i, d) for i, d in records if d.state is DraftState.WITHDRAWN]
    staying = [(i, d) for i, d in records if d.open]
    if not left:
        return []
    carriers = sorted(((i, d) for i, d in records if d.draft_id), key=lambda r: r[1].key != shared)
    delete = [DeleteDraft(carriers[0][0].id, carriers[0][1].key)] if carriers else []
    gone = compose.contact_names((i for i, _ in left), rules)
    out: dict[str, tuple[Intro, list[Action]]] = {}

    def apart(intro: Intro, draft: Draft, withdraw: bool = False) -> None:
        intro, actions = out.get(intro.id, (intro, []))
        current = intro.draft(draft.key) or draft
        if withdraw:
            intro = _set_draft(intro, current, "withdrawn", shared=None)
        else:
            intro = intro.with_draft(replace(current, shared=None))
        out[intro.id] = (intro, actions)

    def add(intro: Intro, *actions: Action) -> None:
        intro_now, mine = out.get(intro.id, (intro, []))
        out[intro.id] = (intro_now, [*mine, *actions])

    if not staying:
        for intro, draft in left:
            apart(intro, draft)
        lead = left[0][0]
        add(lead, *delete, _note(lead, "nobody waits for the shared consent draft: deleted"))
    elif all(d.state is not DraftState.PENDING and not d.edited for _, d in staying):
        for intro, draft in records:
            apart(intro, draft, withdraw=True)
        first = out[staying[0][0].id][0]
        add(first, *delete)
        waiting = [out[i.id][0] for i, _ in staying]
        asked: list[Intro] = []
        if records[0][1].kind is not DraftKind.CONSENT:
            pass  # a reminder: written again, if still due, by settle_thread
        elif len(waiting) == 1:
            intro, action = _ask(waiting[0], Role.REQUESTER, rules)
            out[intro.id] = (intro, out[intro.id][1])
            add(intro, action)
            asked = [intro]
        else:
            for intro, actions in _ask_together(waiting, rules):
                out[intro.id] = (intro, out[intro.id][1])
                add(intro, *actions)
                asked.append(intro)
        for intro in asked:
            why = f"the consent draft to the requester is written again, without {gone}"
            add(intro, _note(intro, why))
    else:
        for intro, draft in left:
            apart(intro, draft)
        what = records[0][1].kind.value
        for intro, _ in staying:
            intro = out.get(intro.id, (intro, []))[0]
            why = (
                f"the {what} draft to the requester still names {gone}, whose intro no "
                "longer waits for it; you edited it or it is being sent, so introbot left it "
                "to you"
            )
            intro = replace(intro, attention=why)
            out[intro.id] = (intro, out.get(intro.id, (intro, []))[1])
            add(intro, _note(intro, why))
    return [Transition(intro, tuple(actions)) for intro, actions in out.values()]


# ------------------------------------------- one request thread, one introbot draft
# Gmail's web UI cannot hold two reply drafts in one thread, and a requester asked about
# several contacts hears from the connector one message at a time. After each step of an
# intro, settle_thread looks at the drafts to the requester of every intro of its request.
_TO_REQUESTER = (
    DraftKind.CONSENT,
    DraftKind.REMINDER,
    DraftKind.DECLINE_NOTE,
    DraftKind.EXPIRY_NOTE,
)
_NOTES = (DraftKind.DECLINE_NOTE, DraftKind.EXPIRY_NOTE)
# When nothing is in the thread, which draft goes first: the ask, then the notes (as one),
# then a reminder.
_GOES_FIRST = {
    DraftKind.CONSENT: 0,
    DraftKind.DECLINE_NOTE: 1,
    DraftKind.EXPIRY_NOTE: 1,
    DraftKind.REMINDER: 2,
}
_Records = list[tuple[str, Draft]]  # (intro id, its record) of one Gmail draft


class _Thread:
    """The intros of one request thread while they are settled: each one's latest state,
    and the actions decided for each so far, in order."""

    def __init__(self, members: Iterable[Intro]) -> None:
        self.intros = {m.id: m for m in members}
        self.actions: dict[str, list[Action]] = {}

    def put(self, intro: Intro, *actions: Action) -> None:
        self.intros[intro.id] = intro
        self.actions.setdefault(intro.id, []).extend(actions)

    def queued_now(self) -> set[str]:
        """The keys of the drafts queued while settling (their CreateDraft not yet stored)."""
        return {
            a.spec.key
            for actions in self.actions.values()
            for a in actions
            if isinstance(a, CreateDraft)
        }

    def transitions(self, first: str) -> list[Transition]:
        """Every intro that changed, ``first`` first. A draft held back or withdrawn before
        its CreateDraft was stored is never written: the action is dropped."""
        out = []
        for intro_id in sorted(self.actions, key=lambda i: i != first):
            intro = self.intros[intro_id]
            actions = tuple(a for a in self.actions[intro_id] if not self._unwanted(a))
            out.append(Transition(intro, actions))
        return out

    def _unwanted(self, action: Action) -> bool:
        if not isinstance(action, CreateDraft) or action.intro_id not in self.intros:
            return False
        record = self.intros[action.intro_id].draft(action.spec.key)
        return record is not None and record.state is not DraftState.QUEUED


def settle_thread(
    stepped: Transition, members: Sequence[Intro], now: datetime, rules: WorkflowRules
) -> list[Transition]:
    """One intro's step and what it means for the other intros of its request thread
    (``members``: all of them, as they were before the step). The step's transition comes
    first (with its actions, less any draft that must not be written now), then every other
    intro that changed. The request thread holds at most one introbot draft to the
    requester at a time:

    - a shared consent draft or reminder an intro stopped waiting for is rewritten for the
      others, or left to the connector (:func:`settle_shared_ask`);
    - a shared ask left unanswered for ``remind_after`` gets one reminder, naming the
      contacts still waiting, from whichever intro is still open (the one that wrote the
      ask may have ended);
    - notes to the requester (a contact declined, or never answered) not yet sent and
      untouched are one note about all of them: a second one rewrites the first;
    - anything else waits (held) while the thread holds a draft: the ask, a reminder, a
      note the connector edited or is sending (Undo or Schedule send). It is written once
      that one is sent or gone; when nothing is in the thread, the ask goes first, then
      the notes, then a reminder."""
    thread = _Thread(members)
    thread.put(stepped.intro, *stepped.actions)
    for shared in dict.fromkeys(d.shared for d in stepped.intro.drafts if d.shared):
        sharing = [i for i in thread.intros.values() if any(d.shared == shared for d in i.drafts)]
        for transition in settle_shared_ask(sharing, shared, now, rules):
            thread.put(transition.intro, *transition.actions)
    _remind_together(thread, now, rules)
    for requester in dict.fromkeys(i.requester.person.key for i in thread.intros.values()):
        ids = [i.id for i in thread.intros.values() if i.requester.person.key == requester]
        _one_draft(thread, ids, now, rules)
    return thread.transitions(stepped.intro.id)


def _remind_together(thread: _Thread, now: datetime, rules: WorkflowRules) -> None:
    """A shared ask nobody answered in ``remind_after``: one reminder, written by the first
    intro still waiting for it, about the contacts of those still waiting. Not when the
    requester wrote back (about any of them), nor when a reminder stands (sent, in Gmail,
    discarded by the connector); again when introbot withdrew the last one (its intro
    ended) and others still wait."""
    intros = list(thread.intros.values())
    asks = dict.fromkeys(
        d.shared
        for i in intros
        for d in i.drafts_of(DraftKind.CONSENT, Role.REQUESTER)
        if d.shared and d.state is DraftState.SENT
    )
    for shared in asks:
        sharing = [
            i
            for i in intros
            if any(d.shared == shared for d in i.drafts_of(DraftKind.CONSENT, Role.REQUESTER))
        ]
        if any(i.requester.consent in (Consent.YES, Consent.NO, Consent.UNCLEAR) for i in sharing):
            continue  # they wrote back: nothing to remind them of
        due = [
            i
            for i in sharing
            if i.stage is Stage.ASKING
            and i.requester.consent is Consent.ASKED
            and i.requester.asked_at is not None
            and now - i.requester.asked_at >= rules.remind_after
        ]
        made = [d for i in sharing for d in i.drafts_of(DraftKind.REMINDER, Role.REQUESTER)]
        if due and all(d.state is DraftState.WITHDRAWN for d in made):
            _remind(thread, [thread.intros[i.id] for i in due], now, rules)


def _remind(thread: _Thread, due: Sequence[Intro], now: datetime, rules: WorkflowRules) -> None:
    """Queue one reminder to the requester about the contacts of ``due``."""
    intros = [i.with_party(replace(i.requester, reminded=True)) for i in due]
    spec = compose.several_reminder_spec(intros, rules)
    named = compose.contact_names(intros, rules)
    asked_at = intros[0].requester.asked_at or now
    why = f"no reply from the requester in {(now - asked_at).days} days: a reminder about {named}"
    for intro, actions in _share(intros, spec, [DraftKind.REMINDER] * len(intros), rules):
        thread.put(intro, *actions, _note(intro, why))


def _share(
    intros: Sequence[Intro], spec: DraftSpec, kinds: Sequence[DraftKind], rules: WorkflowRules
) -> list[tuple[Intro, list[Action]]]:
    """One draft to the requester (``spec``, written by the first) recorded by each of
    ``intros`` (of its kind in ``kinds``), all naming the first's key when more than one."""
    out: list[tuple[Intro, list[Action]]] = []
    for n, (intro, kind) in enumerate(zip(intros, kinds, strict=True)):
        key = spec.key if n == 0 else compose.draft_key(intro, kind, Role.REQUESTER, rules)
        record = Draft(
            key=key,
            kind=kind,
            to=Role.REQUESTER,
            thread_id=spec.thread_id,
            subject=spec.subject or "",
            shared=spec.key if len(intros) > 1 else None,
        )
        out.append((intro.with_draft(record), [CreateDraft(intro.id, spec)] if n == 0 else []))
    return out


def _one_draft(thread: _Thread, ids: Sequence[str], now: datetime, rules: WorkflowRules) -> None:
    """At most one introbot draft to the requester of intros ``ids`` (one request, one
    requester): see :func:`settle_thread`."""
    queued_now = thread.queued_now()
    drafts: dict[str, _Records] = {}
    for intro_id in ids:
        for d in thread.intros[intro_id].drafts:
            if d.to is Role.REQUESTER and d.kind in _TO_REQUESTER and d.open:
                drafts.setdefault(d.shared or d.key, []).append((intro_id, d))

    def new(k: str) -> bool:  # decided just now: may still be held back
        return k in queued_now and all(d.state is DraftState.QUEUED for _, d in drafts[k])

    def held(k: str) -> bool:
        return all(d.state is DraftState.HELD for _, d in drafts[k])

    def note(k: str) -> bool:
        return drafts[k][0][1].kind in _NOTES

    def fresh(k: str) -> bool:  # a note as introbot wrote it, not on its way out
        return note(k) and all(
            d.state in (DraftState.QUEUED, DraftState.CREATED) and not d.edited
            for _, d in drafts[k]
        )

    settled = [k for k in drafts if not held(k) and not new(k)]
    coming = [k for k in drafts if held(k) or new(k)]
    if not coming:
        return
    if any(not fresh(k) for k in settled):  # the ask, a reminder, a note you touched
        occupant = drafts[next(k for k in settled if not fresh(k))][0][1]
        for k in coming:
            if new(k):
                _hold(thread, drafts[k], occupant)
        return
    if settled:  # notes as introbot wrote them: new notes join them, the rest waits
        notes = [*settled, *(k for k in coming if note(k))]
        if len(notes) > 1:
            _merge(thread, [drafts[k] for k in notes], rules)
        for k in coming:
            if not note(k) and new(k):
                _hold(thread, drafts[k], drafts[settled[0]][0][1])
        return
    rank = min(_GOES_FIRST[drafts[k][0][1].kind] for k in coming)
    going = [k for k in coming if _GOES_FIRST[drafts[k][0][1].kind] == rank]
    if note(going[0]) and len(going) > 1:
        _merge(thread, [drafts[k] for k in going], rules)
    else:
        going = going[:1]
        if held(going[0]):
            _release(thread, drafts[going[0]], now, rules)
    first = drafts[going[0]][0][1]
    for k in coming:
        if k not in going and new(k):
            _hold(thread, drafts[k], first)


def _hold(thread: _Thread, records: _Records, occupant: Draft) -> None:
    """A draft decided just now waits: the thread holds ``occupant``. Never an ask: it goes
    first whenever it is written (only a request labeled again, beside a note not yet
    sent, could meet one), and a held ask could not be written again as it was."""
    if records[0][1].kind is DraftKind.CONSENT:
        return
    for n, (intro_id, draft) in enumerate(records):
        intro = _set_draft(
            thread.intros[intro_id], draft, "held back: its thread holds another draft"
        )
        why = (
            f"the {draft.kind.value} draft to the requester waits: the request thread holds the "
            f"{occupant.kind.value} draft; introbot writes it once that one is sent or gone"
        )
        thread.put(intro, *([_note(intro, why)] if n == 0 else []))


def _release(thread: _Thread, records: _Records, now: datetime, rules: WorkflowRules) -> None:
    """The thread is free: a held draft is written now, as things stand now (a reminder
    names only the contacts still waiting; nobody waiting, none is written)."""
    (lead_id, lead), *_ = records
    if lead.kind is DraftKind.REMINDER:
        for intro_id, draft in records:
            thread.put(_set_draft(thread.intros[intro_id], draft, "withdrawn", shared=None))
        waiting = [
            thread.intros[i]
            for i, _ in records
            if thread.intros[i].stage is Stage.ASKING
            and thread.intros[i].requester.consent is Consent.ASKED
        ]
        if not waiting:
            return
        sent = compose.sent_consent(waiting[0], Role.REQUESTER)
        if sent is not None and sent.shared is not None:
            _remind(thread, waiting, now, rules)
        else:
            intro, action = _queue(
                waiting[0], compose.reminder_spec(waiting[0], Role.REQUESTER, rules), Role.REQUESTER
            )
            thread.put(intro, action, _note(intro, "the request thread is free: reminder drafted"))
        return
    intro = thread.intros[lead_id]
    spec = replace(compose.reply_spec(intro, lead.kind, Role.REQUESTER, rules), key=lead.key)
    intro = _set_draft(
        intro, lead, "its thread is free", thread_id=spec.thread_id, subject=spec.subject or ""
    )
    why = f"the request thread is free: the {lead.kind.value} draft is written"
    thread.put(intro, CreateDraft(intro.id, spec), _note(intro, why))


def _merge(thread: _Thread, notes: Sequence[_Records], rules: WorkflowRules) -> None:
    """Notes to the requester (each not sent, as introbot wrote it, or held) written again as
    one note about every contact they were about: the old ones deleted first."""
    covered = list(dict.fromkeys(intro_id for records in notes for intro_id, _ in records))
    kinds = {intro_id: draft.kind for records in notes for intro_id, draft in records}
    deletes: list[Action] = []
    for records in notes:
        carriers = [r for r in records if r[1].draft_id]
        carriers.sort(key=lambda r: r[1].key != (r[1].shared or r[1].key))
        if carriers:
            deletes.append(DeleteDraft(carriers[0][0], carriers[0][1].key))
        for intro_id, draft in records:
            intro = thread.intros[intro_id]
            current = intro.draft(draft.key) or draft
            thread.put(_set_draft(intro, current, "withdrawn", shared=None))
    intros = [thread.intros[i] for i in covered]
    spec = compose.several_notes_spec(intros, rules)
    named = compose.contact_names(intros, rules)
    why = f"one note to the requester about {named}: their notes are written as one"
    shared = _share(intros, spec, [kinds[i] for i in covered], rules)
    for n, (intro, actions) in enumerate(shared):
        thread.put(intro, *(deletes if n == 0 else []), *actions, _note(intro, why))


# ----------------------------------------------------------------- consent outcomes
def _consent_yes(
    intro: Intro,
    role: Role,
    event: str,
    evidence: str,
    words: str,
    assistant: str | None,
    now: datetime,
    rules: WorkflowRules,
) -> Transition:
    party = intro.party(role)
    intro = _set_consent(
        intro,
        role,
        event,
        evidence=evidence,
        words=words or party.words,
        assistant=assistant,
        answered_at=now,
    )
    actions: list[Action] = [_note(intro, f"{role.value} said yes ({evidence})")]
    # The party answered: a reminder not yet sent is moot.
    for draft in intro.drafts_of(DraftKind.REMINDER, role):
        if draft.open:
            intro, deleting = _withdraw(intro, draft)
            actions += deleting
    if role is Role.REQUESTER and intro.contact.consent is Consent.NOT_ASKED:
        intro, action = _ask(intro, Role.CONTACT, rules)
        actions += [action, _note(intro, "requester agreed: the contact's consent draft is next")]
    intro = replace(intro, attention=_attention(intro))
    if intro.requester.consent is Consent.YES and intro.contact.consent is Consent.YES:
        intro, withdrawn = _withdraw_open(intro)
        intro = replace(_move_stage(intro, "both said yes"), attention=None)
        intro, action = _queue(intro, compose.joint_spec(intro, rules), None)
        actions += [*withdrawn, action, _note(intro, "both said yes: the introduction is drafted")]
    return Transition(intro, tuple(actions))


def _consent_no(
    intro: Intro,
    role: Role,
    event: str,
    evidence: str,
    now: datetime,
    rules: WorkflowRules,
    words: str = "",
) -> Transition:
    """A no. Their words are kept for the connector's record only: no template gets them."""
    party = intro.party(role)
    intro = _set_consent(
        intro, role, event, evidence=evidence, words=words or party.words, answered_at=now
    )
    intro, actions = _withdraw_open(intro)
    intro = _close(intro, "a party said no", now)
    actions.append(_note(intro, f"{role.value} said no ({evidence})"))
    other = intro.party(role.other)
    if role is Role.CONTACT and _requester_waiting(intro):
        intro, action = _reply_to(intro, DraftKind.DECLINE_NOTE, Role.REQUESTER, rules)
        actions.append(action)
    elif role is Role.REQUESTER and other.consent in (Consent.ASKED, Consent.UNCLEAR, Consent.YES):
        intro, action = _reply_to(intro, DraftKind.THANKS_NOTE, Role.CONTACT, rules)
        actions.append(action)
    return Transition(intro, tuple(actions))


def _requester_waiting(intro: Intro) -> bool:
    """The requester knows about this intro: they asked for it, or heard from us."""
    requester = intro.requester
    asked_us = intro.request.author.key == requester.person.key
    heard = requester.consent in (Consent.ASKED, Consent.UNCLEAR, Consent.YES)
    return requester.consent is not Consent.NO and (asked_us or heard)


def _unclear(intro: Intro, role: Role, reason: str, message_id: str | None = None) -> Transition:
    party = intro.party(role)
    ids = (*party.reply_ids, message_id) if message_id else party.reply_ids
    intro = _set_consent(intro, role, "a reply in doubt", evidence=reason, reply_ids=ids)
    intro = replace(intro, attention=_attention(intro))
    return Transition(intro, (_note(intro, f"needs attention: {role.value}: {reason}"),))


# --------------------------------------------------------------------- the handlers
Handler = Callable[[Intro, Any, datetime, WorkflowRules], Transition]


def _known_draft(intro: Intro, observation: Any) -> Draft:
    draft = intro.draft(observation.key)
    if draft is None:
        raise InvalidTransition(intro, observation, f"no draft {observation.key} in this intro")
    return draft


def _draft_created(
    intro: Intro, obs: DraftCreated, now: datetime, rules: WorkflowRules
) -> Transition:
    draft = _known_draft(intro, obs)
    if draft.draft_id == obs.draft_id:
        return Transition(intro)  # a replay
    ids: dict[str, Any] = {
        "draft_id": obs.draft_id,
        "message_id": obs.message_id,
        "thread_id": obs.thread_id,
    }
    if draft.state is DraftState.QUEUED:
        intro = _set_draft(intro, draft, "written in Gmail", **ids)
    else:
        intro = intro.with_draft(replace(draft, **ids))
    to = draft.to if draft.kind is DraftKind.CONSENT else None
    if to is not None and intro.party(to).consent is Consent.DRAFTING:
        intro = _set_consent(intro, to, "consent draft in Gmail")
    actions: tuple[Action, ...] = (_note(intro, f"{draft.kind.value} draft ready in Gmail"),)
    if (
        draft.state is DraftState.WITHDRAWN and draft.shared is None
    ):  # moved on while it was written
        actions = (DeleteDraft(intro.id, draft.key),)
    return Transition(intro, actions)


def _draft_edited(
    intro: Intro, obs: DraftEdited, now: datetime, rules: WorkflowRules
) -> Transition:
    draft = _known_draft(intro, obs)
    if draft.message_id == obs.message_id and draft.state is not DraftState.PENDING:
        return Transition(intro)
    # Undone (a new draft id): the same message back, not an edit of the connector's.
    edited = draft.message_id != obs.message_id and obs.draft_id is None
    changes: dict[str, Any] = {
        "gone_at": None,
        "message_id": obs.message_id,
        "thread_id": obs.thread_id,
        "edited": draft.edited or edited,
    }
    if obs.draft_id is not None:
        changes["draft_id"] = obs.draft_id
    if draft.state is DraftState.PENDING:
        intro = _set_draft(intro, draft, "back in Drafts", **changes)
    else:
        intro = intro.with_draft(replace(draft, **changes))
    notes = [_note(intro, f"you edited the {draft.kind.value} draft")]
    if draft.state is DraftState.PENDING or obs.draft_id is not None:
        notes = [_note(intro, f"the {draft.kind.value} draft is back in Drafts")]
    missing = _left_out(intro, draft, obs.recipients)
    if missing and draft.state in (DraftState.CREATED, DraftState.PENDING):
        intro = replace(
            intro,
            attention=f"the {draft.kind.value} draft was edited to leave out {missing}",
        )
        notes.append(_note(intro, intro.attention or ""))
    return Transition(intro, tuple(notes))


def _left_out(intro: Intro, draft: Draft, recipients: tuple[str, ...] | None) -> str:
    """Whom of the draft's parties the connector's recipients leave out ('' for nobody)."""
    if recipients is None:
        return ""
    sent_to = {address_key(r) for r in recipients}
    roles = (Role.REQUESTER, Role.CONTACT) if draft.to is None else (draft.to,)
    if draft.kind is DraftKind.PROBLEM_NOTE or (
        draft.to is None and draft.kind is not DraftKind.JOINT
    ):
        return ""
    missing = [intro.party(r) for r in roles if intro.party(r).person.key not in sent_to]
    return ", ".join(f"the {p.role.value} {p.person.email}" for p in missing)


def _draft_gone(intro: Intro, obs: DraftGone, now: datetime, rules: WorkflowRules) -> Transition:
    """The draft left Drafts with no sent copy (yet): pending, not discarded, for the grace
    period (Undo send, Schedule send, another mail client)."""
    draft = _known_draft(intro, obs)
    if draft.state is not DraftState.CREATED:
        return Transition(intro)  # a replay, or already decided
    intro = _set_draft(intro, draft, "left Drafts", gone_at=obs.at)
    days = rules.pending_grace.days
    why = f"the {draft.kind.value} draft left Drafts, no sent copy yet: waiting up to {days} days"
    return Transition(intro, (_note(intro, why),))


def _pending_expired(intro: Intro, now: datetime, rules: WorkflowRules) -> Transition:
    """Drafts pending longer than the grace period count as discarded now."""
    actions: list[Action] = []
    for draft in intro.drafts:
        if draft.state is not DraftState.PENDING or draft.gone_at is None:
            continue
        if now - draft.gone_at < rules.pending_grace:
            continue
        handler = TRANSITIONS[intro.stage][DraftDiscarded]
        result = handler(intro, DraftDiscarded(draft.key), now, rules)
        intro, actions = result.intro, [*actions, *result.actions]
    return Transition(intro, tuple(actions))


def _record_sent(intro: Intro, draft: Draft, obs: DraftSent) -> Intro:
    return _set_draft(
        intro,
        draft,
        "sent",
        thread_id=obs.thread_id,
        sent_message_id=obs.message_id,
        sent_rfc822_id=obs.rfc822_id,
        sent_at=obs.at,
        subject=obs.subject or draft.subject,
        gone_at=None,
    )


def _sending(intro: Intro, obs: DraftSent) -> tuple[Intro, Draft] | None:
    """The intro with the draft recorded as sent (and the draft as it was); None for a replay."""
    draft = _known_draft(intro, obs)
    if draft.state is DraftState.SENT:
        return None
    if draft.state is DraftState.QUEUED:
        raise InvalidTransition(intro, obs, "a draft cannot be sent before it was created")
    return _record_sent(intro, draft, obs), draft


def _discarding(intro: Intro, obs: DraftDiscarded) -> tuple[Intro, Draft] | None:
    """The intro with the draft marked discarded (and the draft); None for a replay."""
    draft = _known_draft(intro, obs)
    if draft.state in (DraftState.DISCARDED, DraftState.WITHDRAWN):
        return None
    if draft.state is DraftState.SENT:
        raise InvalidTransition(intro, obs, "a sent draft cannot be discarded")
    if draft.state is DraftState.QUEUED:
        raise InvalidTransition(intro, obs, "a draft cannot be discarded before it was created")
    return _set_draft(intro, draft, "discarded"), draft


def _asking_draft_sent(
    intro: Intro, obs: DraftSent, now: datetime, rules: WorkflowRules
) -> Transition:
    kind = _known_draft(intro, obs).kind
    if kind in (
        DraftKind.JOINT,
        DraftKind.DECLINE_NOTE,
        DraftKind.THANKS_NOTE,
        DraftKind.EXPIRY_NOTE,
    ):
        raise InvalidTransition(intro, obs, f"a {kind.value} draft cannot exist while asking")
    sending = _sending(intro, obs)
    if sending is None:
        return Transition(intro)
    intro, draft = sending
    if draft.kind is DraftKind.CONSENT and draft.to is not None:
        party = intro.party(draft.to)
        notes = [_note(intro, f"consent message to the {draft.to.value} sent")]
        sent_to = {address_key(r) for r in obs.recipients}
        if len(sent_to) == 1 and party.person.key not in sent_to:
            # The connector put one other address in place of the party's: a correction,
            # theirs is the one to trust (the connector's hand decides).
            (address,) = obs.recipients
            notes.append(
                _note(intro, f"sent to {address} instead of {party.person.email}: using {address}")
            )
            party = replace(party, person=Person(party.person.name, address))
        elif obs.recipients and sent_to != {party.person.key}:
            # Someone added or in place of several: who was asked is the connector's to say,
            # not ours to guess. The party's answer waits for their decision.
            reason = f"the consent message was sent to {', '.join(sorted(sent_to))}"
            intro = intro.with_party(party)
            intro = _set_consent(
                intro, draft.to, "consent message sent to others", evidence=reason, asked_at=obs.at
            )
            intro = replace(intro, attention=_attention(intro))
            return Transition(intro, (*notes, _note(intro, f"needs attention: {reason}")))
        intro = intro.with_party(party)
        if party.consent in (Consent.DRAFTING, Consent.DRAFTED):
            intro = _set_consent(intro, draft.to, "consent message sent", asked_at=obs.at)
        return Transition(intro, tuple(notes))
    return Transition(intro, (_note(intro, f"{draft.kind.value} sent"),))


def _asking_draft_discarded(
    intro: Intro, obs: DraftDiscarded, now: datetime, rules: WorkflowRules
) -> Transition:
    kind = _known_draft(intro, obs).kind
    if kind not in (DraftKind.CONSENT, DraftKind.REMINDER):
        raise InvalidTransition(intro, obs, f"a {kind.value} draft cannot exist while asking")
    discarding = _discarding(intro, obs)
    if discarding is None:
        return Transition(intro)
    intro, draft = discarding
    if draft.kind is DraftKind.REMINDER:
        return Transition(intro, (_note(intro, "you discarded the reminder"),))
    intro, actions = _withdraw_open(intro)
    intro = _close(intro, "a consent draft was discarded", now)
    to = draft.to.value if draft.to else "?"
    why = f"cancelled: you discarded the consent draft to the {to}"
    return Transition(intro, (*actions, _note(intro, why)))


def _asking_reply(
    intro: Intro, obs: ReplyReceived, now: datetime, rules: WorkflowRules
) -> Transition:
    party = intro.party(obs.role)
    if obs.message_id in party.reply_ids:
        return Transition(intro)  # a replay
    if party.consent in (Consent.NOT_ASKED, Consent.DRAFTING, Consent.DRAFTED):
        raise InvalidTransition(intro, obs, f"the {obs.role.value} was not asked yet")
    if party.consent is Consent.YES and obs.verdict is not Verdict.NO:
        return _late_reply(intro, obs, now, rules)
    intro = intro.with_party(replace(party, reply_ids=(*party.reply_ids, obs.message_id)))
    if obs.verdict is Verdict.AUTO_REPLY:
        return Transition(
            intro, (_note(intro, f"auto-reply from the {obs.role.value} ignored ({obs.evidence})"),)
        )
    if obs.verdict is Verdict.BOUNCE:
        failed = ", ".join(obs.failed_recipients) or party.person.email
        return _unclear(intro, obs.role, f"the consent message bounced ({failed})")
    if address_key(obs.sender) != party.person.key:
        return _unclear(
            intro, obs.role, f"a reply from another address ({obs.sender}): {obs.verdict.value}"
        )
    if obs.verdict is Verdict.YES and not vouched_for(obs.authenticated):
        return _unclear(intro, obs.role, f"a yes Gmail did not authenticate ({obs.evidence})")
    if obs.verdict is Verdict.YES:
        return _consent_yes(
            intro,
            obs.role,
            "an authenticated yes",
            obs.evidence,
            obs.words,
            obs.assistant,
            now,
            rules,
        )
    if obs.verdict is Verdict.NO:
        return _consent_no(intro, obs.role, "a no", obs.evidence, now, rules, obs.text)
    return _unclear(intro, obs.role, obs.evidence)


def _asking_decision(
    intro: Intro, obs: Decision, now: datetime, rules: WorkflowRules
) -> Transition:
    party = intro.party(obs.role)
    if obs.consent not in (Consent.YES, Consent.NO):
        raise InvalidTransition(intro, obs, "a decision is yes or no")
    if party.consent is obs.consent:
        return Transition(intro)
    evidence = f"decided by you ({obs.source})"
    if obs.consent is Consent.NO:
        return _consent_no(intro, obs.role, "the connector decides no", evidence, now, rules)
    actions: list[Action] = []
    if party.consent in (Consent.DRAFTING, Consent.DRAFTED):
        for draft in intro.drafts_of(DraftKind.CONSENT, obs.role):
            if draft.open:  # no need to ask any more (a shared ask: settle_shared_ask)
                intro, deleting = _withdraw(intro, draft)
                actions += deleting
    result = _consent_yes(
        intro,
        obs.role,
        "the connector decides yes",
        evidence,
        party.words,
        party.assistant,
        now,
        rules,
    )
    return Transition(result.intro, (*actions, *result.actions))


def _cancel(intro: Intro, obs: Cancel, now: datetime, rules: WorkflowRules) -> Transition:
    intro, actions = _withdraw_open(intro)
    intro = _close(intro, "cancel", now)
    return Transition(intro, (*actions, _note(intro, f"cancelled: {obs.reason}")))


#: Why an intro is cancelled when its request leaves introbot's hands in Gmail.
GONE_REASONS = {
    Gone.UNLABELED: "the request label was removed",
    Gone.TRASHED: "the request thread was moved to the trash",
    Gone.DELETED: "the request message was deleted",
}


def _request_gone(
    intro: Intro, obs: RequestGone, now: datetime, rules: WorkflowRules
) -> Transition:
    """The connector unlabeled, trashed or deleted the request: its open intros are
    cancelled, as by ``introbot cancel``."""
    return _cancel(intro, Cancel(GONE_REASONS[obs.how]), now, rules)


def _asking_tick(intro: Intro, obs: Tick, now: datetime, rules: WorkflowRules) -> Transition:
    actions: list[Action] = []
    for role in (Role.REQUESTER, Role.CONTACT):
        party = intro.party(role)
        if party.consent is not Consent.ASKED or party.asked_at is None:
            continue
        waited = now - party.asked_at
        if waited >= rules.expire_after:
            return _expire(intro, role, now, rules)
        if waited >= rules.remind_after and not party.reminded:
            intro = intro.with_party(replace(party, reminded=True))
            sent = compose.sent_consent(intro, role)
            if sent is not None and sent.shared is not None:
                # One ask about several contacts: one reminder, about the contacts still
                # waiting, whichever intro is left to write it (settle_thread).
                actions.append(_note(intro, "the reminder for the shared ask is due"))
                continue
            intro, action = _queue(intro, compose.reminder_spec(intro, role, rules), role)
            actions += [
                action,
                _note(
                    intro, f"no reply from the {role.value} in {waited.days} days: reminder drafted"
                ),
            ]
    return Transition(intro, tuple(actions))


def _expire(intro: Intro, silent: Role, now: datetime, rules: WorkflowRules) -> Transition:
    intro, actions = _withdraw_open(intro)
    intro = _close(intro, "no reply in expire_after", now)
    actions.append(
        _note(intro, f"expired: no reply from the {silent.value} in {rules.expire_after.days} days")
    )
    if silent is Role.CONTACT and _requester_waiting(intro):
        intro, action = _reply_to(intro, DraftKind.EXPIRY_NOTE, Role.REQUESTER, rules)
        actions.append(action)
    return Transition(intro, tuple(actions))


def _ready_draft_sent(
    intro: Intro, obs: DraftSent, now: datetime, rules: WorkflowRules
) -> Transition:
    sending = _sending(intro, obs)
    if sending is None:
        return Transition(intro)
    intro, draft = sending
    if draft.kind is DraftKind.JOINT:
        missing = _left_out(intro, draft, obs.recipients or None)
        if missing:
            intro = replace(intro, attention=f"the introduction was sent without {missing}")
            return Transition(intro, (_note(intro, intro.attention or ""),))
        intro = _close(intro, "the introduction was sent", now)
        return Transition(intro, (_note(intro, "introduced: you sent the introduction"),))
    return _sent_after_moving_on(intro, draft)


def _sent_after_moving_on(intro: Intro, draft: Draft) -> Transition:
    if draft.state is DraftState.WITHDRAWN or draft.kind in (DraftKind.CONSENT, DraftKind.REMINDER):
        intro = replace(
            intro, attention=f"a {draft.kind.value} draft was sent after the intro moved on"
        )
        return Transition(intro, (_note(intro, intro.attention or ""),))
    return Transition(intro, (_note(intro, f"{draft.kind.value} sent"),))


def _ready_draft_discarded(
    intro: Intro, obs: DraftDiscarded, now: datetime, rules: WorkflowRules
) -> Transition:
    discarding = _discarding(intro, obs)
    if discarding is None:
        return Transition(intro)
    intro, draft = discarding
    if draft.kind is not DraftKind.JOINT:
        why = f"you discarded a {draft.kind.value} draft"
        return Transition(intro, (_note(intro, why),))
    intro = _close(intro, "the introduction draft was discarded", now)
    why = "cancelled: you discarded the introduction draft"
    return Transition(intro, (_note(intro, why),))


def _ready_reply(
    intro: Intro, obs: ReplyReceived, now: datetime, rules: WorkflowRules
) -> Transition:
    """Both said yes and the introduction waits in Drafts: a no, or a reply in doubt, from
    either party takes it back (deleted if the connector left it as introbot wrote it; if
    they edited it, it stays and the connector must look)."""
    party = intro.party(obs.role)
    if obs.message_id in party.reply_ids:
        return Transition(intro)
    own = address_key(obs.sender) == party.person.key
    if obs.verdict in (Verdict.YES, Verdict.AUTO_REPLY) and (
        own or obs.verdict is Verdict.AUTO_REPLY
    ):
        return _late_reply(intro, obs, now, rules)
    declined = obs.verdict is Verdict.NO and own
    if declined:
        evidence = obs.evidence
    elif obs.verdict is Verdict.BOUNCE:
        evidence = (
            f"a bounce after the yes ({', '.join(obs.failed_recipients) or party.person.email})"
        )
    elif not own:
        evidence = f"a reply from another address ({obs.sender}) after the yes: {obs.verdict.value}"
    else:
        evidence = f"a reply after the yes that needs reading: {obs.evidence}"
    intro = intro.with_party(replace(party, reply_ids=(*party.reply_ids, obs.message_id)))
    joint = [d for d in intro.drafts_of(DraftKind.JOINT) if d.open]
    untouched = all(d.state is not DraftState.PENDING and not d.edited for d in joint)
    if declined and untouched:
        return _consent_no(intro, obs.role, "a no", evidence, now, rules, obs.text)
    event = "a no" if declined else "a reply in doubt"
    intro = _set_consent(intro, obs.role, event, evidence=evidence, answered_at=now)
    if untouched:
        intro, actions = _withdraw_open(intro)
        intro = _move_stage(intro, "a reply in doubt after both said yes")
        intro = replace(intro, attention=_attention(intro))
        why = f"the {obs.role.value} wrote again after both said yes: the joint draft is withdrawn"
        return Transition(
            intro, (*actions, _note(intro, why), _note(intro, f"needs attention: {evidence}"))
        )
    said = "said no" if declined else "wrote again"
    intro = replace(
        intro,
        attention=(
            f"the {obs.role.value} {said} after both said yes ({evidence}), and the "
            "introduction draft was edited or is being sent: introbot left it to you"
        ),
    )
    return Transition(intro, (_note(intro, intro.attention or ""),))


def _ready_decision(intro: Intro, obs: Decision, now: datetime, rules: WorkflowRules) -> Transition:
    if obs.consent is Consent.YES:
        party = intro.party(obs.role)
        if party.consent is Consent.YES:
            return Transition(intro)
        evidence = f"decided by you ({obs.source})"
        intro = _set_consent(intro, obs.role, "the connector decides yes", evidence=evidence)
        intro = replace(intro, attention=_attention(intro))
        return Transition(intro, (_note(intro, f"{obs.role.value} said yes ({evidence})"),))
    if obs.consent is not Consent.NO:
        raise InvalidTransition(intro, obs, "a decision is yes or no")
    evidence = f"decided by you ({obs.source})"
    return _consent_no(intro, obs.role, "the connector decides no", evidence, now, rules)


def _late_reply(
    intro: Intro, obs: ReplyReceived, now: datetime, rules: WorkflowRules
) -> Transition:
    party = intro.party(obs.role)
    if obs.message_id in party.reply_ids:
        return Transition(intro)
    intro = intro.with_party(replace(party, reply_ids=(*party.reply_ids, obs.message_id)))
    text = f"later message from the {obs.role.value} ({obs.verdict.value}): nothing to do"
    if intro.stage is Stage.EXPIRED and obs.verdict is Verdict.YES:
        intro = replace(intro, attention=f"the {obs.role.value} said yes after the intro expired")
        text = intro.attention or text
    return Transition(intro, (_note(intro, text),))


def _closed_draft_created(
    intro: Intro, obs: DraftCreated, now: datetime, rules: WorkflowRules
) -> Transition:
    return _draft_created(intro, obs, now, rules)


def _closed_draft_sent(
    intro: Intro, obs: DraftSent, now: datetime, rules: WorkflowRules
) -> Transition:
    sending = _sending(intro, obs)
    return Transition(intro) if sending is None else _sent_after_moving_on(*sending)


def _closed_draft_discarded(
    intro: Intro, obs: DraftDiscarded, now: datetime, rules: WorkflowRules
) -> Transition:
    discarding = _discarding(intro, obs)
    if discarding is None:
        return Transition(intro)
    intro, draft = discarding
    return Transition(intro, (_note(intro, f"you discarded the {draft.kind.value} draft"),))


def _draft_failed(
    intro: Intro, obs: DraftFailed, now: datetime, rules: WorkflowRules
) -> Transition:
    """A draft could not be written (an address that cannot be encoded, a template error):
    the connector must look; the intro waits where it is."""
    draft = _known_draft(intro, obs)
    if obs.deleting:  # the draft stays in Gmail: the connector must delete it there
        why = f"Gmail refused to delete the {draft.kind.value} draft ({obs.reason}): delete it"
        intro = replace(intro, attention=why + " in Gmail, unsent")
        return Transition(intro, (_note(intro, intro.attention or ""),))
    if draft.state is DraftState.FAILED:
        return Transition(intro)
    intro = _set_draft(intro, draft, "could not be written")
    intro = replace(intro, attention=f"could not write the {draft.kind.value} draft: {obs.reason}")
    return Transition(intro, (_note(intro, intro.attention or ""),))


def _finished_in_gmail(
    intro: Intro, obs: FinishedInGmail, now: datetime, rules: WorkflowRules
) -> Transition:
    """Gmail is the ground truth for what is finished: an open intro whose request Gmail
    labels finished closes as Gmail says, its unsent drafts withdrawn. Nobody is asked
    again; a closed intro is never opened by this."""
    if not obs.stage.closed:
        raise InvalidTransition(intro, obs, f"{obs.stage.value} is not an ending")
    intro, actions = _withdraw_open(intro)
    said = f"Gmail labels the request {STAGE_LABELS[obs.stage]}: closed as {obs.stage.value}"
    if obs.stage is Stage.INTRODUCED:  # both agreed, or the introduction was not sent
        for role in (Role.REQUESTER, Role.CONTACT):
            intro = _set_consent(intro, role, _GMAIL_SHOWS[Stage.INTRODUCED], evidence=said)
    intro = replace(_close(intro, _GMAIL_SHOWS[obs.stage], now), attention=obs.attention)
    notes = [_note(intro, said)] + ([_note(intro, obs.attention)] if obs.attention else [])
    return Transition(intro, (*actions, *notes))


def _needs_attention(
    intro: Intro, obs: Attention, now: datetime, rules: WorkflowRules
) -> Transition:
    if intro.attention == obs.why:
        return Transition(intro)  # a replay
    intro = replace(intro, attention=obs.why)
    return Transition(intro, (_note(intro, f"needs attention: {obs.why}"),))


def _nothing(intro: Intro, obs: Any, now: datetime, rules: WorkflowRules) -> Transition:
    return Transition(intro)


def _closed_refuses(intro: Intro, obs: Any, now: datetime, rules: WorkflowRules) -> Transition:
    raise InvalidTransition(intro, obs, f"the intro is already {intro.stage.value}")


def queued_record(intro: Intro | None, key: str) -> Draft | None:
    """The intro's record of draft ``key`` while it still waits to be written (queued);
    None when no intro records it (a note to the connector), or it was held back,
    withdrawn or written since."""
    record = intro.draft(key) if intro is not None else None
    return record if record is not None and record.state is DraftState.QUEUED else None


# How long a retried create waits for the sent copy of a draft Gmail made and that left
# Drafts before introbot recorded it: Undo send holds a copy back 30 s at most (Gmail's
# longest setting), counted here from when introbot first saw the draft gone, which is after
# the send; four times that covers a slow send queue and polls that come late.
UNDO_SEND_WAIT = timedelta(minutes=2)

# How long introbot remembers a draft message of its own (Store.keep_own_messages). The
# memory is read only to tell, in history since the cursor, its drafts added and gone from
# one a killed create left (Sync.draft_left_since_cursor): a row matters while its draft's
# messageAdded can still be listed, i.e. the cursor is older than that and Gmail still
# serves history from it. "A historyId is typically valid for at least a week, but in some
# rare circumstances may be valid for only a few hours" (users.history.list reference; an
# expired cursor answers 404 and nothing is read): four weeks is four times that, and far
# past UNDO_SEND_WAIT. A row forgotten too soon costs at most one retried create that
# waits UNDO_SEND_WAIT before writing: never a cancel, never a second ask.
OWN_MESSAGES_KEPT = timedelta(days=28)


def lost_draft_waits(left_drafts_at: datetime | None, now: datetime) -> bool:
    """Does a retried create (introbot was killed after Gmail's drafts.create answered,
    before it recorded the draft) that finds neither the draft nor its sent copy wait
    before writing it? ``left_drafts_at``: when introbot first saw history show a draft
    added and gone that may be it (not one of introbot's own, in the draft's thread, no
    message sent in that thread since), None for no such trace.

    It waits :data:`UNDO_SEND_WAIT` from then, the longest an Undo-send copy can take to
    appear: written meanwhile, the copy would be a second ask. Past the wait, with no copy
    found, the draft is written after all, never recorded as discarded. The trace cannot
    tell Undo send from a discard, nor our draft from one the connector wrote and discarded
    themselves meanwhile (a deleted message cannot be read), and a discarded consent draft
    cancels the intro: cancelling on that guess would end an intro nobody cancelled, while
    writing the draft again costs at worst a second draft the connector sees in Drafts and
    can delete (a draft sent with Schedule send, whose copy comes days later, is the one
    case where both may be sent; without this wait it was written again at once anyway)."""
    return left_drafts_at is not None and now - left_drafts_at < UNDO_SEND_WAIT


def still_wanted(intro: Intro | None, key: str) -> bool:
    """Is a queued draft still to be written as it was queued? One the workflow held back
    or withdrawn since (:func:`settle_thread`) never is; a note no intro records always is."""
    return intro is None or intro.draft(key) is None or queued_record(intro, key) is not None


# ------------------------------------------------------------------------ the table
_OPEN: dict[type, Handler] = {
    DraftCreated: _draft_created,
    DraftEdited: _draft_edited,
    DraftFailed: _draft_failed,
    DraftGone: _draft_gone,
    Cancel: _cancel,
    RequestGone: _request_gone,
    Attention: _needs_attention,
    FinishedInGmail: _finished_in_gmail,
}
_CLOSED: dict[type, Handler] = {
    DraftCreated: _closed_draft_created,
    DraftEdited: _draft_edited,
    DraftFailed: _draft_failed,
    DraftGone: _draft_gone,
    DraftSent: _closed_draft_sent,
    DraftDiscarded: _closed_draft_discarded,
    ReplyReceived: _late_reply,
    FinishedInGmail: _nothing,  # closed already: Gmail's label never reopens or moves it
    Decision: _closed_refuses,
    Cancel: _closed_refuses,
    RequestGone: _closed_refuses,
    Attention: _nothing,
    Tick: _nothing,
}

TRANSITIONS: dict[Stage, dict[type, Handler]] = {
    Stage.ASKING: {
        **_OPEN,
        DraftSent: _asking_draft_sent,
        DraftDiscarded: _asking_draft_discarded,
        ReplyReceived: _asking_reply,
        Decision: _asking_decision,
        Tick: _asking_tick,
    },
    Stage.READY: {
        **_OPEN,
        DraftSent: _ready_draft_sent,
        DraftDiscarded: _ready_draft_discarded,
        ReplyReceived: _ready_reply,
        Decision: _ready_decision,
        Tick: _nothing,
    },
    Stage.INTRODUCED: _CLOSED,
    Stage.DECLINED: _CLOSED,
    Stage.CANCELLED: _CLOSED,
    Stage.EXPIRED: _CLOSED,
}


def _about_the_others(intro: Intro, obs: ReplyReceived) -> bool:
    """A later word in a shared answer that names only the other contacts, once this party
    answered (yes or no) about this one: it is not about this intro. While the party has
    not, the reply is read for what it says about this contact."""
    return obs.about_others and intro.party(obs.role).consent in (Consent.YES, Consent.NO)


def step(intro: Intro, observation: Observation, now: datetime, rules: WorkflowRules) -> Transition:
    """Apply one observation. Raises :class:`InvalidTransition` for impossible ones."""
    handler = TRANSITIONS[intro.stage].get(type(observation))
    if handler is None:
        raise InvalidTransition(intro, observation, "no such transition")
    if isinstance(observation, ReplyReceived) and _about_the_others(intro, observation):
        return Transition(intro)
    try:
        if isinstance(observation, Tick):
            expired = _pending_expired(intro, now, rules)
            ticked = TRANSITIONS[expired.intro.stage][Tick](expired.intro, observation, now, rules)
            return Transition(ticked.intro, (*expired.actions, *ticked.actions))
        return handler(intro, observation, now, rules)
    except InvalidTransition as exc:
        if exc.intro is intro and exc.observation is observation:
            raise
        raise InvalidTransition(intro, observation, exc.why) from exc


# ------------------------------------------------------------- the connector's labels
def label_decisions(
    owners: Sequence[tuple[Intro, Role]], consent: Consent
) -> list[tuple[str, Decision | Attention]]:
    """What an ``introbot/yes|no`` label on one thread decides. ``owners``: each open intro,
    and its party, whose consent message (or reminder) is in that thread. One intro: the
    label decides for it. A thread several intros share (one ask to a requester about
    several contacts): it decides for the one that still waits for that party's answer;
    when more than one waits (or none does, and several could be meant) it is ambiguous:
    each of them needs attention, naming the command that decides each, and nothing else
    changes."""
    unique = list({(i.id, r): (i, r) for i, r in owners}.values())
    if len(unique) <= 1:
        return [(i.id, Decision(r, consent, "label")) for i, r in unique]
    waiting = [(i, r) for i, r in unique if i.party(r).consent not in (Consent.YES, Consent.NO)]
    if len(waiting) == 1:
        ((intro, role),) = waiting
        return [(intro.id, Decision(role, consent, "label"))]
    meant = waiting or unique
    named = ", ".join(f"{i.id} ({_named(i.contact.person)})" for i, _ in meant)
    commands = "; ".join(f"`introbot decide {i.id} {r.value} yes|no`" for i, r in meant)
    why = (
        f"the introbot/{consent.value} label is on a thread that intros {named} share: it "
        f"could mean any of them, so introbot decided nothing. Decide each: {commands}"
    )
    return [(i.id, Attention(why)) for i, _ in meant]


# --------------------------------------------------------------------- thread labels
STAGE_LABELS = {
    Stage.ASKING: "awaiting-consent",
    Stage.READY: "ready",
    Stage.INTRODUCED: "introduced",
    Stage.DECLINED: "declined",
    Stage.CANCELLED: "cancelled",
    Stage.EXPIRED: "expired",
}
ATTENTION_LABEL = "needs-attention"


def request_thread_labels(intros: Iterable[Intro], problem: bool) -> frozenset[str]:
    """The introbot labels a request thread should carry (logical names)."""
    labels = {STAGE_LABELS[i.stage] for i in intros}
    if problem or any(i.attention for i in intros):
        labels.add(ATTENTION_LABEL)
    return frozenset(labels)


def thread_labels(thread_id: str, intros: Iterable[Intro], problem: bool) -> frozenset[str]:
    """The introbot labels any thread should carry (logical names). ``intros``: those whose
    request is in it and those with a draft in it. A request thread shows its intros'
    stages (and attention, for a problem or an intro that needs it); any thread shows
    attention while a reply in it waits for the connector's decision (the consent of the
    party a draft in it went to is unclear)."""
    known = list(intros)
    requested = [i for i in known if i.request.thread_id == thread_id]
    labels = set(request_thread_labels(requested, problem))
    if any(
        d.thread_id == thread_id and d.to is not None and i.party(d.to).consent is Consent.UNCLEAR
        for i in known
        for d in i.drafts
    ):
        labels.add(ATTENTION_LABEL)
    return frozenset(labels)


def threads_to_relabel(intro: Intro) -> tuple[str, ...]:
    """The threads whose labels may change when ``intro`` does (what they should carry is
    :func:`thread_labels`'s): its request thread, and the threads its consent drafts are in
    (attention shows there while a reply waits for the connector)."""
    consent = (d.thread_id for d in intro.drafts if d.thread_id and d.kind is DraftKind.CONSENT)
    return tuple(dict.fromkeys((intro.request.thread_id, *consent)))


# ---------------------------------------------------- Gmail as the ground truth
FINISHED_SHOWN = (Stage.INTRODUCED, Stage.DECLINED, Stage.EXPIRED, Stage.CANCELLED)


def finished_in_gmail(
    shown: frozenset[Stage], intros: Sequence[Intro]
) -> list[tuple[str, FinishedInGmail, str]]:
    """After a full sync: the open intros of a request thread (``intros``: all of its
    intros) that close as Gmail shows the thread finished (``shown``: the stages its
    labels show), in a way the thread's closed intros do not account for (another
    database or a restored backup went on without this one): (intro id, the observation,
    why). Nothing is reopened or asked again; a thread that still shows a stage under way
    is left as it is. Several endings shown: the intros close in their order, and each
    needs attention, as introbot cannot tell which ended how."""
    if any(not stage.closed for stage in shown):
        return []
    under_way = [i for i in intros if not i.stage.closed]
    ours = {i.stage for i in intros if i.stage.closed}
    endings = [s for s in FINISHED_SHOWN if s in shown and s not in ours]
    if not under_way or not endings:
        return []
    names = ", ".join(STAGE_LABELS[s] for s in endings)
    found = []
    for n, intro in enumerate(under_way):
        stage = endings[min(n, len(endings) - 1)]
        attention = (
            None
            if len(endings) == 1
            else f"Gmail labels this request {names}: introbot cannot tell which "
            f"intro ended how, and closed this one as {stage.value}"
        )
        why = f"Gmail labels the request {STAGE_LABELS[stage]}"
        found.append((intro.id, FinishedInGmail(stage, attention), why))
    return found


@dataclass(frozen=True)
class Rebuilt:
    """What a database that never saw a request thread makes of the stages Gmail shows on
    it (introbot worked on it before, with another database): finished intros recorded as
    Gmail shows them, or the thread set aside with a reason (an intro was under way)."""

    transitions: tuple[Transition, ...] = ()
    problem: str | None = None
    actions: tuple[CreateDraft, ...] = ()  # the problem note to the connector, if any

    @property
    def note(self) -> str | None:
        """The Message-ID of the note to the connector the thread is to hold."""
        return self.actions[0].spec.key if self.actions else None


def rebuilt_from_gmail(
    shown: frozenset[Stage],
    request: RequestRef,
    wanted: Sequence[tuple[str, Person, Person, str]],
    now: datetime,
    rules: WorkflowRules,
) -> Rebuilt | None:
    """``shown``: the stages whose labels the request thread carries; ``wanted``: (new id,
    requester, contact, context) of each intro the request asks for. None: Gmail shows no
    stage, the request is new. A finished intro is never opened again, so nobody already
    introduced (or who declined) is asked again; one under way is not restarted by itself,
    so nobody gets a second consent ask."""
    if not shown or not wanted:
        return None
    names = ", ".join(STAGE_LABELS[s] for s in Stage if s in shown)
    if any(not s.closed for s in shown):
        problem = (
            f"introbot worked on this request before with another database, and Gmail "
            f"shows it as {names}. So that nobody is asked twice, introbot does not start "
            "it again by itself: see its drafts and sent mail, and to start it over, "
            "remove the request label from the thread and put it back."
        )
        # "": no intro's; the problem says what to do (nothing in the message to fix)
        to_connector = CreateDraft("", problem_note(request, [problem], rules, fix=False))
        return Rebuilt(problem=problem, actions=(to_connector,))
    finished = [s for s in FINISHED_SHOWN if s in shown]
    transitions = []
    for n, (intro_id, requester, contact, context) in enumerate(wanted):
        stage = finished[min(n, len(finished) - 1)]
        consent = Consent.YES if stage is Stage.INTRODUCED else Consent.NOT_ASKED
        evidence = f"rebuilt: Gmail labels the request {STAGE_LABELS[stage]}"
        attention = (
            None
            if len(finished) == 1
            else f"Gmail labels this request {names}: introbot cannot tell which intro ended "
            f"how, and recorded this one as {stage.value}"
        )
        intro = Intro(
            id=intro_id,
            request=request,
            requester=Party(Role.REQUESTER, requester, consent, evidence),
            contact=Party(Role.CONTACT, contact, consent, evidence),
            context=context,
            order=rules.order,
            stage=stage,
            created_at=now,
            attention=attention,
            closed_at=now,
        )
        note = _note(
            intro,
            f"rebuilt from Gmail: {requester} -> {contact} ended {stage.value} before this "
            "database (the thread's label says so); nothing is drafted",
        )
        transitions.append(Transition(intro, (note,)))
    return Rebuilt(tuple(transitions))


# ------------------------------------------------------------------- the diagram
def mermaid() -> str:
    """The three machines as Mermaid state diagrams, drawn from the tables of edges (the
    README's architecture section shows this text; ``python -m introbot.workflow`` prints
    it). Edges between the same two states are one arrow with every event on it."""
    initial = {"stage": Stage.ASKING, "consent": Consent.NOT_ASKED, "draft": DraftState.QUEUED}
    blocks = []
    for name, table in MACHINES.items():
        arrows: dict[tuple[str, str], list[str]] = {}
        for (source, event), to in table.items():
            arrows.setdefault((str(source), str(to)), []).append(event)
        lines = ["```mermaid", "stateDiagram-v2", f"    %% {name}", f"    [*] --> {initial[name]}"]
        lines += [
            f"    {source} --> {to} : {' / '.join(events)}"
            for (source, to), events in arrows.items()
        ]
        blocks.append("\n".join([*lines, "```"]))
    return "\n\n".join(blocks) + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
