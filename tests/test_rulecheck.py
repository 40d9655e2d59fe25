"""`introbot rules check`: every phrase file loaded, every template rendered with the fields
the workflow gives it, mistakes pointed at by file and line; and a template that fails
while introbot runs costs one draft and a flag for the connector, never the poll."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from introbot.cli.rulecheck import check, sample_drafts
from introbot.rules import TEMPLATE_NAMES, default_rules_dir
from introbot.settings import Settings
from tests.cli import invoke
from tests.world import World, make_world


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder, ignore=shutil.ignore_patterns("__*"))
    return folder


def _edit_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_shipped_rules_pass_and_every_template_is_rendered() -> None:
    results = check(default_rules_dir())
    assert all(r.ok for r in results), [r.problem for r in results if not r.ok]
    rendered = {r.what.split()[1].rstrip(":") for r in results if r.what.startswith("template ")}
    assert rendered == set(TEMPLATE_NAMES)


@pytest.mark.parametrize("order", ["parallel", "requester_first"])
def test_the_samples_come_from_the_workflow_in_either_order(order: str) -> None:
    from introbot.cli.rulecheck import _workflow_rules

    settings = Settings.of("Sam", workflow={"order": order})
    specs = sample_drafts(_workflow_rules(settings))
    assert set(specs) == set(TEMPLATE_NAMES)
    assert "dana@northwind.example" in specs["joint"].fields["contact_email"]


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        (3, "Hi {{ to.first }", "line 3: unexpected '}'"),
        (3, "Hi {{ to.frist }},", "line 3: 'dict object' has no attribute 'frist'"),
        (5, "{{ 1 // 0 }}", "line 5: ZeroDivisionError: integer division or modulo by zero"),
        (1, "Subject: {{ nothing }}", "line 1: 'nothing' is undefined"),
    ],
)
def test_a_template_mistake_is_pointed_at(rules: Path, line: int, text: str, expected: str) -> None:
    template = rules / "templates" / "reminder.txt"
    _edit_line(template, line, text)
    failed = [r for r in check(rules) if not r.ok]
    assert len(failed) == 1
    assert failed[0].problem == f"{template}: {expected}"


def test_a_phrase_file_mistake_names_the_file_and_the_key(rules: Path) -> None:
    english = rules / "phrases" / "en.toml"
    english.write_text(english.read_text().replace("yes = [", "yes = 3\nno_such = [", 1))
    (problem,) = [r.problem for r in check(rules) if not r.ok]
    assert problem is not None and str(english) in problem and "consent" in problem


def test_a_missing_template(rules: Path) -> None:
    (rules / "templates" / "joint.txt").unlink()
    (problem,) = [r.problem for r in check(rules) if not r.ok]
    assert problem is not None and "joint.txt: missing template" in problem


@pytest.mark.slow
def test_the_command(rules: Path, home: Path) -> None:
    good = invoke("rules", "check", "--rules", str(rules))
    assert good.exit_code == 0 and "All rules are fine." in good.stdout
    _edit_line(rules / "templates" / "joint.txt", 3, "Hi {{ oops }}")
    bad = invoke("rules", "check", "--rules", str(rules))
    assert bad.exit_code == 1
    assert f"FAIL  {rules / 'templates' / 'joint.txt'}: line 3: 'oops' is undefined" in bad.stdout
    # An account's own copy, made by init, is what is checked by default.
    assert invoke("init", "--account", "work", "--name", "Sam").exit_code == 0
    mine = invoke("rules", "check", "--account", "work")
    assert mine.exit_code == 0 and "accounts/work/rules" in mine.stdout


@pytest.fixture
def world(tmp_path: Path, rules: Path) -> Iterator[World]:
    _edit_line(rules / "templates" / "consent_contact.txt", 3, "Hi {{ 1 // 0 }}")
    yield from make_world(tmp_path, paths={"rules": rules})


def test_a_template_failing_at_run_time_needs_attention_and_the_poll_goes_on(world: World) -> None:
    world.request(
        "Hi Sam, could you introduce me to Dana Whitfield (dana@northwind.example)? Thanks, Alex"
    )
    world.poll()  # does not raise
    intro = world.only_intro()
    assert intro.attention is not None
    assert "consent_contact.txt: line 3: ZeroDivisionError" in intro.attention
    assert [d["to"] for d in world.drafts()] == ["Alex Kim <alex.kim@tidepool.io>"]
    world.poll()  # and the next one is calm
    assert "introbot/needs-attention" in world.thread_labels(intro.request.thread_id)


def test_a_copy_made_by_an_older_version_is_told_what_it_lacks(rules: Path) -> None:
    english = rules / "phrases" / "en.toml"
    text = english.read_text(encoding="utf-8")
    start = text.index("filler = [")
    english.write_text(text[:start] + text[text.index("]", start) + 1 :], encoding="utf-8")
    (problem,) = [r.problem for r in check(rules) if not r.ok]
    assert problem is not None and "[consent] filler" in problem and "en.toml" in problem
    assert all(r.ok for r in check(default_rules_dir()))
