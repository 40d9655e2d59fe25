"""Which language a draft is written in, and the templates that write it. Pure.

introbot drafts in English, French, German and Spanish. Each language other than English
has its own template set, ``templates/<language>/`` (``fr``, ``de``, ``es``), beside the
English one in ``templates/``. A draft's language is chosen from who it goes to:

1. **Your say**: an address in ``config.toml``'s ``[languages]`` (``"dana@northwind.io" =
   "de"``) is always written to in that language, whatever they wrote.
2. **The language of the request**, when it tells: the requester's own words in it (the
   ``context`` every party draft carries). The requester wrote to you in it; the contact
   is asked in it too: someone asking for an introduction usually asks within their own
   language, introbot has none of the contact's own words to go by (it reads only the
   threads you label and their replies, never the rest of your mail), and every draft is
   yours to read before you send it. Set an address in ``[languages]`` where that is wrong.
3. **The default** (``[languages] default``, English unless set): when the request has no
   words of the requester (a note to self, a request to introduce two others), when it is
   too short to tell or mixes languages, or is in a language introbot has no templates for.
   A wrong language is worse than the default, so a guess needs evidence (:func:`detect`).

The introduction goes to both: when their languages differ, it is written in the default
language, which is yours (the one you chose for everyone whose language is unknown), rather
than in one party's language that the other may not read. Notes to you (a request introbot
cannot use) are in the default language.

A language set may lack a template (a copy of the rules made before that template existed,
or a template not translated yet): that draft is written with the English template, and
``introbot rules check`` says so. The words a template receives for someone who gave no name
("someone I know", "your contact", "Hi there,") are given in the draft's language.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from introbot.compose import UNNAMED
from introbot.model import DraftKind, DraftSpec, Person, address_key
from introbot.reading.phrases import normalize
from introbot.rules import Phrases, Rules, Template

Language = Literal["en", "fr", "de", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "fr", "de", "es")
ENGLISH: Language = "en"
NAMES: dict[str, str] = {"en": "English", "fr": "French", "de": "German", "es": "Spanish"}

# How a draft speaks of someone who gave no name, per language (English: compose.UNNAMED,
# and "there" for "Hi there,"). The translated templates leave the greeting out when it is
# empty ("Bonjour," rather than "Bonjour there,").
UNNAMED_WORDS: dict[str, dict[str, str]] = {
    "fr": {"requester": "une personne de ma connaissance", "contact": "votre contact"},
    "de": {"requester": "jemand aus meinem Bekanntenkreis", "contact": "Ihr Kontakt"},
    "es": {"requester": "una persona de mi entorno", "contact": "su contacto"},
}

# The evidence a guess needs: this many marker words of the language (common words, the
# phrase files' ``markers``, yes/no words and greetings), of at least this many different
# ones, and this many times as many as the next language has. Less is "cannot tell".
MIN_HITS = 5
MIN_DISTINCT = 3
MARGIN = 2.0
SCANNED = 5000  # characters of the text looked at


# The most common words of each language, beside the phrase files' markers (which are made
# for short replies: "oui", "merci", "gerne"): a request's words for the other side have no
# greeting and no sign-off left, so its function words are what tell its language. Words two
# languages share ("de", "la", "en", "me") count for both, which only narrows the margin.
COMMON_WORDS: dict[str, str] = {
    "en": "the and of to in is that for you with i me my we our on be it this would could can"
    " have are your from about at as an they their she he her his will who what if or not but"
    " do been was i'm i'd we're they're love like meet introduce thanks please",
    "fr": "le la les des du de un une et est je j'ai vous nous il elle ils que qui pour pas"
    " dans sur avec ce cette ces mon ma mes votre vos notre nos au aux en ne plus mais ou où"
    " très bien merci bonjour salut serait pourriez pourrais aimerais voudrais suis c'est son"
    " sa ses à être aussi leur cherche cherchons présenter relation",
    "de": "der die das und ist ich sie wir nicht mit für ein eine einen einem auf dem den des zu"
    " von bei auch aber sehr würde würden könnten könntest danke hallo gerne mich mir uns"
    " unser unsere ihr ihnen ob dass wäre in an im zur zum es kontakt bitte vielen grüße"
    " sind haben habe dich du",
    "es": "el la los las de del y que en un una es por para con no me mi su sus se lo muy pero"
    " hola gracias podrías podría quería quisiera estoy está estamos somos nuestro nuestra"
    " sería al como más también le les presentarme contacto queremos buscamos",
}


_WORD = re.compile(r"[^\W\d_][\w']*")


@functools.lru_cache(maxsize=8)
def _word_sets(markers: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, frozenset[str]]:
    words: dict[str, set[str]] = {language: set() for language, _ in markers}
    for language, found in markers:
        words[language] |= {w for w in found if _WORD.fullmatch(w)}  # single plain words
    for language, common in COMMON_WORDS.items():
        words.setdefault(language, set()).update(normalize(w) for w in common.split())
    return {language: frozenset(found) for language, found in words.items() if found}


def _words_of(phrases: Phrases) -> dict[str, frozenset[str]]:
    """Per language, the words that tell it: the phrase files' markers and COMMON_WORDS."""
    return _word_sets(tuple((lang, tuple(m.phrases)) for lang, m in phrases.markers.items()))


@dataclass(frozen=True, slots=True)
class Detected:
    """The language of a text, or None when the text does not tell it with confidence."""

    language: str | None
    why: str


def detect(text: str, phrases: Phrases) -> Detected:
    """The language ``text`` is written in, only with enough evidence: a short or mixed
    text is ``None`` ("cannot tell"), never a confident wrong guess."""
    tokens = _WORD.findall(normalize(text[:SCANNED]))
    counts: dict[str, tuple[int, int]] = {}
    for language, words in _words_of(phrases).items():
        found = [token for token in tokens if token in words]
        counts[language] = (len(found), len(set(found)))
    ranked = sorted(counts.items(), key=lambda item: item[1][0], reverse=True)
    if not ranked or ranked[0][1][0] == 0:
        return Detected(None, "has no words to tell its language by")
    best, (hits, distinct) = ranked[0]
    second, (runner_up, _) = ranked[1] if len(ranked) > 1 else ("", (0, 0))
    name = NAMES.get(best, best)
    if hits < MIN_HITS or distinct < MIN_DISTINCT:
        return Detected(None, f"is too short to tell its language ({hits} {name} word(s))")
    if hits < MARGIN * runner_up:
        other = NAMES.get(second, second)
        return Detected(None, f"mixes languages ({hits} {name} words, {runner_up} {other})")
    return Detected(best, f"is in {name} ({hits} {name} words, {runner_up} of another language)")


@dataclass(frozen=True, slots=True)
class Choice:
    language: str
    why: str
    mixed: bool = False  # the parties' languages differ: the default was taken for both


def person_language(
    person: Person,
    request: Detected,
    people: Mapping[str, str],
    default: str = ENGLISH,
) -> Choice:
    """One person's language: your say in ``people`` (address key -> language), else the
    request's when it told and introbot writes it, else the default."""
    mine = people.get(address_key(person.email))
    if mine is not None:
        return Choice(mine, "set for them in [languages]")
    if request.language in LANGUAGES:
        return Choice(request.language, f"the request {request.why}")
    if request.language is not None:
        return Choice(default, f"the default: the request {request.why}, with no templates")
    return Choice(default, f"the default: the request {request.why}")


def choose(
    spec: DraftSpec, phrases: Phrases, people: Mapping[str, str], default: str = ENGLISH
) -> Choice:
    """The language of one draft, from its recipients and the request's words in it."""
    if spec.kind is DraftKind.PROBLEM_NOTE:
        return Choice(default, "a note to you: the default")
    request = detect(str(spec.fields.get("context") or ""), phrases)
    choices = [person_language(person, request, people, default) for person in spec.to]
    languages = {c.language for c in choices}
    if len(languages) == 1:
        return choices[0]
    if not languages:
        return Choice(default, "the default")
    spoken = " and ".join(NAMES.get(c.language, c.language) for c in choices)
    return Choice(default, f"the default: it goes to both, who have {spoken}", mixed=True)


def localized(spec: DraftSpec, language: str) -> DraftSpec:
    """The spec with the words for someone who gave no name in ``language``."""
    words = UNNAMED_WORDS.get(language)
    if words is None:
        return spec
    fields: dict[str, Any] = dict(spec.fields)
    roles = {"requester": "requester", "contact": "contact", "to": spec.fields.get("to_role")}
    for key, role in roles.items():
        who = fields.get(key)
        if isinstance(who, Mapping) and role in UNNAMED:
            fields[key] = _unnamed(who, str(role), words)
    contacts = fields.get("contacts")  # one ask about several contacts
    if isinstance(contacts, list):
        fields["contacts"] = [
            _unnamed(c, "contact", words) if isinstance(c, Mapping) else c for c in contacts
        ]
    return replace(spec, fields=fields)


def _unnamed(who: Mapping[str, Any], role: str, words: Mapping[str, str]) -> Mapping[str, Any]:
    """``who`` with the language's words if it is the placeholder for someone unnamed."""
    if who.get("first") != UNNAMED[role]:  # a name, kept as it is
        return who
    return {**who, "name": words[role], "first": words[role], "greeting": ""}


@dataclass(frozen=True)
class Drafting:
    """How one draft is written: the spec (localized), the templates, and why."""

    spec: DraftSpec
    templates: Mapping[str, Template]
    language: str
    why: str
    chosen: str  # the language chosen; ``language`` is English when its set lacks the template
    mixed: bool = False  # see Choice

    @property
    def fell_back(self) -> bool:
        return self.language != self.chosen

    def worth_saying(self, default: str) -> bool:
        """Not the plain default: a language chosen, a fallback, or two parties' differing."""
        return self.chosen != default or self.fell_back or self.mixed


def drafting(
    spec: DraftSpec, rules: Rules, people: Mapping[str, str], default: str = ENGLISH
) -> Drafting:
    """The language of ``spec`` and the templates to write it with: the language's set,
    or the English template when the set (or this template in it) is missing."""
    choice = choose(spec, rules.phrases, people, default)
    if choice.language == ENGLISH:
        return Drafting(spec, rules.templates, ENGLISH, choice.why, ENGLISH, choice.mixed)
    translated = rules.translations.get(choice.language, {})
    if spec.template not in translated:
        missing = f"templates/{choice.language}/{spec.template}.txt"
        why = f"{choice.why}; written in English: the rules have no {missing}"
        return Drafting(spec, rules.templates, ENGLISH, why, choice.language, choice.mixed)
    return Drafting(
        localized(spec, choice.language),
        {**rules.templates, **translated},
        choice.language,
        choice.why,
        choice.language,
        choice.mixed,
    )


__all__ = [
    "LANGUAGES",
    "NAMES",
    "Choice",
    "Detected",
    "Drafting",
    "Language",
    "choose",
    "detect",
    "drafting",
    "localized",
    "person_language",
]
