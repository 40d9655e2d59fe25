"""Drafts in the party's language (issue 15): French, German and Spanish template sets beside
the English one, chosen per draft from the request's words (only with evidence) or the
account's ``[languages]``, with the same privacy as the English drafts; ``rules check``
renders every language and says what an older copy of the rules lacks."""

from __future__ import annotations

import email
import email.policy
import shutil
from collections.abc import Iterator
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path

import pytest

from introbot.cli.rulecheck import (
    CONNECTOR,
    _workflow_rules,
    check,
    sample_drafts,
)
from introbot.config import Account, ConfigError, load, render_config
from introbot.languages import (
    LANGUAGES,
    UNNAMED_WORDS,
    choose,
    detect,
    drafting,
    localized,
    person_language,
)
from introbot.model import CreateDraft, DraftKind, DraftSpec, Person, Stage
from introbot.reading.mime import read_mail
from introbot.reading.requests import read_request
from introbot.rules import TEMPLATE_NAMES, default_phrases, default_rules_dir, load_rules
from introbot.settings import Settings
from introbot.workflow import open_intro
from introbot.writing import render, write_draft
from tests.cli import invoke
from tests.corpus.reply_cases import REPLIES
from tests.corpus.request_cases import REQUESTS, render_request
from tests.test_workflow import ALEX as WF_ALEX
from tests.test_workflow import CONTEXT, PARALLEL, T0
from tests.test_workflow import REQUEST as WF_REQUEST
from tests.world import ALEX, DANA, REQUEST, World, make_world

PHRASES = default_phrases()
RULES = load_rules()
ALEX_ADDRESS, DANA_ADDRESS = "alex.kim@tidepool.io", "dana@northwind.example"

FRENCH_REQUEST = (
    "Bonjour Sam,\n\nPourriez-vous me présenter à Dana Whitfield (dana@northwind.example) ? "
    "Nous fabriquons des capteurs pour la chaîne du froid, et son équipe logistique serait "
    "le partenaire idéal pour un premier pilote.\n\nMerci beaucoup,\nAlex"
)
SPANISH_REQUEST = (
    "Hola Sam:\n\n¿Podrías presentarme a Dana Whitfield (dana@northwind.example)? Estamos "
    "buscando un socio para la cadena de frío y su equipo de logística sería perfecto para "
    "un piloto.\n\nMuchas gracias,\nAlex"
)
SHORT_FRENCH = "Pourriez-vous me présenter Dana Whitfield (dana@northwind.example) ? Merci"
MIXED = (
    "Could you introduce me to Dana Whitfield (dana@northwind.example)? Nous cherchons un "
    "partenaire pour notre pilote et son équipe serait parfaite. We build sensors and would "
    "love her advice."
)


# ------------------------------------------------------------------ telling the language
def _request_language(slug: str) -> str:
    for word, language in (("french", "fr"), ("german", "de"), ("spanish", "es")):
        if word in slug:
            return language
    return "en"


def test_a_guess_is_never_wrong_on_the_corpus() -> None:
    """Every request and reply of the labelled corpus: its language, or "cannot tell"."""
    told = wrong = 0
    for number, case in enumerate(REQUESTS):
        reading = read_request(
            read_mail(render_request(case, number)), list(case.me), PHRASES, case.sent
        )
        for wanted in reading.intros:
            found = detect(wanted.context, PHRASES).language
            wrong += found not in (None, _request_language(case.slug))
            told += found is not None
    for reply in REPLIES:
        found = detect(reply.text, PHRASES).language
        wrong += found not in (None, reply.lang)
    assert wrong == 0
    assert told >= 30  # most requests with the requester's words in them are told


@pytest.mark.parametrize("slug", ["french-direct", "german-direct", "spanish-direct"])
def test_requests_in_each_language_are_told(slug: str) -> None:
    number, case = next((n, c) for n, c in enumerate(REQUESTS) if c.slug == slug)
    reading = read_request(read_mail(render_request(case, number)), list(case.me), PHRASES)
    assert detect(reading.intros[0].context, PHRASES).language == _request_language(slug)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "no words"),
        ("Dana Whitfield <dana@northwind.example> -> Alex Kim <alex.kim@tidepool.io>", "no words"),
        (SHORT_FRENCH, "too short"),
        ("Oui, merci !", "too short"),
        (MIXED, "mixes languages"),
    ],
)
def test_short_or_mixed_text_cannot_tell(text: str, why: str) -> None:
    detected = detect(text, PHRASES)
    assert detected.language is None and why in detected.why


def test_a_persons_language_your_say_then_the_request_then_the_default() -> None:
    french = detect(FRENCH_REQUEST, PHRASES)
    unsure = detect(SHORT_FRENCH, PHRASES)
    dana = Person("Dana", "Dana@Northwind.example")
    assert person_language(dana, french, {}).language == "fr"
    assert person_language(dana, french, {DANA_ADDRESS: "de"}).language == "de"  # any case
    assert person_language(dana, unsure, {}, default="es").language == "es"
    assert "too short" in person_language(dana, unsure, {}).why


def _spec(template: str, to: tuple[Person, ...], context: str) -> DraftSpec:
    kind = DraftKind.JOINT if template == "joint" else DraftKind.CONSENT
    return DraftSpec("<k@example.com>", kind, template, to, fields={"context": context})


def test_the_introduction_is_in_their_language_only_when_they_share_it() -> None:
    both = (Person("Alex", ALEX_ADDRESS), Person("Dana", DANA_ADDRESS))
    same = choose(_spec("joint", both, FRENCH_REQUEST), PHRASES, {})
    assert same.language == "fr" and not same.mixed
    differ = choose(_spec("joint", both, FRENCH_REQUEST), PHRASES, {DANA_ADDRESS: "de"}, "es")
    assert differ.language == "es" and differ.mixed
    assert "French and German" in differ.why


# -------------------------------------------------------------- the same privacy, per language
NAMELESS = (
    Person(None, "a.kimura@tidepool.example"),
    Person(None, "d.whitfield@northwind.example"),
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_other_partys_address_before_consent_in_any_language(language: str) -> None:
    """Every template of every language, with named and unnamed parties: a draft to one
    party never holds the other's address (nor, for someone without a name, a piece of
    their address) until both agreed."""
    rules = _workflow_rules(Settings())
    for people in ((None, None), NAMELESS):
        specs = sample_drafts(rules) if people[0] is None else sample_drafts(rules, NAMELESS)
        for name, spec in specs.items():
            overrides = {p.email: language for p in spec.to}
            written = drafting(spec, RULES, overrides, default=language)
            assert written.language == language, name
            write_draft(written.spec, written.templates, CONNECTOR)  # parses back, or raises
            subject, body = render(written.templates[name], written.spec.fields)
            text = f"{subject}\n{body}".lower()
            if people[0] is not None:  # the joint holds both addresses, never a name of them
                named = text.replace(NAMELESS[0].email, "").replace(NAMELESS[1].email, "")
                assert "kimura" not in named and "whitfield" not in named, (language, name)
            if name in ("joint", "problem_note", "held_note"):  # both agreed, or you alone
                continue
            readers = {p.email for p in spec.to}
            for other in {"alex@tidepool.example", "dana@northwind.example"} - readers:
                assert other not in text, (language, name)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_party_without_a_name_is_never_named_by_their_address(language: str) -> None:
    unnamed = Person(None, "d.whitfield@northwind.example")
    opened = open_intro("i1", WF_REQUEST, WF_ALEX, unnamed, CONTEXT, T0, PARALLEL, secret="s" * 32)
    overrides = {WF_ALEX.email: language, unnamed.email: language}
    rendered = {}
    for action in opened.actions:
        if isinstance(action, CreateDraft):
            written = drafting(action.spec, RULES, overrides, default=language)
            subject, body = render(written.templates[action.spec.template], written.spec.fields)
            rendered[action.spec.template] = f"{subject}\n{body}".lower()
    assert set(rendered) == {"consent_requester", "consent_contact"}
    for text in rendered.values():
        assert "whitfield" not in text and "northwind" not in text.replace("(northwind)", "")
    if language != "en":  # their own words for "your contact", never "Hi there"
        assert UNNAMED_WORDS[language]["contact"].lower() in rendered["consent_requester"]
        assert " there," not in rendered["consent_contact"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_hostile_name_cannot_add_a_recipient_in_any_language(language: str) -> None:
    hostile = Person("Dana\r\nBcc: victim@evil.example", DANA_ADDRESS)
    opened = open_intro(
        "i1",
        WF_REQUEST,
        Person("Alex\nBcc: victim@evil.example", ALEX_ADDRESS),
        hostile,
        "Sensors.",
        T0,
        _workflow_rules(Settings()),
        secret="s" * 32,
    )
    for action in opened.actions:
        if isinstance(action, CreateDraft):
            overrides = {ALEX_ADDRESS: language, DANA_ADDRESS: language}
            written = drafting(action.spec, RULES, overrides)
            msg = email.message_from_bytes(
                write_draft(written.spec, written.templates, CONNECTOR),
                policy=email.policy.default,
            )
            assert msg.get_all("Bcc") is None
            recipients = [a for _, a in getaddresses(msg.get_all("To", []))]
            assert recipients == [action.spec.to[0].email]
            assert "\n" not in str(msg["Subject"])


def test_unnamed_words_replace_only_the_placeholders() -> None:
    spec = sample_drafts(_workflow_rules(Settings()), NAMELESS)["reminder"]
    french = localized(spec, "fr")
    assert french.fields["to"]["first"] == UNNAMED_WORDS["fr"][spec.fields["to_role"]]
    assert french.fields["to"]["greeting"] == ""
    named = sample_drafts(_workflow_rules(Settings()))["reminder"]
    assert localized(named, "fr").fields == named.fields
    assert localized(spec, "en") == spec


# ------------------------------------------------------------------ end to end, in Gmail
def _text(world: World, address: str) -> str:
    draft = world.draft_to(address)
    return f"{draft['subject']}\n{draft['text']}"


def _language_lines(world: World) -> list[str]:
    return [
        line.detail
        for intro in world.intros()
        for line in world.store.timeline(intro.id)
        if line.kind == "language"
    ]


def test_a_french_request_is_answered_in_french_to_both(world: World) -> None:
    world.request(FRENCH_REQUEST, subject="Mise en relation avec Dana Whitfield ?")
    world.poll()
    to_alex, to_dana = _text(world, ALEX_ADDRESS), _text(world, DANA_ADDRESS)
    assert "Bonjour Alex," in to_alex and "« oui »" in to_alex
    assert "Bonjour Dana," in to_dana and "Seriez-vous d'accord" in to_dana
    assert "car Alex Kim m'a demandé une mise en relation avec vous" in to_dana
    assert "Would you be open" not in to_dana and "Happy to help" not in to_alex
    assert any(
        "consent_contact in French: the request is in French" in x for x in _language_lines(world)
    )
    # The French asks are read back like the English ones: French yeses, then the joint.
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Oui, merci beaucoup !")
    world.reply(DANA, "Oui, avec plaisir !")
    world.poll()
    assert world.only_intro().stage is Stage.READY
    joint = world.drafts()[0]
    assert "Bonjour Alex et Dana," in joint["text"] and "je vous présente" in joint["text"]
    assert joint["subject"] == "Présentation : Alex Kim <> Dana Whitfield"
    world.send_drafts()
    world.poll()
    assert world.only_intro().stage is Stage.INTRODUCED


def test_a_spanish_decline_is_told_in_spanish_and_never_in_the_contacts_words(
    world: World,
) -> None:
    world.request(SPANISH_REQUEST, subject="Presentación")
    world.poll()
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Sí, muchas gracias.")
    world.reply(DANA, "No, gracias. Ahora mismo no tengo tiempo para esto.")
    world.poll()
    assert world.only_intro().stage is Stage.DECLINED
    note = _text(world, ALEX_ADDRESS)
    assert "Hola Alex," in note and "ahora mismo no encaja" in note
    assert "tiempo" not in note  # never her words (the world checks it on every poll too)


def test_reminders_are_in_the_language_of_the_ask(world: World) -> None:
    world.request(FRENCH_REQUEST, subject="Mise en relation avec Dana Whitfield ?")
    world.poll()
    world.send_drafts()
    world.poll()
    world.poll(after=timedelta(days=world.settings.workflow.remind_after_days + 1))
    for address, name in ((ALEX_ADDRESS, "Alex"), (DANA_ADDRESS, "Dana")):
        reminder = _text(world, address)
        assert f"Bonjour {name}," in reminder and "Je me permets de vous relancer" in reminder


def test_a_french_request_for_two_contacts_gets_one_french_ask(world: World) -> None:
    world.request(
        "Bonjour Sam,\n\nPourriez-vous me présenter à Dana Whitfield (dana@northwind.example) "
        "et à Marcus Chen (marcus@chenlabs.io) ? Nous cherchons des partenaires pour notre "
        "premier pilote, et leurs équipes seraient idéales.\n\nMerci,\nAlex",
        subject="Deux mises en relation ?",
    )
    world.poll()
    to_alex = _text(world, ALEX_ADDRESS)
    assert "Avec plaisir pour les mises en relation avec Dana Whitfield et Marcus Chen" in to_alex
    assert "les deux mises en relation" in to_alex
    for address in (DANA_ADDRESS, "marcus@chenlabs.io"):
        assert "Seriez-vous d'accord" in _text(world, address)


@pytest.fixture
def dana_in_german(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, languages={DANA_ADDRESS: "de"})


def test_a_contact_set_to_german_is_asked_in_german_and_the_joint_is_in_the_default(
    dana_in_german: World,
) -> None:
    world = dana_in_german
    world.request(REQUEST)
    world.poll()
    assert "Happy to help with an introduction" in _text(world, ALEX_ADDRESS)
    to_dana = _text(world, DANA_ADDRESS)
    assert "Hallo Dana," in to_dana and "Anfrage zum Kennenlernen: Alex Kim" in to_dana
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Ja, gerne!")
    world.poll()
    (joint,) = world.drafts()
    assert "Hi Alex and Dana," in joint["text"]  # English and German: the default, English
    lines = _language_lines(world)
    assert any("consent_contact in German: set for them in [languages]" in x for x in lines)
    assert any("joint in English" in x and "English and German" in x for x in lines)


def test_an_english_request_stays_english_and_says_nothing_of_languages(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    assert "Would you be open to it?" in _text(world, DANA_ADDRESS)
    assert "Happy to help" in _text(world, ALEX_ADDRESS)
    assert _language_lines(world) == []


@pytest.mark.parametrize("default", ["en", "es"])
def test_a_short_request_is_drafted_in_the_default(tmp_path: Path, default: str) -> None:
    for world in make_world(tmp_path, languages={"default": default}):
        world.request(SHORT_FRENCH, subject="Dana ?")
        world.poll()
        to_dana = _text(world, DANA_ADDRESS)
        greeting = {"en": "Hi Dana,", "es": "Hola Dana,"}[default]
        assert greeting in to_dana and "Bonjour" not in to_dana
        if default == "en":
            assert _language_lines(world) == []


# --------------------------------------------------------------------- rules check
@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder, ignore=shutil.ignore_patterns("__*"))
    return folder


def test_rules_check_renders_every_language() -> None:
    results = check(default_rules_dir())
    assert all(r.ok for r in results), [r.problem for r in results if not r.ok]
    for language, name in (("fr", "French"), ("de", "German"), ("es", "Spanish")):
        assert f"templates {language}: {len(TEMPLATE_NAMES)} {name} render" in [
            r.what for r in results
        ]


def test_a_mistake_in_a_language_set_is_pointed_at(rules: Path) -> None:
    joint = rules / "templates" / "de" / "joint.txt"
    lines = joint.read_text(encoding="utf-8").splitlines()
    lines[2] = "Hallo {{ oops }},"
    joint.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (failed,) = [r for r in check(rules) if not r.ok]
    assert failed.problem == f"{joint}: line 3: 'oops' is undefined"


def test_an_older_copy_without_language_sets_is_told_and_writes_english(
    rules: Path, tmp_path: Path
) -> None:
    shutil.rmtree(rules / "templates" / "es")
    (rules / "templates" / "fr" / "reminder.txt").unlink()
    (rules / "templates" / "it").mkdir()
    problems = [r.problem or "" for r in check(rules) if not r.ok]
    assert len(problems) == 3, problems
    assert any("no Spanish (es) templates" in p and "written in English" in p for p in problems)
    assert any("fr/reminder.txt: missing" in p and "copy it from" in p for p in problems)
    assert any("templates/it: introbot writes drafts in en, fr, de, es only" in p for p in problems)
    out = invoke("rules", "check", "--rules", str(rules))
    assert (
        out.exit_code == 1
        and f"templates fr: {len(TEMPLATE_NAMES) - 1} French render" in out.stdout
    )
    # A poll with that copy: a Spanish request is drafted in English, and the timeline says why.
    for world in make_world(tmp_path, paths={"rules": rules}):
        world.request(SPANISH_REQUEST, subject="Presentación")
        world.poll()
        assert "Would you be open to it?" in _text(world, DANA_ADDRESS)
        lines = _language_lines(world)
        assert any("no templates/es/consent_contact.txt" in x for x in lines), lines


def test_the_command_reports_per_language(home: Path) -> None:
    out = invoke("rules", "check")
    assert out.exit_code == 0
    for language in ("fr", "de", "es"):
        assert f"ok    templates {language}: " in out.stdout


# -------------------------------------------------------------------------- config
def test_languages_in_config_toml(home: Path) -> None:
    account = Account.named("work")
    account.folder.mkdir(parents=True)
    account.config_file.write_text(
        '[languages]\ndefault = "fr"\n"Dana@Northwind.example" = "de"\n', encoding="utf-8"
    )
    settings = load(account, environ={}).settings
    assert settings.languages.default == "fr"
    assert settings.languages.people == {DANA_ADDRESS: "de"}
    account.config_file.write_text('[languages]\n"dana@northwind.example" = "it"\n')
    with pytest.raises(ConfigError, match=r"\[languages\] dana@northwind.example: Input should"):
        load(account, environ={})
    account.config_file.write_text('[languages]\ndana = "de"\n')
    with pytest.raises(ConfigError, match="neither 'default' nor an email address"):
        load(account, environ={})


def test_init_writes_the_languages_section(home: Path) -> None:
    text = render_config("Sam", [], "rules")
    assert "[languages]\n" in text and 'default = "en"' in text
    account = Account.named("fresh")
    account.folder.mkdir(parents=True)
    account.config_file.write_text(text, encoding="utf-8")
    assert load(account, environ={}).settings.languages.default == "en"


def test_choosing_a_language_is_pure() -> None:
    """languages.py decides from values: no Gmail, no database, no clock."""
    import ast

    import introbot.languages

    tree = ast.parse(Path(introbot.languages.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    forbidden = ("googleapiclient", "sqlite3", "socket", "time", "introbot.gmail", "introbot.store")
    assert not {m for m in imported if m.startswith(forbidden)}
