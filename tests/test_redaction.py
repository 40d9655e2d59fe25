"""No address before consent, in any spelling (issue 13, the redaction part)."""

from __future__ import annotations

import pytest

from introbot import compose
from introbot.model import Person
from introbot.redaction import holds_address, redact_addresses
from introbot.workflow import WorkflowRules

RULES = WorkflowRules(connector=Person("Sam Rivera", "sam@example.com"), guess_organisation=True)

SPELLINGS = [
    "dana.whitfield@northwind.example",
    "Dana.Whitfield@Northwind.Example",
    "dana.whitfield\uff20northwind.example",  # fullwidth at sign
    "dana.whitfield\ufe6bnorthwind.example",  # small at sign
    "dana.whitfield%40northwind.example",
    "mailto:dana.whitfield@northwind.example",
    "dana.whitfield [at] northwind [dot] example",
    "dana.whitfield(at)northwind(dot)example",
    "dana.whitfield {at} northwind {dot} example",
    "dana.whitfield at northwind dot example",
    "DANA.WHITFIELD AT NORTHWIND DOT EXAMPLE",
    "dana.whitfield @ northwind . example",
    "dana-@northwind.example",
    "dana_@northwind.example",
    "d" * 80 + "@northwind.example",  # a local part longer than the 64 the RFC allows
    "dana@mail.eu.northwind.example",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_an_address_is_taken_out(spelling: str) -> None:
    text = f"Her address is {spelling} - she said to write any time."
    redacted = redact_addresses(text)
    assert "northwind" not in redacted.lower(), redacted
    assert redacted.startswith("Her address is") and redacted.endswith("write any time.")
    assert holds_address(spelling)


@pytest.mark.parametrize(
    "text",
    [
        "She works at acme.com and is great.",
        "Alex is at Tidepool. He is nice.",
        "Meet at noon, dot the i's.",
        "We are at capacity (at least for now).",
    ],
)
def test_prose_is_left_alone(text: str) -> None:
    assert redact_addresses(text) == text


def test_wrappers_go_with_the_address() -> None:
    assert redact_addresses("Dana <dana@x.example>, (b@y.example) and [c@z.example].") == (
        "Dana, and."
    )


def test_a_display_name_that_is_an_address_is_no_name() -> None:
    for name in ("dana@northwind.example", "dana [at] northwind [dot] example", "x@y"):
        who = compose.who(Person(name, "dana@northwind.example"), "your contact", RULES)
        assert "northwind" not in str(who["name"]).lower() + str(who["first"]).lower()
    assert (
        compose.who(Person("Dana Whitfield", "dana@northwind.example"), "", RULES)["name"]
        == "Dana Whitfield"
    )


def test_a_party_without_a_name_is_never_named_by_their_address() -> None:
    from introbot.model import CreateDraft
    from introbot.rules import load_templates
    from introbot.workflow import open_intro
    from introbot.writing import render
    from tests.test_workflow import ALEX, CONTEXT, PARALLEL, REQUEST, T0

    unnamed = Person(None, "d.whitfield@northwind.example")
    opened = open_intro("i1", REQUEST, ALEX, unnamed, CONTEXT, T0, PARALLEL, secret="s" * 32)
    templates = load_templates()
    rendered = {}
    for action in opened.actions:
        if isinstance(action, CreateDraft):
            subject, body = render(templates[action.spec.template], action.spec.fields)
            rendered[action.spec.template] = f"{subject}\n{body}".lower()
    assert set(rendered) == {"consent_requester", "consent_contact"}
    for text in rendered.values():
        assert "whitfield" not in text and "northwind" not in text.replace("(northwind)", "")
    assert "your intro to your contact" in rendered["consent_requester"]
    assert "hi there," in rendered["consent_contact"]
