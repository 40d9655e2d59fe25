"""introbot.matching with plain values: one test per situation of issue 11."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from introbot.matching import (
    Awaited,
    Fate,
    Present,
    Seen,
    Tracked,
    awaited_answers,
    claim_bounce,
    claim_reply,
    draft_fates,
    from_connector,
    similarity,
)
from introbot.model import Draft, DraftKind, DraftSent, DraftState, Role

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ME = frozenset({"connector@example.com"})
ALEX = "alex.kim@tidepool.io"
DANA = "dana@northwind.example"
CONSENT_TEXT = (
    "Hi Dana,\n\nAlex Kim of Tidepool asked me for an introduction to you. They build "
    "cold-chain sensors and would love to pilot with your logistics team. Would you be open "
    "to an introduction? If not, no problem at all: just say so and that is the end of it.\n\n"
    "Best,\nSam"
)


def draft(key: str = "<k1@example.com>", thread: str = "t-dana", message: str = "m1") -> Draft:
    return Draft(
        key=key,
        kind=DraftKind.CONSENT,
        to=Role.CONTACT,
        state=DraftState.CREATED,
        draft_id="r-" + key.strip("<>"),
        message_id=message,
        thread_id=thread,
    )


def tracked(d: Draft, text: str = CONSENT_TEXT, to: str = DANA, intro: str = "i1") -> Tracked:
    return Tracked(intro, d, frozenset({to}), text, since=T0)


def sent(
    id: str = "s1",
    thread: str = "t-dana",
    to: str = DANA,
    text: str = CONSENT_TEXT,
    at: datetime = T0 + timedelta(minutes=5),
    rfc822: str | None = "<CA+gmail-own@mail.gmail.com>",
) -> Seen:
    return Seen(
        id=id,
        thread_id=thread,
        labels=frozenset({"SENT"}),
        at=at,
        sender="connector@example.com",
        recipients=frozenset({to}),
        rfc822_id=rfc822,
        text=text,
    )


def gone(*ds: Draft) -> dict[str, Present | None]:
    return {d.draft_id or "": None for d in ds}


# ------------------------------------------------------------------ draft fates
def test_a_draft_still_in_drafts_is_unchanged_or_edited() -> None:
    d = draft()
    same = Present(d.draft_id or "", "m1", "t-dana")
    edited = Present(d.draft_id or "", "m2", "t-new")
    [fate] = draft_fates([tracked(d)], {d.draft_id or "": same}, [sent()])
    assert fate.fate is Fate.UNCHANGED  # a sent message in its thread is not its copy
    [fate] = draft_fates([tracked(d)], {d.draft_id or "": edited}, [])
    assert fate.fate is Fate.EDITED and fate.current == edited


def test_gone_with_its_copy_in_its_thread_is_sent() -> None:
    d = draft()
    [fate] = draft_fates([tracked(d)], gone(d), [sent()])
    assert fate.fate is Fate.SENT and fate.copy is not None and fate.copy.id == "s1"


def test_the_copy_keeps_the_draft_message_id_or_its_message_id_header() -> None:
    d = draft()
    own = replace(sent(text="totally rewritten"), id="m1")
    [fate] = draft_fates([tracked(d)], gone(d), [own])
    assert fate.fate is Fate.SENT
    ours = replace(sent(text="rewritten", thread="elsewhere"), rfc822_id=d.key)
    [fate] = draft_fates([tracked(d)], gone(d), [ours])
    assert fate.fate is Fate.SENT


def test_gone_with_no_copy_is_gone_not_discarded() -> None:
    d = draft()
    [fate] = draft_fates([tracked(d)], gone(d), [])
    assert fate.fate is Fate.GONE


def test_an_unrelated_message_to_the_same_person_is_not_the_copy() -> None:
    """The lunch invitation to Dana, after her consent draft was discarded."""
    d = draft()
    lunch = sent(thread="t-lunch", text="Hi Dana, lunch on Tuesday? There is a new place. Sam")
    [fate] = draft_fates([tracked(d)], gone(d), [lunch])
    assert fate.fate is Fate.GONE


def test_a_message_written_by_hand_in_the_thread_is_not_the_copy() -> None:
    """The connector answers the requester in the request thread before sending the draft."""
    d = draft(thread="t-request")
    by_hand = sent(thread="t-request", to=ALEX, text="Alex, great to hear from you! On it. Sam")
    [fate] = draft_fates([tracked(d, to=ALEX)], gone(d), [by_hand])
    assert fate.fate is Fate.GONE


def test_the_connector_s_edits_still_match() -> None:
    d = draft()
    edited = CONSENT_TEXT.replace(
        "Best,", "Dana, I have known Alex for years and vouch for them.\n\nBest,"
    ).replace("Hi Dana", "Dear Dana")
    assert similarity(CONSENT_TEXT, edited) >= 0.6
    quoted = edited + "\n\nOn Mon, Alex wrote:\n> Could you introduce me?\n> Thanks"
    [fate] = draft_fates([tracked(d)], gone(d), [sent(text=quoted)])
    assert fate.fate is Fate.SENT


def test_an_edited_subject_moved_the_draft_to_another_thread() -> None:
    """Recorded thread is the one it moved to (DraftEdited), and the copy is found there."""
    d = draft(thread="t-moved")
    [fate] = draft_fates([tracked(d)], gone(d), [sent(thread="t-moved")])
    assert fate.fate is Fate.SENT


def test_another_client_sends_a_new_message_with_the_same_text_and_recipients() -> None:
    d = draft()
    other = sent(thread="t-apple-mail", rfc822="<1234@apple.example>")
    [fate] = draft_fates([tracked(d)], gone(d), [other])
    assert fate.fate is Fate.SENT
    to_someone_else = sent(thread="t-apple-mail", to="colleague@northwind.example")
    [fate] = draft_fates([tracked(d)], gone(d), [to_someone_else])
    assert fate.fate is Fate.GONE


def test_an_edited_recipient_in_the_thread_is_sent_with_its_recipients() -> None:
    """The workflow sees who it went to (attention, or a corrected address)."""
    d = draft()
    [fate] = draft_fates([tracked(d)], gone(d), [sent(to="dana.w@northwind.example")])
    assert fate.fate is Fate.SENT and fate.copy is not None
    assert fate.copy.recipients == {"dana.w@northwind.example"}


def test_a_copy_older_than_the_draft_is_not_its_copy() -> None:
    d = draft()
    old = sent(at=T0 - timedelta(days=30))
    [fate] = draft_fates([tracked(d)], gone(d), [old])
    assert fate.fate is Fate.GONE


def test_two_drafts_in_one_thread_each_get_their_own_copy() -> None:
    """Two contacts of one request: both consent drafts to the requester in one thread."""
    text_bob = CONSENT_TEXT.replace("Dana", "Bob").replace("logistics", "finance")
    d1 = draft("<k1@x>", thread="t-request", message="m1")
    d2 = draft("<k2@x>", thread="t-request", message="m2")
    t1, t2 = tracked(d1, to=ALEX, intro="i1"), tracked(d2, text_bob, to=ALEX, intro="i2")
    copy_bob = sent("s-bob", thread="t-request", to=ALEX, text=text_bob)
    # Only Bob's draft was sent: Dana's is still in Drafts.
    present = gone(d2)
    present[d1.draft_id or ""] = Present(d1.draft_id or "", "m1", "t-request")
    fates = {f.key: f for f in draft_fates([t1, t2], present, [copy_bob])}
    assert fates["<k1@x>"].fate is Fate.UNCHANGED
    assert fates["<k2@x>"].fate is Fate.SENT
    # Both sent: the closer text wins, and each copy serves one draft.
    copy_dana = sent("s-dana", thread="t-request", to=ALEX)
    fates = {f.key: f for f in draft_fates([t1, t2], gone(d1, d2), [copy_bob, copy_dana])}
    assert fates["<k1@x>"].copy is not None and fates["<k1@x>"].copy.id == "s-dana"
    assert fates["<k2@x>"].copy is not None and fates["<k2@x>"].copy.id == "s-bob"
    fates = {f.key: f for f in draft_fates([t1, t2], gone(d1, d2), [copy_bob])}
    assert fates["<k1@x>"].fate is Fate.GONE and fates["<k2@x>"].fate is Fate.SENT


def test_drafts_whose_presence_was_not_checked_are_left_out() -> None:
    assert draft_fates([tracked(draft())], {}, [sent()]) == []


# ---------------------------------------------------------------------- replies
def awaited(
    intro: str = "i1",
    role: Role = Role.CONTACT,
    party: str = DANA,
    thread: str = "t-dana",
    rfc822: str | None = "<CA+gmail-own@mail.gmail.com>",
    at: datetime = T0,
) -> Awaited:
    return Awaited(intro, role, party, thread, rfc822, at)


def reply(
    id: str = "r1",
    thread: str = "t-dana",
    sender: str = DANA,
    at: datetime = T0 + timedelta(hours=2),
    refs: tuple[str, ...] = (),
    dated: datetime | None = None,
    to: str = "connector@example.com",
) -> Seen:
    return Seen(
        id=id,
        thread_id=thread,
        labels=frozenset({"INBOX"}),
        at=at,
        sender=sender,
        recipients=frozenset({to}),
        rfc822_id=f"<{id}@northwind.example>",
        refs=refs,
        dated=dated or at,
    )


def test_a_reply_in_the_consent_thread_belongs_to_that_party() -> None:
    claim = claim_reply(reply(), [awaited()], ME)
    assert claim is not None and claim.owners == (("i1", Role.CONTACT),) and claim.doubt is None


def test_a_reply_elsewhere_naming_the_real_sent_id_belongs_to_that_party() -> None:
    moved = reply(thread="t-new-subject", refs=("<CA+gmail-own@mail.gmail.com>",))
    claim = claim_reply(moved, [awaited()], ME)
    assert claim is not None and claim.owners == (("i1", Role.CONTACT),)


def test_a_reply_naming_the_id_introbot_put_on_the_draft_is_nobody_s() -> None:
    """Gmail rewrites Message-ID on send: only the sent copy's real id counts."""
    predicted = reply(thread="t-replay", refs=("<introbot.i1.consent.contact.1@example.com>",))
    assert claim_reply(predicted, [awaited()], ME) is None


def test_a_replayed_old_answer_does_not_count() -> None:
    """An old "Sure, sounds good!" delivered again, naming the real id: dated before."""
    old = reply(
        thread="t-replay",
        refs=("<CA+gmail-own@mail.gmail.com>",),
        dated=T0 - timedelta(days=200),
    )
    assert claim_reply(old, [awaited()], ME) is None
    before = reply(at=T0 - timedelta(minutes=1))
    assert claim_reply(before, [awaited()], ME) is None
    skewed = reply(at=T0 + timedelta(minutes=2), dated=T0 - timedelta(minutes=5))
    assert claim_reply(skewed, [awaited()], ME) is not None  # a clock a little behind


def test_the_request_message_is_never_a_reply() -> None:
    """After a full resync the request thread is read whole: the request is not an answer."""
    to_alex = awaited(role=Role.REQUESTER, party=ALEX, thread="t-request")
    request = reply("req", thread="t-request", sender=ALEX, at=T0 + timedelta(hours=1))
    assert claim_reply(request, [to_alex], ME, frozenset({"req"})) is None
    older = reply("req", thread="t-request", sender=ALEX, at=T0 - timedelta(hours=1))
    assert claim_reply(older, [to_alex], ME) is None  # and it is older than the consent


def test_the_answers_awaited_are_those_to_consent_messages_actually_sent() -> None:
    """Drafted is not asked: an answer is awaited once the consent message is sent, as
    recorded or as this very sync saw it sent, in the thread and under the Message-ID of
    the sent copy."""
    from tests.test_workflow import _asked, _created, _open, _run, _sent

    opened = _open()
    drafted = _run(opened, *_created(opened))
    assert awaited_answers([opened, drafted], []) == []
    just_sent = _sent(drafted, DraftKind.CONSENT, Role.CONTACT)
    assert isinstance(just_sent, DraftSent)
    (now,) = awaited_answers([drafted], [just_sent])
    assert (now.role, now.party, now.thread_id, now.rfc822_id) == (
        Role.CONTACT, "dana@northwind.example", just_sent.thread_id, just_sent.rfc822_id,
    )  # fmt: skip
    recorded = awaited_answers([_asked()], [])
    assert [a.role for a in recorded] == [Role.REQUESTER, Role.CONTACT]
    assert all(a.rfc822_id and a.thread_id and a.shared is None for a in recorded)


def test_the_connector_writing_in_the_thread_is_not_a_reply() -> None:
    mine = reply(sender="connector@example.com")
    assert from_connector(mine, ME) and not from_connector(reply(), ME)
    assert claim_reply(mine, [awaited()], ME) is None
    assert claim_reply(replace(reply(), labels=frozenset({"SENT"})), [awaited()], ME) is None


def test_the_same_contact_in_two_intros_answers_only_the_thread_she_answers() -> None:
    first, second = (
        awaited("i1", thread="t-1", rfc822="<a@g>"),
        awaited("i2", thread="t-2", rfc822="<b@g>"),
    )
    claim = claim_reply(reply(thread="t-1", refs=("<a@g>",)), [first, second], ME)
    assert claim is not None and claim.owners == (("i1", Role.CONTACT),) and claim.doubt is None


def test_a_reply_that_could_answer_two_intros_goes_to_the_connector() -> None:
    """Two contacts of one request: both consent messages to Alex share the thread."""
    dana = awaited("i1", Role.REQUESTER, ALEX, "t-request", "<a@g>")
    bob = awaited("i2", Role.REQUESTER, ALEX, "t-request", "<b@g>")
    answer = reply(thread="t-request", sender=ALEX, refs=("<a@g>",))
    claim = claim_reply(answer, [dana, bob], ME)
    assert claim is not None and claim.doubt is not None
    assert set(claim.owners) == {("i1", Role.REQUESTER), ("i2", Role.REQUESTER)}
    # Merged threads, same contact: one message naming both sent copies.
    both = reply(thread="t-x", refs=("<a@g>", "<b@g>"))
    a1, a2 = (
        awaited("i1", rfc822="<a@g>", thread="t-1"),
        awaited("i2", rfc822="<b@g>", thread="t-2"),
    )
    claim = claim_reply(both, [a1, a2], ME)
    assert claim is not None and claim.doubt is not None and len(claim.owners) == 2


def test_a_reply_not_addressed_to_the_connector_is_in_doubt() -> None:
    claim = claim_reply(reply(to="alex.kim@tidepool.io"), [awaited()], ME)
    assert claim is not None and claim.doubt is not None


def test_a_bounce_outside_the_thread_names_its_party_once() -> None:
    bounce = reply("b1", thread="t-bounce", sender="mailer-daemon@googlemail.com")
    assert claim_reply(bounce, [awaited()], ME) is None
    claim = claim_bounce(bounce, [DANA], [awaited()])
    assert claim is not None and claim.owners == (("i1", Role.CONTACT),) and claim.doubt is None
    two = claim_bounce(bounce, [DANA], [awaited("i1"), awaited("i2", thread="t-2")])
    assert two is not None and two.doubt is not None
    assert claim_bounce(bounce, [ALEX], [awaited()]) is None
