"""The note about a request that introbot could not use (all of) ends by saying what to do,
and that depends on why: a message to fix, a contact who waits for the unsent draft
already in the request thread, both, or neither (the problem itself says what to do).
Each of the four languages says each of them; the notes are the ones plan_request and
rebuilt_from_gmail write, rendered as the outbox renders them."""

from __future__ import annotations

import pytest

from introbot.languages import LANGUAGES, drafting
from introbot.model import CreateDraft, DraftSpec, Person, Stage
from introbot.rules import load_rules
from introbot.workflow import plan_request, rebuilt_from_gmail
from introbot.writing import render
from tests.test_workflow import ALEX, DANA, PARALLEL, REQUEST, T0, _open

RULES = load_rules()
PRIYA = Person("Priya Natarajan", "priya@harbor.example")
NO_ADDRESS = ["Bob Lee is named without an address to write to"]
ASK_AGAIN = f"introbot ask-again {REQUEST.thread_id}"
# The closing's first words when the message is to be fixed, in each language.
FIX = {
    "en": "Fix the message",
    "fr": "Corrigez le message",
    "de": "Korrigieren Sie die Nachricht",
    "es": "Corrija el mensaje",
}
# ... and its words for "label the thread again".
LABEL_AGAIN = {
    "en": "label the thread again",
    "fr": "remettez le libellé sur le fil",
    "de": "vergeben Sie danach das Label erneut",
    "es": "vuelva a poner la etiqueta en el hilo",
}
LABEL_AGAIN_ALONE = {**LABEL_AGAIN, "de": "vergeben Sie das Label erneut"}


def _note(spec: DraftSpec | None = None, **plan: object) -> DraftSpec:
    if spec is not None:
        return spec
    (action,) = plan_request(**plan).actions  # type: ignore[arg-type]
    return action.spec


def _text(spec: DraftSpec, language: str) -> str:
    written = drafting(spec, RULES, {}, default=language)
    _, body = render(written.templates[spec.template], written.spec.fields)
    return " ".join(body.split())


WANTED = [(ALEX, DANA, ""), (ALEX, PRIYA, "")]


def _waiting(anyway: bool = False, problems: list[str] | None = None) -> DraftSpec:
    """Priya is named in a thread whose ask to Alex is still an unsent draft."""
    return _note(
        existing=[_open()],
        wanted=WANTED,
        problems=problems or [],
        request=REQUEST,
        now=T0,
        rules=PARALLEL,
        past=None if anyway else {},
    )


def _unusable() -> DraftSpec:
    return _note(
        existing=[], wanted=[], problems=NO_ADDRESS, request=REQUEST, now=T0, rules=PARALLEL
    )


def _worked_on_elsewhere() -> DraftSpec:
    wanted = [("n1", ALEX, DANA, "")]
    rebuilt = rebuilt_from_gmail(frozenset({Stage.ASKING}), REQUEST, wanted, T0, PARALLEL)
    assert rebuilt is not None
    (action,) = rebuilt.actions
    assert isinstance(action, CreateDraft)
    return action.spec


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_message_to_fix_says_fix_it_and_label_again(language: str) -> None:
    text = _text(_unusable(), language)
    assert FIX[language] in text and LABEL_AGAIN_ALONE[language] in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_contact_waiting_for_the_draft_in_the_thread_is_not_told_to_fix_anything(
    language: str,
) -> None:
    spec = _waiting()
    assert spec.fields["waiting"] and not spec.fields["fix"]
    text = _text(spec, language)
    assert FIX[language] not in text
    assert LABEL_AGAIN[language] in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_asked_anyway_the_closing_names_the_command_not_the_label(language: str) -> None:
    text = _text(_waiting(anyway=True), language)
    assert text.count(ASK_AGAIN) == 2  # in the sentence about Priya, and in the closing
    assert LABEL_AGAIN[language] not in text and FIX[language] not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_both_reasons_get_both_steps(language: str) -> None:
    spec = _waiting(problems=NO_ADDRESS)
    assert spec.fields["waiting"] and spec.fields["fix"]
    text = _text(spec, language)
    assert FIX[language] in text and LABEL_AGAIN[language] in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_request_worked_on_elsewhere_is_not_told_to_fix_the_message(language: str) -> None:
    text = _text(_worked_on_elsewhere(), language)
    assert FIX[language] not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_reason_closes_differently(language: str) -> None:
    notes = [_unusable(), _waiting(), _waiting(anyway=True), _waiting(problems=NO_ADDRESS)]
    closings = {
        _text(spec, language).rsplit(spec.fields["problems"][-1], 1)[1]
        for spec in [*notes, _worked_on_elsewhere()]
    }
    assert len(closings) == 5, closings


def test_the_note_keeps_its_message_id_and_its_list_of_problems() -> None:
    """The reasons change only the closing: the note's key and its listed sentences are
    what they were (a note already drafted is recognised as the same note)."""
    spec = _waiting(problems=NO_ADDRESS)
    listed = spec.fields["problems"]
    assert listed[0] == NO_ADDRESS[0] and listed[1].startswith("Priya Natarajan: not asked")
    assert spec.key.startswith(f"<introbot.problem.{REQUEST.thread_id}.")
