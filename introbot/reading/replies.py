"""A reply to a consent message -> yes / no / unclear / auto_reply / bounce, with evidence.

A **yes** needs a clear yes and nothing against it: no negation, condition or hedge, no
question, no deferral in time, not automated, and not from a forged sender. A **no** is a
decline, polite ones included ("my plate is full through Q2"), with no yes beside it.
Everything else is **unclear** and goes to the connector: a false yes would hand someone's
address to a person they refused; a false unclear costs the connector one glance.

Phrases come from ``rules/phrases/*.toml``. They are matched in an order that lets the
longer reading win: neutral politeness is set aside first, then idioms that contain a
negation but mean yes ("no problem"), then declines ("not interested" hides the
"interested" in it), then yes phrases, then what argues against a yes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from introbot.model import Verdict
from introbot.reading.automated import detect
from introbot.reading.mime import Mail
from introbot.reading.quotes import new_text
from introbot.reading.requests import mentions
from introbot.reading.senders import SenderCheck, check_sender
from introbot.rules import Hit, Phrases, PhraseSet, normalize

_QUESTION = re.compile(r"\?(?=\s|$|[\"')\]])|¿")
_MASK = "\x00"


@dataclass(frozen=True, slots=True)
class ReplyReading:
    verdict: Verdict
    evidence: str
    text: str
    sender: SenderCheck
    failed_recipients: tuple[str, ...] = ()
    assistant: str | None = None  # an address named to handle scheduling


def named_assistant(text: str, phrases: Phrases) -> str | None:
    """The address of someone named for scheduling ("my assistant Jamie (jamie@x)")."""
    for mention in mentions(text):
        if phrases.assistant.find(normalize(mention.sentence)):
            return mention.person.email
    return None


def _take(text: str, phrases: PhraseSet) -> tuple[str, list[Hit]]:
    """Find the phrases and blank them out, so later lists cannot match inside them."""
    hits = phrases.find(text)
    for hit in hits:
        text = text[: hit.start] + _MASK * (hit.end - hit.start) + text[hit.end :]
    return text, hits


def _quote(hits: list[Hit]) -> str:
    shown = list(dict.fromkeys(h.phrase for h in hits))[:3]
    return ", ".join(f'"{p}"' for p in shown)


def judge(text: str, phrases: Phrases) -> tuple[Verdict, str]:
    """The verdict on a reply's new text, and the phrases that decided it."""
    normalized = normalize(text)
    if not normalized.strip():
        return Verdict.UNCLEAR, "no new text in the reply"
    rest, _ = _take(normalized, phrases.neutral)
    rest, idioms = _take(rest, phrases.yes_idioms)
    rest, declines = _take(rest, phrases.no)
    rest, yeses = _take(rest, phrases.yes)
    rest, negations = _take(rest, phrases.negations)
    rest, hedges = _take(rest, phrases.hedges)
    rest, deferrals = _take(rest, phrases.deferrals)
    questions = _QUESTION.findall(rest)
    yes_hits = idioms + yeses
    if declines and not yes_hits:
        return Verdict.NO, f"declines: {_quote(declines)}"
    if declines:
        return Verdict.UNCLEAR, f"says yes ({_quote(yes_hits)}) and no ({_quote(declines)})"
    against = [
        (negations, "a negation"),
        (hedges, "a hedge or condition"),
        (deferrals, "a deferral in time"),
    ]
    if yes_hits:
        for hits, kind in against:
            if hits:
                return Verdict.UNCLEAR, f"yes ({_quote(yes_hits)}) but {kind} ({_quote(hits)})"
        if questions:
            return Verdict.UNCLEAR, f"yes ({_quote(yes_hits)}) but asks a question"
        return Verdict.YES, f"yes: {_quote(yes_hits)}"
    for hits, kind in against:
        if hits:
            return Verdict.UNCLEAR, f"no clear yes or no ({kind}: {_quote(hits)})"
    if questions:
        return Verdict.UNCLEAR, "no clear yes or no; asks a question"
    return Verdict.UNCLEAR, "no clear yes or no"


def read_reply(mail: Mail, phrases: Phrases, sent_text: str | None = None) -> ReplyReading:
    """Read a reply. ``sent_text`` is the consent message it answers, if known."""
    sender = check_sender(mail)
    text = new_text(mail, phrases, sent_text)
    automated = detect(mail, phrases)
    if automated is not None:
        verdict = Verdict.BOUNCE if automated.kind == "bounce" else Verdict.AUTO_REPLY
        return ReplyReading(verdict, automated.evidence, text, sender, automated.failed_recipients)
    verdict, evidence = judge(text, phrases)
    if verdict is Verdict.YES and sender.authenticated is False:
        return ReplyReading(
            Verdict.UNCLEAR,
            f"reads as yes ({evidence}) but the sender is not authenticated: {sender.evidence}",
            text,
            sender,
        )
    return ReplyReading(verdict, evidence, text, sender, assistant=named_assistant(text, phrases))
