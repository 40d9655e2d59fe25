"""The requester's answer about several contacts, read per contact (reading/per_contact.py),
and the pure pieces around it: matching a reply to the intros sharing one ask, and the
workflow settling a shared ask when one intro stops waiting for it. Own words only."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from introbot.cli.rulecheck import check
from introbot.matching import Awaited, Seen, claim_reply
from introbot.model import (
    Cancel,
    Consent,
    CreateDraft,
    DeleteDraft,
    DraftCreated,
    DraftKind,
    DraftSent,
    DraftState,
    Person,
    RequestRef,
    Role,
    Tick,
    Verdict,
)
from introbot.reading.per_contact import Contact, split_answer
from introbot.rules import default_phrases, default_rules_dir, load_rules
from introbot.workflow import WorkflowRules, open_intros, settle_shared_ask, settle_thread, step

PHRASES = default_phrases()
TWO = [Contact("dana", "Dana Whitfield"), Contact("bob", "Bob Lee")]
ASK = (
    "Hi Alex, happy to help with introductions to Dana Whitfield and Bob Lee. Could you "
    'reply "yes" if you would like me to go ahead with both, or tell me which of them?'
)
Y, N, U = Verdict.YES, Verdict.NO, Verdict.UNCLEAR


def answers(text: str, contacts: list[Contact] = TWO) -> dict[str, Verdict]:
    split = split_answer(text, contacts, PHRASES, ASK, known=["Sam Rivera"])
    return {key: answer.verdict for key, answer in split.answers.items()}


@pytest.mark.parametrize(
    ("text", "dana", "bob"),
    [
        # the same answer for both
        ("Yes to both, thanks Sam!", Y, Y),
        ("Yes", Y, Y),
        ("Sounds great, go ahead with both of them.", Y, Y),
        ("Happy to meet them both!", Y, Y),
        ("Bob and Dana, yes please", Y, Y),
        ("No thanks, not right now.", N, N),
        # one yes, one no
        ("Happy to meet Dana, skip Bob.", Y, N),
        ("yes for Dana; not Bob right now", Y, N),
        ("Dana: yes. Bob: no.", Y, N),
        ("Yes to Dana and no to Bob", Y, N),
        ("Yes to both, except Bob.", Y, N),
        ("Only Dana please.", Y, N),
        ("Just Bob, thanks.", N, Y),
        ("Sure, Dana Whitfield would be great. Bob Lee no thanks.", Y, N),
        ("I'd love to meet Bob. Please leave out Dana.", N, Y),
        # doubt stays doubt, for the contacts it touches
        ("Yes, happy to meet Dana.", Y, U),  # nothing said about Bob
        ("Happy to meet Dana. Not sure about Bob.", Y, U),
        ("Yes to Dana if she is still at Northwind, skip Bob.", U, N),
        ("Happy to meet Dana not Bob", U, U),  # one clause, both ways: cannot be split
        ("Yes to Carol please", U, U),  # a name the ask did not
        ("Yes to both? Could we talk first?", U, U),  # a question
        ("Yes to both, but only after our launch in March.", U, U),
        ("Dana yes, Bob too", Y, U),
        # other languages, with English
        ("Oui pour Dana, pas pour Bob.", Y, N),
        ("Ja zu beiden, danke!", Y, Y),
        ("Sí a los dos, gracias.", Y, Y),
    ],
)
def test_an_answer_per_contact(text: str, dana: Verdict, bob: Verdict) -> None:
    assert answers(text) == {"dana": dana, "bob": bob}


def test_no_yes_by_doubt_for_a_first_name_two_contacts_share() -> None:
    two_danas = [Contact("w", "Dana Whitfield"), Contact("l", "Dana Lee")]
    assert answers("Yes to Dana", two_danas) == {"w": U, "l": U}
    assert answers("Yes to Dana Lee, skip Dana Whitfield", two_danas) == {"w": N, "l": Y}
    assert answers("Yes to both", two_danas) == {"w": Y, "l": Y}


def test_a_contact_without_a_name_is_answered_only_by_a_whole_answer() -> None:
    unnamed = [Contact("dana", "Dana Whitfield"), Contact("x", None)]
    assert answers("Yes to both!", unnamed) == {"dana": Y, "x": Y}
    assert answers("Happy to meet Dana.", unnamed) == {"dana": Y, "x": U}


def test_the_note_after_the_answer_is_the_blurb_and_never_stops_a_yes() -> None:
    text = (
        "Happy to meet Dana, skip Bob. I run Tidepool and we build cold-chain sensors for "
        "refrigerated trucks; we'd love twenty minutes on a pilot."
    )
    split = split_answer(text, TWO, PHRASES, ASK)
    assert split.answers["dana"].verdict is Y and split.answers["bob"].verdict is N
    assert split.blurb.startswith("I run Tidepool")
    marked = "Yes to both! Here's a short blurb: Alex Kim, Tidepool, cold-chain sensors."
    split = split_answer(marked, TWO, PHRASES, ASK)
    assert {a.verdict for a in split.answers.values()} == {Y}
    assert "Tidepool" in split.blurb


def test_a_note_that_takes_the_answer_back_stops_it() -> None:
    text = "Yes to both. On second thought, hold off on all of this for now."
    # "all of this" names nobody: the answer's last naming sentence is the first.
    assert answers(text) == {"dana": U, "bob": U}


def test_evidence_names_the_contact_it_is_about() -> None:
    split = split_answer("Happy to meet Dana, skip Bob.", TWO, PHRASES, ASK)
    assert split.answers["bob"].evidence.startswith("for Bob Lee:")
    assert '"skip"' in split.answers["bob"].evidence


def test_a_long_text_is_no_answer() -> None:
    assert answers("Yes to both. " + "We build sensors. " * 600) == {"dana": U, "bob": U}


# --------------------------------------------------------------------- matching
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
ME = frozenset({"sam@example.com"})


def awaited(intro_id: str, shared: str | None) -> Awaited:
    return Awaited(intro_id, Role.REQUESTER, "alex@tidepool.io", "t1", "<sent@x>", T0, shared)


def reply() -> Seen:
    return Seen(
        "m9",
        "t1",
        frozenset({"INBOX"}),
        T0 + timedelta(hours=1),
        sender="alex@tidepool.io",
        recipients=ME,
    )


def test_a_reply_to_a_shared_ask_is_claimed_by_every_intro_sharing_it() -> None:
    claim = claim_reply(reply(), [awaited("a", "<k>"), awaited("b", "<k>")], ME)
    assert claim is not None and claim.doubt is None and claim.shared == "<k>"
    assert set(claim.owners) == {("a", Role.REQUESTER), ("b", Role.REQUESTER)}


def test_a_reply_that_could_answer_intros_not_sharing_an_ask_still_goes_to_the_connector() -> None:
    for pair in (
        [awaited("a", None), awaited("b", None)],
        [awaited("a", "<k>"), awaited("b", "<other>")],
        [awaited("a", "<k>"), awaited("b", None)],
    ):
        claim = claim_reply(reply(), pair, ME)
        assert claim is not None and claim.doubt and "several intros" in claim.doubt


def test_a_shared_reply_not_to_the_connector_is_in_doubt() -> None:
    stray = replace(reply(), recipients=frozenset({"someone@else.example"}))
    claim = claim_reply(stray, [awaited("a", "<k>"), awaited("b", "<k>")], ME)
    assert claim is not None and claim.doubt and claim.shared == "<k>"


# --------------------------------------------------------------------- workflow
RULES = WorkflowRules(connector=Person("Sam Rivera", "sam@example.com"))
ALEX = Person("Alex Kim", "alex@tidepool.io")
REQUEST = RequestRef("t1", "m1", "<req@tidepool.io>", "Two intros?", ALEX, "direct")
CONTACTS = [
    ("i1", Person("Dana Whitfield", "dana@northwind.example"), "ctx", "1" * 32),
    ("i2", Person("Bob Lee", "bob@lee.example"), "ctx", "2" * 32),
]


def opened() -> list:  # type: ignore[type-arg]
    transitions = open_intros(CONTACTS, REQUEST, ALEX, T0, RULES)
    creates = [a for t in transitions for a in t.actions if isinstance(a, CreateDraft)]
    shared = [a for a in creates if a.spec.template == "consent_requester_several"]
    assert len(shared) == 1 and len(creates) == 3  # one ask to Alex, one to each contact
    intros = [t.intro for t in transitions]
    key = shared[0].spec.key
    out = []
    for intro in intros:  # the draft written: every record learns of it
        record = next(d for d in intro.drafts if d.shared == key)
        created = DraftCreated(record.key, "d1", "msg1", "t1")
        out.append(step(intro, created, T0, RULES).intro)
    return out


def test_one_request_for_two_contacts_opens_two_intros_sharing_one_ask() -> None:
    dana, bob = opened()
    (d_rec,) = [d for d in dana.drafts if d.shared]
    (b_rec,) = [d for d in bob.drafts if d.shared]
    assert d_rec.shared == b_rec.shared == d_rec.key != b_rec.key
    assert d_rec.draft_id == b_rec.draft_id == "d1"


def test_cancelling_one_intro_rewrites_the_unedited_shared_ask() -> None:
    dana, bob = opened()
    cancelled = step(bob, Cancel("connector"), T0, RULES)
    assert not [
        a
        for a in cancelled.actions
        if isinstance(a, DeleteDraft) and a.key in {d.key for d in bob.drafts if d.shared}
    ]  # not by itself
    settled = settle_shared_ask([dana, cancelled.intro], dana.drafts[-1].shared or "", T0, RULES)
    actions = [a for t in settled for a in t.actions]
    assert [a for a in actions if isinstance(a, DeleteDraft)]  # the old ask goes
    (new,) = [a for a in actions if isinstance(a, CreateDraft)]
    assert new.spec.template == "consent_requester" and new.intro_id == "i1"
    # settled once: asked again, nothing more to do
    again = {t.intro.id: t.intro for t in settled}
    shared = next(d.key for d in dana.drafts if d.shared)
    assert settle_shared_ask(list(again.values()), shared, T0, RULES) == []


def test_cancelling_one_intro_leaves_an_edited_shared_ask_to_the_connector() -> None:
    dana, bob = opened()
    shared = next(d for d in dana.drafts if d.shared)
    dana = dana.with_draft(replace(shared, edited=True))
    bob_rec = next(d for d in bob.drafts if d.shared)
    bob = bob.with_draft(replace(bob_rec, edited=True))
    cancelled = step(bob, Cancel("connector"), T0, RULES).intro
    settled = settle_shared_ask([dana, cancelled], shared.key, T0, RULES)
    actions = [a for t in settled for a in t.actions]
    assert not [a for a in actions if isinstance(a, DeleteDraft | CreateDraft)]
    dana_now = next(t.intro for t in settled if t.intro.id == "i1")
    assert dana_now.attention and "Bob Lee" in dana_now.attention
    assert next(d for d in dana_now.drafts if d.key == shared.key).state is DraftState.CREATED


# ------------------------------------------------------------ an older rules copy
def test_an_older_rules_copy_still_loads_and_is_told_what_it_lacks(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder, ignore=shutil.ignore_patterns("__*"))
    english = folder / "phrases" / "en.toml"
    text = english.read_text(encoding="utf-8")
    english.write_text(text[: text.index("[per_contact]")], encoding="utf-8")
    (folder / "templates" / "consent_requester_several.txt").unlink()
    rules = load_rules(folder)  # the shipped template stands in
    assert "consent_requester_several" in rules.templates
    problems = [r.problem or "" for r in check(folder) if not r.ok]
    assert any("[per_contact] everyone" in p and "en.toml" in p for p in problems)
    assert any("introbot uses the shipped one" in p for p in problems)
    # Without the lists, an answer naming contacts is read whole: never a yes by doubt.
    split = split_answer("Happy to meet Dana, skip Bob.", TWO, rules.phrases, ASK)
    assert split.answers["bob"].verdict is not Verdict.YES


def test_one_reminder_for_a_shared_ask() -> None:
    intros = opened()
    sent_at = T0 + timedelta(hours=1)
    after = []
    for intro in intros:
        record = next(d for d in intro.drafts if d.shared)
        sent = DraftSent(record.key, "s1", "<sent@x>", "t1", sent_at, "", ("alex@tidepool.io",))
        after.append(step(intro, sent, sent_at, RULES).intro)
    assert all(i.requester.consent is Consent.ASKED for i in after)
    later = sent_at + RULES.remind_after + timedelta(hours=1)
    current = {i.id: i for i in after}
    reminders = []
    for intro in after:  # each ticks, then its request thread is settled, as the engine does
        ticked = step(current[intro.id], Tick(), later, RULES)
        for t in settle_thread(ticked, list(current.values()), later, RULES):
            current[t.intro.id] = t.intro
            reminders += [
                a
                for a in t.actions
                if isinstance(a, CreateDraft)
                and a.spec.kind is DraftKind.REMINDER
                and a.spec.to[0].email == "alex@tidepool.io"
            ]
    assert len(reminders) == 1  # one question, one reminder, in the one thread
