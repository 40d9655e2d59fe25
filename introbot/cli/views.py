"""How intros look on the command line: a table, a timeline, and their JSON forms."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from introbot.cli.output import local_time
from introbot.compose import organisation
from introbot.model import Consent, DraftKind, DraftState, Intro, Person, Stage
from introbot.store import AuditLine
from introbot.workflow import ATTENTION_LABEL, STAGE_LABELS

#: A draft's kind in words (JSON keeps the names).
_KIND_WORDS = {
    DraftKind.JOINT: "introduction",
    DraftKind.DECLINE_NOTE: "decline note",
    DraftKind.THANKS_NOTE: "thank-you note",
    DraftKind.EXPIRY_NOTE: "expiry note",
    DraftKind.PROBLEM_NOTE: "note to you",
}

GUESS_SETTING = "[drafts] guess_organisation"


# One vocabulary: an intro's state is the Gmail label introbot puts on its request thread.
LEGEND = {
    "awaiting-consent": "the consent asks are drafted or sent; waiting for the yeses",
    "ready": "both said yes; the introduction draft is yours to send",
    "introduced": "you sent the introduction",
    "declined": "someone said no",
    "cancelled": "cancelled (by you, or the request went away)",
    "expired": "no answer in time",
    ATTENTION_LABEL: "introbot needs you: the next step says what to do",
}
# The names `list --state` accepted before the states were the labels: scripts keep working.
STATE_ALIASES = {stage.value: STAGE_LABELS[stage] for stage in Stage}
DRAFT_WORDS = {
    DraftKind.CONSENT: ("consent draft", "consent drafts"),
    DraftKind.REMINDER: ("reminder draft", "reminder drafts"),
    DraftKind.JOINT: ("introduction draft", "introduction drafts"),
    DraftKind.DECLINE_NOTE: ("decline note", "decline notes"),
    DraftKind.THANKS_NOTE: ("thank-you note", "thank-you notes"),
    DraftKind.EXPIRY_NOTE: ("no-answer note", "no-answer notes"),
    DraftKind.PROBLEM_NOTE: ("note to yourself", "notes to yourself"),
}


def stage_for(state: str) -> Stage:
    """A state as `list --state` takes it: a label name, or its old name."""
    name = STATE_ALIASES.get(state, state)
    return next(stage for stage, label in STAGE_LABELS.items() if label == name)


def state_names() -> list[str]:
    return [*STAGE_LABELS.values(), *(a for a in STATE_ALIASES if a not in LEGEND)]


def state(intro: Intro) -> str:
    """The labels the intro puts on its request thread, as Gmail shows them."""
    return STAGE_LABELS[intro.stage] + (f", {ATTENTION_LABEL}" if intro.attention else "")


def named(person: Person) -> str:
    """Someone as list, show and the next step name them: the name, else the address."""
    return person.name or person.email


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class NextStep:
    text: str
    yours: bool  # it waits for you: a draft to send, a decision to make


def next_step(intro: Intro) -> NextStep:
    """Exactly who or what the intro waits for."""
    parties = (intro.requester, intro.contact)
    if intro.attention:
        unclear = [p for p in parties if p.consent is Consent.UNCLEAR]
        if unclear:
            replies = _and([f"{named(p.person)}'s reply" for p in unclear])
            roles = "|".join(p.role.value for p in unclear)
            return NextStep(
                f"read {replies}, then `introbot decide {intro.id} {roles} yes|no`", True
            )
        return NextStep(f"{intro.attention} (`introbot show {intro.id}`)", True)
    to_send: dict[DraftKind, list[str]] = {}
    pending: list[str] = []
    held: list[str] = []
    for draft in intro.drafts:
        if draft.to is None:
            whom = "both" if draft.kind is DraftKind.JOINT else "you"
        else:
            whom = named(intro.party(draft.to).person)
        if draft.state in (DraftState.QUEUED, DraftState.CREATED):
            to_send.setdefault(draft.kind, []).append(whom)
        elif draft.state is DraftState.PENDING:
            pending.append(f"the {DRAFT_WORDS[draft.kind][0]} to {whom}")
        elif draft.state is DraftState.HELD:
            held.append(f"the {DRAFT_WORDS[draft.kind][0]} to {whom}")
    steps = [
        f"send the {DRAFT_WORDS[kind][len(whom) > 1]} to {_and(whom)}"
        for kind, whom in to_send.items()
    ]
    if steps:
        return NextStep("; ".join(steps), True)
    if pending:
        return NextStep(
            f"wait for the sent copy of {_and(pending)} (it left Drafts: Undo or Schedule send)",
            False,
        )
    if held:  # the request thread holds another introbot draft (one at a time)
        return NextStep(
            f"send or delete the other introbot draft in the request thread: {_and(held)} "
            "is written once it is gone",
            True,
        )
    if intro.stage.closed:
        return NextStep("-", False)
    asked = [named(p.person) for p in parties if p.consent is Consent.ASKED]
    later = [p for p in parties if p.consent is Consent.NOT_ASKED]
    if asked:
        one = len(asked) == 1
        text = f"wait for {asked[0]}'s reply" if one else f"wait for replies from {_and(asked)}"
        if later:
            text += f" ({named(later[0].person)} is asked after that yes)"
        return NextStep(text, False)
    return NextStep("wait", False)


def _age(intro: Intro, now: datetime) -> str:
    days = max(0, (now - intro.created_at).days)
    return f"{days}d" if days else "today"


def intro_summary(intro: Intro) -> dict[str, Any]:
    step = next_step(intro)
    return {
        "id": intro.id,
        "state": STAGE_LABELS[intro.stage],
        "needs_attention": bool(intro.attention),
        "requester": {"name": intro.requester.person.name, "email": intro.requester.person.email,
                      "consent": intro.requester.consent.value},
        "contact": {"name": intro.contact.person.name, "email": intro.contact.person.email,
                    "consent": intro.contact.consent.value},
        "attention": intro.attention,
        "created_at": intro.created_at.isoformat(),
        "closed_at": intro.closed_at.isoformat() if intro.closed_at else None,
        "next_step": step.text,
        "waiting_for_you": step.yours,
    }  # fmt: skip


TABLE_WIDTH = 100  # the next step wraps beneath itself to keep lines short
MIN_STEP_WIDTH = 30


def table(intros: list[Intro], now: datetime, width: int = TABLE_WIDTH) -> str:
    if not intros:
        return "No intros yet. Label an email 'intro-request' in Gmail, then run `introbot poll`."
    rows = [("ID", "PARTIES", "STATE", "AGE", "NEXT STEP")]
    for intro in intros:
        parties = f"{named(intro.requester.person)} -> {named(intro.contact.person)}"
        rows.append((intro.id, parties, state(intro), _age(intro, now), next_step(intro).text))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    indent = sum(widths) + 2 * 4
    lines = []
    for row in rows:
        start = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  "
        step = textwrap.wrap(row[4], max(width - indent, MIN_STEP_WIDTH)) or [""]
        lines += [start + step[0], *(" " * indent + more for more in step[1:])]
    return "\n".join(lines)


def legend(intros: list[Intro], requests: int = 0) -> str:
    """What each state shown means (the states are the Gmail labels, introbot/...)."""
    shown = {STAGE_LABELS[i.stage] for i in intros}
    if requests or any(i.attention for i in intros):
        shown.add(ATTENTION_LABEL)
    width = max(len(name) for name in shown) if shown else 0
    return "\n".join(
        f"  {name:<{width}}  {meaning}" for name, meaning in LEGEND.items() if name in shown
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
        f"state:     {state(intro)}" + (f" ({intro.attention})" if intro.attention else ""),
        f"request:   {intro.request.subject!r} ({intro.request.form})",
        f"next step: {next_step(intro).text}",
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
            f"  {_KIND_WORDS.get(d.kind, d.kind.value)} to {d.to.value if d.to else 'both'}: "
            f"{d.state.value}"
            for d in drafts
        ]
    out.append("timeline:")
    out += [f"  {local_time(a.at)}  {a.kind:8}  {a.detail}" for a in lines]  # local zone
    return "\n".join(out)


def problems_table(problems: list[tuple[str, str]]) -> str:
    """Request threads introbot set aside, each with why and the fix (they carry the Gmail
    label introbot/needs-attention)."""
    lines = [f"Requests that need attention (labeled {ATTENTION_LABEL} in Gmail):"]
    for thread_id, why in problems:
        lines.append(f"  thread {thread_id}: {why}")
        if "introbot ask-again" not in why:  # the reason names its own fix
            lines.append(
                '    fix: correct the request (or write a note "Name <address> -> Name '
                "<address>\") and label the thread again; introbot's note in it says more"
            )
    return "\n".join(lines)
