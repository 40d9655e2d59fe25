"""The user-editable rules: phrases per language (``rules/phrases/*.toml``), validated on
load with errors that name the file, the key and what is wrong.

Phrases are literal, case-insensitive and matched on whole words (a hyphen counts as part
of a word, so ``non`` does not match ``non-profit``). Runs of spaces match any white space;
``'`` matches ``’`` too. A ``*`` at the start or end lets the phrase be part of a longer word
(``*n't`` matches ``wouldn't``). Lists from every language file are used together: replies
do not announce their language.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class RulesError(Exception):
    """A rule file is missing or wrong; the message names the file and the key."""


def default_rules_dir() -> Path:
    """The rules that ship with introbot (``rules/`` in a checkout, ``introbot/_rules``
    in an installed package)."""
    checkout = Path(__file__).resolve().parent.parent / "rules"
    if (checkout / "phrases").is_dir():
        return checkout
    return Path(str(resources.files("introbot") / "_rules"))


# --------------------------------------------------------------------------- matching
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "\u00a0": " "})


def normalize(text: str) -> str:
    """The form phrases are matched against: NFC, casefolded, one kind of apostrophe."""
    return unicodedata.normalize("NFC", text).translate(_APOSTROPHES).casefold()


@dataclass(frozen=True, slots=True)
class Hit:
    phrase: str
    start: int
    end: int


class PhraseSet:
    """A list of phrases compiled into one pattern, longest phrase first."""

    def __init__(self, phrases: list[str]) -> None:
        unique = {normalize(p).strip() for p in phrases if p.strip()}
        self.phrases = sorted(unique, key=len, reverse=True)
        parts = [self._pattern(p) for p in self.phrases]
        self._regex = re.compile("|".join(parts)) if parts else None

    @staticmethod
    def _pattern(phrase: str) -> str:
        open_start, open_end = phrase.startswith("*"), phrase.endswith("*")
        core = phrase.strip("*")
        body = r"\s+".join(re.escape(word) for word in core.split())
        before = "" if open_start else r"(?<![\w-])"
        after = "" if open_end else r"(?![\w-])"
        return f"{before}{body}{after}"

    def find(self, text: str) -> list[Hit]:
        """Non-overlapping hits in ``text`` (which must be :func:`normalize`-d)."""
        if self._regex is None:
            return []
        return [
            Hit(" ".join(m.group(0).split()), m.start(), m.end())
            for m in self._regex.finditer(text)
        ]

    def __bool__(self) -> bool:
        return bool(self.phrases)


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
    negations: list[str] = _phrases()
    hedges: list[str] = _phrases()
    deferrals: list[str] = _phrases()


class AutomatedPhrases(_Strict):
    auto_reply_subjects: list[str] = _phrases()
    bounce_subjects: list[str] = _phrases()


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


class LanguageFile(_Strict):
    language: str = Field(min_length=2, max_length=12)
    consent: ConsentPhrases = ConsentPhrases()
    automated: AutomatedPhrases = AutomatedPhrases()
    quotes: QuotePhrases = QuotePhrases()
    requests: RequestPhrases = RequestPhrases()


def _where(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def load_language_file(path: Path) -> LanguageFile:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise RulesError(f"{path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    try:
        return LanguageFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RulesError(f"{path}: key {_where(first)}: {first['msg']}") from None


# ------------------------------------------------------------------ compiled phrases
@dataclass(frozen=True)
class Phrases:
    """Every language's phrases, merged and compiled."""

    languages: tuple[str, ...]
    yes: PhraseSet
    yes_idioms: PhraseSet
    neutral: PhraseSet
    no: PhraseSet
    negations: PhraseSet
    hedges: PhraseSet
    deferrals: PhraseSet
    auto_reply_subjects: PhraseSet
    bounce_subjects: PhraseSet
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

    @classmethod
    def merge(cls, files: list[LanguageFile]) -> Phrases:
        def gather(section: str, key: str) -> list[str]:
            return [p for f in files for p in getattr(getattr(f, section), key)]

        def phrase_set(section: str, key: str) -> PhraseSet:
            return PhraseSet(gather(section, key))

        def lowered(section: str, key: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(normalize(p).strip() for p in gather(section, key)))

        return cls(
            languages=tuple(f.language for f in files),
            yes=phrase_set("consent", "yes"),
            yes_idioms=phrase_set("consent", "yes_idioms"),
            neutral=phrase_set("consent", "neutral"),
            no=phrase_set("consent", "no"),
            negations=phrase_set("consent", "negations"),
            hedges=phrase_set("consent", "hedges"),
            deferrals=phrase_set("consent", "deferrals"),
            auto_reply_subjects=phrase_set("automated", "auto_reply_subjects"),
            bounce_subjects=phrase_set("automated", "bounce_subjects"),
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
        )


def load_phrases(rules_dir: Path | None = None) -> Phrases:
    folder = (rules_dir or default_rules_dir()) / "phrases"
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not files:
        raise RulesError(f"{folder}: no phrase files (*.toml) found")
    return Phrases.merge([load_language_file(path) for path in files])


@functools.cache
def default_phrases() -> Phrases:
    return load_phrases()


# ------------------------------------------------------------------------ templates
TEMPLATE_NAMES = (
    "consent_requester",
    "consent_contact",
    "reminder",
    "joint",
    "decline_note",
    "thanks_note",
    "expiry_note",
    "problem_note",
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


def _compile(env: jinja2.Environment, source: str, path: Path, first_line: int) -> jinja2.Template:
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise RulesError(f"{path}: line {first_line + exc.lineno - 1}: {exc.message}") from None


def load_templates(rules_dir: Path | None = None) -> dict[str, Template]:
    folder = (rules_dir or default_rules_dir()) / "templates"
    env = _template_env()
    templates: dict[str, Template] = {}
    for name in TEMPLATE_NAMES:
        path = folder / f"{name}.txt"
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
        subject = _compile(env, first.partition(":")[2].strip(), path, 1)
        templates[name] = Template(
            name, path, subject, _compile(env, body, path, body_starts), body_starts
        )
    return templates


# -------------------------------------------------------------------------- bundle
@dataclass(frozen=True)
class Rules:
    """Everything in a rules folder, loaded and checked."""

    folder: Path
    phrases: Phrases
    templates: dict[str, Template]


def load_rules(rules_dir: Path | None = None) -> Rules:
    folder = rules_dir or default_rules_dir()
    return Rules(folder, load_phrases(folder), load_templates(folder))
