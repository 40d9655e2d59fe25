"""Verdicts on consent replies: the rules of a yes, quotes and signatures, forged senders."""

from __future__ import annotations

from pathlib import Path

import pytest

from introbot.model import Verdict
from introbot.reading.mime import read_mail
from introbot.reading.quotes import plain_new_text
from introbot.reading.replies import judge, read_reply
from introbot.rules import default_phrases, default_rules_dir, load_phrases
from tests.mail import make_mail

PHRASES = default_phrases()


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # the examples the issue names
        ("No problem, happy to", Verdict.YES),
        ("yes, but not until March", Verdict.UNCLEAR),
        ("My plate is full through Q2.", Verdict.NO),
        # a yes needs nothing against it
        ("Sure!", Verdict.YES),
        ("Sure, if it's quick.", Verdict.UNCLEAR),
        ("Sure - who is Alex?", Verdict.UNCLEAR),
        ("I'm not sure, maybe.", Verdict.UNCLEAR),
        ("Happy to, after the 15th.", Verdict.UNCLEAR),
        ("Happy to, though I can't promise much.", Verdict.UNCLEAR),
        ("Yes. No. Let me think.", Verdict.UNCLEAR),
        ("I wouldn't be happy to.", Verdict.NO),  # a negated willingness declines
        # declines, polite and plain
        ("No thanks.", Verdict.NO),
        ("Not interested, thanks.", Verdict.NO),
        ("I'm not keen.", Verdict.NO),
        ("Thanks for thinking of me, but I'll pass.", Verdict.NO),
        # nothing said
        ("", Verdict.UNCLEAR),
        ("Thanks!", Verdict.UNCLEAR),
        # other languages
        ("Avec plaisir !", Verdict.YES),
        ("Non merci.", Verdict.NO),
        ("Gerne!", Verdict.YES),
        ("Leider keine Zeit.", Verdict.NO),
        ("¡Claro que sí!", Verdict.YES),
        ("Sí, pero más adelante.", Verdict.UNCLEAR),
        # whole words only: "non-profit" is not "non", "knowledge" is not "no"
        ("Yes please. Their knowledge of non-profits is impressive.", Verdict.YES),
    ],
)
def test_judge(text: str, verdict: Verdict) -> None:
    assert judge(text, PHRASES)[0] is verdict


def test_evidence_names_the_deciding_phrase() -> None:
    verdict, evidence = judge("Sure, but only after March.", PHRASES)
    assert verdict is Verdict.UNCLEAR
    assert '"sure"' in evidence and '"but"' in evidence


CONSENT = (
    "Would you be open to it? Just reply yes and I'll connect you both, or no - no hard\n"
    "feelings, and no need to explain."
)


def _reply(body: str, results: str | None = "dmarc=pass header.from=northwind.example") -> bytes:
    raw = make_mail(
        sender="Dana Whitfield <dana@northwind.example>", to="connector@example.com", body=body
    )
    if results is None:
        return raw
    return f"Authentication-Results: mx.google.com; {results}\r\n".encode() + raw


def test_quoted_prompt_with_yes_and_no_is_ignored() -> None:
    body = "Happy to!\n\nOn Tue, Nov 24, 2026 at 9:12 AM Sam <connector@example.com> wrote:\n"
    body += "\n".join(f"> {line}" for line in CONSENT.split("\n"))
    reading = read_reply(read_mail(_reply(body)), PHRASES)
    assert reading.verdict is Verdict.YES
    assert reading.text == "Happy to!"


def test_prompt_pasted_back_without_quote_marks_is_removed_when_known() -> None:
    reading = read_reply(read_mail(_reply(f"yes\n\n{CONSENT}\n")), PHRASES, sent_text=CONSENT)
    assert reading.verdict is Verdict.YES
    assert reading.text == "yes"


def test_signature_with_a_no_does_not_count() -> None:
    body = "Happy to connect.\n\nDana Whitfield\nVP Logistics | No calls on weekends"
    reading = read_reply(read_mail(_reply(body)), PHRASES)
    assert reading.verdict is Verdict.YES


@pytest.mark.parametrize(
    "results",
    [
        "dmarc=fail header.from=northwind.example",
        "spf=softfail smtp.mailfrom=dana@northwind.example",
    ],
)
def test_a_forged_sender_is_never_a_yes(results: str) -> None:
    reading = read_reply(read_mail(_reply("Yes, absolutely!", results)), PHRASES)
    assert reading.verdict is Verdict.UNCLEAR
    assert reading.sender.authenticated is False
    assert "not authenticated" in reading.evidence


def test_unknown_authentication_is_reported_as_null() -> None:
    reading = read_reply(read_mail(_reply("Yes, absolutely!", None)), PHRASES)
    assert reading.sender.authenticated is None
    assert reading.sender.email == "dana@northwind.example"


def test_an_auto_reply_that_says_yes_is_not_consent() -> None:
    raw = b"Auto-Submitted: auto-replied\r\n" + _reply("Yes, I'm out until Monday.")
    reading = read_reply(read_mail(raw), PHRASES)
    assert reading.verdict is Verdict.AUTO_REPLY
    assert reading.evidence == "Auto-Submitted: auto-replied"


def test_outlook_suppress_header_alone_is_not_automation() -> None:
    raw = b"X-Auto-Response-Suppress: All\r\nAuto-Submitted: no\r\n" + _reply("Yes, happy to.")
    assert read_reply(read_mail(raw), PHRASES).verdict is Verdict.YES


def test_bottom_posted_and_interleaved_replies_keep_their_words() -> None:
    bottom = "On Tue, Sam wrote:\n> Would you like to meet Alex?\n\nYes, please do.\n"
    assert plain_new_text(bottom, PHRASES) == "Yes, please do."
    interleaved = "> Would you like to meet Alex?\nYes.\n> How to reach you?\nEmail.\n"
    assert plain_new_text(interleaved, PHRASES) == "Yes.\nEmail."


def test_users_can_add_their_own_phrases(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "phrases").mkdir(parents=True)
    for source in (default_rules_dir() / "phrases").glob("*.toml"):
        (rules / "phrases" / source.name).write_text(
            source.read_text(encoding="utf-8"), encoding="utf-8"
        )
    assert judge("Roger that.", PHRASES)[0] is Verdict.UNCLEAR
    (rules / "phrases" / "mine.toml").write_text(
        'language = "en"\n[consent]\nyes = ["roger that"]\n', encoding="utf-8"
    )
    assert judge("Roger that.", load_phrases(rules))[0] is Verdict.YES
