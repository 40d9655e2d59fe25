"""A reply to a consent message -> yes / no / unclear / auto_reply / bounce, with evidence.

The rules, in the order they decide:

1. Mail no person wrote (auto-replies, bounces, receipts) is never a yes or a no.
2. The new text is split into sentences and clauses (``sentences.py``) and read with the
   phrases of its own language plus English (``Phrases.detect_language``).
3. Each clause is accounted for as one of: an agreeing answer (a yes phrase, no negation in
   the clause; or, with nothing else in the clause, liking the very thing the question asks
   about, "I love hiking" to "Do you want to go hiking?", or praising the idea, "That
   would be ideal"), a refusal (a decline phrase; a negated willingness, ability or fit, "I don't
   think I'm the right person"; wanting something else instead), being busy or bound
   elsewhere, thanks or a greeting, a preference about how to be reached, warm words about
   the other person ("sounds like a great company", never a yes by themselves), or only
   filler words and names. A clause that is none of these is *left over*.
4. **yes** only when a clause agrees, no clause refuses, and nothing is left over: no stray
   negation, hedge, condition, deferral, question or busy clause anywhere in the answer.
   **no** when a clause refuses (or the writer is busy) and none agrees, unless a condition
   ("unless...") or, for a busy writer, a deferral or question leaves it open. Everything
   else is **unclear** and goes to the connector: a false yes hands someone to a person they
   refused; a false unclear costs the connector one glance.
5. A requester's reply is read in parts: the answer (up to the first sentence that answers,
   or what comes before a "here's a blurb" line), then the note for the contact, whose words
   never stop a yes unless they take the answer back or set a condition ("on second
   thought, hold off"; "only if she is still at Acme").
6. An HTML reply whose visible text and plain part disagree, or that hides text, is unclear;
   a yes from a sender Gmail did not authenticate, or with no verdict of Gmail's on the
   message, is unclear (the rule: :func:`introbot.model.vouched_for`).

What a party says about how to be reached is kept as their ``preference`` (and the
requester's note as ``blurb``): the only words of theirs that go into the introduction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from introbot.model import Role, Verdict, vouched_for
from introbot.reading.automated import detect
from introbot.reading.mime import Mail
from introbot.reading.phrases import normalize
from introbot.reading.quotes import html_new_text, new_text, plain_new_text
from introbot.reading.requests import mentions
from introbot.reading.senders import SenderCheck, check_sender
from introbot.reading.sentences import MAX_SENTENCES, Sentence, sentences
from introbot.rules import ConsentSets, Phrases

_QUESTION = re.compile(r"\?(?=\s|$|[\"')\]])|¿")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# An address, a link or a phone number: details of how to be reached.
_CONTACT_DETAIL = re.compile(
    r"[^\s<>()\[\],;:]{1,64}@[^\s<>()\[\],;:]{1,253}|\bhttps?://\S{1,300}|\bwww\.\S{1,300}"
    r"|\+?\d[\d ().-]{6,20}\d"
)
MAX_PREFERENCE_CHARS = 400
MAX_ASK_CHARS = 5000
MAX_BLURB_CHARS = 2000
#: New text longer than this is no answer a reader can explain whole: unclear, unread (the
#: phrase lists cost ~20 µs a character, so this also bounds the time a reply takes).
MAX_ANSWER_CHARS = 8000


class Kind(StrEnum):
    YES = "yes"
    REFUSAL = "refusal"
    BUSY = "busy"
    PLEASANTRY = "pleasantry"
    PREFERENCE = "preference"
    REMARK = "warm words"
    FILLER = "filler"
    LEFT_OVER = "left over"


@dataclass(frozen=True, slots=True)
class Clause:
    text: str
    kind: Kind
    hits: dict[str, tuple[str, ...]]
    leftover: tuple[str, ...] = ()

    def found(self, category: str) -> tuple[str, ...]:
        return self.hits.get(category, ())


@dataclass(frozen=True, slots=True)
class Understanding:
    """The verdict on a reply's new text, the reasons, and the words to carry forward."""

    verdict: Verdict
    evidence: str
    language: str
    clauses: tuple[Clause, ...] = ()
    preference: str = ""
    blurb: str = ""


@dataclass(frozen=True, slots=True)
class ReplyReading:
    verdict: Verdict
    evidence: str
    text: str
    sender: SenderCheck
    failed_recipients: tuple[str, ...] = ()
    assistant: str | None = None  # an address named to handle scheduling
    preference: str = ""  # how they like to be reached, in their words
    blurb: str = ""  # a requester's note for the contact
    language: str = ""
    clauses: tuple[Clause, ...] = field(default=(), repr=False)


def named_assistant(text: str, phrases: Phrases) -> str | None:
    """The address of someone named for scheduling ("my assistant Jamie (jamie@x)")."""
    for mention in mentions(text):
        if phrases.assistant.find(normalize(mention.sentence)):
            return mention.person.email
    return None


# --------------------------------------------------------------------------- clauses
def _names(original: str, alone: bool) -> set[str]:
    """Words written with a capital inside a clause, as names are ("happy to meet Alex");
    the first word too when the clause is only a name or a greeting ("Dana", "Hi Sam")."""
    words = _WORD.findall(_THE_NAME.sub(" ", original))
    return {normalize(w) for w in (words if alone else words[1:]) if w[:1].isupper()}


# "the" before a capital names a place or a thing ("the Met", "the Ritz"), not a person
_THE_NAME = re.compile(r"\b[Tt]he\s+[A-Z][\w'’-]*")


# Words that stand for the thing asked about: "I love it", "I could use one".
_STANDS_FOR_IT = {"it", "that", "this", "one", "them", "those", "these", "it's", "that's"}
_LIKING = {"likes", "filler", "approvals", "pleasantries"}  # nothing else beside a liking
ECHO_PREFIX = 5  # a word echoes the ask when its first five letters match a word there


_ENDINGS = ("ing", "ed", "es", "s")


def _stems(word: str) -> set[str]:
    """A word without the endings English adds to it: "walking" -> "walk", "shopping" ->
    "shop", "drinks" -> "drink" (at least three letters are kept)."""
    found = {word}
    for ending in _ENDINGS:
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 3:
            found.add(stem)
            if len(stem) >= 4 and stem[-1] == stem[-2]:  # "shopp" -> "shop"
                found.add(stem[:-1])
    return found


def ask_words(ask: str | None) -> frozenset[str]:
    """The words of the message a reply answers, their stems and their first letters
    (``ECHO_PREFIX``), so an answer may echo its question ("I'd love a coffee" to "Want
    to grab a coffee?", "I'd love to go" to "Want to go?")."""
    words = set(_WORD.findall(normalize(ask or "")[:MAX_ASK_CHARS]))
    stems = {stem for w in words if len(w) > 2 for stem in _stems(w)}
    return frozenset(words | stems | {w[:ECHO_PREFIX] for w in words if len(w) >= ECHO_PREFIX})


def _echoes(word: str, ask: frozenset[str]) -> bool:
    return (
        word in ask
        or (len(word) >= ECHO_PREFIX and word[:ECHO_PREFIX] in ask)
        or any(stem in ask for stem in _stems(word))
    )


_ASKING = re.compile(r"[^.!?\n]*\?")
# A question typed without its mark: a line that opens as one ("Are you free Friday").
_ASKING_UNMARKED = re.compile(
    r"^(?:(?:would|do|are|can|could|shall|should|will|is|did) you|(?:do you )?want to|wanna"
    r"|how about|fancy|interested in|shall we|should we|can we|are we)\b[^.!\n]*$",
    re.MULTILINE,
)
QUESTION_WORD = 3  # shorter words of a question ("go", "up") name nothing


def question_words(ask: str | None) -> frozenset[str]:
    """The words of the questions the message asks ("Do you want to go hiking?") and their
    stems: what an answer that only names the thing asked for ("I love hiking") echoes."""
    text = normalize(ask or "")[:MAX_ASK_CHARS]
    asked = " ".join(_ASKING.findall(text) or _ASKING_UNMARKED.findall(text))
    words = [w for w in _WORD.findall(asked) if len(w) >= QUESTION_WORD]
    return frozenset(stem for w in words for stem in _stems(w))


def _names_the_question(words: tuple[str, ...], question: frozenset[str]) -> bool:
    """There are words, and every one echoes the question (perhaps with another ending:
    "walking" for "walk")."""
    return bool(words) and all(_stems(w) & question for w in words)


# Contractions typed without their apostrophe, as on a phone ("thats", "dont", "im").
_APOSTROPHE_LESS = re.compile(
    r"(?<![\w'-])(?:(that|what|there|let|it)s|(i)m|(i|you|we|they)ve|(you|they)re"
    r"|(do|does|did|is|are|was|were|would|could|should|have|has|had|ca|wo)nt)(?![\w'-])"
)


def _with_apostrophe(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.endswith("nt"):
        return word[:-2] + "n't"
    cut = 1 if word[-1] in "sm" else 2
    return word[:-cut] + "'" + word[-cut:]


def read_clause(
    original: str,
    sets: ConsentSets,
    ask: frozenset[str] = frozenset(),
    question: frozenset[str] = frozenset(),
) -> Clause:
    """What one clause does: agree, refuse, thank, state a preference, or none of these.
    An agreeing clause may echo the words of the message it answers (``ask``); a clause
    that likes or wants something agrees when what it names is the thing the message's
    question asks about (``question``: "I love hiking" to "Do you want to go hiking?"), and
    one that praises the idea when it has nothing else in it ("That would be ideal")."""
    text = _APOSTROPHE_LESS.sub(_with_apostrophe, normalize(original))
    rest = _CONTACT_DETAIL.sub(" ", text)
    hits: dict[str, tuple[str, ...]] = {}
    if rest != text:
        hits["preferences"] = ("contact details",)
    for category, hit in sets.tag(rest):
        hits[category] = (*hits.get(category, ()), hit.phrase)
        rest = rest[: hit.start] + " " * (hit.end - hit.start) + rest[hit.end :]
    words = _WORD.findall(rest)
    get = hits.get
    alone = len(_WORD.findall(original)) <= 3 and not (get("yes") or get("no"))
    # A name is explained when the message answered names it too ("happy to meet Alex" to an
    # ask about Alex); "I'd love to meet Jordan" to an ask about Alex is not an answer to it.
    # A name beside contact details is whom they belong to ("my EA Morgan (morgan@...)").
    names = {n for n in _names(original, alone) if not ask or n in ask or "preferences" in hits}
    leftover = tuple(w for w in words if w not in names)
    negated = bool(get("negations"))
    wants_else = get("alternatives") and not get("preferences")
    likes = (
        get("likes")
        and hits.keys() <= _LIKING
        and "some" not in (get("filler") or ())  # liking some of it is liking a part
        and (
            _names_the_question(tuple(words), question)  # names too
            or (  # "I love it"; not "I could use one", which is only maybe
                not words
                and bool(_STANDS_FOR_IT.intersection(get("filler") or ()))
                and not any("could" in p for p in get("likes") or ())
            )
        )
    )
    praises = get("approvals") and get("appraisals")
    if get("no") or (negated and (get("yes") or get("fit") or likes or praises)) or wants_else:
        kind = Kind.REFUSAL
    elif (get("yes") or get("yes_idioms") or praises) and not get("alternatives"):
        kind = Kind.YES  # not with something else instead ("Great, but tomorrow instead")
        leftover = tuple(w for w in leftover if not _echoes(w, ask))
    elif likes:
        kind, leftover = Kind.YES, ()
    elif get("busy") and not negated:
        kind = Kind.BUSY
    elif get("preferences") or get("alternatives"):
        kind = Kind.PREFERENCE
    elif get("remarks") and not negated:
        kind = Kind.REMARK
    elif leftover:
        kind = Kind.LEFT_OVER
    elif get("pleasantries") or get("apologies"):
        kind = Kind.PLEASANTRY
    else:
        kind = Kind.FILLER
    return Clause(original, kind, hits, leftover)


# ----------------------------------------------------------------------- the verdict
def _quote(phrases: list[str] | tuple[str, ...]) -> str:
    shown = list(dict.fromkeys(phrases))[:3]
    return ", ".join(f'"{p}"' for p in shown)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text[:60]}…"' if len(text) > 60 else f'"{text}"'


def _all(clauses: list[Clause], category: str) -> list[str]:
    return [p for c in clauses for p in c.found(category)]


MAX_NEGATIVE_WORDS = 25
_INSTEAD = {"instead", "instead of", "rather than"}  # another thing or time than the one asked
_AGREEING = ("yes", "yes_idioms", "likes", "appraisals", "approvals")


def _only_negative(clauses: list[Clause], negative: list[Clause]) -> bool:
    """A short negative statement and nothing unexplained beside it ("I don't drink")."""
    if not negative or any(len(_WORD.findall(c.text)) > MAX_NEGATIVE_WORDS for c in negative):
        return False
    return all(
        not c.leftover or c.kind in (Kind.REMARK, Kind.PREFERENCE)
        for c in clauses
        if c not in negative
    )


def _verdict(clauses: list[Clause], questions: bool) -> tuple[Verdict, str]:
    """The answer of a list of clauses (rule 4 of the module docstring)."""
    yes = [c for c in clauses if c.kind is Kind.YES]
    refusals = [c for c in clauses if c.kind is Kind.REFUSAL]
    busy = [c for c in clauses if c.kind is Kind.BUSY]
    conditions = _all(clauses, "conditions")
    hedges = _all(clauses, "hedges")
    deferrals = _all(clauses, "deferrals")
    present = _all(clauses, "present")
    yes_words = [p for c in yes for k in _AGREEING for p in c.found(k)]
    if refusals:
        refused = [p for c in refusals for p in (c.found("no") or c.found("alternatives"))]
        said = _quote(refused) if refused else _snippet(refusals[0].text)
        if yes:
            return Verdict.UNCLEAR, f"says yes ({_quote(yes_words)}) and no ({said})"
        if conditions:
            return Verdict.UNCLEAR, f"declines ({said}) but with a condition ({_quote(conditions)})"
        return Verdict.NO, f"declines: {said}"
    if busy and not yes:
        open_ = deferrals + conditions + hedges
        if open_ or questions:
            why = f"leaves it open ({_quote(open_)})" if open_ else "asks a question"
            return Verdict.UNCLEAR, f"busy ({_quote(_all(busy, 'busy'))}) but {why}"
        return Verdict.NO, f"declines: busy ({_quote(_all(busy, 'busy'))})"
    negative = [c for c in clauses if c.found("negations")]
    open_ = hedges + conditions + deferrals
    if not yes and not open_ and not questions and _only_negative(clauses, negative):
        return Verdict.NO, f"a negative answer: {_snippet(negative[0].text)}"
    if not yes:
        against = hedges + conditions + deferrals
        if against:
            return Verdict.UNCLEAR, f"no clear yes or no ({_quote(against)})"
        if questions:
            return Verdict.UNCLEAR, "no clear yes or no; asks a question"
        return Verdict.UNCLEAR, "no clear yes or no"
    said = f"yes ({_quote(yes_words)})"
    stray = [p for c in clauses for p in c.found("negations")]
    instead = [p for p in _all(clauses, "alternatives") if p in _INSTEAD]
    for found, kind in (
        (stray, "a negation"),
        (instead, "something else instead"),
        (hedges, "a hedge"),
        (conditions, "a condition"),
        (deferrals + present, "a deferral in time"),
        (_all(busy, "busy"), "says they are busy"),
    ):
        if found:
            return Verdict.UNCLEAR, f"{said} but {kind} ({_quote(found)})"
    if questions:
        return Verdict.UNCLEAR, f"{said} but asks a question"
    left = [c for c in clauses if c.leftover and c.kind not in (Kind.REMARK, Kind.PREFERENCE)]
    if left:
        return Verdict.UNCLEAR, f"{said} but not everything is explained: {_snippet(left[0].text)}"
    rest = sorted({c.kind.value for c in clauses if c.kind is not Kind.YES})
    return Verdict.YES, f"{said}; the rest is {', '.join(rest)}" if rest else said


def _split_blurb(found: list[Sentence], readings: list[list[Clause]], sets: ConsentSets) -> int:
    """Where a requester's note for the contact starts (rule 5): at a "here's a blurb"
    sentence, or else right after the first sentence that answers; len(found) if none."""
    for index, (sentence, clauses) in enumerate(zip(found, readings, strict=True)):
        if sets.blurb_markers.find(normalize(sentence.text)):
            return index
        if any(c.kind in (Kind.YES, Kind.REFUSAL) for c in clauses):
            return index + 1
    return len(found)


def understand(
    text: str, phrases: Phrases, role: Role | None = None, ask: str | None = None
) -> Understanding:
    """Read a reply's new text: the verdict, why, and the words to carry forward. ``ask``
    is the message it answers (the consent message sent, or the quoted one)."""
    language = phrases.detect_language(text)
    if len(text) > MAX_ANSWER_CHARS:
        why = f"the new text is {len(text):,} characters long: too long to read as an answer"
        return Understanding(Verdict.UNCLEAR, why, language)
    sets = phrases.consent(language)
    found = sentences(text)
    if len(found) >= MAX_SENTENCES:  # the rest is not read: it could take the answer back
        why = f"the new text has {len(found)} sentences or more: too long to read as an answer"
        return Understanding(Verdict.UNCLEAR, why, language)
    if not found:
        return Understanding(Verdict.UNCLEAR, "no new text in the reply", language)
    echo, question = ask_words(ask), question_words(ask)
    readings = [[read_clause(c, sets, echo, question) for c in s.clauses] for s in found]
    split = _split_blurb(found, readings, sets) if role is Role.REQUESTER else len(found)
    answer, note = found[:split], found[split:]
    clauses = [c for sentence in readings[:split] for c in sentence]
    questions = any(_QUESTION.search(s.text) for s in answer)
    verdict, evidence = _verdict(clauses, questions)
    if note and verdict is Verdict.YES:
        taken_back = [
            h.phrase for s in note for c in s.clauses for h in sets.withdrawals.find(normalize(c))
        ]
        if taken_back:
            verdict = Verdict.UNCLEAR
            evidence = f"{evidence}, but the note takes it back ({_quote(taken_back)})"
        else:
            evidence += "; then a note for the contact"
    preference = " ".join(
        c.text
        for c in clauses
        if c.kind is Kind.PREFERENCE or (c.kind is Kind.YES and c.found("preferences"))
    )
    blurb = "\n".join(s.text for s in note).strip()
    return Understanding(
        verdict,
        evidence,
        language,
        tuple(clauses),
        preference[:MAX_PREFERENCE_CHARS],
        blurb[:MAX_BLURB_CHARS],
    )


def judge(text: str, phrases: Phrases, role: Role | None = None) -> tuple[Verdict, str]:
    """The verdict on a reply's new text, and the phrases that decided it."""
    reading = understand(text, phrases, role)
    return reading.verdict, reading.evidence


# ---------------------------------------------------------------------- whole mails
def _html_disagrees(
    mail: Mail,
    reading: Understanding,
    role: Role | None,
    phrases: Phrases,
    sent_text: str | None,
    ask: str,
) -> str:
    """Why the HTML part cannot be trusted to say what the plain part says, or ""."""
    if mail.html_hidden_text:
        return mail.html_unchecked or "its HTML hides text from the reader"
    if mail.plain is None or mail.html is None:
        return ""
    signer = mail.sender.name if mail.sender else None
    html = plain_new_text(html_new_text(mail.html), phrases, sent_text, signer)
    if not html.strip():
        return ""
    html_verdict = understand(html, phrases, role, ask).verdict
    if html_verdict is not reading.verdict:
        return f"the HTML part reads {html_verdict.value}, the plain part {reading.verdict.value}"
    return ""


def _quoted(mail: Mail) -> str:
    """The quoted lines of a reply: the message it answers, when introbot does not know it."""
    body = (mail.plain or mail.text or "")[: MAX_ASK_CHARS * 4]
    return "\n".join(line.lstrip("> ") for line in body.splitlines() if line.startswith(">"))


def read_reply_as(
    mail: Mail,
    phrases: Phrases,
    sent_text: str | None,
    roles: Iterable[Role | None],
) -> dict[Role | None, ReplyReading]:
    """Read a reply once for each of ``roles`` (a requester's is read in parts): the sender,
    the new text and automation are worked out once for all of them."""
    sender = check_sender(mail)
    text = new_text(mail, phrases, sent_text)
    automated = detect(mail, phrases)
    if automated is not None:
        verdict = Verdict.BOUNCE if automated.kind == "bounce" else Verdict.AUTO_REPLY
        machine = ReplyReading(
            verdict, automated.evidence, text, sender, automated.failed_recipients
        )
        return {role: machine for role in roles}
    ask = sent_text or _quoted(mail)
    assistant = named_assistant(text, phrases)
    readings: dict[Role | None, ReplyReading] = {}
    for role in dict.fromkeys(roles):
        reading = understand(text, phrases, role, ask)
        verdict, evidence = reading.verdict, reading.evidence
        if verdict is Verdict.YES:
            disagreement = _html_disagrees(mail, reading, role, phrases, sent_text, ask)
            if disagreement:
                verdict, evidence = Verdict.UNCLEAR, f"reads as yes ({evidence}) but {disagreement}"
        if verdict is Verdict.YES and not vouched_for(sender.authenticated):
            verdict = Verdict.UNCLEAR
            evidence = (
                f"reads as yes ({evidence}) but the sender is not authenticated "
                f"({sender.evidence}), and a yes Gmail did not authenticate is not counted"
            )
        readings[role] = ReplyReading(
            verdict,
            evidence,
            text,
            sender,
            assistant=assistant,
            preference=reading.preference,
            blurb=reading.blurb,
            language=reading.language,
            clauses=reading.clauses,
        )
    return readings


def read_reply(
    mail: Mail, phrases: Phrases, sent_text: str | None = None, role: Role | None = None
) -> ReplyReading:
    """Read a reply. ``sent_text`` is the consent message it answers, if known; ``role``
    says whose reply it is (a requester's is read in parts)."""
    return read_reply_as(mail, phrases, sent_text, (role,))[role]


# ------------------------------------------------------- for readers that group clauses
def verdict_of(clauses: Iterable[Clause], questions: bool) -> tuple[Verdict, str]:
    """The answer of clauses read by :func:`read_clause` (rule 4 of the module docstring),
    for a reader that groups a reply's clauses itself (``per_contact.py``)."""
    return _verdict(list(clauses), questions)


def asks_question(text: str) -> bool:
    return _QUESTION.search(text) is not None
