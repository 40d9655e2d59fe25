"""``introbot explain``: what introbot understood in a message, and why."""

from __future__ import annotations

import textwrap
from typing import Any

from introbot.reading.addresses import Person
from introbot.reading.replies import ReplyReading
from introbot.reading.requests import RequestReading


def reply_json(reading: ReplyReading) -> dict[str, Any]:
    return {
        "verdict": reading.verdict.value,
        "evidence": reading.evidence,
        "text": reading.text,
        "sender": {"email": reading.sender.email, "authenticated": reading.sender.authenticated},
    }


def _quoted(text: str) -> str:
    if not text.strip():
        return "  (nothing)"
    return "\n".join(f"  | {line}" for line in text.split("\n"))


def reply_report(reading: ReplyReading, problems: tuple[str, ...]) -> str:
    auth = {True: "authenticated", False: "NOT authenticated", None: "unknown (no Gmail verdict)"}
    sender = reading.sender
    lines = [
        f"verdict:   {reading.verdict.value}",
        f"evidence:  {reading.evidence}",
        f"sender:    {sender.email or '(none)'}: {auth[sender.authenticated]} ({sender.evidence})",
    ]
    if reading.failed_recipients:
        lines.append(f"failed:    {', '.join(reading.failed_recipients)}")
    lines += ["new text:", _quoted(reading.text)]
    if reading.clauses:  # the whole reply explained, clause by clause
        lines.append(f"read as ({reading.language}):")
        width = max(len(c.kind.value) for c in reading.clauses)
        lines += [f"  {c.kind.value:<{width}} | {c.text}" for c in reading.clauses]
    if reading.preference:
        lines.append(f"preference: {reading.preference}")
    if reading.blurb:
        lines += ["note for the contact:", _quoted(reading.blurb)]
    lines += [f"note:      {p}" for p in problems]
    return "\n".join(lines)


def _person(person: Person) -> dict[str, str | None]:
    return {"name": person.name, "email": person.email}


def request_json(reading: RequestReading) -> dict[str, Any]:
    return {
        "intros": [
            {
                "requester": _person(intro.requester),
                "contact": _person(intro.contact),
                "context": intro.context,
            }
            for intro in reading.intros
        ],
        "problems": list(reading.problems),
    }


def request_report(reading: RequestReading, notes: tuple[str, ...]) -> str:
    lines = [f"form:      {reading.form}"]
    if not reading.intros:
        lines.append("intros:    none")
    for number, intro in enumerate(reading.intros, start=1):
        lines.append(f"intro {number}:   {intro.requester}  ->  {intro.contact}")
        context = textwrap.shorten(" ".join(intro.context.split()), 300, placeholder=" ...")
        lines.append(f"  context: {context or '(none)'}")
    if reading.assistants:
        lines.append(f"assistants (not parties): {', '.join(reading.assistants)}")
    lines += [f"problem:   {p}" for p in reading.problems]
    lines += [f"note:      {n}" for n in notes]
    return "\n".join(lines)
