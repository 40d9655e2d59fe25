"""How intros look on the command line: a table, a timeline, and their JSON forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from introbot.compose import organisation
from introbot.model import Consent, DraftKind, DraftState, Intro, Stage
from introbot.store import AuditLine

GUESS_SETTING = "[drafts] guess_organisation"


def next_step(intro: Intro) -> str:
    if intro.stage.closed:
        return f"look: {intro.attention}" if intro.attention else "-"
    if intro.attention:
        return f"decide: introbot decide {intro.id} requester|contact yes|no"
    if intro.stage is Stage.READY:
        return "send the introduction draft"
    waiting = []
    for party in (intro.requester, intro.contact):
        if party.consent in (Consent.DRAFTING, Consent.DRAFTED):
            waiting.append(f"send the consent draft to {party.person.name or party.person.email}")
        elif party.consent is Consent.ASKED:
            waiting.append(f"wait for {party.person.name or party.person.email}")
    return "; ".join(waiting) or "wait"


def _age(intro: Intro, now: datetime) -> str:
    days = (now - intro.created_at).days
    return f"{days}d" if days else "today"


def intro_summary(intro: Intro) -> dict[str, Any]:
    return {
        "id": intro.id,
        "state": intro.stage.value,
        "requester": {"name": intro.requester.person.name, "email": intro.requester.person.email,
                      "consent": intro.requester.consent.value},
        "contact": {"name": intro.contact.person.name, "email": intro.contact.person.email,
                    "consent": intro.contact.consent.value},
        "attention": intro.attention,
        "created_at": intro.created_at.isoformat(),
        "closed_at": intro.closed_at.isoformat() if intro.closed_at else None,
        "next_step": next_step(intro),
    }  # fmt: skip


def table(intros: list[Intro], now: datetime) -> str:
    if not intros:
        return "No intros yet. Label an email 'intro-request' in Gmail, then run `introbot poll`."
    rows = [("ID", "PARTIES", "STATE", "AGE", "NEXT STEP")]
    for intro in intros:
        parties = f"{intro.requester.person.name or intro.requester.person.email} -> " + (
            intro.contact.person.name or intro.contact.person.email
        )
        state = intro.stage.value + ("!" if intro.attention else "")
        rows.append((intro.id, parties, state, _age(intro, now), next_step(intro)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        for row in rows
    )


def guesses(intro: Intro, in_drafts: bool) -> list[str]:
    """What introbot guessed about the parties rather than read in what they wrote, each
    marked as a guess, with whether drafts use it."""
    out = []
    for party in (intro.requester, intro.contact):
        org = organisation(party.person)
        if org:
            use = (
                f"drafts name it ({GUESS_SETTING} = true)"
                if in_drafts
                else f"drafts leave it out ({GUESS_SETTING} = true puts it in)"
            )
            out.append(
                f"{party.role.value}'s organisation: {org} (guessed from the address); {use}"
            )
    return out


def intro_detail(
    intro: Intro, lines: list[AuditLine], guess_organisation: bool = False
) -> dict[str, Any]:
    summary = intro_summary(intro)
    summary["context"] = intro.context
    summary["request"] = {"thread_id": intro.request.thread_id, "subject": intro.request.subject,
                          "form": intro.request.form}  # fmt: skip
    for role in ("requester", "contact"):
        party = intro.requester if role == "requester" else intro.contact
        summary[role]["evidence"] = party.evidence
        summary[role]["words"] = party.words
        org = organisation(party.person)
        summary[role]["organisation"] = (
            {"value": org, "guessed": True, "in_drafts": guess_organisation} if org else None
        )
    summary["drafts"] = [
        {
            "kind": d.kind.value,
            "to": d.to.value if d.to else None,
            "state": d.state.value,
            "draft_id": d.draft_id,
        }
        for d in intro.drafts
    ]
    summary["timeline"] = [
        {"at": a.at.isoformat(), "kind": a.kind, "detail": a.detail} for a in lines
    ]
    return summary


def detail(intro: Intro, lines: list[AuditLine], guess_organisation: bool = False) -> str:
    out = [
        f"intro {intro.id}: {intro.requester.person} -> {intro.contact.person}",
        f"state:     {intro.stage.value}"
        + (f" (needs attention: {intro.attention})" if intro.attention else ""),
        f"request:   {intro.request.subject!r} ({intro.request.form})",
        f"next step: {next_step(intro)}",
    ]
    for party in (intro.requester, intro.contact):
        said = f" - {party.evidence}" if party.evidence else ""
        out.append(f"{party.role.value + ':':10} {party.consent.value}{said}")
    guessed = guesses(intro, guess_organisation)
    if guessed:
        out.append("guessed, not written by anyone:")
        out += [f"  {line}" for line in guessed]
    drafts = [
        d for d in intro.drafts if d.state is not DraftState.WITHDRAWN or d.kind is DraftKind.JOINT
    ]
    if drafts:
        out.append("drafts:")
        out += [
            f"  {d.kind.value} to {d.to.value if d.to else 'both'}: {d.state.value}" for d in drafts
        ]
    out.append("timeline:")
    out += [f"  {a.at:%Y-%m-%d %H:%M}  {a.kind:8}  {a.detail}" for a in lines]
    return "\n".join(out)


def problems_table(problems: list[tuple[str, str]]) -> str:
    """Request threads introbot set aside, each with why (they carry the Gmail label
    introbot/needs-attention and a note in the thread)."""
    lines = ["Request threads that need attention (see the note in each thread):"]
    lines += [f"  thread {thread_id}: {why}" for thread_id, why in problems]
    return "\n".join(lines)
