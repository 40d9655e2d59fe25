"""The user-editable rules: phrases per language (``rules/phrases/*.toml``), validated on
load with errors that name the file, the key and what is wrong, and compiled per language;
and the draft templates (``rules/templates/``). How a phrase matches is
:mod:`introbot.reading.phrases`'s.

Consent phrases are used per language: a reply is read with the phrases of its own language
(detected from each file's ``markers``) plus English, never every language at once, so a
word that means yes in one language ("super") cannot turn a sentence of another into a yes.
The quote, automated-mail and request lists of every language are used together: a mail
client writes its attribution line in its own language, whatever the writer's.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from introbot.reading.phrases import Hit, PhraseSet, normalize, phrase_words


class RulesError(Exception):
    """A rule file is missing or wrong; the message names the file and the key."""


def default_rules_dir() -> Path:
    """The rules that ship with introbot (``rules/`` in a checkout, ``introbot/_rules``
    in an installed package)."""
    checkout = Path(__file__).resolve().parent.parent / "rules"
    if (checkout / "phrases").is_dir():
        return checkout
    return Path(str(resources.files("introbot") / "_rules"))


# ------------------------------------------------------------------------ the schema
def _phrases() -> Any:
    return Field(default_factory=list)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentPhrases(_Strict):
    yes: list[str] = _phrases()
    yes_idioms: list[str] = _phrases()
    neutral: list[str] = _phrases()
    no: list[str] = _phrases()
    alternatives: list[str] = _phrases()
    negations: list[str] = _phrases()
    fit: list[str] = _phrases()
    busy: list[str] = _phrases()
    apologies: list[str] = _phrases()
    hedges: list[str] = _phrases()
    conditions: list[str] = _phrases()
    deferrals: list[str] = _phrases()
    present: list[str] = _phrases()
    pleasantries: list[str] = _phrases()
    preferences: list[str] = _phrases()
    remarks: list[str] = _phrases()
    likes: list[str] = _phrases()
    appraisals: list[str] = _phrases()
    approvals: list[str] = _phrases()
    filler: list[str] = _phrases()
    blurb_markers: list[str] = _phrases()
    withdrawals: list[str] = _phrases()


class AutomatedPhrases(_Strict):
    auto_reply_subjects: list[str] = _phrases()
    bounce_subjects: list[str] = _phrases()
    bounce_body: list[str] = _phrases()
    auto_reply_statements: list[str] = _phrases()
    absence: list[str] = _phrases()
    absence_followups: list[str] = _phrases()
    responder: list[str] = _phrases()
    read_receipt_subjects: list[str] = _phrases()
    read_receipt_body: list[str] = _phrases()


class QuotePhrases(_Strict):
    attribution: list[str] = _phrases()
    original_message: list[str] = _phrases()
    forwarded: list[str] = _phrases()
    header_from: list[str] = _phrases()
    header_labels: list[str] = _phrases()
    signoffs: list[str] = _phrases()
    sent_from: list[str] = _phrases()
    disclaimers: list[str] = _phrases()

    @field_validator("attribution")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {pattern!r} ({exc})") from None
        return patterns


class RequestPhrases(_Strict):
    first_person: list[str] = _phrases()
    meet: list[str] = _phrases()
    introduce: list[str] = _phrases()
    assistant: list[str] = _phrases()
    self_reference: list[str] = _phrases()


class PerContactPhrases(_Strict):
    """How a requester answers for each of several contacts ("yes to both", "skip Bob",
    "only Dana please"): read by ``reading/per_contact.py``."""

    everyone: list[str] = _phrases()  # names every contact asked about: "both", "all of them"
    skip: list[str] = _phrases()  # leaves the contact named beside it out: "skip", "not"
    only: list[str] = _phrases()  # the contact named beside it and nobody else: "only"
    joiners: list[str] = _phrases()  # join two answers in one clause: "yes to X and no to Y"


class LanguageFile(_Strict):
    language: str = Field(min_length=2, max_length=12)
    markers: list[str] = _phrases()  # common words that tell a text is in this language
    consent: ConsentPhrases = ConsentPhrases()
    automated: AutomatedPhrases = AutomatedPhrases()
    quotes: QuotePhrases = QuotePhrases()
    requests: RequestPhrases = RequestPhrases()
    per_contact: PerContactPhrases = PerContactPhrases()


def _where(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RulesError(f"{path}: cannot read it ({exc.strerror})") from None


def load_language_file(path: Path) -> LanguageFile:
    return _parse_language_file(path, _read(path))


def _parse_language_file(path: Path, content: bytes) -> LanguageFile:
    try:
        return _parsed_language_file(content)
    except _Unreadable as exc:
        raise RulesError(f"{path}: {exc}") from None


class _Unreadable(Exception):
    """What is wrong with a phrase file's text, before its path is named."""


@functools.lru_cache(maxsize=256)
def _parsed_language_file(content: bytes) -> LanguageFile:
    """A phrase file's text, parsed and checked once per process: ``rules check`` and
    ``doctor`` compare the user's copy with the shipped file, and a process that checks
    more than once (the tests: over a thousand times) parses each text once."""
    try:
        data = tomllib.loads(content.decode())
    except tomllib.TOMLDecodeError as exc:
        raise _Unreadable(f"not valid TOML: {exc}") from None
    try:
        return LanguageFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _Unreadable(f"key {_where(first)}: {first['msg']}") from None


# ------------------------------------------------------------------ compiled phrases
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class ConsentSets:
    """One language's consent phrases (with English's), compiled."""

    language: str
    yes: PhraseSet
    yes_idioms: PhraseSet
    neutral: PhraseSet
    no: PhraseSet
    alternatives: PhraseSet
    negations: PhraseSet
    fit: PhraseSet
    busy: PhraseSet
    apologies: PhraseSet
    hedges: PhraseSet
    conditions: PhraseSet
    deferrals: PhraseSet
    present: PhraseSet
    pleasantries: PhraseSet
    preferences: PhraseSet
    remarks: PhraseSet
    likes: PhraseSet
    appraisals: PhraseSet
    approvals: PhraseSet
    filler: PhraseSet
    blurb_markers: PhraseSet
    withdrawals: PhraseSet
    every: PhraseSet  # the lists of CONSENT_ORDER in one pattern: the longest phrase wins
    category: dict[str, str]  # a phrase's words -> the first list of CONSENT_ORDER holding it
    wildcards: tuple[tuple[re.Pattern[str], str], ...]  # phrases with a "_", and their list

    @classmethod
    def compile(cls, language: str, files: list[ConsentPhrases]) -> ConsentSets:
        lists = {
            key: [p for f in files for p in getattr(f, key)] for key in ConsentPhrases.model_fields
        }
        category: dict[str, str] = {}
        for key in CONSENT_ORDER:
            for phrase in lists[key]:
                category.setdefault(phrase_words(phrase), key)
        every = PhraseSet([p for key in CONSENT_ORDER for p in lists[key]])
        sets = {key: PhraseSet(phrases) for key, phrases in lists.items()}
        wildcards = tuple(
            (re.compile(PhraseSet.words_pattern(words)), key)
            for words, key in category.items()
            if "_" in words.split()
        )
        return cls(language, **sets, every=every, category=category, wildcards=wildcards)

    def tag(self, text: str) -> list[tuple[str, Hit]]:
        """Every phrase in ``text`` (normalized) with its list, the longest match first at
        each place, so "not sure" is a hedge, not a negation and a yes."""
        found = []
        for hit in self.every.find(text):
            words = phrase_words(hit.phrase)
            key = self.category.get(words)
            if key is None:  # a phrase with a "_": which one matched
                key = next((k for p, k in self.wildcards if p.fullmatch(words)), None)
            if key is not None:
                found.append((key, hit))
        return found


# The consent lists in the order that breaks ties between lists holding the same phrase.
CONSENT_ORDER = (
    "neutral",
    "yes_idioms",
    "no",
    "pleasantries",
    "hedges",
    "conditions",
    "deferrals",
    "present",
    "alternatives",
    "yes",
    "likes",
    "appraisals",
    "negations",
    "fit",
    "busy",
    "apologies",
    "preferences",
    "remarks",
    "approvals",
    "filler",
)


_PER_CONTACT = ("everyone", "skip", "only", "joiners")


@dataclass(frozen=True)
class PerContactSets:
    """One language's per-contact phrases (with English's), compiled."""

    everyone: PhraseSet
    skip: PhraseSet
    only: PhraseSet
    joiners: PhraseSet


@dataclass(frozen=True)
class Phrases:
    """Every language's phrases, compiled: consent lists per language, the rest merged."""

    languages: tuple[str, ...]
    consent_files: dict[str, tuple[ConsentPhrases, ...]]
    markers: dict[str, PhraseSet]
    auto_reply_subjects: PhraseSet
    bounce_subjects: PhraseSet
    bounce_body: PhraseSet
    auto_reply_statements: PhraseSet
    absence: PhraseSet
    absence_followups: PhraseSet
    responder: PhraseSet
    read_receipt_subjects: PhraseSet
    read_receipt_body: PhraseSet
    attribution: tuple[re.Pattern[str], ...]
    original_message: tuple[str, ...]
    forwarded: tuple[str, ...]
    header_from: frozenset[str]
    header_labels: frozenset[str]
    signoffs: frozenset[str]
    sent_from: tuple[str, ...]
    disclaimers: PhraseSet
    first_person: PhraseSet
    meet: PhraseSet
    introduce: PhraseSet
    assistant: PhraseSet
    self_reference: PhraseSet
    consent_cache: dict[str, ConsentSets] = field(default_factory=dict, compare=False, repr=False)
    per_contact_files: dict[str, tuple[PerContactPhrases, ...]] = field(default_factory=dict)
    per_contact_cache: dict[str, PerContactSets] = field(
        default_factory=dict, compare=False, repr=False
    )

    def detect_language(self, text: str) -> str:
        """The language whose marker words occur most in ``text`` (English on a tie)."""
        lowered = normalize(text[:5000])
        counts = {lang: len(markers.find(lowered)) for lang, markers in self.markers.items()}
        best = max(counts.values(), default=0)
        if best == 0 or counts.get(FALLBACK_LANGUAGE) == best:
            return FALLBACK_LANGUAGE
        return next(lang for lang, n in counts.items() if n == best)

    def consent(self, language: str) -> ConsentSets:
        """The consent phrases of ``language`` plus English's, compiled once."""
        cache = self.consent_cache
        if language not in cache:
            files = [*self.consent_files.get(language, ())]
            if language != FALLBACK_LANGUAGE:
                files += self.consent_files.get(FALLBACK_LANGUAGE, ())
            cache[language] = ConsentSets.compile(language, files)
        return cache[language]

    def per_contact(self, language: str) -> PerContactSets:
        """The per-contact phrases of ``language`` plus English's, compiled once."""
        cache = self.per_contact_cache
        if language not in cache:
            files = [*self.per_contact_files.get(language, ())]
            if language != FALLBACK_LANGUAGE:
                files += self.per_contact_files.get(FALLBACK_LANGUAGE, ())
            cache[language] = PerContactSets(
                *(PhraseSet([p for f in files for p in getattr(f, key)]) for key in _PER_CONTACT)
            )
        return cache[language]

    @classmethod
    def merge(cls, files: list[LanguageFile]) -> Phrases:
        def gather(section: str, key: str) -> list[str]:
            return [p for f in files for p in getattr(getattr(f, section), key)]

        def phrase_set(section: str, key: str) -> PhraseSet:
            return PhraseSet(gather(section, key))

        def lowered(section: str, key: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(normalize(p).strip() for p in gather(section, key)))

        return cls(
            languages=tuple(dict.fromkeys(f.language for f in files)),
            consent_files={
                lang: tuple(f.consent for f in files if f.language == lang)
                for lang in dict.fromkeys(f.language for f in files)
            },
            markers={
                lang: PhraseSet(
                    [
                        m
                        for f in files
                        if f.language == lang
                        for m in [
                            *f.markers,
                            *f.consent.yes,
                            *f.consent.no,
                            *f.consent.pleasantries,
                            *f.consent.likes,
                            *f.consent.appraisals,
                        ]
                    ]
                )
                for lang in dict.fromkeys(f.language for f in files)
            },
            auto_reply_subjects=phrase_set("automated", "auto_reply_subjects"),
            bounce_subjects=phrase_set("automated", "bounce_subjects"),
            bounce_body=phrase_set("automated", "bounce_body"),
            auto_reply_statements=phrase_set("automated", "auto_reply_statements"),
            absence=phrase_set("automated", "absence"),
            absence_followups=phrase_set("automated", "absence_followups"),
            responder=phrase_set("automated", "responder"),
            read_receipt_subjects=phrase_set("automated", "read_receipt_subjects"),
            read_receipt_body=phrase_set("automated", "read_receipt_body"),
            attribution=tuple(
                re.compile(p, re.IGNORECASE) for p in dict.fromkeys(gather("quotes", "attribution"))
            ),
            original_message=lowered("quotes", "original_message"),
            forwarded=lowered("quotes", "forwarded"),
            header_from=frozenset(lowered("quotes", "header_from")),
            header_labels=frozenset(lowered("quotes", "header_labels")),
            signoffs=frozenset(s.rstrip(",.!") for s in lowered("quotes", "signoffs")),
            sent_from=lowered("quotes", "sent_from"),
            disclaimers=phrase_set("quotes", "disclaimers"),
            first_person=phrase_set("requests", "first_person"),
            meet=phrase_set("requests", "meet"),
            introduce=phrase_set("requests", "introduce"),
            assistant=phrase_set("requests", "assistant"),
            self_reference=phrase_set("requests", "self_reference"),
            per_contact_files={
                lang: tuple(f.per_contact for f in files if f.language == lang)
                for lang in dict.fromkeys(f.language for f in files)
            },
        )


def load_phrases(rules_dir: Path | None = None) -> Phrases:
    """The phrase files of a rules folder, compiled. Compiled once a process for the same
    files (names and contents): a folder read again unchanged (every ``rules check``, every
    account of a daemon) costs reading the files, not parsing and compiling them again."""
    folder = (rules_dir or default_rules_dir()) / "phrases"
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not files:
        raise RulesError(f"{folder}: no phrase files (*.toml) found")
    contents = [(path, _read(path)) for path in files]
    key = tuple((path.name, hashlib.sha256(content).digest()) for path, content in contents)
    phrases = _COMPILED_PHRASES.get(key)
    if phrases is None:  # two threads at once at worst compile the same files twice
        phrases = Phrases.merge([_parse_language_file(p, content) for p, content in contents])
        _COMPILED_PHRASES[key] = phrases
        for oldest in list(_COMPILED_PHRASES)[:-_COMPILED_PHRASES_KEPT]:
            _COMPILED_PHRASES.pop(oldest, None)
    return phrases


# Phrases compiled from the same file names and contents (sha256): a few sets are kept, a
# process reads one or two (the shipped rules, the user's copy). Phrases is frozen; what it
# compiles later (consent sets per language) depends on nothing but its files.
_COMPILED_PHRASES: dict[tuple[tuple[str, bytes], ...], Phrases] = {}
_COMPILED_PHRASES_KEPT = 8


@functools.cache
def default_phrases() -> Phrases:
    return load_phrases()


# ------------------------------------------------------------------------ templates
TEMPLATE_NAMES = (
    "consent_requester",
    "consent_requester_several",
    "consent_contact",
    "reminder",
    "reminder_several",
    "joint",
    "decline_note",
    "decline_note_several",
    "thanks_note",
    "expiry_note",
    "problem_note",
    "held_note",
)
#: Templates added after rules folders were first copied: a copy without one uses the
#: shipped one (``introbot rules check`` says so), rather than refusing to start.
NEWER_TEMPLATES = (
    "consent_requester_several",
    "held_note",
    "reminder_several",
    "decline_note_several",
)


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    subject: jinja2.Template
    body: jinja2.Template
    body_line: int = 3  # the file's line number of the body's first line


def _template_env() -> jinja2.Environment:
    # Sandboxed: a template cannot reach Python internals; StrictUndefined: a misspelt
    # variable is an error, not an empty string in someone's inbox.
    return jinja2.sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> jinja2.Template:
    """Compiling is most of what loading rules costs, and a template's compiled form depends
    on its text alone: each text is compiled once per process (a process that loads rules
    again, e.g. after an edit, compiles only what changed)."""
    return _template_env().from_string(source)


def _compile(source: str, path: Path, first_line: int) -> jinja2.Template:
    try:
        return _compiled(source)
    except jinja2.TemplateSyntaxError as exc:
        raise RulesError(f"{path}: line {first_line + exc.lineno - 1}: {exc.message}") from None


def load_templates(rules_dir: Path | None = None) -> dict[str, Template]:
    """The English templates (``templates/*.txt``): every one is needed."""
    return load_template_folder((rules_dir or default_rules_dir()) / "templates")


def load_template_folder(folder: Path, complete: bool = True) -> dict[str, Template]:
    """The templates in one folder; ``complete=False`` (a language set, see
    :mod:`introbot.languages`): a missing one is left out, not an error."""
    templates: dict[str, Template] = {}
    for name in TEMPLATE_NAMES:
        path = folder / f"{name}.txt"
        if not complete and not path.exists():
            continue  # a language set lacking it: the English one writes it
        if name in NEWER_TEMPLATES and not path.is_file():
            path = default_rules_dir() / "templates" / f"{name}.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise RulesError(
                f"{path}: missing template (every one of {', '.join(TEMPLATE_NAMES)} is needed)"
            ) from None
        first, _, rest = text.partition("\n")
        if not first.lower().startswith("subject:"):
            raise RulesError(f"{path}: line 1 must be 'Subject: ...'")
        body = rest.lstrip("\n")
        body_starts = 2 + len(rest) - len(body)  # the line number of the body's first line
        subject = _compile(first.partition(":")[2].strip(), path, 1)
        templates[name] = Template(
            name, path, subject, _compile(body, path, body_starts), body_starts
        )
    return templates


# -------------------------------------------------------------------------- bundle
@dataclass(frozen=True)
class Rules:
    """Everything in a rules folder, loaded and checked."""

    folder: Path
    phrases: Phrases
    templates: dict[str, Template]  # English: templates/*.txt
    # Other languages: templates/<language>/*.txt, each possibly partial (introbot.languages)
    translations: dict[str, dict[str, Template]] = field(default_factory=dict)


def load_translations(rules_dir: Path | None = None) -> dict[str, dict[str, Template]]:
    """Every language set in ``templates/``: a sub-folder named by its language code."""
    folder = (rules_dir or default_rules_dir()) / "templates"
    return {
        sub.name: load_template_folder(sub, complete=False)
        for sub in sorted(folder.iterdir() if folder.is_dir() else [])
        if sub.is_dir() and TEMPLATE_LANGUAGE.fullmatch(sub.name)
    }


TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2}")  # the name of a language set's folder


def load_rules(rules_dir: Path | None = None) -> Rules:
    folder = rules_dir or default_rules_dir()
    return Rules(folder, load_phrases(folder), load_templates(folder), load_translations(folder))
