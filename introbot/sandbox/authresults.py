"""Authentication-Results as Gmail writes them on arrival, for the cases a client must know.

Gmail prepends its own ``Authentication-Results: mx.google.com; ...`` (and, where ARC is
involved, an ``ARC-Authentication-Results`` copy) on top of the message; whatever the sender
wrote below proves nothing. :func:`stamp` does the same for the sandbox's ``deliver``.
Sources for each case: ``docs/sandbox.md``, "Authentication-Results".
"""

from __future__ import annotations

import hashlib

from introbot.sandbox.errors import bad_request
from introbot.sandbox.mailbox import replace_headers

CASES = {
    "dmarc-pass": "a domain with DMARC, DKIM and SPF aligned: dmarc=pass",
    "dmarc-fail": "a forged From (no DKIM, SPF softfail): dmarc=fail",
    "no-dmarc": "a domain without a DMARC record: no dmarc result, aligned DKIM and SPF pass",
    "gappssmtp": "a small Workspace domain signed only by Google's default DKIM "
    "(d=DOMAIN.gappssmtp.com), SPF by Gmail's best-guess record, no DMARC",
    "gappssmtp-no-spf": "as gappssmtp, but the best guess does not cover Google's servers: "
    "spf=neutral, so nothing aligned passes",
    "list": "through a mailing list that keeps the From and adds a footer: dkim=fail, "
    "spf for the list's envelope, arc=pass, dmarc=fail",
    "forwarded": "forwarded by another server with SRS: spf for the forwarder, the "
    "original DKIM intact, arc=pass, dmarc=pass",
    "internal": "from inside the connector's own Workspace domain: Gmail writes no "
    "Authentication-Results at all",
    "internal-signed": "from inside the connector's own Workspace domain, as some reports "
    "show it: dkim=pass, spf=pass, dmarc=pass for the shared domain",
}

_GOOGLE_IP = "209.85.220.41"
_OUTSIDE_IP = "203.0.113.25"


def _b(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:8]


def authentication_headers(
    case: str, sender: str, list_address: str = "team@lists.example.org"
) -> list[tuple[str, str]]:
    """The headers Gmail adds on arrival for ``case``, topmost first. ``sender`` is the
    From address; for ``list``, ``list_address`` is the list's."""
    if case not in CASES:
        raise bad_request(f"Unknown authentication case {case!r}; one of {', '.join(CASES)}")
    sender = sender.strip().strip("<>")
    domain = sender.rpartition("@")[2].lower()
    sig = _b(sender + case)
    spf_pass = (
        f"spf=pass (google.com: domain of {sender} designates {_OUTSIDE_IP} as permitted "
        f"sender) smtp.mailfrom={sender}"
    )
    if case == "internal":
        return []
    if case == "dmarc-pass":
        value = (
            f"mx.google.com; dkim=pass header.i=@{domain} header.s=s1 header.b={sig}; "
            f"{spf_pass}; dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from={domain}"
        )
    elif case == "dmarc-fail":
        value = (
            f"mx.google.com; spf=softfail (google.com: domain of transitioning {sender} does "
            f"not designate {_OUTSIDE_IP} as permitted sender) smtp.mailfrom={sender}; "
            f"dmarc=fail (p=NONE sp=NONE dis=NONE) header.from={domain}"
        )
    elif case == "no-dmarc":
        value = (
            f"mx.google.com; dkim=pass header.i=@{domain} header.s=default header.b={sig}; "
            f"{spf_pass}"
        )
    elif case in ("gappssmtp", "gappssmtp-no-spf"):
        proxy = f"{domain.replace('.', '-')}.20230601.gappssmtp.com"
        spf = (
            f"spf=pass (google.com: best guess record for domain of {sender} designates "
            f"{_GOOGLE_IP} as permitted sender) smtp.mailfrom={sender}"
            if case == "gappssmtp"
            else f"spf=neutral (google.com: {_GOOGLE_IP} is neither permitted nor denied by "
            f"best guess record for domain of {sender}) smtp.mailfrom={sender}"
        )
        value = (
            f"mx.google.com; dkim=pass header.i=@{proxy} header.s=20230601 header.b={sig}; {spf}"
        )
    elif case == "list":
        list_domain = list_address.rpartition("@")[2]
        bounce = f"{list_address.partition('@')[0]}+bncBD{sig}@{list_domain}"
        value = (
            f"mx.google.com; dkim=fail header.i=@{domain} header.s=s1 header.b={sig}; "
            f"arc=pass (i=1 spf=pass spfdomain={domain} dkim=pass dkdomain={domain} "
            f"dmarc=pass fromdomain={domain}); spf=pass (google.com: domain of {bounce} "
            f"designates {_OUTSIDE_IP} as permitted sender) smtp.mailfrom={bounce}; "
            f"dmarc=fail (p=QUARANTINE sp=QUARANTINE dis=NONE arc=pass) header.from={domain}"
        )
    elif case == "forwarded":
        local = sender.partition("@")[0]
        srs = f"SRS0={sig[:4]}=7Q={domain}={local}@forwarder.example.net"
        value = (
            f"mx.google.com; dkim=pass header.i=@{domain} header.s=s1 header.b={sig}; "
            f"arc=pass (i=1 spf=pass spfdomain={domain} dkim=pass dkdomain={domain} "
            f"dmarc=pass fromdomain={domain}); spf=pass (google.com: domain of {srs} "
            f'designates {_OUTSIDE_IP} as permitted sender) smtp.mailfrom="{srs}"; '
            f"dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from={domain}"
        )
    else:  # internal-signed
        value = (
            f"mx.google.com; dkim=pass header.i=@{domain} header.s=google header.b={sig}; "
            f"spf=pass (google.com: domain of {sender} designates 2607:f8b0:4864:20::62f as "
            f"permitted sender) smtp.mailfrom={sender}; dmarc=pass (p=NONE sp=NONE dis=NONE) "
            f"header.from={domain}"
        )
    headers = [("Authentication-Results", value)]
    if "arc=" in value:
        # Gmail seals what it saw as the next ARC instance; a reader must not take this copy
        # (or the list's own, below it) for Gmail's verdict.
        headers.insert(0, ("ARC-Authentication-Results", f"i=2; {value}"))
    return headers


def stamp(raw: bytes, case: str, sender: str) -> bytes:
    """``raw`` with Gmail's arrival headers for ``case`` on top."""
    return replace_headers(raw, (), authentication_headers(case, sender))
