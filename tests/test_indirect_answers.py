"""Indirect answers (issue 10): people who agree without writing "yes".

Each kind of indirect agreement the reader takes as a yes, with the near misses that must
stay unclear (or read as a no) beside it. Every reply is written for this file and read
through real mail bytes: the answer on top, the consent message quoted beneath it, as a
mail client sends it, so the question the reader echoes is the one that was asked."""

from __future__ import annotations

import pytest

from introbot.model import Verdict
from introbot.reading.mime import read_mail
from introbot.reading.replies import question_words, read_reply
from introbot.rules import default_phrases
from tests.mail import make_mail

PHRASES = default_phrases()
AUTH = (
    "Authentication-Results: mx.google.com; dkim=pass header.i=@northwind.example; "
    "dmarc=pass header.from=northwind.example\r\n"
)
OPEN_TO_IT = "Would you be open to it? If yes, tell me how you prefer to be reached."


def _reply(answer: str, question: str = OPEN_TO_IT, context: str = "") -> Verdict:
    consent = (
        "Hi Dana,\n\nPriya Raman from Lumen Health asked me for an introduction to you. "
        f"{context}\n\n{question}\n\nSam"
    )
    quoted = "\n".join(f"> {line}" if line else ">" for line in consent.splitlines())
    body = f"{answer}\n\nOn Tue, Nov 24, 2026 at 9:12 AM Sam Rivera <connector@example.com> wrote:\n{quoted}\n"
    raw = AUTH.encode() + make_mail(
        sender="Dana Whitfield <dana@northwind.example>",
        to="Sam Rivera <connector@example.com>",
        subject="Re: Would you like to meet Priya Raman?",
        body=body,
        message_id="<answer-1@northwind.example>",
        in_reply_to="<consent-1@introbot.local>",
    )
    reading = read_reply(read_mail(raw), PHRASES)
    return reading.verdict


COFFEE = "Would you like to grab a coffee with her next week?"
CALL = "Could you spare twenty minutes for a call with her?"


# ------------------------------------------------ short answers to "Would you / Can you"
@pytest.mark.parametrize(
    ("answer", "question", "verdict"),
    [
        ("I would.", COFFEE, Verdict.YES),
        ("I sure would!", COFFEE, Verdict.YES),
        ("I really would.", COFFEE, Verdict.YES),
        ("Very much so, thank you.", COFFEE, Verdict.YES),
        ("Most definitely.", COFFEE, Verdict.YES),
        ("I can.", CALL, Verdict.YES),
        ("We would, thanks!", COFFEE, Verdict.YES),
        # near misses: a short answer that is qualified, taken back or past
        ("I would, but not this month.", COFFEE, Verdict.UNCLEAR),
        ("I would if she is still at Lumen.", COFFEE, Verdict.UNCLEAR),
        ("I would have, a year ago.", COFFEE, Verdict.UNCLEAR),
        ("I can, sometimes.", CALL, Verdict.UNCLEAR),
        ("I can, I think.", CALL, Verdict.UNCLEAR),
        ("I would, I hope it's short.", COFFEE, Verdict.UNCLEAR),
        ("I'd love that, if it's after June.", COFFEE, Verdict.UNCLEAR),
        ("I do, sometimes.", "Do you still take calls from founders?", Verdict.UNCLEAR),
        ("I do.", "Do you still take calls from founders?", Verdict.YES),
    ],
)
def test_a_short_answer_to_the_question_asked(answer: str, question: str, verdict: Verdict) -> None:
    assert _reply(answer, question) is verdict


# ---------------------------------------------------- speaking well of the idea asked
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("That would be ideal.", Verdict.YES),
        ("That would be really helpful!", Verdict.YES),
        ("What a lovely idea.", Verdict.YES),
        ("It would be a pleasure.", Verdict.YES),
        ("That sounds really fun!", Verdict.YES),
        ("I'd be up for that.", Verdict.YES),
        ("I'd be up for it.", Verdict.YES),
        ("I would enjoy that very much.", Verdict.YES),
        ("I like the idea.", Verdict.YES),
        ("Sure, the more the merrier!", Verdict.YES),
        ("I was hoping you would ask!", Verdict.YES),
        ("I'm willing to talk to her.", Verdict.YES),
        # near misses
        ("That would have been ideal.", Verdict.UNCLEAR),  # it is too late
        ("That would be ideal, if it's after June.", Verdict.UNCLEAR),
        ("That would be ideal for my co-founder.", Verdict.UNCLEAR),  # someone else
        ("Ideal, maybe.", Verdict.UNCLEAR),
        ("That sounds exhausting.", Verdict.UNCLEAR),  # not praise
        ("That would be useful in theory.", Verdict.UNCLEAR),
        ("I'd love that, in a few months.", Verdict.UNCLEAR),
        ("I'm willing to, if she covers the travel.", Verdict.UNCLEAR),
        ("We'll see.", Verdict.UNCLEAR),
        # praise taken back is a refusal
        ("That wouldn't be helpful, sorry.", Verdict.NO),
        ("I'm not willing to do that.", Verdict.NO),
    ],
)
def test_praising_the_idea_asked_about(answer: str, verdict: Verdict) -> None:
    assert _reply(answer) is verdict


# ------------------------------------------- liking the very thing the question names
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("I love coffee.", Verdict.YES),
        ("I could go for a coffee.", Verdict.YES),
        ("I'm a big fan of coffee!", Verdict.YES),
        ("Coffee is my favourite.", Verdict.YES),
        ("I'd love to grab a coffee.", Verdict.YES),  # "grab" echoes the question
        # near misses
        ("I love coffee, but not with founders.", Verdict.UNCLEAR),
        ("I love coffee in the summer.", Verdict.UNCLEAR),
        ("I used to love coffee.", Verdict.UNCLEAR),
        ("I love tea.", Verdict.UNCLEAR),  # not what was asked
        ("I love coffee alone.", Verdict.UNCLEAR),
        ("I like some coffee places.", Verdict.UNCLEAR),
        ("I like some coffee.", Verdict.UNCLEAR),  # some of it
        ("Coffee would be great, tomorrow instead.", Verdict.UNCLEAR),  # another time
        ("I like some of them.", Verdict.UNCLEAR),
        ("I love the Roastery.", Verdict.UNCLEAR),  # a place, not the person asked about
        ("I love coffee on Fridays only.", Verdict.UNCLEAR),
        ("We could use one.", Verdict.UNCLEAR),  # "could", and only a pronoun: maybe
        # liking it not is a refusal
        ("I don't enjoy coffee meetings.", Verdict.NO),
    ],
)
def test_liking_the_thing_asked_about(answer: str, verdict: Verdict) -> None:
    assert _reply(answer, COFFEE) is verdict


def test_liking_what_the_context_names_is_not_an_answer() -> None:
    """Only the question counts: "I love climbing" to a message that mentions climbing
    in its introduction of the person says nothing about meeting her."""
    context = "She runs a climbing gym in Oakland and is planning a second site."
    assert _reply("I love climbing!", OPEN_TO_IT, context) is Verdict.UNCLEAR
    assert _reply("I love climbing!", "Would you like to go climbing with her?", context) is (
        Verdict.YES
    )


def test_the_question_words_and_their_stems() -> None:
    words = question_words("Priya runs a gym.\n\nDo you want to go hiking with her? Sam")
    assert {"hiking", "hik", "want"} <= words
    assert "gym" not in words and "runs" not in words  # not asked
    assert _reply("I love walking!", "Would you like to walk over to her office?") is Verdict.YES
    assert _reply("I love shopping, Sam!", "Want to shop for gear with her?") is Verdict.YES


# -------------------------------------------------- when: times of day are preferences
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("Sure, after work is easiest for me.", Verdict.YES),
        ("Happy to - tomorrow afternoon would work.", Verdict.YES),
        ("I'd love that - tell me when you're free.", Verdict.YES),
        ("That would suit me.", Verdict.YES),
        # near misses: later, not when
        ("Sure, after the launch.", Verdict.UNCLEAR),
        ("Happy to, in a few weeks.", Verdict.UNCLEAR),
        ("Sure, tomorrow if I'm not travelling.", Verdict.UNCLEAR),
    ],
)
def test_when_to_meet_is_a_preference(answer: str, verdict: Verdict) -> None:
    assert _reply(answer, COFFEE) is verdict


# ---------------------------------------------- contractions typed without apostrophe
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("thats fine, go ahead", Verdict.YES),
        ("im in", Verdict.YES),
        ("dont connect us please", Verdict.NO),  # the negation is read
        ("sounds good but i cant this month", Verdict.UNCLEAR),
        ("were busy", Verdict.NO),  # "were" stays a word: still busy, not "we're"
    ],
)
def test_contractions_without_apostrophe(answer: str, verdict: Verdict) -> None:
    assert _reply(answer) is verdict


# --------------------------------------------------------- the same kinds, other languages
@pytest.mark.parametrize(
    ("answer", "question", "verdict"),
    [
        ("Ce serait idéal.", "Voulez-vous prendre un café avec elle ?", Verdict.YES),
        ("J'adore le café !", "Voulez-vous prendre un café avec elle ?", Verdict.YES),
        ("Ce serait idéal, mais pas avant juin.", "Un café avec elle ?", Verdict.UNCLEAR),
        ("Ce ne serait pas utile.", "Un café avec elle ?", Verdict.NO),
        ("Das wäre ideal.", "Hätten Sie Lust auf einen Kaffee mit ihr?", Verdict.YES),
        ("Ich liebe Kaffee!", "Hätten Sie Lust auf einen Kaffee mit ihr?", Verdict.YES),
        ("Ich mag Tee.", "Hätten Sie Lust auf einen Kaffee mit ihr?", Verdict.UNCLEAR),
        ("Das wäre ideal, aber erst im Mai.", "Lust auf einen Kaffee?", Verdict.UNCLEAR),
        ("Sería ideal.", "¿Te gustaría tomar un café con ella?", Verdict.YES),
        ("¡Qué buena idea!", "¿Te gustaría tomar un café con ella?", Verdict.YES),
        ("Me gusta el té.", "¿Te gustaría tomar un café con ella?", Verdict.UNCLEAR),
        ("Sería ideal, pero después de junio.", "¿Un café con ella?", Verdict.UNCLEAR),
    ],
)
def test_indirect_answers_in_french_german_spanish(
    answer: str, question: str, verdict: Verdict
) -> None:
    assert _reply(answer, question) is verdict


# ------------------------------------------------ disliking the thing asked declines
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("I hate long video calls.", Verdict.NO),
        ("Networking coffees bore me, sorry.", Verdict.NO),
        ("That sounds boring.", Verdict.NO),
        ("Honestly a waste of time for me.", Verdict.NO),
        # near misses: the words of disliking in a sentence that does not refuse
        ("I'd hate to miss it!", Verdict.UNCLEAR),
        ("I hate to say it, but I'm in.", Verdict.UNCLEAR),
        ("I hate long calls, but a coffee would be great.", Verdict.UNCLEAR),
    ],
)
def test_disliking_the_thing_asked(answer: str, verdict: Verdict) -> None:
    assert _reply(answer, COFFEE) is verdict


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("Let me know when we can set it up, then.", Verdict.YES),
        ("That's a given, Sam.", Verdict.YES),
        ("I'm free any day, you pick.", Verdict.UNCLEAR),  # "you pick" is not explained
        ("I'm available any time.", Verdict.YES),
        # "next Tuesday" is when; "next summer" is a deferral (a "next _" wildcard of the
        # preferences used to swallow it and let the yes stand)
        ("Happy to, next Tuesday.", Verdict.YES),
        ("Happy to, next summer.", Verdict.UNCLEAR),
        ("Sure, next weekend.", Verdict.UNCLEAR),
        ("Set it up after our round closes.", Verdict.UNCLEAR),
        ("I'm free any day but Friday.", Verdict.UNCLEAR),
    ],
)
def test_arranging_it_and_being_free_whenever(answer: str, verdict: Verdict) -> None:
    assert _reply(answer, COFFEE) is verdict


def test_a_question_typed_without_its_mark_is_still_the_question() -> None:
    assert _reply("I love coffee.", "Would you like to grab a coffee with her") is Verdict.YES
    assert _reply("I love tea.", "Would you like to grab a coffee with her") is Verdict.UNCLEAR


# ------------------------------------------- a name the message did not name
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("Happy to meet Priya.", Verdict.YES),
        ("Yes, glad to help Priya, Sam.", Verdict.YES),
        ("Sure - my assistant Noor (noor@northwind.example) keeps my calendar.", Verdict.YES),
        # another person than the one asked about: not an answer to this ask
        ("I'd love to meet Jordan.", Verdict.UNCLEAR),
        ("Happy to, Jordan is the one to talk to.", Verdict.UNCLEAR),
        ("Yes, Marcus and I would both join.", Verdict.UNCLEAR),
    ],
)
def test_only_the_names_the_message_named_are_explained(answer: str, verdict: Verdict) -> None:
    assert _reply(answer) is verdict
