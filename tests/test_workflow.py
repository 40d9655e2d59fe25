"""The state machine with plain values: every state against every observation, the rules of
the product as invariants, and random walks (thousands of steps a second)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from introbot.compose import organisation
from introbot.model import (
    Cancel,
    Consent,
    CreateDraft,
    Decision,
    DeleteDraft,
    DraftCreated,
    DraftDiscarded,
    DraftEdited,
    DraftFailed,
    DraftKind,
    DraftSent,
    DraftState,
    Gone,
    Intro,
    Note,
    Observation,
    Order,
    Person,
    ReplyReceived,
    RequestGone,
    RequestRef,
    Role,
    Stage,
    Tick,
    Verdict,
)
from introbot.redaction import redact_addresses
from introbot.workflow import (
    InvalidTransition,
    Transition,
    WorkflowRules,
    open_intro,
    request_thread_labels,
    step,
    threads_to_relabel,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRET = "3f9a" * 8  # as the engine makes one: random, 32 hex digits
ALEX = Person("Alex Kim", "alex.kim@tidepool.io")
DANA = Person("Dana Whitfield", "dana@northwind.example")
SAM = Person("Sam Rivera", "connector@example.com")
PARALLEL = WorkflowRules(SAM)
REQUESTER_FIRST = WorkflowRules(SAM, order=Order.REQUESTER_FIRST)
REQUEST = RequestRef("thread-r", "msg-r", "<req@tidepool.io>", "Intro to Dana?", ALEX, "direct")
CONTEXT = (
    "We build cold-chain sensors. Reach me at alex.kim@tidepool.io or (dana@northwind.example)."
)


def _open(rules: WorkflowRules = PARALLEL) -> Intro:
    return open_intro("i1", REQUEST, ALEX, DANA, CONTEXT, T0, rules, secret=SECRET).intro


def _run(
    intro: Intro, *observations: Observation, rules: WorkflowRules = PARALLEL, now: datetime = T0
) -> Intro:
    for observation in observations:
        intro = step(intro, observation, now, rules).intro
    return intro


def _created(intro: Intro) -> list[Observation]:
    return [
        DraftCreated(d.key, f"draft-{n}", f"m-{n}", f"t-{n}")
        for n, d in enumerate(intro.drafts)
        if d.state is DraftState.QUEUED
    ]


def _sent(intro: Intro, kind: DraftKind, to: Role | None) -> Observation:
    (draft,) = [d for d in intro.drafts_of(kind, to) if d.state is DraftState.CREATED]
    return DraftSent(
        draft.key,
        f"sent-{draft.key}",
        f"<sent-{draft.draft_id}@x>",
        draft.thread_id or "t",
        T0,
        "Re: x",
    )


def _reply(
    role: Role, verdict: Verdict, n: int = 1, sender: str | None = None, auth: bool | None = True
) -> ReplyReceived:
    person = ALEX if role is Role.REQUESTER else DANA
    return ReplyReceived(
        role,
        f"reply-{role.value}-{n}",
        verdict,
        "evidence",
        "Yes, happy to.",
        auth,
        sender or person.email,
        T0,
    )


def _asked(rules: WorkflowRules = PARALLEL) -> Intro:
    intro = _open(rules)
    intro = _run(intro, *_created(intro), rules=rules)
    for role in (Role.REQUESTER, Role.CONTACT):
        if intro.party(role).consent is Consent.DRAFTED:
            intro = _run(intro, _sent(intro, DraftKind.CONSENT, role), rules=rules)
    return intro


def _ready() -> Intro:
    intro = _run(_asked(), _reply(Role.REQUESTER, Verdict.YES), _reply(Role.CONTACT, Verdict.YES))
    return _run(intro, *_created(intro))


# ------------------------------------------------------------------------ states
def states() -> Iterator[tuple[str, Intro, WorkflowRules]]:
    opened = _open()
    yield "opened (drafts queued)", opened, PARALLEL
    drafted = _run(opened, *_created(opened))
    yield "drafted", drafted, PARALLEL
    half = _run(drafted, _sent(drafted, DraftKind.CONSENT, Role.REQUESTER))
    yield "requester asked", half, PARALLEL
    asked = _asked()
    yield "both asked", asked, PARALLEL
    yield "requester yes", _run(asked, _reply(Role.REQUESTER, Verdict.YES)), PARALLEL
    yield "contact unclear", _run(asked, _reply(Role.CONTACT, Verdict.UNCLEAR)), PARALLEL
    reminded = _run(asked, Tick(), now=T0 + timedelta(days=5))
    yield "reminder drafted", _run(reminded, *_created(reminded)), PARALLEL
    first = _asked(REQUESTER_FIRST)
    yield "requester first: contact not asked", first, REQUESTER_FIRST
    yield (
        "ready, joint queued",
        _run(asked, _reply(Role.REQUESTER, Verdict.YES), _reply(Role.CONTACT, Verdict.YES)),
        PARALLEL,
    )
    ready = _ready()
    yield "ready, joint in Gmail", ready, PARALLEL
    yield "introduced", _run(ready, _sent(ready, DraftKind.JOINT, None)), PARALLEL
    yield "declined", _run(asked, _reply(Role.CONTACT, Verdict.NO)), PARALLEL
    yield "cancelled", _run(asked, Cancel("test")), PARALLEL
    yield "expired", _run(asked, Tick(), now=T0 + timedelta(days=30)), PARALLEL


def observations(intro: Intro) -> Iterator[Observation]:
    keys = [d.key for d in intro.drafts] + ["<unknown@x>"]
    for key in keys:
        yield DraftCreated(key, "d-new", "m-new", "t-new")
        yield DraftEdited(key, "m-edit", "t-edit")
        yield DraftFailed(key, "cannot encode")
        yield DraftSent(key, "s-new", "<s-new@x>", "t-sent", T0, "Re: x")
        yield DraftDiscarded(key)
    for role, verdict, sender, auth in itertools.product(
        Role, Verdict, (None, "someone@else.example"), (True, False, None)
    ):
        yield _reply(role, verdict, 9, sender, auth)
    yield replace(_reply(Role.REQUESTER, Verdict.NO, 8), about_others=True)
    for role, consent in itertools.product(Role, (Consent.YES, Consent.NO)):
        yield Decision(role, consent, "cli")
    yield Cancel("test")
    yield from (RequestGone(how) for how in Gone)
    yield Tick()


def _mentions(action: CreateDraft, person: Person) -> bool:
    spec = action.spec
    text = f"{spec.to} {spec.cc} {spec.subject} {dict(spec.fields)}".lower()
    return person.email.lower() in text


def check(before: Intro, transition: Transition) -> None:
    """The rules of the product, on every transition."""
    intro = transition.intro
    agreed = intro.requester.consent is Consent.YES and intro.contact.consent is Consent.YES
    if intro.stage is Stage.READY:
        # Both said yes; or a doubt came after, beside a joint draft the connector edited
        # or is sending: introbot leaves that to them, and says so.
        assert agreed or (intro.attention and "introbot left it to you" in intro.attention)
    for action in transition.actions:
        if isinstance(action, CreateDraft):
            recipients = {p.key for p in (*action.spec.to, *action.spec.cc)}
            if action.spec.kind is not DraftKind.JOINT or not agreed:
                for reader, other in ((ALEX, DANA), (DANA, ALEX)):
                    if reader.key in recipients:
                        assert not _mentions(action, other), action  # rule 2
            assert intro.draft(action.spec.key) is not None
        if isinstance(action, DeleteDraft):
            assert intro.draft(action.key) is not None
    queued_now = {a.spec.key for a in transition.actions if isinstance(a, CreateDraft)}
    deleted = {a.key for a in transition.actions if isinstance(a, DeleteDraft)}
    for draft in intro.drafts:
        was = before.draft(draft.key)
        if (
            draft.state is DraftState.WITHDRAWN
            and was is not None
            and was.state is not DraftState.WITHDRAWN
        ):
            assert draft.key in deleted  # withdrawn drafts are deleted from Gmail
    if intro.stage.closed and not before.stage.closed:
        for draft in intro.drafts:
            assert not draft.open or draft.key in queued_now  # nothing left behind but new notes
    if before.stage.closed:
        assert intro.stage is before.stage  # a closed intro stays closed


CASES = [
    (name, intro, rules, obs) for name, intro, rules in states() for obs in observations(intro)
]


@pytest.mark.parametrize(
    ("name", "intro", "rules", "observation"),
    CASES,
    ids=[f"{c[0]}:{type(c[3]).__name__}:{i}" for i, c in enumerate(CASES)],
)
def test_every_state_against_every_observation(
    name: str, intro: Intro, rules: WorkflowRules, observation: Observation
) -> None:
    for now in (T0, T0 + timedelta(days=5), T0 + timedelta(days=30)):
        try:
            transition = step(intro, observation, now, rules)
        except InvalidTransition as exc:
            assert exc.intro is intro  # rejected, not ignored: and nothing changed
            continue
        check(intro, transition)
        if isinstance(observation, (DraftCreated, DraftSent, ReplyReceived, DraftDiscarded)):
            try:
                again = step(transition.intro, observation, now, rules)
            except InvalidTransition:
                continue
            assert again == Transition(transition.intro)  # a replay changes nothing


def test_impossible_observations_are_rejected() -> None:
    opened = _open()
    with pytest.raises(InvalidTransition, match="not asked yet"):
        step(opened, _reply(Role.CONTACT, Verdict.YES), T0, PARALLEL)
    with pytest.raises(InvalidTransition, match="no draft"):
        step(opened, DraftSent("<nope@x>", "s", None, "t", T0), T0, PARALLEL)
    with pytest.raises(InvalidTransition, match="before it was created"):
        step(opened, DraftSent(opened.drafts[0].key, "s", None, "t", T0), T0, PARALLEL)
    closed = _run(_asked(), Cancel("x"))
    for observation in (Cancel("again"), Decision(Role.CONTACT, Consent.YES, "cli")):
        with pytest.raises(InvalidTransition, match="already cancelled"):
            step(closed, observation, T0, PARALLEL)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        (Gone.UNLABELED, "the request label was removed"),
        (Gone.TRASHED, "the request thread was moved to the trash"),
        (Gone.DELETED, "the request message was deleted"),
    ],
)
def test_a_request_taken_away_in_gmail_cancels_its_intro_saying_how(how: Gone, reason: str) -> None:
    asked = _asked()
    transition = step(asked, RequestGone(how), T0, PARALLEL)
    assert transition.intro.stage is Stage.CANCELLED
    notes = [a.text for a in transition.actions if isinstance(a, Note)]
    assert notes == [f"cancelled: {reason}"]
    assert {a.key for a in transition.actions if isinstance(a, DeleteDraft)} == {
        d.key for d in asked.drafts if d.open
    }
    with pytest.raises(InvalidTransition, match="already cancelled"):
        step(transition.intro, RequestGone(how), T0, PARALLEL)


def test_a_shared_answers_word_about_the_others_is_not_this_intros_once_it_answered() -> None:
    """One answer about several contacts that names only the others: once the requester
    answered about this contact it changes nothing here; before, it is read as it is."""
    about_others = replace(_reply(Role.REQUESTER, Verdict.NO, 2), about_others=True)
    answered = _run(_asked(), _reply(Role.REQUESTER, Verdict.YES))
    assert step(answered, about_others, T0, PARALLEL) == Transition(answered)
    waiting = step(_asked(), about_others, T0, PARALLEL).intro
    assert waiting.requester.consent is Consent.NO
    assert waiting.stage is Stage.DECLINED


# ------------------------------------------------------------------ the story
def test_parallel_story() -> None:
    transition = open_intro("i1", REQUEST, ALEX, DANA, CONTEXT, T0, PARALLEL, secret=SECRET)
    drafts = [a.spec for a in transition.actions if isinstance(a, CreateDraft)]
    to_alex, to_dana = drafts
    assert to_alex.thread_id == "thread-r" and to_alex.in_reply_to == "<req@tidepool.io>"
    assert to_alex.subject == "Re: Intro to Dana?"
    assert to_dana.thread_id is None and to_dana.template == "consent_contact"
    assert "alex.kim@tidepool.io" not in str(to_dana.fields) and "dana@" not in str(to_alex.fields)
    ready = _ready()
    joint = ready.drafts_of(DraftKind.JOINT)[0]
    assert ready.stage is Stage.READY and joint.state is DraftState.CREATED


def test_requester_first_asks_the_contact_after_the_requester_with_their_words() -> None:
    intro = _asked(REQUESTER_FIRST)
    assert intro.contact.consent is Consent.NOT_ASKED
    words = ReplyReceived(
        Role.REQUESTER,
        "r1",
        Verdict.YES,
        "yes",
        "Yes!\n\nAlex, Tidepool. alex.kim@tidepool.io",
        True,
        ALEX.email,
        T0,
        blurb="Alex, Tidepool. alex.kim@tidepool.io",
    )
    transition = step(intro, words, T0, REQUESTER_FIRST)
    (spec,) = [a.spec for a in transition.actions if isinstance(a, CreateDraft)]
    assert spec.to == (DANA,)
    assert spec.fields["blurb"] == "Alex, Tidepool."  # only the note, and the address taken out


def test_a_yes_needs_the_right_sender_and_gmails_word() -> None:
    asked = _asked()
    for observation in (
        _reply(Role.CONTACT, Verdict.YES, sender="jamie@northwind.example"),
        _reply(Role.CONTACT, Verdict.YES, auth=False),
        _reply(Role.CONTACT, Verdict.YES, auth=None),
        _reply(Role.CONTACT, Verdict.BOUNCE),
    ):
        intro = step(asked, observation, T0, PARALLEL).intro
        assert intro.contact.consent is Consent.UNCLEAR
        assert intro.attention
        assert request_thread_labels([intro], False) == {"awaiting-consent", "needs-attention"}


def test_auto_replies_change_nothing_but_the_record() -> None:
    asked = _asked()
    transition = step(asked, _reply(Role.CONTACT, Verdict.AUTO_REPLY), T0, PARALLEL)
    assert transition.intro.contact.consent is Consent.ASKED
    assert [type(a).__name__ for a in transition.actions] == ["Note"]


def test_one_reminder_then_expiry_with_a_note_to_the_waiting_requester() -> None:
    intro = _run(_asked(), _reply(Role.REQUESTER, Verdict.YES))
    day = timedelta(days=1)
    assert step(intro, Tick(), T0 + 3 * day, PARALLEL).actions == ()
    reminded = step(intro, Tick(), T0 + 4 * day, PARALLEL)
    assert [a.spec.kind for a in reminded.actions if isinstance(a, CreateDraft)] == [
        DraftKind.REMINDER
    ]
    assert step(reminded.intro, Tick(), T0 + 5 * day, PARALLEL).actions == ()
    expired = step(reminded.intro, Tick(), T0 + 21 * day, PARALLEL)
    assert expired.intro.stage is Stage.EXPIRED
    kinds = [type(a).__name__ for a in expired.actions]
    assert "DeleteDraft" in kinds  # the unsent reminder is withdrawn
    assert [a.spec.kind for a in expired.actions if isinstance(a, CreateDraft)] == [
        DraftKind.EXPIRY_NOTE
    ]


def test_a_decline_never_carries_the_contacts_words() -> None:
    decline = ReplyReceived(
        Role.CONTACT, "r", Verdict.NO, "no", "No - Alex's product is weak.", True, DANA.email, T0
    )
    transition = step(_asked(), decline, T0, PARALLEL)
    (spec,) = [a.spec for a in transition.actions if isinstance(a, CreateDraft)]
    assert spec.kind is DraftKind.DECLINE_NOTE and spec.to == (ALEX,)
    assert "weak" not in str(spec.fields)


def test_connector_decisions() -> None:
    unclear = _run(
        _asked(), _reply(Role.REQUESTER, Verdict.YES), _reply(Role.CONTACT, Verdict.UNCLEAR)
    )
    ready = step(unclear, Decision(Role.CONTACT, Consent.YES, "label"), T0, PARALLEL).intro
    assert ready.stage is Stage.READY and ready.attention is None
    declined = step(ready, Decision(Role.CONTACT, Consent.NO, "cli"), T0, PARALLEL).intro
    assert declined.stage is Stage.DECLINED
    joint = declined.drafts_of(DraftKind.JOINT)[0]
    assert joint.state is DraftState.WITHDRAWN


def test_organisation_and_redaction() -> None:
    assert organisation(ALEX) == "Tidepool"
    assert organisation(Person(None, "x@gmail.com")) is None
    assert organisation(Person(None, "x@mail.acme.co.uk")) == "Acme"
    assert (
        redact_addresses("Dana Whitfield <dana@northwind.example> and (a@b.co)!")
        == "Dana Whitfield and!"
    )


# ------------------------------------------------------------ random walks
def _walk_observation(intro: Intro, choice: int, n: int) -> Observation:
    options = list(observations(intro))
    options += [
        DraftCreated(d.key, f"d{n}", f"m{n}", f"t{n}")
        for d in intro.drafts
        if d.state is DraftState.QUEUED
    ] * 4
    options += [
        DraftSent(d.key, f"s{n}", f"<s{n}@x>", d.thread_id or "t", T0, "Re: x")
        for d in intro.drafts
        if d.state is DraftState.CREATED
    ] * 4
    return options[choice % len(options)]


@pytest.mark.slow  # 300 walks: takes seconds
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40), st.booleans())
def test_random_walks_keep_the_rules(choices: list[int], first: bool) -> None:
    rules = REQUESTER_FIRST if first else PARALLEL
    intro = _open(rules)
    now = T0
    for n, choice in enumerate(choices):
        observation = _walk_observation(intro, choice, n)
        now += timedelta(hours=choice % 200)
        try:
            transition = step(intro, observation, now, rules)
        except InvalidTransition:
            continue
        check(intro, transition)
        intro = transition.intro
    if intro.stage is Stage.INTRODUCED:
        assert any(d.kind is DraftKind.JOINT and d.state is DraftState.SENT for d in intro.drafts)


def test_a_step_relabels_the_request_thread_and_the_consent_threads() -> None:
    """A request thread shows its intros' stages, a consent thread the attention a reply in
    it may need; the joint introduction's thread carries no introbot label."""
    assert threads_to_relabel(_open()) == ("thread-r",)  # no draft in Gmail yet
    ready = _ready()
    joint = {d.thread_id for d in ready.drafts_of(DraftKind.JOINT)}
    consent = {d.thread_id for d in ready.drafts_of(DraftKind.CONSENT)}
    assert set(threads_to_relabel(ready)) == {"thread-r", *consent}
    assert not joint & set(threads_to_relabel(ready))


def test_thread_labels() -> None:
    asked, ready = _asked(), _ready()
    assert request_thread_labels([asked, ready], False) == {"awaiting-consent", "ready"}
    assert request_thread_labels([], True) == {"needs-attention"}
    assert request_thread_labels([replace(asked, attention="x")], False) == {
        "awaiting-consent",
        "needs-attention",
    }
