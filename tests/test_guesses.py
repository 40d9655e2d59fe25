"""Guessed details (an organisation from a domain) are marked as guesses to the connector in
`introbot show` and used in drafts only when `[drafts] guess_organisation` says so: by
default drafts say only what the people wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from introbot.cli.rulecheck import CONNECTOR, CONTACT, REQUESTER, _workflow_rules, sample_drafts
from introbot.model import Person
from introbot.rules import TEMPLATE_NAMES, load_templates
from introbot.settings import Settings
from introbot.writing import render, write_draft
from tests.cli import invoke
from tests.world import ALEX, DANA, REQUEST, World, make_world

# What introbot would guess from alex.kim@tidepool.io and dana@northwind.example; nobody
# wrote these words in the request or the replies.
GUESSED = ("Tidepool", "Northwind")


def _whole_story(world: World) -> list[dict[str, str]]:
    """Request, consent drafts, both say yes: every draft introbot wrote on the way."""
    seen: list[dict[str, str]] = []
    world.request(REQUEST)
    world.poll()
    seen += world.drafts()
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Yes please! We'd love a 20-minute call about the pilot.")
    world.reply(DANA, "Yes, happy to. Email is best.")
    world.poll()
    seen += world.drafts()
    assert any(str(d["subject"]).startswith("Intro:") for d in seen)
    return seen


@pytest.fixture
def guessing(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, drafts={"guess_organisation": True})


def test_by_default_no_draft_names_an_organisation_guessed_from_a_domain(world: World) -> None:
    drafts = _whole_story(world)
    for draft in drafts:
        for guess in GUESSED:
            assert guess not in f"{draft['subject']}\n{draft['text']}", (guess, draft)
    joint = next(d for d in drafts if str(d["subject"]).startswith("Intro:"))
    assert joint["subject"] == "Intro: Alex Kim <> Dana Whitfield"
    ask = next(d for d in drafts if "dana@" in d["to"])
    assert ask["subject"] == "Would you like to meet Alex Kim?"


def test_with_the_setting_on_drafts_name_the_guessed_organisation(guessing: World) -> None:
    drafts = _whole_story(guessing)
    joint = next(d for d in drafts if str(d["subject"]).startswith("Intro:"))
    assert joint["subject"] == "Intro: Alex Kim (Tidepool) <> Dana Whitfield (Northwind)"
    ask = next(d for d in drafts if "dana@" in d["to"])
    assert ask["subject"] == "Would you like to meet Alex Kim (Tidepool)?"
    assert "Alex Kim from Tidepool asked me" in ask["text"]


def test_show_marks_the_guess_and_says_whether_drafts_use_it(
    world: World, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.request(REQUEST)
    world.poll()
    intro = world.only_intro()
    shown = invoke("show", intro.id, "--db", str(world.db))
    assert shown.exit_code == 0, shown.output
    assert "requester's organisation: Tidepool (guessed from the address)" in shown.stdout
    assert "contact's organisation: Northwind (guessed from the address)" in shown.stdout
    assert "drafts leave it out ([drafts] guess_organisation = true puts it in)" in shown.stdout
    as_json = json.loads(invoke("show", intro.id, "--db", str(world.db), "--json").stdout)
    assert as_json["requester"]["organisation"] == {
        "value": "Tidepool",
        "guessed": True,
        "in_drafts": False,
    }
    monkeypatch.setenv("INTROBOT_DRAFTS_GUESS_ORGANISATION", "true")
    on = invoke("show", intro.id, "--db", str(world.db))
    assert "Tidepool (guessed from the address); drafts name it" in on.stdout


def test_show_has_no_guess_to_mark_for_free_mail(tmp_path: Path, home: Path) -> None:
    for world in make_world(tmp_path):
        world.request(REQUEST.replace("dana@northwind.example", "dana.w@gmail.com"),
                      sender="Alex Kim <alex.kim@outlook.com>")  # fmt: skip
        world.poll()
        shown = invoke("show", world.only_intro().id, "--db", str(world.db))
        assert "guessed" not in shown.stdout and "organisation" not in shown.stdout


@pytest.mark.parametrize(
    "people",
    [
        (REQUESTER, CONTACT),
        (Person(None, "alex@tidepool.example"), Person("", "dana@northwind.example")),
        (Person("alex@tidepool.example", "alex@tidepool.example"), CONTACT),
    ],
    ids=["named", "unnamed", "name-is-address"],
)
def test_every_template_reads_without_the_guess_and_shows_it_only_when_asked(
    people: tuple[Person, Person],
) -> None:
    templates = load_templates(None)
    for guess in (False, True):
        rules = _workflow_rules(Settings.of("Sam", drafts={"guess_organisation": guess}))
        specs = sample_drafts(rules, people)
        assert set(specs) == set(TEMPLATE_NAMES)
        shown = set()
        for name, spec in specs.items():
            for role in ("requester", "contact", "to"):
                org = spec.fields.get(role, {}).get("org")
                assert org is None or guess, (name, role, org)
            subject, body = render(templates[name], spec.fields)
            text = f"{subject}\n{body}"
            assert "()" not in text and " of ." not in text and "None" not in text, name
            write_draft(spec, templates, CONNECTOR)  # and it makes a draft
            shown |= {g for g in GUESSED if g in text}
        assert shown == (set(GUESSED) if guess else set()), guess
