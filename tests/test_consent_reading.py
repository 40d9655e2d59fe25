"""The consent reader of issue 10: the whole reply explained, clause by clause, in the
reply's own language; a requester's reply read in parts; the preference carried forward.

Every reply here is written for this file, one per kind of failure found on mail the
project did not write (see tests/corpus/reply_cases.py for the corpus cases)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from introbot.model import CreateDraft, ReplyReceived, Role, Verdict
from introbot.reading.mime import read_mail
from introbot.reading.phrases import PhraseSet, normalize
from introbot.reading.replies import Kind, read_clause, read_reply, understand
from introbot.rules import default_phrases
from introbot.workflow import step
from tests.mail import make_mail
from tests.test_workflow import PARALLEL, _asked

PHRASES = default_phrases()
AUTH = "Authentication-Results: mx.google.com; dkim=pass header.i=@northwind.example; dmarc=pass header.from=northwind.example\r\n"


def _verdict(text: str, role: Role | None = None) -> Verdict:
    return understand(text, PHRASES, role).verdict


@pytest.mark.parametrize(
    "text",
    [
        # a yes word of another language in an English sentence
        "Super slammed this quarter, sorry.",
        # a yes phrase that is the start of a longer phrase ("i'm in" the middle of)
        "I'm in the middle of a hiring push, sorry.",
        # a yes phrase put off to another day
        "Let's do it some other time.",
        # "sure" as the object of a verb
        "Let me make sure the timing works on our side.",
        # a header-less auto-responder's promise
        "Happy to help - we answer every message within 3 business days.",
        # a yes beside a sentence that is none of answer, thanks, preference or warm words
        "Yes, happy to. My cofounder runs all partnerships now.",
        # a certainty statement is not an answer
        "I'm pretty sure I could make time.",
        # lukewarm
        "I'm open to it.",
    ],
)
def test_never_a_yes(text: str) -> None:
    assert _verdict(text) is not Verdict.YES


@pytest.mark.parametrize(
    "text",
    [
        "Pass.",
        "Pass, thank you.",
        "I would prefer not to be introduced.",
        "I don't think I'm the right person for this.",
        "I'm not available for this kind of call.",
        "Too stretched right now.",
        "Busy with a product launch at the moment, sorry!",
        "I'd rather keep my time for existing customers.",
        "I wouldn't be happy to.",
        "Désolée, je ne suis pas disponible.",
        "Leider keine Zeit im Moment.",
    ],
)
def test_declines_by_their_structure(text: str) -> None:
    assert _verdict(text) is Verdict.NO


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # the condition or deferral in its own clause still counts
        ("Sure - but only after our board meeting.", Verdict.UNCLEAR),
        ("Happy to; next quarter would suit me better.", Verdict.UNCLEAR),
        # a refusal with a condition goes to the connector
        ("No, unless she is hiring.", Verdict.UNCLEAR),
        # busy, but opening a door later
        ("Busy until the spring, sorry.", Verdict.UNCLEAR),
        # a negation inside an idiom that agrees does not stop the yes
        ("No problem at all, happy to connect.", Verdict.YES),
        # "pass" only as a whole clause
        ("Yes, please pass my details along.", Verdict.UNCLEAR),
    ],
)
def test_negation_and_conditions_are_scoped_to_their_clause(text: str, verdict: Verdict) -> None:
    assert _verdict(text) is verdict


def test_a_yes_explains_every_sentence() -> None:
    reading = understand(
        "Hi Sam,\n\nThanks for asking first! Absolutely, go ahead. Sounds like a promising "
        "team. Email is best for me.\n\nBest,\nDana",
        PHRASES,
    )
    assert reading.verdict is Verdict.YES
    assert {c.kind for c in reading.clauses} >= {Kind.YES, Kind.PREFERENCE, Kind.REMARK}
    assert "the rest is" in reading.evidence
    assert reading.preference == "Email is best for me."


def test_phrases_of_the_replys_own_language_only() -> None:
    assert PHRASES.detect_language("Super, gerne! Bis bald.") == "de"
    assert PHRASES.detect_language("Super busy, sorry.") == "en"
    assert _verdict("Super, gerne!") is Verdict.YES
    assert _verdict("Super, thanks.") is not Verdict.YES  # English: "super" is no yes
    assert _verdict("Oui, avec plaisir.") is Verdict.YES
    assert _verdict("Sí, claro que sí.") is Verdict.YES


def test_clause_phrase_syntax() -> None:
    anchored = PhraseSet(["^pass$", "too _"])
    assert [h.phrase for h in anchored.find(normalize("Pass."))] == ["pass"]
    assert anchored.find(normalize("please pass it on")) == []
    assert [h.phrase for h in anchored.find(normalize("way too tired"))] == ["too tired"]
    assert anchored.find(normalize("me too")) == []


def test_read_clause_longest_phrase_wins() -> None:
    english = PHRASES.consent("en")
    assert read_clause("I'm not sure", english).kind is not Kind.REFUSAL  # a hedge
    assert read_clause("not interested", english).kind is Kind.REFUSAL
    assert read_clause("I'd prefer a call", english).kind is Kind.PREFERENCE
    assert read_clause("I'd prefer to stay out of it", english).kind is Kind.REFUSAL


# ------------------------------------------------------------------ the requester
@pytest.mark.parametrize(
    "text",
    [
        "Yes please! Sam, I'm a first-time founder building a data platform; twenty minutes "
        "on pricing would help a lot.",
        "Yes please.\n\nBlurb: Alex leads data at Tidepool, the first team to ship X. "
        "If Dana has time, a call would be great?",
        "Sure, go ahead. Here's a short note you can forward: we are not raising, only after "
        "advice on the pilot.",
    ],
)
def test_a_requesters_note_never_stops_their_yes(text: str) -> None:
    reading = understand(text, PHRASES, Role.REQUESTER)
    assert reading.verdict is Verdict.YES, reading.evidence
    assert reading.blurb and "Yes" not in reading.blurb
    # read as a contact's reply, the same words are not explained
    assert understand(text, PHRASES, Role.CONTACT).verdict is Verdict.UNCLEAR


@pytest.mark.parametrize(
    "text",
    [
        "Yes please. Actually, on second thought, hold off until our launch.",
        "Yes. Only if she is still at Northwind though.",
        "Yes please.\n\nNo, wait, don't.",
        "Yes. Actually never mind, we found another way in.",
        "Yes please. But first, can you tell me whether she decides on budgets?",
    ],
)
def test_a_requesters_note_can_take_the_yes_back(text: str) -> None:
    assert _verdict(text, Role.REQUESTER) is Verdict.UNCLEAR


# ----------------------------------------------------------------------- HTML
def _html_reply(plain: str, html: str) -> bytes:
    raw = make_mail(
        sender="Dana Whitfield <dana@northwind.example>",
        to="connector@example.com",
        subject="Re: Would you like to meet Alex Kim?",
        body=plain,
        html=html,
    )
    return AUTH.encode() + raw


def test_plain_and_html_parts_that_disagree_are_unclear() -> None:
    mail = read_mail(_html_reply("Let me think about it.\n", "<p>Yes, happy to!</p>"))
    assert read_reply(mail, PHRASES).verdict is not Verdict.YES
    mail = read_mail(_html_reply("Yes, happy to!\n", "<p>Let me think about it.</p>"))
    reading = read_reply(mail, PHRASES)
    assert reading.verdict is Verdict.UNCLEAR and "HTML" in reading.evidence


def test_parts_that_agree_stay_a_yes() -> None:
    mail = read_mail(_html_reply("Yes, happy to!\n", "<div>Yes, happy to!</div>"))
    assert read_reply(mail, PHRASES).verdict is Verdict.YES


# ------------------------------------------------------ what reaches the other side
def test_only_the_preference_reaches_the_joint_draft() -> None:
    text = "Sure, go ahead. His last deck was weak. Email is best."
    contact_mail = read_mail(
        AUTH.encode()
        + make_mail(
            sender="Dana Whitfield <dana@northwind.example>",
            to="connector@example.com",
            body=text,
        )
    )
    reading = read_reply(contact_mail, PHRASES, role=Role.CONTACT)
    assert reading.verdict is Verdict.UNCLEAR  # the aside is not explained: you decide
    assert reading.preference == "Email is best."
    intro = _asked()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    requester_yes = ReplyReceived(
        Role.REQUESTER,
        "r1",
        Verdict.YES,
        "yes",
        "Yes please.",
        True,
        intro.requester.person.email,
        at,
    )
    intro = step(intro, requester_yes, at, PARALLEL).intro
    contact_yes = ReplyReceived(
        Role.CONTACT,
        "r2",
        Verdict.YES,
        "decided",
        text,
        True,
        intro.contact.person.email,
        at,
        preference=reading.preference,
    )
    transition = step(intro, contact_yes, at, PARALLEL)
    (joint,) = [a.spec for a in transition.actions if isinstance(a, CreateDraft)]
    assert joint.fields["contact_words"] == "Email is best."
    assert "deck" not in str(joint.fields)


def test_an_answer_may_echo_the_message_it_answers() -> None:
    ask = "Would you be open to a short call with Alex about cold-chain pilots?"
    reply = "Happy to have a call about the pilots."
    assert understand(reply, PHRASES, ask=ask).verdict is Verdict.YES
    assert understand(reply, PHRASES).verdict is Verdict.UNCLEAR  # nothing to echo
    # echoing explains words; it never makes a yes of a doubt
    assert understand("Happy to, but not about pilots.", PHRASES, ask=ask).verdict is not (
        Verdict.YES
    )
    # the quoted message stands in for the ask when introbot does not know it
    raw = AUTH.encode() + make_mail(
        sender="Dana Whitfield <dana@northwind.example>",
        to="connector@example.com",
        body=f"{reply}\n\nOn Tue, Nov 24, 2026 at 9:12 AM Sam <connector@example.com> wrote:\n> {ask}\n",
    )
    assert read_reply(read_mail(raw), PHRASES).verdict is Verdict.YES


def test_an_evaluation_is_not_an_answer() -> None:
    assert _verdict("Some of them are okay.") is Verdict.UNCLEAR
    assert _verdict("Okay, go ahead.") is Verdict.YES


def test_a_requesters_preference_travels_with_their_note() -> None:
    observation = ReplyReceived(
        Role.REQUESTER,
        "r1",
        Verdict.YES,
        "yes",
        "",
        True,
        "alex@tidepool.io",
        datetime(2026, 12, 1, tzinfo=UTC),
        preference="A call is easiest.",
        blurb="Alex runs Tidepool.",
    )
    assert observation.words == "Alex runs Tidepool.\n\nA call is easiest."
    contact = replace(observation, role=Role.CONTACT)
    assert contact.words == "A call is easiest."


@pytest.mark.parametrize(
    "body",
    [
        # a condition after a blank line below the signature block is a sentence, not a tagline
        "Yes!\n\nBest,\nDana\nVP Logistics | Northwind\n+1 415 555 0100\n\nUnless it is about "
        "recruiting, then no.",
        "Sure, go ahead.\n\nThanks,\nDana\n\nP.S. only if he is not pitching a fundraise.",
        "Happy to.\n\nSent from my phone\n\nWait - is this the Alex from Acme?",
    ],
)
def test_what_follows_a_sign_off_is_read(body: str) -> None:
    raw = AUTH.encode() + make_mail(
        sender="Dana Whitfield <dana@northwind.example>", to="connector@example.com", body=body
    )
    reading = read_reply(read_mail(raw), PHRASES)
    assert reading.verdict is Verdict.UNCLEAR, reading.text


# Replies written for this file as people write them, read whole (quotes and signature
# through the real mail path) in each language the consent phrases cover.
AS_PEOPLE_WRITE = [
    ("yes", "Yes, happy to!\n\nDana"),
    (
        "unclear",
        "Sure, go ahead.\n\nThanks,\nDana\n\nP.S. only if he's not pitching me on fundraising.",
    ),
    ("unclear", "Happy to.\n\nSent from my iPhone\n\nActually wait - is this the Alex from Acme?"),
    (
        "unclear",
        "Yes!\n\nBest,\nDana\nVP Logistics | Northwind\n+1 415 555 0100\n\nUnless it's about recruiting, then no.",
    ),
    ("no", "Thanks for thinking of me, but I'm going to sit this one out.\n\nDana"),
    ("no", "Appreciate it Sam, but no.\n\n-D"),
    ("yes", "Sounds great - go ahead and connect us. Mornings work best for me.\n\nCheers,\nDana"),
    ("unclear", "Maybe? What does Tidepool do?"),
    ("no", "Hi Sam - I'd rather not, our team is heads down on the launch.\n\nD"),
    ("yes", "Of course! Email is best: dana@northwind.example\n\nDana Whitfield\nNorthwind"),
    ("unclear", "yes if he can do next week, otherwise no"),
    ("unclear", "Sure... I guess."),
    ("unclear", "Not sure I'm the right fit, but happy to chat briefly."),
    ("no", "Sorry Sam, not interested at the moment."),
    ("unclear", "I'd love to but I'm slammed until March."),
    ("yes", "Absolutely. Feel free to share my email with him.\n\nThanks!"),
    ("unclear", "Yes - though I should say I'm leaving Northwind next month."),
    ("no", "Nope, sorry."),
    ("unclear", "Let me check my calendar and get back to you."),
    ("yes", "Yep, intro away. Thanks Sam!"),
    ("unclear", "Happy to help. Who is Alex exactly?"),
    ("no", "I'm going to pass on this one, thanks for understanding."),
    ("unclear", "Sure thing, but can we wait until after the holidays?"),
    (
        "yes",
        "Sure, happy to chat with Alex. My assistant Jamie (jamie@northwind.example) can find a time.",
    ),
    ("no", "Unfortunately I can't take on any new conversations right now."),
    ("unclear", "Yes please. Also, could you send me his deck first?"),
    ("no", "We're not a fit for this, sorry."),
    ("unclear", "YES!!! (just kidding, no)"),
    ("no", "No, thank you. Please don't share my details."),
    ("unclear", "Sure, why not. Although I'm not sure what I can offer him."),
    ("unclear", "Yes, I'd be happy to talk to him—after I'm back from leave in March."),
    ("yes", "Sure :)"),
    ("unclear", "Sure, if it's quick."),
    ("unclear", "Happy to, as long as it's not a sales pitch"),
    ("no", "Absolutely not."),
    ("no", "Definitely not interested."),
    ("no", "Go ahead and tell him I'm not interested."),
    ("yes", "Yes, that'd be fine"),
    ("yes", "Sure, sounds good to me."),
    ("yes", "ok"),
    ("yes", "I am happy to connect"),
    ("yes", "Can't wait to meet him!"),
    ("yes", "Yes pls"),
    ("unclear", "Yes. I mean no."),
    ("yes", "Yes, happy to speak with him next Tuesday"),
    ("unclear", "Sure, just not this month"),
    ("no", "Not this time, sorry!"),
    ("unclear", "Sure, but keep it to 15 minutes"),
    ("yes", "Sure, glad to help."),
    ("unclear", "Sure, glad to help if I can"),
    ("no", "Thanks but I'll pass this time."),
    ("unclear", "I would, but I'm leaving the company."),
    ("yes", "Yes of course, anything for you Sam."),
    ("unclear", "Yes, provided he signs an NDA."),
    ("no", "Please don't introduce us."),
    ("unclear", "Hmm, ok I guess"),
    ("yes", "Sure thing, put us in touch."),
    ("unclear", "ok but no calls"),
    ("yes", "Oui, avec plaisir. Par e-mail, c'est parfait."),
    ("unclear", "Oui, mais pas avant septembre."),
    ("no", "Non merci, je suis débordée."),
    ("yes", "Ja gerne, am besten per E-Mail."),
    ("unclear", "Ja, aber erst nach Ostern."),
    ("no", "Nein danke, kein Interesse."),
    ("yes", "Sí, con gusto. Mejor por correo."),
    ("unclear", "Sí, pero después de las vacaciones."),
    ("no", "No, gracias. Estoy muy ocupada."),
]


@pytest.mark.parametrize(("verdict", "body"), AS_PEOPLE_WRITE)
def test_replies_as_people_write_them(verdict: str, body: str) -> None:
    quote = (
        "\n\nOn Tue, Nov 24, 2026 at 9:12 AM Sam Rivera <connector@example.com> wrote:\n"
        "> Hi Dana,\n>\n> Alex Kim asked me for an introduction to you.\n>\n"
        "> Would you be open to it? If yes, just reply yes and tell me how you prefer to be\n"
        "> reached. If not, reply no - no explanation needed.\n>\n> Sam\n"
    )
    raw = AUTH.encode() + make_mail(
        sender="Dana Whitfield <dana@northwind.example>",
        to="connector@example.com",
        body=body + quote,
    )
    reading = read_reply(read_mail(raw), PHRASES)
    assert reading.verdict.value == verdict, reading.evidence


def test_a_yes_whose_html_hides_words_is_unclear() -> None:
    html = "<p>Yes, happy to!<span style='display:none'> Not really, no.</span></p>"
    reading = read_reply(read_mail(_html_reply("Yes, happy to!\n", html)), PHRASES)
    assert reading.verdict is Verdict.UNCLEAR
    assert "hides text" in reading.evidence
