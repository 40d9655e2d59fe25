"""A requester's answer about several contacts at once -> an answer per contact. Pure.

A request may ask for several contacts; introbot asks the requester once about all of them
(one consent draft in the request thread), and the answer is read per contact: "yes to
both", "happy to meet Dana, skip Bob", "yes for Dana; not Bob right now", "only Dana
please", or a plain "Yes". The clauses are read by the consent reader
(:func:`introbot.reading.replies.read_clause` and its verdict); this module only decides
which clauses speak of which contact. The rules:

1. A contact is named by the name the request gave them: the full name, or the first name
   (a first name two contacts share names neither: unclear for both). The phrases of
   ``[per_contact] everyone`` ("both", "all of them") name every contact asked about.
2. When the answer names no contact, the reply is read whole (``understand``) and its
   verdict is every contact's: a plain "Yes" is yes to all (the ask was for all of them),
   unless the answer names someone who is none of them ("Yes to Carol"): unclear.
3. Otherwise each clause that names contacts is their answer. It is read with the names
   taken out ("happy to meet Dana" -> agrees), or as a skip ("skip Bob", "not Bob right
   now": no) or an only ("only Dana please": yes for Dana, no for every contact the answer
   does not name). A contact named directly is answered by those clauses, not by an
   "everyone" clause ("yes to both, except Bob": no for Bob). A clause that is only names
   ("Dana: yes") takes the answer beside it in the same sentence.
4. Clauses that name nobody are said about everyone: their yes is no contact's answer
   (it is "Yes, happy to meet Dana"), but their hedges, conditions, questions and anything
   left unexplained stop every yes. A word no reader explains (an unknown name) does too.
5. A contact the answer does not mention while it mentions others is unclear (unless an
   "only" left them out); so is anything that cannot be split safely. Never a yes by doubt.
6. The sentences after the last one that names a contact (or after a "here's a blurb"
   line) are the requester's note for the contacts, as in a one-contact answer: their words
   never stop a yes unless they take it back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from introbot.model import Role, Verdict
from introbot.reading.mime import Mail
from introbot.reading.phrases import Hit, normalize
from introbot.reading.quotes import html_new_text, plain_new_text
from introbot.reading.replies import (
    MAX_ANSWER_CHARS,
    MAX_BLURB_CHARS,
    MAX_PREFERENCE_CHARS,
    Clause,
    Kind,
    ReplyReading,
    ask_words,
    asks_question,
    read_clause,
    read_reply_as,
    understand,
    verdict_of,
)
from introbot.reading.sentences import sentences
from introbot.rules import ConsentSets, PerContactSets, Phrases

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_FIRST_PERSON = frozenset({"i", "i'm", "i'd", "i'll", "i've"})


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact the requester was asked about: ``key`` is the caller's (an intro id),
    ``name`` the name the request gave them (None: they cannot be named)."""

    key: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: Verdict
    evidence: str
    mentioned: bool = True  # False: the answer names other contacts, not this one


@dataclass(frozen=True, slots=True)
class PerContact:
    """The answer for each contact (by key), and the words to carry forward."""

    answers: dict[str, Answer]
    language: str
    whole: bool  # no contact was named: the reply was read whole, one answer for all
    blurb: str = ""
    preference: str = ""
    clauses: tuple[Clause, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class _Piece:
    """One clause of the answer, with the contacts it names."""

    text: str
    rest: str  # normalized, with the names and "everyone" phrases blanked out
    named: frozenset[str] = frozenset()
    everyone: bool = False
    shared_name: frozenset[str] = frozenset()  # contacts named by a first name they share
    clause: Clause | None = None
    only: bool = False
    mixed: bool = False  # names several contacts and says yes and no: cannot be split

    @property
    def names(self) -> bool:
        return bool(self.named or self.everyone or self.shared_name)


def _blank(text: str, hits: Iterable[Hit]) -> str:
    for hit in hits:
        text = text[: hit.start] + " " * (hit.end - hit.start) + text[hit.end :]
    return text


def _name_forms(contacts: Sequence[Contact]) -> dict[str, frozenset[str]]:
    """Each way of naming a contact (normalized) -> the contacts it may mean."""
    forms: dict[str, set[str]] = {}
    for contact in contacts:
        name = " ".join((contact.name or "").split())
        if not name or "@" in name:
            continue
        for form in {name, name.split()[0]}:
            forms.setdefault(normalize(form), set()).add(contact.key)
    return {form: frozenset(keys) for form, keys in forms.items()}


def _pattern(forms: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(forms), key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, form.split())) for form in ordered)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?:'s)?(?![\w-])")


class _Names:
    """Finds the contacts' names (and other known names, such as the connector's) in text."""

    def __init__(self, contacts: Sequence[Contact], known: Iterable[str]) -> None:
        self.forms = _name_forms(contacts)
        self.contacts = _pattern(self.forms)
        known_forms = {normalize(w) for name in known for w in (name or "").split()}
        self.known = _pattern(known_forms - set(self.forms))
        self.words = {w for form in self.forms for w in form.split()} | known_forms

    def piece(self, clause: str, per: PerContactSets) -> _Piece:
        text = normalize(clause)
        named: set[str] = set()
        shared: set[str] = set()
        hits: list[Hit] = []
        for match in self.contacts.finditer(text) if self.contacts else ():
            form = " ".join(match.group(0).removesuffix("'s").split())
            keys = self.forms.get(form, frozenset())
            (shared if len(keys) > 1 else named).update(keys)
            hits.append(Hit(form, match.start(), match.end()))
        rest = _blank(text, hits)
        if self.known is not None:
            rest = _blank(rest, (Hit("", m.start(), m.end()) for m in self.known.finditer(rest)))
        everyone = per.everyone.find(rest)
        return _Piece(
            clause,
            _blank(rest, everyone),
            frozenset(named),
            bool(everyone),
            frozenset(shared),
        )

    def strangers(self, clause: str, echo: frozenset[str]) -> list[str]:
        """Capitalized words after a clause's first that are nobody's name here."""
        words = _WORD.findall(clause)[1:]
        return [
            w
            for w in words
            if w[:1].isupper()
            and (n := normalize(w).removesuffix("'s")) not in self.words
            and n not in _FIRST_PERSON
            and n not in echo
        ]


def _read(piece: _Piece, sets: ConsentSets, per: PerContactSets, echo: frozenset[str]) -> _Piece:
    """What a clause says about the contacts it names (rule 3)."""
    clause = read_clause(piece.rest, sets, echo)
    clause = replace(clause, text=piece.text)
    if len(piece.named | piece.shared_name) > 1 or (piece.everyone and piece.named):
        agrees = clause.found("yes") or clause.found("yes_idioms") or per.only.find(piece.rest)
        refuses = clause.found("no") or clause.found("negations") or per.skip.find(piece.rest)
        if agrees and refuses:
            return replace(piece, clause=clause, mixed=True)
    if clause.kind in (Kind.YES, Kind.REFUSAL) or not piece.names:
        return replace(piece, clause=clause)
    for phrases, kind, category in ((per.skip, Kind.REFUSAL, "no"), (per.only, Kind.YES, "yes")):
        hits = phrases.find(piece.rest)
        if not hits:
            continue
        inner = read_clause(_blank(piece.rest, hits), sets, echo)
        blocked = inner.found("conditions") or inner.found("hedges") or inner.found("negations")
        if kind is Kind.YES:
            blocked = blocked or inner.found("deferrals") or inner.found("present")
        if inner.kind in (Kind.FILLER, Kind.PLEASANTRY) and not blocked:
            said = tuple(hit.phrase for hit in hits)
            synthetic = Clause(piece.text, kind, {**inner.hits, category: said})
            return replace(piece, clause=synthetic, only=kind is Kind.YES)
    return replace(piece, clause=clause)


def _names_only(piece: _Piece, sets: ConsentSets, per: PerContactSets) -> bool:
    """Only names (and joining words): "Dana", "Dana and Bob"; not "just Bob"."""
    if not piece.names or per.only.find(piece.rest) or per.skip.find(piece.rest):
        return False
    clause = read_clause(piece.rest, sets)
    return clause.kind is Kind.FILLER and set(clause.hits) <= {"filler"}


def _joined(names: _Names, piece: _Piece, per: PerContactSets, sets: ConsentSets) -> list[_Piece]:
    """A clause answering for two contacts in two halves ("yes to Dana and no to Bob") is
    two clauses; "happy to meet Dana and Bob" (a half of names only) stays one."""
    if len(piece.named | piece.shared_name) < 2:
        return [piece]
    text = piece.text
    cuts = [h for h in per.joiners.find(normalize(text))]
    if not cuts or len(normalize(text)) != len(text):
        return [piece]
    bounds = [0, *(x for h in cuts for x in (h.start, h.end)), len(text)]
    halves = [text[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2)]
    pieces = [names.piece(half, per) for half in halves if half.strip()]
    if any(not p.names or _names_only(p, sets, per) for p in pieces):
        return [piece]
    return pieces


def _merged(pieces: list[_Piece], sets: ConsentSets, per: PerContactSets) -> list[_Piece]:
    """A clause of names only takes the unnamed clause beside it ("Dana: yes")."""
    out = list(pieces)
    index = 0
    while index < len(out):
        piece = out[index]
        if _names_only(piece, sets, per):
            for other in (index + 1, index - 1):
                if 0 <= other < len(out) and not out[other].names:
                    target = out[other]
                    out[other] = replace(
                        target,
                        text=f"{piece.text} {target.text}" if other > index else target.text,
                        named=piece.named,
                        everyone=piece.everyone,
                        shared_name=piece.shared_name,
                    )
                    del out[index]
                    index -= 1
                    break
        index += 1
    return out


def _label(contact: Contact) -> str:
    return contact.name or "a contact with no name"


def split_answer(
    text: str,
    contacts: Sequence[Contact],
    phrases: Phrases,
    ask: str | None = None,
    known: Iterable[str] = (),
) -> PerContact:
    """The answer for each of ``contacts`` in a requester's new text. ``ask``: the consent
    message it answers; ``known``: other names the reply may use (the connector's)."""
    language = phrases.detect_language(text)
    keys = [c.key for c in contacts]
    if len(text) > MAX_ANSWER_CHARS:
        why = f"the new text is {len(text):,} characters long: too long to read as an answer"
        return PerContact({k: Answer(Verdict.UNCLEAR, why) for k in keys}, language, True)
    sets = phrases.consent(language)
    per = phrases.per_contact(language)
    names = _Names(contacts, known)
    echo = ask_words(ask)
    found = sentences(text)
    marker = next(
        (i for i, s in enumerate(found) if sets.blurb_markers.find(normalize(s.text))), len(found)
    )
    by_sentence = [
        [p for c in s.clauses for p in _joined(names, names.piece(c, per), per, sets)]
        for s in found[:marker]
    ]
    naming = [i for i, pieces in enumerate(by_sentence) if any(p.names for p in pieces)]
    if not naming:
        return _whole(text, keys, phrases, names, ask, language)
    last = naming[-1]
    answer, note = found[: last + 1], found[last + 1 :]
    pieces = [
        _read(piece, sets, per, echo)
        for sentence in by_sentence[: last + 1]
        for piece in _merged(sentence, sets, per)
    ]
    questions = any(asks_question(s.text) for s in answer)
    taken_back = [
        h.phrase for s in note for c in s.clauses for h in sets.withdrawals.find(normalize(c))
    ]
    labels = {c.key: _label(c) for c in contacts}
    answers = {c.key: _answer(c, pieces, questions, taken_back, labels) for c in contacts}
    clauses = tuple(p.clause for p in pieces if p.clause is not None)
    preference = " ".join(
        c.text for p in pieces if not p.names and (c := p.clause) and c.kind is Kind.PREFERENCE
    )
    blurb = "\n".join(s.text for s in note).strip()
    return PerContact(
        answers,
        language,
        False,
        blurb[:MAX_BLURB_CHARS],
        preference[:MAX_PREFERENCE_CHARS],
        clauses,
    )


def _answer(
    contact: Contact,
    pieces: list[_Piece],
    questions: bool,
    taken_back: list[str],
    labels: dict[str, str],
) -> Answer:
    name = _label(contact)
    if any(contact.key in p.shared_name for p in pieces):
        return Answer(Verdict.UNCLEAR, f"for {name}: a first name two of the contacts share")
    if any(p.mixed and contact.key in p.named for p in pieces):
        why = f"for {name}: one clause answers for several contacts, both yes and no"
        return Answer(Verdict.UNCLEAR, why)
    direct = [p.clause for p in pieces if contact.key in p.named and p.clause]
    own = direct or [p.clause for p in pieces if p.everyone and p.clause]
    if not own:
        only = sorted({labels[k] for p in pieces if p.only for k in p.named})
        if only:
            return Answer(Verdict.NO, f"for {name}: only {', '.join(only)} asked for")
        return Answer(Verdict.UNCLEAR, f"for {name}: the answer does not say about them", False)
    said_to_all = [p.clause for p in pieces if not p.names and p.clause]
    clauses = [*own, *(c for c in said_to_all if c.kind is not Kind.YES)]
    verdict, evidence = verdict_of(clauses, questions)
    if verdict is Verdict.YES and taken_back:
        shown = ", ".join(f'"{p}"' for p in dict.fromkeys(taken_back))
        return Answer(
            Verdict.UNCLEAR, f"for {name}: {evidence}, but the note takes it back ({shown})"
        )
    return Answer(verdict, f"for {name}: {evidence}")


def _whole(
    text: str,
    keys: list[str],
    phrases: Phrases,
    names: _Names,
    ask: str | None,
    language: str,
) -> PerContact:
    """No contact named: the reply read whole, its verdict everyone's (rule 2)."""
    reading = understand(text, phrases, Role.REQUESTER, ask)
    echo = ask_words(ask)
    verdict, evidence = reading.verdict, reading.evidence
    if verdict is Verdict.YES:
        strangers = [
            w for c in reading.clauses if c.kind is Kind.YES for w in names.strangers(c.text, echo)
        ]
        if strangers:
            verdict = Verdict.UNCLEAR
            shown = ", ".join(dict.fromkeys(strangers))
            evidence = f"{evidence}, but it names someone the ask did not ({shown})"
    evidence = f"for all the contacts asked about: {evidence}"
    return PerContact(
        {k: Answer(verdict, evidence) for k in keys},
        language,
        True,
        reading.blurb,
        reading.preference,
        reading.clauses,
    )


def read_shared_reply(
    mail: Mail,
    phrases: Phrases,
    sent_text: str | None,
    contacts: Sequence[Contact],
    known: Iterable[str] = (),
) -> tuple[ReplyReading, PerContact | None]:
    """A requester's reply to one ask about several contacts: the reply as read whole (its
    sender, new text, automation) and the answer per contact (None for mail no person
    wrote: an auto-reply or a bounce is every contact's). Each contact's yes also needs the
    HTML part to say what the plain part says, as for one contact."""
    (whole,) = read_reply_as(mail, phrases, sent_text, (Role.REQUESTER,)).values()
    if whole.verdict in (Verdict.AUTO_REPLY, Verdict.BOUNCE):
        return whole, None
    ask = sent_text or None
    split = split_answer(whole.text, contacts, phrases, ask, known)
    doubt = ""
    if mail.html_hidden_text:
        doubt = "its HTML hides text from the reader"
    html: PerContact | None = None
    if not doubt and mail.plain is not None and mail.html is not None:
        signer = mail.sender.name if mail.sender else None
        visible = plain_new_text(html_new_text(mail.html), phrases, sent_text, signer)
        if visible.strip():
            html = split_answer(visible, contacts, phrases, ask, known)
    answers = dict(split.answers)
    for key, answer in split.answers.items():
        if answer.verdict is not Verdict.YES:
            continue
        if html is not None and html.answers[key].verdict is not Verdict.YES:
            doubt = f"the HTML part reads {html.answers[key].verdict.value}, the plain part yes"
        if doubt:
            answers[key] = Answer(Verdict.UNCLEAR, f"reads as yes ({answer.evidence}) but {doubt}")
    return whole, replace(split, answers=answers)
