"""Mail that no person wrote: bounces, auto-replies, read receipts and feedback reports.
Never consent, whatever it says.

Headers decide first: ``multipart/report`` (a read receipt when its report type is
``disposition-notification``, else a bounce: delivery-status and feedback/abuse reports
alike, which the connector should see), ``message/delivery-status`` parts,
``X-Failed-Recipients``, a mailer-daemon ``From`` or ``Return-Path``; for auto-replies
``Auto-Submitted`` other than ``no``, ``X-Autoreply`` and kin, ``Precedence:
bulk|junk|list|auto_reply``, an empty ``Return-Path``, a no-reply sender, a mailing-list
manager's own address (``owner-``, ``-request``, ``-admin``... with list headers), an
out-of-office subject, a read receipt's subject ("Read:") with its text ("was read on").
``X-Auto-Response-Suppress`` alone is not a signal: Outlook sets it on ordinary mail.

Some servers set no header at all, so the message's *own* text (what comes before any quoted
or forwarded history, which a person may paste in) is read too, and signals are weighed:

- a bounce needs delivery-failure content (a sentence of ``bounce_body``: 2, or 3 for two;
  a DSN or SMTP line: 2; a bounce subject, not a forwarded one: 2) and a weight of 4 with
  the rest (a postmaster-like sender: 2, not being a reply: 1, the original attached: 1);
  with a machine header, a weight of 2 is enough (an auto-reply header on a bounce);
- an auto-reply scores a machine's own statement (3), being away (1 each, up to 2), what an
  absence notice says next (1 each, up to 2), a service responder's sentences (1 each, up
  to 3), not being a reply (+1), and quoted history below (-1); 3 or more is automated.
  One mention of being away is what a person writes too.

Everything scanned is capped (characters, lines, line length) and every pattern is linear.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Literal

from introbot.reading.addresses import EMAIL_IN_TEXT, parse_addresses
from introbot.reading.mime import Mail
from introbot.reading.phrases import PhraseSet, normalize
from introbot.reading.quotes import may_hold_attribution
from introbot.rules import Phrases

MAX_SCAN_CHARS = 12_000  # of the body text read for content signals
MAX_SCAN_LINES = 400
MAX_LINE_CHARS = 1_000
MAX_HEADER_CHARS = 600  # of From / Return-Path / Subject looked at
MAX_FAILED = 20
AUTO_REPLY_THRESHOLD = 3
BOUNCE_THRESHOLD = 4

_MAILER_DAEMON = re.compile(r"(?<![\w-])(?:mailer-?daemon|mail-daemon)(?![\w-])", re.I)
_SYSTEM_SENDER = re.compile(
    r"postmaster|post_master|mailer|daemon|mail\W?delivery|delivery\W?(?:status|system|subsystem)"
    r"|mail\W?system|smtp|bounces?(?![a-z])",
    re.I,
)
#: A mailing-list manager's own address (Mailman, ezmlm, fml...): with list headers, a robot.
_LIST_ROBOT = re.compile(r"^(?:owner-.+|.+-(?:request|owner|bounces?|admin))$", re.I)
_LIST_HEADERS = (
    "List-Id", "List-Post", "List-Subscribe", "List-Unsubscribe", "Mailing-List",
    "X-Mailman-Version", "X-MLServer", "X-ML-Name",
)  # fmt: skip
_NO_REPLY = re.compile(r"(?:^|[._+-])(?:no-?reply|do-?not-?reply|no_reply)(?:$|[._+-])", re.I)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|fw|tr|wg|rv|enc|i)\s*:", re.I)
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]{1,60})", re.I)
_DIGITS = re.compile(r"\d+")
#: Lines only a delivery report has, in any language: DSN fields, SMTP dialogue and codes.
_DSN_LINE = re.compile(
    r"^[ \t]{0,8}(?:final-recipient|original-recipient|diagnostic-code|reporting-mta|remote-mta)"
    r"[ \t]{0,4}:"
    r"|\b(?:rcpt to|mail from)[ \t]{0,4}:[ \t]{0,4}<"
    r"|\b[245]\d\d[ -]{1,3}#?[245]\.\d{1,3}\.\d{1,3}\b"
    r"|#[45]\.\d{1,3}\.\d{1,3}\b"
    r"|\bsmtp\b[^\n]{0,24}\b[45][0-5]\d\b"
    r"|\bsaid:[ \t]{0,4}[45][0-5]\d\b"
    r"|^[ \t]{0,8}(?:<<<[ \t]{0,4})?[45][0-5]\d(?:-|:|[ \t]{1,3}-)",
    re.I | re.M,
)
_GMAIL_FAILED = re.compile(
    r"(?:wasn't delivered to|couldn't be delivered to|could not be delivered to|"
    r"delivery to the following recipient(?:s)? failed[^:\n]*:?|"
    r"address not found[^\n]{0,200}\n[^\n]{0,200}?)"
    r"\s{0,5}([^\s<>()\"',;]{1,64}@[^\s<>()\"',;]{1,253})",
    re.I,
)
# qmail, Postfix, Yahoo and others: the failed address starts a line, as "<x@y>:"
_QMAIL_FAILED = re.compile(r"^[ \t]{0,8}<([^\s<>@]{1,64}@[^\s<>@]{1,253})>:(?:[ \t]|$)", re.M)
_FIELD_FAILED = re.compile(
    r"^[ \t]{0,8}(?:final-recipient|original-recipient)[ \t]{0,4}:[^;\n]{0,20};[ \t]{0,4}<?"
    r"([^\s<>@;]{1,64}@[^\s<>@;]{1,253}?)>?[ \t]*$"
    r"|\brcpt to[ \t]{0,4}:[ \t]{0,4}<([^\s<>@]{1,64}@[^\s<>@]{1,253})>",
    re.I | re.M,
)


@dataclass(frozen=True, slots=True)
class Automation:
    kind: Literal["auto_reply", "bounce"]
    evidence: str
    failed_recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _View:
    """What content detection reads: the message's own text, capped, and its shape."""

    raw: str  # the own text as written (for addresses)
    text: str  # the same, normalized for phrase matching
    quoted: bool  # quoted or forwarded history follows the own text
    is_reply: bool  # In-Reply-To or References is set
    sender: str  # the From address, or the From header text when it has no address
    from_text: str  # the whole From header, display name included
    subject: str  # normalized


# ----------------------------------------------------------------------- the own text
def _starts_history(line: str, markers: tuple[str, ...], phrases: Phrases) -> bool:
    if line.startswith(">"):
        return True
    lowered = normalize(line)
    if lowered.startswith(markers):  # a tuple of non-empty phrases
        return True
    head = line[:300]
    return may_hold_attribution(head, phrases) and _any_of(phrases.attribution)(head)


_ANY_OF: dict[int, tuple[tuple[re.Pattern[str], ...], Callable[[str], bool]]] = {}


def _any_of(patterns: tuple[re.Pattern[str], ...]) -> Callable[[str], bool]:
    """Does any of ``patterns`` occur in a text: one search of one joined pattern (not
    sixty), kept per tuple of rules by identity (hashing sixty patterns costs more)."""
    known = _ANY_OF.get(id(patterns))
    if known is None or known[0] is not patterns:
        test: Callable[[str], bool]
        try:
            joined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns) or r"(?!)", re.I)
            test = lambda text: joined.search(text) is not None  # noqa: E731
        except re.error:  # each compiles alone (rules.py checks); together they may not
            test = lambda text: any(p.search(text) for p in patterns)  # noqa: E731
        if len(_ANY_OF) > 16:
            _ANY_OF.clear()
        known = _ANY_OF[id(patterns)] = (patterns, test)
    return known[1]


def _view(mail: Mail, phrases: Phrases) -> _View:
    lines = mail.text[:MAX_SCAN_CHARS].split("\n", MAX_SCAN_LINES)[:MAX_SCAN_LINES]
    markers = tuple(m for m in phrases.original_message + phrases.forwarded if m)
    kept: list[str] = []
    quoted = False
    for line in lines:
        line = line[:MAX_LINE_CHARS]
        if _starts_history(line.strip(), markers, phrases):
            quoted = True
            break
        kept.append(line)
    raw = "\n".join(kept)
    sender = mail.sender.email if mail.sender else (mail.header("From") or "")
    return _View(
        raw=raw,
        text=normalize(raw),
        quoted=quoted,
        is_reply=bool(mail.in_reply_to or mail.references),
        sender=sender[:MAX_HEADER_CHARS],
        from_text=(mail.header("From") or "")[:MAX_HEADER_CHARS],
        subject=normalize(mail.subject[:MAX_HEADER_CHARS]),
    )


def _distinct(found: PhraseSet, text: str) -> list[str]:
    return list(dict.fromkeys(hit.phrase for hit in found.find(text)))


# ----------------------------------------------------------------------------- headers
def _report(mail: Mail) -> Automation | None:
    """``multipart/report``: a read receipt, or a delivery or feedback report."""
    if mail.content_type != "multipart/report":
        return None
    found = _REPORT_TYPE.search((mail.header("Content-Type") or "")[:MAX_HEADER_CHARS])
    kind = found.group(1).lower() if found else "(none given)"
    evidence = f"Content-Type: multipart/report; report-type={kind}"
    if kind == "disposition-notification":
        return Automation("auto_reply", f"{evidence} (a read receipt)")
    if kind == "feedback-report":
        return Automation("bounce", f"{evidence} (an abuse report about the message)")
    return Automation("bounce", evidence)


def _bounce_header(mail: Mail) -> str | None:
    if mail.reports:
        return "a message/delivery-status part"
    failed = mail.header("X-Failed-Recipients")
    if failed:
        return f"X-Failed-Recipients: {failed[:MAX_HEADER_CHARS]}"
    for name in ("From", "Return-Path", "Sender"):
        value = (mail.header(name) or "")[:MAX_HEADER_CHARS]
        if _MAILER_DAEMON.search(value):
            return f"{name}: {value}"
    return None


def delivery_report_sender(value: str) -> bool:
    """Is this From (of a message not read yet) a delivery report's sender? The address
    itself must be mailer-daemon or postmaster: a display name that says "Postmaster" is
    not enough to fetch and read a message."""
    for _, address in getaddresses([value[:MAX_HEADER_CHARS]]):
        local = address.rpartition("@")[0] or address
        if local.strip().lower() in ("mailer-daemon", "postmaster"):
            return True
    return False


def _machine_header(mail: Mail, view: _View) -> str | None:
    """A header (or sender) that says a machine sent this."""
    auto_submitted = (mail.header("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted.split(None, 1)[0].strip(";") != "no":
        return f"Auto-Submitted: {auto_submitted[:MAX_HEADER_CHARS]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-AutoReply-From"):
        value = mail.header(name)
        if value:
            return f"{name}: {value[:MAX_HEADER_CHARS]}"
    precedence = (mail.header("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if (mail.header("Return-Path") or "").strip() == "<>":
        return "Return-Path: <> (empty: sent by a machine)"
    local = view.sender.rpartition("@")[0]
    if local and _NO_REPLY.search(local):
        return f"From: {view.sender} (a no-reply address)"
    if local and _LIST_ROBOT.match(local[:MAX_HEADER_CHARS]):
        listed = next((name for name in _LIST_HEADERS if mail.header(name) is not None), None)
        if listed:
            return f"From: {view.sender} (a mailing-list manager, with {listed})"
    return None


# ------------------------------------------------------------------------------ bounces
def _bounce_content(mail: Mail, view: _View, phrases: Phrases) -> tuple[int, list[str]]:
    """Weight of the delivery-failure content, and what was seen; 0 without content."""
    score, seen = 0, []
    said = _distinct(phrases.bounce_body, view.text)
    if said:
        score += 2 if len(said) == 1 else 3
        seen.append(f'the text says "{said[0]}"')
    line = _DSN_LINE.search(view.raw)
    if line:
        score += 2
        seen.append(f'a delivery report line ("{" ".join(line.group(0).split())}")')
    subject = (
        [] if _FORWARD_SUBJECT.match(view.subject) else phrases.bounce_subjects.find(view.subject)
    )
    if subject:
        score += 2
        seen.append(f'Subject says "{subject[0].phrase}"')
    if not score:
        return 0, []
    if _SYSTEM_SENDER.search(view.from_text):
        score += 2
        seen.append(f"From: {view.from_text}")
    if not view.is_reply:
        score += 1
        seen.append("not a reply")
    if any(a in ("(message/rfc822)", "(text/rfc822-headers)") for a in mail.attachments):
        score += 1
        seen.append("the original message attached")
    return score, seen


# ------------------------------------------------------------------------- auto-replies
def _read_receipt(view: _View, phrases: Phrases) -> str | None:
    starts = [h for h in phrases.read_receipt_subjects.find(view.subject) if h.start == 0]
    said = phrases.read_receipt_body.find(view.text)
    if starts and said:
        return f'a read receipt (Subject "{starts[0].phrase}", text "{said[0].phrase}")'
    return None


def _auto_reply_content(view: _View, phrases: Phrases) -> tuple[int, list[str]]:
    """Weight of the out-of-office / responder content, and what was seen."""
    text = _DIGITS.sub("#", view.text)
    statements = _distinct(phrases.auto_reply_statements, text)
    away = _distinct(phrases.absence, text)
    responder = _distinct(phrases.responder, text)
    if not (statements or away or responder):
        return 0, []
    followups = _distinct(phrases.absence_followups, text)
    score = 3 * bool(statements) + min(2, len(away)) + min(3, len(responder))
    score += min(2, len(followups))
    said = [*statements[:1], *away[:2], *responder[:2], *followups[:2]]
    seen = [f"the text says {', '.join(repr(s) for s in said)}"]
    if not view.is_reply:
        score += 1
        seen.append("not a reply")
    if view.quoted:
        score -= 1
        seen.append("but quotes earlier mail")
    return score, seen


# --------------------------------------------------------------------- failed addresses
def _own_addresses(mail: Mail) -> set[str]:
    people = [*mail.to, *mail.cc, *([mail.sender] if mail.sender else [])]
    return {p.email.lower() for p in people}


def _failed_in_text(view: _View, phrases: Phrases, own: set[str]) -> list[str]:
    """Failed addresses named in a report's own text (not the bounce's own addresses)."""
    text = view.raw
    found = [m.rstrip(".") for m in _GMAIL_FAILED.findall(text)]
    found += _QMAIL_FAILED.findall(text)
    found += [a or b for a, b in _FIELD_FAILED.findall(text)]
    found = [a for a in found if a.lower() not in own]
    if found:
        return found
    # Else: the addresses of the first line that says delivery failed, or of the few lines
    # after it (the report's own statement, not the copy of the original below it).
    window = 0
    for line in view.raw.split("\n"):
        if phrases.bounce_body.find(normalize(line)) or _DSN_LINE.search(line):
            window = 4
        elif window == 0 and found:
            break
        if window:
            found += [a for a in EMAIL_IN_TEXT.findall(line) if a.lower() not in own]
            window -= 1
    return found


def _report_address(report: dict[str, str]) -> list[str]:
    """The failed address of one delivery-status block: Final-Recipient, else Original-."""
    for field in ("final-recipient", "original-recipient"):
        address = report.get(field, "").split(";", 1)[-1].strip()
        found = [p.email for p in parse_addresses(address)] or EMAIL_IN_TEXT.findall(address)
        if found:
            return found
    return []


def _failed_recipients(mail: Mail, view: _View, phrases: Phrases) -> tuple[str, ...]:
    found: list[str] = []
    actions = [report.get("action", "failed").lower().strip() for report in mail.reports]
    for report, action in zip(mail.reports, actions, strict=True):
        if action in ("failed", ""):
            found += _report_address(report)
    for value in mail.headers_named("X-Failed-Recipients"):
        found += [p.email for p in parse_addresses(value)]
    if not found and all(action in ("failed", "") for action in actions):
        found = _failed_in_text(view, phrases, _own_addresses(mail))
    addresses = (a.strip("<>.,;:'\"").lower() for a in found if "@" in a)
    kept = [a for a in addresses if not _SYSTEM_SENDER.match(a)]
    return tuple(dict.fromkeys(kept))[:MAX_FAILED]


# ---------------------------------------------------------------------------- detection
def detect(mail: Mail, phrases: Phrases) -> Automation | None:
    """A bounce or an auto-reply, with the header or phrases that show it; else None."""
    view = _view(mail, phrases)
    report = _report(mail)
    if report is not None:
        if report.kind == "bounce":
            return Automation("bounce", report.evidence, _failed_recipients(mail, view, phrases))
        return report
    header = _bounce_header(mail)
    if header is not None:
        return Automation("bounce", header, _failed_recipients(mail, view, phrases))
    machine = _machine_header(mail, view)
    score, seen = _bounce_content(mail, view, phrases)
    if score >= BOUNCE_THRESHOLD or (machine and score >= 2):
        evidence = "; ".join(([machine] if machine else []) + seen)
        return Automation("bounce", evidence, _failed_recipients(mail, view, phrases))
    if machine is not None:
        return Automation("auto_reply", machine)
    return _auto_reply(view, phrases)


def _auto_reply(view: _View, phrases: Phrases) -> Automation | None:
    subject = phrases.auto_reply_subjects.find(view.subject)
    if subject:
        return Automation("auto_reply", f'Subject says "{subject[0].phrase}"')
    receipt = _read_receipt(view, phrases)
    if receipt is not None:
        return Automation("auto_reply", receipt)
    score, seen = _auto_reply_content(view, phrases)
    if score >= AUTO_REPLY_THRESHOLD:
        return Automation("auto_reply", f"an automatic reply by its content: {'; '.join(seen)}")
    return None
