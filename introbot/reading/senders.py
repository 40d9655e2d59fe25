"""Is the sender who the From header says? Read from Gmail's own Authentication-Results.

Gmail prepends ``Authentication-Results: mx.google.com; dkim=... spf=... dmarc=...
header.from=DOMAIN`` to every message it receives; anything below it came from the sender
and proves nothing. So only the topmost header whose authserv-id is ``mx.google.com``
counts. The From is authenticated when DMARC passed for the From's domain, or, where the
domain publishes no DMARC policy, when DKIM or SPF passed for a domain aligned with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from introbot.reading.mime import Mail

GMAIL_AUTHSERV_ID = "mx.google.com"
_RESULT = re.compile(r"\b(dkim|spf|dmarc|arc)\s*=\s*([a-z]+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(
    r"\b(header\.from|header\.i|header\.d|smtp\.mailfrom)\s*=\s*([^\s;()]+)", re.I
)


@dataclass(frozen=True, slots=True)
class SenderCheck:
    email: str | None
    authenticated: bool | None  # None: Gmail's verdict is not on the message
    evidence: str


def _aligned(domain: str, signer: str) -> bool:
    """Relaxed alignment: the same domain or one a subdomain of the other."""
    domain, signer = domain.lower().strip("."), signer.lower().strip(".").lstrip("@")
    if "@" in signer:
        signer = signer.rpartition("@")[2]
    return domain == signer or domain.endswith("." + signer) or signer.endswith("." + domain)


def gmail_results(mail: Mail) -> str | None:
    """The topmost Authentication-Results header written by Gmail, if any."""
    for value in mail.headers_named("Authentication-Results"):
        if value.split(";", 1)[0].strip().lower() == GMAIL_AUTHSERV_ID:
            return value
    return None


def check_sender(mail: Mail) -> SenderCheck:
    sender = mail.sender
    email = sender.email if sender else None
    results = gmail_results(mail)
    if results is None:
        return SenderCheck(email, None, "no Authentication-Results from mx.google.com")
    if sender is None:
        return SenderCheck(None, False, "no single usable From address")
    domain = sender.email.rpartition("@")[2]
    verdicts: dict[str, tuple[str, dict[str, str]]] = {}
    for method, result, rest in _RESULT.findall(results):
        props = {k.lower(): v.strip('"') for k, v in _PROPERTY.findall(rest)}
        verdicts.setdefault(method.lower(), (result.lower(), props))
    dmarc = verdicts.get("dmarc")
    if dmarc is not None:
        result, props = dmarc
        header_from = props.get("header.from", domain)
        if result == "pass":
            if header_from.lower() != domain:
                return SenderCheck(email, False, f"dmarc=pass is for {header_from}, not {domain}")
            return SenderCheck(email, True, f"dmarc=pass header.from={header_from}")
        if result in ("fail", "quarantine", "reject", "permerror"):
            return SenderCheck(email, False, f"dmarc={result} header.from={header_from}")
    dkim = verdicts.get("dkim")
    if dkim and dkim[0] == "pass":
        signer = dkim[1].get("header.i") or dkim[1].get("header.d") or ""
        if signer and _aligned(domain, signer):
            return SenderCheck(email, True, f"dkim=pass header.i={signer}")
    spf = verdicts.get("spf")
    if spf and spf[0] == "pass":
        mailfrom = spf[1].get("smtp.mailfrom", "")
        if mailfrom and _aligned(domain, mailfrom):
            return SenderCheck(email, True, f"spf=pass smtp.mailfrom={mailfrom}")
    summary = " ".join(f"{method}={result}" for method, (result, _) in verdicts.items())
    return SenderCheck(
        email, False, f"nothing aligned with {domain} passed ({summary or 'no results'})"
    )
