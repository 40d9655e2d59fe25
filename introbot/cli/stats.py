"""``introbot stats``: how your intros go, from the database alone (no Gmail call)."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from introbot.model import Consent, Intro, Role, Stage
from introbot.workflow import STAGE_LABELS


def compute(
    intros: list[Intro], since: datetime | None = None, requests_set_aside: int = 0
) -> dict[str, Any]:
    """``requests_set_aside``: request threads that need attention (they have no intro)."""
    chosen = [i for i in intros if since is None or i.created_at >= since]
    by_state = Counter(STAGE_LABELS[i.stage] for i in chosen)
    acceptance: dict[str, dict[str, Any]] = {}
    to_yes: dict[str, float | None] = {}
    for role in Role:
        parties = [i.party(role) for i in chosen]
        yes = sum(p.consent is Consent.YES for p in parties)
        no = sum(p.consent is Consent.NO for p in parties)
        asked = sum(p.asked_at is not None for p in parties)
        acceptance[role.value] = {
            "asked": asked,
            "yes": yes,
            "no": no,
            "rate": round(yes / (yes + no), 3) if yes + no else None,
        }
        waits = [
            (p.answered_at - p.asked_at).total_seconds()
            for p in parties
            if p.consent is Consent.YES and p.asked_at and p.answered_at
        ]
        to_yes[role.value] = statistics.median(waits) if waits else None
    introduced = [
        (i.closed_at - i.created_at).total_seconds()
        for i in chosen
        if i.stage is Stage.INTRODUCED and i.closed_at is not None
    ]
    return {
        "since": since.date().isoformat() if since else None,
        "intros": len(chosen),
        "by_state": {name: by_state.get(name, 0) for name in STAGE_LABELS.values()},
        "needs_attention": {
            "intros": sum(bool(i.attention) for i in intros),
            "requests": requests_set_aside,
        },
        "acceptance": acceptance,
        "median_seconds_to_yes": to_yes,
        "median_seconds_to_introduction": statistics.median(introduced) if introduced else None,
        "declined": by_state.get(STAGE_LABELS[Stage.DECLINED], 0),
        "expired": by_state.get(STAGE_LABELS[Stage.EXPIRED], 0),
    }


def report(stats: dict[str, Any]) -> str:
    since = f" since {stats['since']}" if stats["since"] else ""
    waiting = stats["needs_attention"]
    attention = (
        f"Needs attention: {waiting['intros']} intro(s), {waiting['requests']} request(s) set "
        "aside (`introbot list --attention`)"
        if waiting["intros"] or waiting["requests"]
        else ""
    )
    if not stats["intros"]:
        return f"No intros{since} yet." + (f"\n{attention}" if attention else "")
    states = " · ".join(f"{name} {count}" for name, count in stats["by_state"].items())
    lines = [f"Intros{since}: {stats['intros']}", f"  {states}", "", "Acceptance:"]
    for role, a in stats["acceptance"].items():
        rate = f"{a['rate']:.0%}" if a["rate"] is not None else "-"
        answered = a["yes"] + a["no"]
        lines.append(
            f"  {role:<10} {rate:>5}  ({a['yes']} yes of {answered} answered, {a['asked']} asked)"
        )
    lines += ["", "Median time to a yes:"]
    for role, seconds in stats["median_seconds_to_yes"].items():
        lines.append(f"  {role:<10} {duration(seconds)}")
    lines += [
        "",
        f"Median time from request to introduction: "
        f"{duration(stats['median_seconds_to_introduction'])}",
        f"Declined: {stats['declined']}   Expired: {stats['expired']}",
    ]
    if attention:
        lines += ["", attention]
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    span = timedelta(seconds=seconds)
    if span < timedelta(hours=1):
        return f"{seconds / 60:.0f} min"
    if span < timedelta(hours=48):
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
