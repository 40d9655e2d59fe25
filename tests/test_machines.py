"""The three machines of workflow.py (stage, consent, draft) are tables of edges, and only
their helpers change those states: an edge not in a table raises."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from introbot import workflow
from introbot.model import Consent, DraftState, Intro, Role, Stage
from introbot.workflow import InvalidTransition, open_intro
from tests import sources
from tests.test_workflow import ALEX, CONTEXT, DANA, PARALLEL, REQUEST, SECRET, T0


def _opened() -> Intro:
    return open_intro("i1", REQUEST, ALEX, DANA, CONTEXT, T0, PARALLEL, secret=SECRET).intro


def test_an_edge_not_in_a_table_raises() -> None:
    intro = _opened()
    assert intro.stage is Stage.ASKING and intro.requester.consent is Consent.DRAFTING
    with pytest.raises(InvalidTransition, match="no stage edge from asking on 'the introd"):
        workflow._move_stage(intro, "the introduction was sent")
    with pytest.raises(InvalidTransition, match="no consent edge from drafting on 'an auth"):
        workflow._set_consent(intro, Role.REQUESTER, "an authenticated yes")
    queued = intro.drafts[0]
    assert queued.state is DraftState.QUEUED
    with pytest.raises(InvalidTransition, match="no draft edge from queued on 'sent'"):
        workflow._set_draft(intro, queued, "sent")
    # The edges that are in the tables lead where the tables say.
    moved = workflow._set_draft(intro, queued, "written in Gmail", draft_id="d1")
    assert moved.draft(queued.key) == replace(queued, state=DraftState.CREATED, draft_id="d1")
    asked = workflow._set_consent(intro, Role.CONTACT, "the connector decides no")
    assert asked.contact.consent is Consent.NO and asked.requester == intro.requester


def test_the_tables_name_each_state_and_no_edge_leaves_a_final_stage() -> None:
    for name, states in (("stage", Stage), ("consent", Consent), ("draft", DraftState)):
        table = workflow.MACHINES[name]
        reached = {s for s, _ in table} | set(table.values())
        assert reached == set(states), name  # every state is on the diagram
    assert all(not source.closed for source, _ in workflow.STAGE_EDGES)


def test_every_event_in_the_tables_is_one_that_the_code_names() -> None:
    """No dead edge: each event of the tables is named somewhere in workflow.py outside
    the tables (given to a helper, or kept for one)."""
    every = sources.nodes(Path(workflow.__file__))
    in_tables = {
        id(inner)
        for node in every
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_edges"
        for inner in ast.walk(node)
    }
    named = {
        node.value
        for node in every
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in in_tables
    }
    events = {e for table in workflow.MACHINES.values() for _, e in table}
    assert len(events) > 20
    assert not sorted(events - named), "events no code names"


def test_the_readme_shows_the_machines_as_the_tables_draw_them() -> None:
    readme = (Path(workflow.__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    shown = re.search(
        r"<!-- workflow-diagram[^>]*-->\n(.*?)<!-- /workflow-diagram -->", readme, re.S
    )
    assert shown, "the README's diagram is marked with <!-- workflow-diagram -->"
    assert shown[1] == workflow.mermaid()  # regenerate: python -m introbot.workflow


@pytest.mark.slow  # starts a process
def test_the_diagram_is_printed_by_the_module() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "introbot.workflow"], capture_output=True, text=True, check=True
    )
    assert printed.stdout == workflow.mermaid()
    drawn = workflow.mermaid()
    assert drawn.count("stateDiagram-v2") == 3
    assert "    ready --> introduced : the introduction was sent" in drawn
    assert "    queued --> created : written in Gmail\n" in drawn
