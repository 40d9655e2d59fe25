"""Issue 13's walk: every template, in every language, with people whose names are
addresses (plain or obfuscated), empty, missing, enormous, right-to-left or made of
look-alike letters. No draft written before both agreed holds the other party's address in
any spelling, nor a piece of its local part standing in for a name."""

from __future__ import annotations

import unicodedata

import pytest

from introbot.cli.rulecheck import CONNECTOR, _workflow_rules, sample_drafts
from introbot.languages import LANGUAGES, drafting
from introbot.model import Person
from introbot.redaction import holds_address
from introbot.rules import load_rules
from introbot.settings import Settings
from introbot.writing import render, write_draft

RULES = load_rules()
# Local parts that no name below contains, so any trace of them in a draft is a leak.
REQUESTER_ADDRESS = "qx9.secret@tidepool.example"
CONTACT_ADDRESS = "zq7.hidden@northwind.example"
# Drafts that may hold both addresses (both agreed) or go to the connector only.
AFTER_CONSENT = {"joint", "problem_note", "held_note"}


def _names(address: str, first: str) -> dict[str, str | None]:
    local, _, domain = address.partition("@")
    return {
        "the address itself": address,
        "the address in capitals": address.upper(),
        "an [at] spelling": f"{local} [at] {domain.replace('.', ' [dot] ')}",
        "a fullwidth at": f"{local}\uff20{domain}",
        "a percent-encoded at": f"{local}%40{domain}",
        "a name and the address": f"{first} {address}",
        "empty": "",
        "none": None,
        "enormous": (first + " ") * 400,
        "right-to-left": "\u202e" + first[::-1] + "\u202c",
        "look-alike letters": first.replace("a", "\u0430").replace("e", "\u0435"),
    }


NAME_KINDS = list(_names(CONTACT_ADDRESS, "Dana"))


def _traces(address: str) -> tuple[str, ...]:
    """What of an address may not show: the whole of it, its local part and the pieces of
    the local part a template could use for a name ("qx9", "secret")."""
    local = address.partition("@")[0]
    return (address, local, *local.split("."))


def _plain(text: str) -> str:
    """The text as a reader sees it: compatibility forms folded, format characters gone."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if unicodedata.category(c) != "Cf").lower()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", NAME_KINDS)
def test_no_draft_before_consent_holds_the_other_partys_address(language: str, kind: str) -> None:
    requester = Person(_names(REQUESTER_ADDRESS, "Alex")[kind], REQUESTER_ADDRESS)
    contact = Person(_names(CONTACT_ADDRESS, "Dana")[kind], CONTACT_ADDRESS)
    specs = sample_drafts(_workflow_rules(Settings()), (requester, contact))
    assert set(specs) >= {"consent_requester", "consent_contact", "consent_requester_several"}
    for name, spec in specs.items():
        written = drafting(spec, RULES, {p.email: language for p in spec.to}, default=language)
        raw = write_draft(written.spec, written.templates, CONNECTOR)  # parses back, or raises
        assert raw
        subject, body = render(written.templates[name], written.spec.fields)
        text = _plain(f"{subject}\n{body}")
        if name in AFTER_CONSENT:
            continue
        readers = {p.email for p in spec.to}
        for other in {REQUESTER_ADDRESS, CONTACT_ADDRESS} - readers:
            for trace in _traces(other):
                assert trace not in text, (language, kind, name, trace)
        assert not holds_address(text.replace("sam@example.com", "")), (language, kind, name)


@pytest.mark.parametrize("kind", NAME_KINDS)
def test_a_name_that_is_an_address_never_greets_or_names_anyone(kind: str) -> None:
    """Even to the person themselves, a "name" that is an address is no name: drafts say
    "your contact" / "someone I know", never a piece of the address."""
    contact = Person(_names(CONTACT_ADDRESS, "Dana")[kind], CONTACT_ADDRESS)
    requester = Person("Alex Kim", REQUESTER_ADDRESS)
    specs = sample_drafts(_workflow_rules(Settings()), (requester, contact))
    subject, body = render(RULES.templates["consent_requester"], specs["consent_requester"].fields)
    text = _plain(f"{subject}\n{body}")
    if kind in ("empty", "none") or "at" in kind or "address" in kind:
        assert "your contact" in text
    for trace in _traces(CONTACT_ADDRESS):
        assert trace not in text, (kind, trace)
