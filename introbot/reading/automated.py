"""Mail that no person wrote: auto-replies and bounces. Never consent, whatever it says.

Bounces: ``multipart/report`` delivery-status notifications, ``X-Failed-Recipients``,
mailer-daemon / postmaster senders, bounce subjects. They also tell which address failed.
Auto-replies: ``Auto-Submitted`` other than ``no``, ``X-Autoreply``, ``X-Autorespond``,
``Precedence: bulk|junk|list|auto_reply``, an empty ``Return-Path``, and out-of-office
subjects in several languages (some servers set no header at all).
``X-Auto-Response-Suppress`` alone is not a signal: Outlook sets it on ordinary mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from introbot.reading.mime import EMAIL_IN_TEXT, Mail, parse_addresses
from introbot.rules import Phrases, normalize

_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_GMAIL_FAILED = re.compile(
    r"(?:wasn't delivered to|couldn't be delivered to|could not be delivered to|"
    r"delivery to the following recipient(?:s)? failed[^:\n]*:?|"
    r"address not found[^\n]{0,200}\n[^\n]{0,200}?)"
    r"\s{0,5}([^\s<>()\"',;]{1,64}@[^\s<>()\"',;]{1,253})",
    re.I,
)
# qmail, Yahoo and others: the failed address alone on a line, as "<x@y>:"
_QMAIL_FAILED = re.compile(r"^[ \t]{0,8}<([^\s<>@]{1,64}@[^\s<>@]{1,253})>:[ \t]*$", re.M)


@dataclass(frozen=True, slots=True)
class Automation:
    kind: Literal["auto_reply", "bounce"]
    evidence: str
    failed_recipients: tuple[str, ...] = ()


def _failed_recipients(mail: Mail) -> tuple[str, ...]:
    found: list[str] = []
    for report in mail.reports:
        action = report.get("action", "failed").lower()
        recipient = report.get("final-recipient") or report.get("original-recipient") or ""
        if action in ("failed", "") and recipient:
            address = recipient.split(";", 1)[-1].strip()
            found += [p.email for p in parse_addresses(address)] or EMAIL_IN_TEXT.findall(address)
    for value in mail.headers_named("X-Failed-Recipients"):
        found += [p.email for p in parse_addresses(value)]
    if not found:
        text = mail.text[:20_000]
        found += [m.rstrip(".") for m in _GMAIL_FAILED.findall(text)]
        found += _QMAIL_FAILED.findall(text)
    return tuple(dict.fromkeys(a.lower() for a in found if "@" in a))


def _bounce(mail: Mail, phrases: Phrases) -> str | None:
    report_type = (mail.header("Content-Type") or "").lower()
    if mail.content_type == "multipart/report" and "delivery-status" in report_type:
        return "Content-Type: multipart/report; report-type=delivery-status"
    if mail.reports:
        return "a message/delivery-status part"
    if mail.header("X-Failed-Recipients"):
        return f"X-Failed-Recipients: {mail.header('X-Failed-Recipients')}"
    sender = mail.sender.email if mail.sender else (mail.header("From") or "")
    subject_hits = phrases.bounce_subjects.find(normalize(mail.subject))
    if _BOUNCE_SENDERS.match(sender):
        return f"From: {sender}"
    if subject_hits and not mail.in_reply_to and mail.header("Return-Path") in ("<>", ""):
        return (
            f'Subject names a failed delivery ("{subject_hits[0].phrase}") with empty Return-Path'
        )
    return None


def _auto_reply(mail: Mail, phrases: Phrases) -> str | None:
    auto_submitted = (mail.header("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if mail.header(name):
            return f"{name}: {mail.header(name)}"
    precedence = (mail.header("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if (mail.header("Return-Path") or "").strip() == "<>":
        return "Return-Path: <> (empty: sent by a machine)"
    hits = phrases.auto_reply_subjects.find(normalize(mail.subject))
    if hits:
        return f'Subject says "{hits[0].phrase}"'
    return None


def detect(mail: Mail, phrases: Phrases) -> Automation | None:
    """An auto-reply or a bounce, with the header or phrase that shows it; else None."""
    bounce = _bounce(mail, phrases)
    if bounce is not None:
        return Automation("bounce", bounce, _failed_recipients(mail))
    auto = _auto_reply(mail, phrases)
    if auto is not None:
        return Automation("auto_reply", auto)
    return None
