"""An intro request -> the intros it asks for (requester, contact, context), or problems.

The forms understood:

* **direct**: someone writes to the connector asking to meet a person named in the body
  ("Dana Whitfield (dana@x)", "Dana <dana@x>", a mailto link) or in Cc;
* **forwarded**: the connector forwards such a request to themselves (Gmail, Outlook or
  Apple forward block), perhaps with a comment on top naming the contact;
* **note**: the connector's note to self, ``A <a@x> -> B <b@y>`` or ``A <> B``, in the
  subject or the body;
* **third party**: someone asks the connector to introduce two other people; the first
  named is the requester;
* several contacts in one request give one intro each.

Never a party: the connector's own addresses, no-reply senders, addresses only in quoted
history or signatures, and anyone named to handle scheduling. An address is never guessed:
a person named without one is reported as a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from introbot.reading.addresses import (
    EMAIL_IN_TEXT,
    Person,
    address_key,
    parse_addresses,
    read_addresses,
    undeliverable,
)
from introbot.reading.mime import Mail
from introbot.reading.phrases import normalize
from introbot.reading.quotes import cut_signature, plain_new_text, quote_start
from introbot.reading.senders import check_sender
from introbot.reading.text import NOT_READ, clean_line
from introbot.rules import Phrases

MAX_CONTEXT = 2000
#: What is read of a request's text: a person asking for an introduction writes far less,
#: and a forwarded request puts the ask and the forward block at the top. The rest is not
#: scanned (each scan is linear; this bounds the whole reading).
MAX_READ_CHARS = 12_000
MAX_CONTACTS = 10  # more in one request looks like a mailing, not an ask
MAX_BAD_ADDRESSES = 5  # named in a problem note
#: Anything written like an address ("dana@northwind..io", "x@.y.io"): what EMAIL_IN_TEXT
#: does not accept is checked, so that a mistyped address is reported, never ignored.
_LIKE_AN_ADDRESS = re.compile(r"(?<![\w.%+'-])[\w.%+'-]{1,64}@[\w-]{0,63}(?:\.[\w-]{0,63}){1,8}")
_NAME_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*"
_PARTICLE = r"(?:de|van|von|der|den|la|le|del|da|di|du|dos|das|y|e)"
_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_NAME_WORD}){{0,3}}"
# "Name <a@b>", "Name (a@b)", "Name [mailto:a@b]", "Name - a@b", "Name: a@b", "Name at a@b"
_NAME_BEFORE = re.compile(rf"({_NAME})\s*(?:<|\(|\[(?:mailto:)?|[-–—:,]\s*|\s+at\s+|\s+)$")
_ARROW = re.compile(r"\s(?:->|→|=>|<->|↔|<>|⇄)\s")
_NOREPLY = re.compile(
    r"(^|[+._-])(no-?reply|do-?not-?reply|notifications?|mailer-daemon|postmaster|bounces?|"
    r"newsletters?)([+._-]|@)|^(news|updates?|alerts?|support|info|hello|team|calendar)[+.@-]",
    re.I,
)
_HEADERISH = re.compile(
    r"(?i)[ \t>]*(message-id|in-reply-to|references|return-path|received|dkim-signature|"
    r"x-[\w-]+|list-[\w-]+|delivered-to|sender)[ \t]*:"
)
_GREETING = re.compile(r"^\s*\S+(?:\s+\S+){0,4}\s*[,!]\s*$")
_AFTER_ASK = re.compile(r"^\s*(?:to|with|and|à|a|avec|mit|con|de)?\s*(" + _NAME + ")")
_STOPWORDS = {
    "i",
    "we",
    "he",
    "she",
    "they",
    "you",
    "sam",
    "the",
    "a",
    "an",
    "my",
    "our",
    "him",
    "her",
}


@dataclass(frozen=True, slots=True)
class IntroRequest:
    requester: Person
    contact: Person
    context: str


@dataclass(frozen=True)
class RequestReading:
    intros: tuple[IntroRequest, ...]
    problems: tuple[str, ...]
    form: str  # direct | forwarded | note | third_party | none
    assistants: tuple[str, ...] = field(default=())


NOBODY = "no one to introduce: the request names no contact with an email address"


@dataclass
class Mention:
    person: Person
    sentence: str


# --------------------------------------------------------------------------- helpers
def _is_noreply(email: str) -> bool:
    return bool(_NOREPLY.search(email.partition("@")[0] + "@"))


def _name_before(text: str) -> str | None:
    match = _NAME_BEFORE.search(text[-120:])
    if not match:
        return None
    name = match.group(1).strip()
    words = name.split()
    # Drop leading words that are not part of a name ("Hi", "Could", "To", "Meet")
    while words and normalize(words[0]) in _LEADING_NOISE:
        words = words[1:]
    return " ".join(words) or None


_LEADING_NOISE = {
    "hi", "hello", "hey", "dear", "to", "meet", "with", "and", "or", "introduce", "connect",
    "please", "could", "would", "can", "cc", "cc'ing", "email", "e-mail", "mail", "contact",
    "bonjour", "salut", "hallo", "hola", "avec", "mit", "con", "et", "und", "y", "i", "we",
}  # fmt: skip


_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n\s*\n")


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end]; single line breaks do not end a sentence."""
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    after = _SENTENCE_END.search(text, end)
    return text[left : after.start() if after else len(text)]


def mistyped_addresses(text: str) -> dict[str, str]:
    """Things written as addresses in ``text`` that cannot receive mail, with why."""
    bad: dict[str, str] = {}
    for match in _LIKE_AN_ADDRESS.finditer(text):
        candidate = match.group(0)
        if candidate.endswith(".") and not candidate.endswith(".."):
            candidate = candidate[:-1]  # the end of a sentence
        why = undeliverable(candidate)
        if why is not None:
            bad.setdefault(candidate, why)
        if len(bad) >= MAX_BAD_ADDRESSES:
            break
    return bad


def mentions(text: str) -> list[Mention]:
    """Every address in ``text`` with the name written next to it."""
    found: list[Mention] = []
    for match in EMAIL_IN_TEXT.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _HEADERISH.match(text, line_start):
            continue  # a leaked header line ("Message-ID: <...>"), not a person
        address = match.group(0).rstrip(".")
        if address.lower().startswith("mailto:"):
            address = address[7:]
        people = parse_addresses(address)
        if not people:
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        name = _name_before(text[line_start : match.start()])
        if name is None:
            after = re.match(r"\s*\(([^()@]{2,60})\)", text[match.end() : match.end() + 70])
            name = clean_line(after.group(1)) if after else None
        sentence = _sentence_around(text, match.start(), match.end())
        found.append(Mention(Person(name, people[0].email), sentence))
    return found


def _names_asked_for(text: str, phrases: Phrases) -> list[str]:
    """Capitalised names right after an ask ("introduce me to Dana Whitfield")."""
    names = []
    normalized = normalize(text)
    for hit in phrases.first_person.find(normalized) + phrases.meet.find(normalized):
        tail = text[hit.end : hit.end + 80] if len(text) == len(normalized) else ""
        match = _AFTER_ASK.match(tail)
        name = match.group(1) if match else ""
        if name and normalize(name.split()[0]) not in _STOPWORDS and name not in names:
            names.append(name)  # an ask can match as first-person and as "meet" at once
    return names


# After "introduce", these mean the writer is the one to be introduced ("connect *me*",
# "put in touch *with* Diego").
_NOT_THIRD_PERSON = {
    "me", "us", "myself", "moi", "nous", "mich", "uns", "mir", "nos", "to", "with", "a", "à",
    "avec", "con", "mit", "de", "en",
}  # fmt: skip
_AFTER_VERB = re.compile(r"^\s+((?:[^\W\d][\w'’-]*\s+){0,3}?)([A-ZÀ-ÖØ-Þ][\w'’-]+)")


def _names_third_person(text: str, phrases: Phrases) -> bool:
    """An introduce-verb followed by someone's name, not by "me"/"us" ("introduce my
    colleague Ana to ...", "connect Tom and Grace")."""
    normalized = normalize(text)
    if len(normalized) != len(text):
        return False
    for hit in phrases.introduce.find(normalized):
        match = _AFTER_VERB.match(text[hit.end : hit.end + 80])
        if match is None:
            continue
        words = match.group(1).split()
        if all(w.islower() and normalize(w) not in _NOT_THIRD_PERSON for w in words):
            return True
    return False


_CLOSING = re.compile(
    r"^(?i:thanks?|thank you|many thanks|cheers|best|regards|merci|danke|gracias)\b[^\n]{0,30}$"
    r"|^[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}$|^[-–—/]\s?\w+$"
)


def _context(lines: Iterable[str]) -> str:
    """The writer's words for the other side: no greeting, no closing thanks and name."""
    kept = list(lines)
    while kept and not kept[0].strip():
        kept.pop(0)
    if kept and _GREETING.match(kept[0]):
        kept.pop(0)
    while kept and (not kept[-1].strip() or _closing(kept[-1].strip())):
        kept.pop()
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in kept)).strip()
    return text[:MAX_CONTEXT]


def _closing(line: str) -> bool:
    """A sign-off ("Thanks so much,") or a bare name ("Alex", "- Alex") ending a message."""
    return len(line.split()) <= 4 and bool(_CLOSING.match(line.rstrip(",.!")))


def _forward_block(lines: list[str], phrases: Phrases) -> tuple[int, Person | None, int] | None:
    """(line of the forward marker, the forwarded message's sender, first body line)."""
    start = quote_start(lines, phrases)
    if start is None:
        return None
    marker = normalize(lines[start].strip())
    is_forward = any(marker.startswith(m) for m in phrases.forwarded + phrases.original_message)
    header_at = start + 1 if is_forward or marker.strip("_ ") == "" else start
    sender: Person | None = None
    index = header_at
    while index < len(lines) and not lines[index].strip():
        index += 1  # Apple Mail leaves a blank line after "Begin forwarded message:"
    seen_header = False
    while index < len(lines):
        line = lines[index].strip().strip("*").strip()
        label, sep, value = line.partition(":")
        if not sep or not line:
            break
        label_key = normalize(label.strip("* ")).strip()
        if label_key in phrases.header_from and sender is None:
            value = value.replace("[mailto:", "<").replace("]", ">")
            sender = next(iter(parse_addresses(value)), None)
        if label_key not in phrases.header_from and label_key not in phrases.header_labels:
            break
        seen_header = True
        index += 1
    if not seen_header:
        return None
    return start, sender, index


# ---------------------------------------------------------------------- the reader
_FORGED_NOTE = (
    "this says it is from you ({sender}), but it is not in your Sent mail and Gmail did not "
    "authenticate it: a note from you counts only when you wrote it; if you did, forward it "
    "to yourself from Gmail and label that"
)


class _Reader:
    def __init__(
        self, mail: Mail, me: Sequence[str], phrases: Phrases, in_sent: bool = False
    ) -> None:
        self.mail = mail
        self.me = {address_key(address) for address in me}
        self.phrases = phrases
        self.in_sent = in_sent
        self.problems: list[str] = []
        self.assistants: list[str] = []
        self.bad: dict[str, str] = {}  # addresses that cannot receive mail -> why

    def excluded(self, person: Person) -> bool:
        return person.key in self.me or _is_noreply(person.email)

    def contacts_in(self, text: str, requester: Person | None) -> list[Person]:
        """People named with an address in ``text``, minus the requester, the connector,
        no-reply addresses and assistants; each person once."""
        chosen: dict[str, Person] = {}
        for address, why in mistyped_addresses(text).items():
            self.bad.setdefault(address, why)
        for mention in mentions(text):
            person = mention.person
            if self.excluded(person) or (requester and person.key == requester.key):
                continue
            sentence = normalize(mention.sentence)
            if self.phrases.assistant.find(sentence):
                self.assistants.append(person.email)
                continue
            if self.phrases.self_reference.find(sentence):
                continue  # the writer's own other address: "reach me at ..."
            if person.key not in chosen or (person.name and not chosen[person.key].name):
                chosen[person.key] = person
        return list(chosen.values())

    def cc_contacts(self, text: str, requester: Person | None) -> list[Person]:
        """Cc'd people the body talks about (by name) or, failing that, all of them."""
        others = [
            p
            for p in self.mail.cc + self.mail.to
            if not self.excluded(p) and not (requester and p.key == requester.key)
        ]
        lowered = normalize(text)
        named = [p for p in others if p.name and normalize(p.name.split()[0]) in lowered]
        picked = named or [p for p in others if p in self.mail.cc]
        result = []
        for person in picked:
            first = normalize(person.name.split()[0]) if person.name else person.email
            if any(
                self._named_as_assistant(first, normalize(sentence))
                for sentence in re.split(r"[.\n!?]", text)
            ):
                self.assistants.append(person.email)
            else:
                result.append(person)
        return result

    def _named_as_assistant(self, name: str, sentence: str) -> bool:
        """ "her assistant Morgan", "Morgan (my EA)": the assistant word within a few words
        of the name, so "Grace is cc'd, and her assistant Morgan" makes only Morgan one."""
        words = re.findall(r"[\w@.'-]+", sentence)
        spots = [i for i, word in enumerate(words) if word.strip(".") == name]
        if not spots:
            return False
        for hit in self.phrases.assistant.find(sentence):
            start = len(re.findall(r"[\w@.'-]+", sentence[: hit.start]))
            end = start + len(hit.phrase.split())  # the phrase is words[start:end]
            if any(end <= spot <= end + 2 or start - 4 <= spot < start for spot in spots):
                return True
        return False

    def missing_addresses(
        self, text: str, contacts: list[Person], requester: Person | None
    ) -> None:
        known = " ".join(
            normalize(p.name or "") for p in [*contacts, *([requester] if requester else [])]
        )
        for name in _names_asked_for(text, self.phrases):
            first = normalize(name.split()[0])
            if first not in known and not any(first in normalize(a) for a in self.assistants):
                self.problems.append(
                    f"{name} is named but no email address is given for them; "
                    "add it (e.g. 'Name <address>') and label the thread again"
                )

    def pairs(
        self, requester: Person | None, contacts: list[Person], context: str
    ) -> list[IntroRequest]:
        if requester is None:
            self.problems.append("cannot tell who asked for the introduction")
            return []
        if not contacts:
            self.problems.append(NOBODY)
            return []
        if len(contacts) > MAX_CONTACTS:
            self.problems.append(
                f"the request names {len(contacts)} people; introbot makes at most "
                f"{MAX_CONTACTS} introductions from one request: split it up"
            )
            return []
        return [IntroRequest(requester, contact, context) for contact in contacts]

    # ----------------------------------------------------------------- the forms
    def note(self, line: str, context: str) -> list[IntroRequest] | None:
        """``A <a@x> -> B <b@y>`` or ``A <> B``; None if ``line`` is not such a note."""
        sides = _ARROW.split(f" {line} ", maxsplit=1)
        if len(sides) != 2:
            return None
        people: list[Person] = []
        for side in sides:
            good, rejected = read_addresses(side.strip())
            rejected += list(mistyped_addresses(side).items())
            if rejected and not good:
                address, why = rejected[0]
                self.problems.append(
                    f"the address {address} in the note cannot receive mail ({why}); "
                    "correct it and label the thread again"
                )
                return []
            found = good or [m.person for m in mentions(side)]
            if not found:
                name = clean_line(side).strip(" :-")
                # The note may give the address further down: "Tom: tom@x"
                body_mentions = [
                    m.person
                    for m in mentions(self.mail.text[:MAX_READ_CHARS])
                    if m.person.name
                    and name
                    and normalize(m.person.name.split()[0]) in normalize(name)
                ]
                if not body_mentions:
                    self.problems.append(
                        f"{name or 'a side of the note'} has no email address; write it as "
                        "'Name <address>' and label the thread again"
                    )
                    return []
                found = body_mentions
            people.append(found[0])
        requester, contact = people
        if self.excluded(requester) or self.excluded(contact):
            self.problems.append("a note to self cannot introduce your own or a no-reply address")
            return []
        return self.pairs(requester, [contact], context)

    def read(self) -> RequestReading:
        mail = self.mail
        if mail.sender is None:
            bad_from = [(a, why) for h, a, why in mail.bad_addresses if h == "From"]
            if bad_from:
                address, why = bad_from[0]
                return RequestReading(
                    (), (f"the From address {address} cannot receive mail ({why})",), "none"
                )
            return RequestReading((), ("the message has no usable From address",), "none")
        if mail.plain is None and mail.html_unchecked:  # its hidden words would be read
            why = f"{mail.html_unchecked}, so introbot cannot tell which words are shown"
            return RequestReading((), (f"{why}: send it again as plain text",), "none")
        reading = self._read()
        for header, address, why in mail.bad_addresses:
            if header in ("To", "Cc"):
                self.bad.setdefault(address, why)
        if not self.bad:
            return reading
        problems = [
            f"{address} cannot receive mail ({why}); correct the address and label the thread again"
            for address, why in list(self.bad.items())[:MAX_BAD_ADDRESSES]
        ]
        return RequestReading(
            reading.intros, (*reading.problems, *problems), reading.form, reading.assistants
        )

    def _read(self) -> RequestReading:
        mail = self.mail
        automated = self.automated()
        if automated:
            return RequestReading((), (automated,), "none")
        # What a person types is never longer than this: the rest is not scanned.
        lines = mail.text[:MAX_READ_CHARS].replace("\r\n", "\n").split("\n")
        assert mail.sender is not None  # read() answered a message without one
        from_me = mail.sender.key in self.me
        if from_me and not self.in_sent and check_sender(mail).authenticated is not True:
            return RequestReading((), (_FORGED_NOTE.format(sender=mail.sender.email),), "none")

        forward = _forward_block(lines, self.phrases)
        if forward is not None:
            result = self.forwarded(lines, forward)
            if result is not None:
                return result

        # a text too long to read whole is read from its start (the context is capped)
        own = plain_new_text(mail.text[:MAX_READ_CHARS], self.phrases).removesuffix(NOT_READ)
        if from_me:
            lines = own.split("\n")
            for candidate in (mail.subject, *lines):
                intros = self.note(candidate, "")  # the connector's own words stay theirs
                if intros is not None:
                    return RequestReading(tuple(intros), tuple(self.problems), "note")
        return self.direct_or_third_party(own, None if from_me else mail.sender)

    def automated(self) -> str | None:
        mail = self.mail
        for header in ("List-Unsubscribe", "List-Id"):
            if mail.header(header):
                return (
                    f"this looks like a newsletter or mailing list ({header}), not an intro request"
                )
        precedence = (mail.header("Precedence") or "").lower()
        if precedence in ("bulk", "list", "junk"):
            return f"this looks like bulk mail (Precedence: {precedence}), not an intro request"
        if (mail.header("Auto-Submitted") or "no").lower() != "no":
            return "this is an automated message (Auto-Submitted), not an intro request"
        if _is_noreply(mail.sender.email if mail.sender else ""):
            return f"this comes from a no-reply address ({mail.sender}), not a person asking"
        return None

    def asks(self, text: str) -> bool:
        normalized = normalize(text + " " + self.mail.subject)
        return bool(
            self.phrases.first_person.find(normalized)
            or self.phrases.meet.find(normalized)
            or self.phrases.introduce.find(normalized)
        )

    def direct_or_third_party(self, own: str, writer: Person | None) -> RequestReading:
        context = _context(own.split("\n"))
        if not self.asks(own):
            return RequestReading(
                (),
                ("this does not read as an intro request: no one is asked to be introduced",),
                "none",
            )
        contacts = self.contacts_in(own, writer)
        if writer is not None:
            contacts += [c for c in self.cc_contacts(own, writer) if c not in contacts]
        first_person = bool(
            self.phrases.first_person.find(normalize(own + " " + self.mail.subject))
        )
        third_person = not first_person and (
            _names_third_person(own, self.phrases) or len(contacts) >= 2
        )
        if writer is not None and not third_person:
            self.missing_addresses(own, contacts, writer)
            return RequestReading(
                tuple(self.pairs(writer, contacts, context)),
                tuple(self.problems),
                "direct",
                tuple(self.assistants),
            )
        # Someone (or the connector) asks to introduce two others: the first named asks.
        if len(contacts) < 2:
            self.missing_addresses(own, contacts, None)
            if not self.problems:
                self.problems.append(
                    f"an introduction needs two people with email addresses; found {len(contacts)}"
                )
            return RequestReading((), tuple(self.problems), "third_party", tuple(self.assistants))
        requester, *others = contacts
        return RequestReading(
            tuple(self.pairs(requester, others, "")),  # the writer's words, not the requester's
            tuple(self.problems),
            "third_party",
            tuple(self.assistants),
        )

    def forwarded(
        self, lines: list[str], forward: tuple[int, Person | None, int]
    ) -> RequestReading | None:
        """A forwarded request, or None when the block is quoted history of a reply."""
        start, original_sender, body_at = forward
        comment = "\n".join(cut_signature(lines[:start], self.phrases)).strip()
        body = plain_new_text("\n".join(lines[body_at:]), self.phrases)
        writer = self.mail.sender
        assert writer is not None
        writer_is_me = writer.key in self.me
        requester: Person | None
        if not writer_is_me and self.phrases.first_person.find(normalize(comment)):
            requester = writer  # "forwarding this: could you introduce *me* to ..."
        elif original_sender is not None and not self.excluded(original_sender):
            requester = original_sender
        elif writer_is_me:
            requester = None
        else:
            return None
        contacts = self.contacts_in(comment, requester) or self.contacts_in(body, requester)
        if not contacts:
            self.missing_addresses(comment + "\n" + body, contacts, requester)
        # Only the requester's own words are offered to the contact as theirs: the body they
        # wrote, or the comment when they forward something themselves; never the
        # connector's comment on what they forward.
        if requester is not None and requester.key == writer.key:
            context = _context(comment.split("\n"))
        elif (
            requester is not None
            and original_sender is not None
            and (requester.key == original_sender.key)
        ):
            context = _context(body.split("\n"))
        else:
            context = ""
        return RequestReading(
            tuple(self.pairs(requester, contacts, context)),
            tuple(self.problems),
            "forwarded",
            tuple(self.assistants),
        )


def read_request(
    mail: Mail, me: Sequence[str], phrases: Phrases, in_sent: bool = False
) -> RequestReading:
    """The intros asked for in ``mail``; ``me`` are the connector's own addresses.
    ``in_sent``: the message is in the connector's Sent mail (Gmail's SENT label), so one
    From the connector was written by them; otherwise only Gmail's authentication says so."""
    return _Reader(mail, me, phrases, in_sent).read()
