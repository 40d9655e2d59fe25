"""The decisions behind "one request thread holds at most one introbot draft at a time",
with plain values: ``workflow.settle_thread`` after each step (as the engine calls it), and
``workflow.label_decisions``. A small pure stand-in for Gmail and the outbox plays the
drafts out; a seeded random walk attacks the promise with many orders of events."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import count

from introbot import model
from introbot.model import (
    Consent,
    DraftKind,
    DraftState,
    Intro,
    Role,
    Stage,
    Verdict,
)
from introbot.workflow import (
    InvalidTransition,
    WorkflowRules,
    label_decisions,
    open_intros,
    plan_request,
    settle_thread,
    step,
)

ALEX = model.Person("Alex Kim", "alex@tidepool.example")
CONTACTS = (
    model.Person("Dana Whitfield", "dana@northwind.example"),
    model.Person("Bob Lee", "bob@lee.example"),
    model.Person("Carol Diaz", "carol@diaz.example"),
)
REQUEST = model.RequestRef(
    "req-thread", "req-msg", "<req@tidepool.example>", "Intros?", ALEX, "direct"
)
RULES = WorkflowRules(connector=model.Person("Sam Rivera", "sam@example.com"))
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


@dataclass
class Gmail:
    """Drafts as Gmail holds them (id -> thread, spec key, intro), and introbot's outbox,
    carried out as the engine does: a draft held back or withdrawn before it was written
    is not written; what happens to a shared draft happens to every intro recording it."""

    contacts: int = 2
    now: datetime = START
    intros: dict[str, Intro] = field(default_factory=dict)
    drafts: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    outbox: list[model.CreateDraft | model.DeleteDraft] = field(default_factory=list)
    ids: count[int] = field(default_factory=count)

    def __post_init__(self) -> None:
        opened = [
            (f"i{n}", c, "cold-chain pilots", f"{n:02d}" * 16)
            for n, c in enumerate(CONTACTS[: self.contacts])
        ]
        for t in open_intros(opened, REQUEST, ALEX, self.now, RULES):
            self.intros[t.intro.id] = t.intro
            self._queue(t.actions)
        self.drain()

    def _queue(self, actions: tuple[object, ...]) -> None:
        self.outbox += [a for a in actions if isinstance(a, model.CreateDraft | model.DeleteDraft)]

    def apply(self, intro_id: str, observation: model.Observation) -> None:
        try:
            t = step(self.intros[intro_id], observation, self.now, RULES)
        except InvalidTransition:
            return
        for settled in settle_thread(t, list(self.intros.values()), self.now, RULES):
            self.intros[settled.intro.id] = settled.intro
            self._queue(settled.actions)

    def sharing(self, intro_id: str, key: str) -> list[tuple[str, str]]:
        found = [(intro_id, key)]
        for other in self.intros.values():
            found += [(other.id, d.key) for d in other.drafts if d.shared == key and d.key != key]
        return found

    def drain(self) -> None:
        while self.outbox:
            action = self.outbox.pop(0)
            record = self.intros[action.intro_id].draft(
                action.spec.key if isinstance(action, model.CreateDraft) else action.key
            )
            if isinstance(action, model.DeleteDraft):
                if record is not None and record.draft_id:
                    self.drafts.pop(record.draft_id, None)
                continue
            if record is not None and record.state is not DraftState.QUEUED:
                continue  # held back or withdrawn before it was written
            n = next(self.ids)
            thread = action.spec.thread_id or f"new-{n}"
            self.drafts[f"d{n}"] = (thread, action.spec.key, action.intro_id)
            for intro_id, key in self.sharing(action.intro_id, action.spec.key):
                self.apply(intro_id, model.DraftCreated(key, f"d{n}", f"m{n}", thread))

    def holders(self, draft_id: str) -> list[tuple[str, str]]:
        return [
            (i.id, d.key)
            for i in self.intros.values()
            for d in i.drafts
            if d.draft_id == draft_id and d.open
        ]

    def send(self, draft_id: str) -> None:
        thread, _, _ = self.drafts.pop(draft_id)
        n = next(self.ids)
        for intro_id, key in self.holders(draft_id):
            to = self.intros[intro_id].draft(key)
            assert to is not None
            address = self.intros[intro_id].party(to.to).person.email if to.to else "x@y.z"
            self.apply(
                intro_id,
                model.DraftSent(key, f"s{n}", f"<s{n}@x>", thread, self.now, "", (address,)),
            )
        self.drain()

    def edit(self, draft_id: str) -> None:
        thread, _, _ = self.drafts[draft_id]
        n = next(self.ids)
        for intro_id, key in self.holders(draft_id):
            self.apply(intro_id, model.DraftEdited(key, f"m{n}", thread))
        self.drain()

    def reply(self, intro_id: str, role: Role, verdict: Verdict) -> None:
        person = self.intros[intro_id].party(role).person
        n = next(self.ids)
        obs = model.ReplyReceived(role, f"r{n}", verdict, "test", "", True, person.email, self.now)
        self.apply(intro_id, obs)
        self.drain()

    def tick(self, days: float) -> None:
        self.now += timedelta(days=days)
        for intro_id in list(self.intros):
            self.apply(intro_id, model.Tick())
        self.drain()

    def to_alex(self) -> list[str]:
        """Gmail drafts to the requester (they all answer in the request thread)."""
        return [
            draft_id
            for draft_id, (_, key, intro_id) in self.drafts.items()
            if (d := self.intros[intro_id].draft(key)) is not None and d.to is Role.REQUESTER
        ]

    def sent_everything(self) -> None:
        """The connector sends the ask and the contacts' drafts; Alex says yes to all."""
        for draft_id in list(self.drafts):
            self.send(draft_id)
        for intro_id in self.intros:
            self.reply(intro_id, Role.REQUESTER, Verdict.YES)


def kinds(gmail: Gmail, draft_id: str) -> DraftKind:
    _, key, intro_id = gmail.drafts[draft_id]
    record = gmail.intros[intro_id].draft(key)
    assert record is not None
    return record.kind


# ------------------------------------------------------------------ notes
def test_a_second_decline_rewrites_the_unsent_note_as_one() -> None:
    gmail = Gmail()
    gmail.sent_everything()
    gmail.reply("i0", Role.CONTACT, Verdict.NO)
    (first,) = gmail.to_alex()
    gmail.reply("i1", Role.CONTACT, Verdict.NO)
    (note,) = gmail.to_alex()
    assert note != first
    records = [d for i in gmail.intros.values() for d in i.drafts if d.draft_id == note]
    assert len(records) == 2 and len({d.shared for d in records}) == 1
    _, key, intro_id = gmail.drafts[note]
    assert gmail.intros[intro_id].draft(key) is not None


def test_the_merged_note_names_each_outcome_and_nothing_else() -> None:
    gmail = Gmail(contacts=3)
    gmail.sent_everything()
    seen: list[model.CreateDraft] = []
    original = gmail._queue

    def spy(actions: tuple[object, ...]) -> None:
        seen.extend(a for a in actions if isinstance(a, model.CreateDraft))
        original(actions)

    gmail._queue = spy  # type: ignore[method-assign]
    gmail.reply("i0", Role.CONTACT, Verdict.NO)
    gmail.reply("i1", Role.CONTACT, Verdict.NO)
    (spec,) = [a.spec for a in seen if a.spec.template == "decline_note_several"]
    assert [(c["name"], c["outcome"]) for c in spec.fields["contacts"]] == [
        ("Dana Whitfield", "declined"),
        ("Bob Lee", "declined"),
    ]
    assert "@" not in repr(spec.fields["contacts"])  # names only


def test_an_edited_note_stays_and_the_next_is_held_until_it_is_sent() -> None:
    gmail = Gmail()
    gmail.sent_everything()
    gmail.reply("i0", Role.CONTACT, Verdict.NO)
    (first,) = gmail.to_alex()
    gmail.edit(first)
    gmail.reply("i1", Role.CONTACT, Verdict.NO)
    assert gmail.to_alex() == [first]
    (held,) = [d for d in gmail.intros["i1"].drafts if d.kind is DraftKind.DECLINE_NOTE]
    assert held.state is DraftState.HELD
    gmail.send(first)
    (later,) = gmail.to_alex()
    assert later != first and kinds(gmail, later) is DraftKind.DECLINE_NOTE


def test_a_decline_while_the_ask_is_unsent_waits_behind_the_rewritten_ask() -> None:
    gmail = Gmail()
    for draft_id in [d for d in gmail.drafts if d not in gmail.to_alex()]:
        gmail.send(draft_id)  # the contacts' asks only
    gmail.reply("i1", Role.CONTACT, Verdict.NO)
    (ask,) = gmail.to_alex()
    assert kinds(gmail, ask) is DraftKind.CONSENT
    gmail.send(ask)
    (note,) = gmail.to_alex()
    assert kinds(gmail, note) is DraftKind.DECLINE_NOTE


# ------------------------------------------------------------------ the reminder
def test_the_reminder_is_written_by_an_intro_still_open() -> None:
    gmail = Gmail()
    for draft_id in list(gmail.drafts):
        gmail.send(draft_id)
    gmail.apply("i0", model.Cancel("test"))  # the intro that wrote the ask
    gmail.drain()
    gmail.tick(4.1)
    (reminder,) = gmail.to_alex()
    _, _, intro_id = gmail.drafts[reminder]
    assert intro_id == "i1" and kinds(gmail, reminder) is DraftKind.REMINDER
    gmail.tick(1)
    assert gmail.to_alex() == [reminder]


def test_no_reminder_once_the_requester_wrote_back() -> None:
    gmail = Gmail()
    for draft_id in list(gmail.drafts):
        gmail.send(draft_id)
    gmail.reply("i0", Role.REQUESTER, Verdict.YES)
    gmail.reply("i1", Role.REQUESTER, Verdict.UNCLEAR)
    gmail.tick(4.1)
    assert gmail.to_alex() == []


# ------------------------------------------------------------------ labels
def _asked(consent: Consent) -> Intro:
    gmail = Gmail(contacts=1)
    intro = gmail.intros["i0"]
    return intro.with_party(replace(intro.requester, consent=consent))


def _two(first: Consent, second: Consent) -> list[tuple[Intro, Role]]:
    gmail = Gmail()
    out = []
    for intro_id, consent in (("i0", first), ("i1", second)):
        intro = gmail.intros[intro_id]
        out.append((intro.with_party(replace(intro.requester, consent=consent)), Role.REQUESTER))
    return out


def test_a_label_on_one_intro_s_thread_decides_it() -> None:
    intro = _asked(Consent.UNCLEAR)
    assert label_decisions([(intro, Role.REQUESTER)] * 2, Consent.YES) == [
        (intro.id, model.Decision(Role.REQUESTER, Consent.YES, "label"))
    ]


def test_a_label_decides_the_one_intro_still_waiting() -> None:
    owners = _two(Consent.YES, Consent.UNCLEAR)
    assert label_decisions(owners, Consent.NO) == [
        ("i1", model.Decision(Role.REQUESTER, Consent.NO, "label"))
    ]


def test_a_label_two_intros_wait_for_is_ambiguous() -> None:
    for first, second in ((Consent.UNCLEAR, Consent.ASKED), (Consent.YES, Consent.NO)):
        decided = label_decisions(_two(first, second), Consent.YES)
        assert [intro_id for intro_id, _ in decided] == ["i0", "i1"]
        for _, observation in decided:
            assert isinstance(observation, model.Attention)
            for intro_id in ("i0", "i1"):
                assert f"introbot decide {intro_id} requester yes|no" in observation.why


def test_an_ambiguous_label_changes_nothing_but_attention() -> None:
    (intro, _), _ = _two(Consent.UNCLEAR, Consent.UNCLEAR)
    intro = replace(intro, stage=Stage.ASKING)
    why = "could mean any of them"
    after = step(intro, model.Attention(why), START, RULES)
    assert after.intro == replace(intro, attention=why)
    assert step(after.intro, model.Attention(why), START, RULES).actions == ()  # a replay


# ------------------------------------------------------------------ attack it
def test_a_random_walk_never_puts_two_drafts_in_the_request_thread() -> None:
    """Many orders of what contacts, the requester and the connector do: after every step
    the request thread holds at most one introbot draft, and nothing waits forever once
    the thread is free."""
    verdicts = (Verdict.YES, Verdict.NO, Verdict.UNCLEAR)
    for seed in range(150):
        pick = random.Random(seed)
        gmail = Gmail(contacts=pick.choice((2, 3)))
        for _ in range(14):
            move = pick.randrange(6)
            intro_id = pick.choice(sorted(gmail.intros))
            if move == 0 and gmail.drafts:
                gmail.send(pick.choice(sorted(gmail.drafts)))
            elif move == 1 and gmail.drafts:
                gmail.edit(pick.choice(sorted(gmail.drafts)))
            elif move == 2:
                gmail.reply(
                    intro_id, pick.choice((Role.REQUESTER, Role.CONTACT)), pick.choice(verdicts)
                )
            elif move == 3:
                gmail.tick(pick.choice((0.5, 4.5, 22)))
            elif move == 4:
                gmail.apply(intro_id, model.Cancel("test"))
                gmail.drain()
            else:
                gmail.apply(
                    intro_id,
                    model.Decision(Role.CONTACT, pick.choice((Consent.YES, Consent.NO)), "cli"),
                )
                gmail.drain()
            assert len(gmail.to_alex()) <= 1, (seed, gmail.to_alex())
        held = [d for i in gmail.intros.values() for d in i.drafts if d.state is DraftState.HELD]
        if held:  # something waits: the thread holds what it waits for
            assert gmail.to_alex() or any(
                d.state is DraftState.PENDING for i in gmail.intros.values() for d in i.drafts
            ), seed


def test_a_problem_note_beside_new_intros_starts_its_own_thread() -> None:
    dana = (ALEX, CONTACTS[0], "pilots")
    alone = plan_request([], [], ["Bob has no address"], REQUEST, START, RULES)
    beside = plan_request([], [dana], ["Bob has no address"], REQUEST, START, RULES)
    ((only,), (apart,)) = (alone.actions, beside.actions)
    assert only.spec.thread_id == REQUEST.thread_id and only.spec.fields["request_subject"] == ""
    assert apart.spec.thread_id is None and apart.spec.in_reply_to is None
    assert apart.spec.fields["request_subject"] == REQUEST.subject
