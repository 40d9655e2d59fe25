"""Is the sender who the From header says? Read from Gmail's own Authentication-Results.

Which header counts
    Gmail prepends ``Authentication-Results: mx.google.com; ...`` when a message arrives,
    so its header is the topmost one; everything below it came with the message and proves
    nothing (anyone can write ``mx.google.com; dmarc=pass`` into a message). Only the topmost
    Authentication-Results counts, and only when its authserv-id is ``mx.google.com``:

    - no header of Gmail's at all: ``None``, no verdict on the message (a yes stays unclear);
    - a Gmail header below another server's, or below one that cannot be read: ``False``
      (where Gmail added none, as on mail fetched from another account, the one below is
      the sender's);
    - the topmost header is Gmail's but cannot be parsed: ``False``, with the reason.

How it is read (RFC 8601, with the lexical rules of RFC 5322)
    The value is read as it arrived: RFC 2047 encoded words are never decoded (an encoded
    ``"`` could end a quoted string). ``authserv-id [version]``, then ``; none`` or one or
    more ``; method[/version]=result [reason=value] ptype.property=value ...``. Comments
    ``( ... )`` nest (up to ``MAX_COMMENT_DEPTH``) and are skipped: ``arc=pass (... dmarc=pass
    ...)`` says nothing here. Quoted strings (with ``\\`` pairs) are values, never syntax:
    ``smtp.mailfrom="x;dmarc=pass header.from=victim.example"@evil.example`` is one address
    at evil.example. A comment that holds a ``"`` is refused: Gmail copies the envelope
    address into its spf comment, and a quoted local part with a ``)`` in it could end the
    comment early and pose as results. Anything that does not parse makes the sender
    unauthenticated (``False``) with the reason: never an exception, never a pass.

When the From is authenticated (the From domain compared by ASCII case only)
    1. ``dmarc=pass`` whose ``header.from`` is the From's domain. A pass for another domain,
       a pass naming no domain, ``fail``, ``quarantine``, ``reject``, ``permerror``, or more
       than one dmarc (or spf) result in Gmail's header: ``False``.
    2. Where the domain has no DMARC policy (no dmarc result, or ``none``, ``temperror``,
       ``bestguesspass``): ``dkim=pass`` whose signing domain (``header.d``, else the domain
       of ``header.i``) is aligned with the From domain, or ``spf=pass`` whose
       ``smtp.mailfrom`` domain is. Aligned: the same domain, or one a subdomain of the other
       (relaxed alignment without a public suffix list, so stricter than DMARC for siblings).

    The cases this covers:

    - Ordinary mail from a domain with DMARC: rule 1.
    - Same-domain Workspace mail (a colleague of the connector): Gmail writes its header on
      it too, with the domain's own DKIM signature and, where the domain publishes DMARC,
      ``dmarc=pass``; rule 1, else rule 2. If a message carries no Gmail header, ``None``.
    - Small domains without DMARC: no dmarc result; rule 2 on aligned DKIM or SPF.
    - Mailing lists that break DKIM (a footer, a subject tag) and send from their own
      envelope: a list that rewrites the From to its own address authenticates as the list,
      which is not the party (the workflow then sees "a reply from another address"); a list
      that keeps the From yields ``dmarc=fail`` or nothing aligned: ``False``. ``arc=pass``
      is not trusted: what earlier hops saw is in a comment, and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from introbot.reading.addresses import ascii_lower
from introbot.reading.mime import Mail

GMAIL_AUTHSERV_ID = "mx.google.com"
MAX_RESULTS_CHARS = 16 * 1024  # Gmail's header is a few hundred characters
MAX_COMMENT_DEPTH = 8
MAX_RESINFOS = 64

_KEYWORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_TOKEN = re.compile(r"[^\x00-\x20\x7f()<>@,;:\\\"/\[\]?=]+")  # RFC 2045 token
_PVALUE = re.compile(r"[^ \t\r\n()\";\\]+")  # an unquoted property value, up to CFWS or ';'
_WSP = " \t\r\n"  # folding white space; nothing else separates (no NBSP)
_DIGITS = re.compile(r"[0-9]+")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9][a-z0-9-]{0,61}[a-z0-9]")
_FAILED_DMARC = frozenset({"fail", "quarantine", "reject", "permerror"})


@dataclass(frozen=True, slots=True)
class SenderCheck:
    email: str | None
    authenticated: bool | None  # None: Gmail's verdict is not on the message
    evidence: str


@dataclass(frozen=True, slots=True)
class Result:
    """One resinfo: ``method=result`` and its properties (names ASCII-lowercased)."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def prop(self, name: str) -> str | None:
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True, slots=True)
class AuthResults:
    authserv_id: str  # ASCII-lowercased
    results: tuple[Result, ...]


class Unparseable(ValueError):
    """The header does not follow RFC 8601: the message says where."""


# ---------------------------------------------------------------------------- parsing
class _Parser:
    """Recursive descent over one header value; every step consumes input or fails."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> Unparseable:
        return Unparseable(f"{what} at character {self.pos}")

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def cfws(self) -> bool:
        """Skip white space and comments; True when anything was skipped."""
        start = self.pos
        while not self.at_end():
            if self.peek() in _WSP:
                self.pos += 1
            elif self.peek() == "(":
                self.comment()
            else:
                break
        return self.pos > start

    def comment(self) -> None:
        depth = 0
        while not self.at_end():
            char = self.peek()
            self.pos += 1
            if char == "\\":
                if self.at_end():
                    break
                self.pos += 1
            elif char == "(":
                depth += 1
                if depth > MAX_COMMENT_DEPTH:
                    raise self.fail("comments nested too deep")
            elif char == ")":
                depth -= 1
                if depth == 0:
                    return
            elif char == '"':
                raise self.fail("a double quote inside a comment")
        raise self.fail("an unterminated comment")

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise self.fail(f"expected {what}")
        self.pos = found.end()
        return found.group()

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.pos += 1

    def quoted(self) -> str:
        """A quoted string, from its opening quote; the content with quoted pairs undone."""
        self.expect('"')
        out: list[str] = []
        while not self.at_end():
            char = self.peek()
            self.pos += 1
            if char == '"':
                return "".join(out)
            if char == "\\":
                if self.at_end():
                    break
                char = self.peek()
                self.pos += 1
            out.append(char)
        raise self.fail("an unterminated quoted string")

    def value(self, pattern: re.Pattern[str], what: str) -> str:
        return self.quoted() if self.peek() == '"' else self.match(pattern, what)

    def pvalue(self) -> str:
        """``value / [[local-part] "@"] domain-name``; a quoted local part keeps its quotes
        so that the domain is always what follows the last ``@``."""
        if self.peek() != '"':
            return (
                self.match(_PVALUE, "a property value")
                if _PVALUE.match(self.text, self.pos)
                else ""
            )
        content = self.quoted()
        if self.peek() != "@":
            return content
        self.pos += 1
        domain = self.match(_PVALUE, "a domain after a quoted local part")
        escaped = content.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"@{domain}'

    def resinfo(self) -> Result:
        self.cfws()
        method = self.match(_KEYWORD, "a method")
        self.cfws()
        if self.peek() == "/":
            self.pos += 1
            self.cfws()
            self.match(_DIGITS, "a method version")
            self.cfws()
        self.expect("=")
        self.cfws()
        result = self.match(_KEYWORD, "a result")
        properties: dict[str, str] = {}
        while self.cfws() and not self.at_end() and self.peek() != ";":
            name, value = self.propspec()
            if name in properties:
                raise self.fail(f"{method}: {name} given twice")
            properties[name] = value
        if not self.at_end() and self.peek() != ";":
            raise self.fail("expected white space or ';' after a result")
        return Result(ascii_lower(method), ascii_lower(result), tuple(properties.items()))

    def propspec(self) -> tuple[str, str]:
        ptype = ascii_lower(self.match(_KEYWORD, "a property type"))
        self.cfws()
        if ptype == "reason" and self.peek() == "=":
            self.pos += 1
            self.cfws()
            return "reason", self.value(_TOKEN, "a reason")
        self.expect(".")
        self.cfws()
        name = ascii_lower(self.match(_KEYWORD, "a property"))
        self.cfws()
        self.expect("=")
        self.cfws()
        value = self.pvalue()
        if not self.at_end() and self.peek() not in f"{_WSP}(;":
            raise self.fail("unexpected text after a property value")
        return f"{ptype}.{name}", value

    def authserv_id(self) -> str:
        self.cfws()
        return ascii_lower(self.value(_TOKEN, "an authserv-id"))

    def no_result(self) -> bool:
        """``none`` as the only thing after the authserv-id: consumed, True; else untouched."""
        start = self.pos
        if ascii_lower(self.text[start : start + 4]) == "none":
            self.pos += 4
            self.cfws()
            if self.at_end():
                return True
        self.pos = start
        return False

    def header(self) -> AuthResults:
        authserv_id = self.authserv_id()
        if self.cfws() and _DIGITS.match(self.text, self.pos):
            self.match(_DIGITS, "a version")
            self.cfws()
        results: list[Result] = []
        while not self.at_end():
            self.expect(";")
            self.cfws()
            if self.at_end() and results:
                break  # a trailing ';' carries no result
            if not results and self.no_result():
                break
            if len(results) >= MAX_RESINFOS:
                raise self.fail(f"more than {MAX_RESINFOS} results")
            results.append(self.resinfo())
        return AuthResults(authserv_id, tuple(results))


def parse_results(value: str) -> AuthResults:
    """Parse one Authentication-Results value; raises Unparseable (only that)."""
    if len(value) > MAX_RESULTS_CHARS:
        raise Unparseable(f"longer than {MAX_RESULTS_CHARS} characters")
    parser = _Parser(value)
    try:
        return parser.header()
    except Unparseable:
        raise
    except Exception as exc:  # a bug must not become a pass: report it as unreadable
        raise Unparseable(f"unreadable ({type(exc).__name__})") from exc


def _authserv_id(value: str) -> str | None:
    """Just the authserv-id of a header, even of one that does not parse as a whole."""
    try:
        return _Parser(value[:MAX_RESULTS_CHARS]).authserv_id()
    except Exception:
        return None


# ---------------------------------------------------------------------------- judging
def _domain_of(value: str) -> str | None:
    """The ASCII-lowercased domain of ``local@domain``, ``@domain`` or ``domain``; None when
    it is not a plain LDH domain name."""
    domain = ascii_lower(value.rpartition("@")[2])
    return domain if len(domain) <= 253 and _DOMAIN.fullmatch(domain) else None


def _aligned(domain: str, other: str | None) -> bool:
    """Relaxed alignment: the same domain or one a subdomain of the other."""
    signer = _domain_of(other or "")
    if signer is None:
        return False
    return domain == signer or domain.endswith("." + signer) or signer.endswith("." + domain)


def _judge(domain: str, results: tuple[Result, ...]) -> tuple[bool, str]:
    by_method: dict[str, list[Result]] = {}
    for result in results:
        by_method.setdefault(result.method, []).append(result)
    for method in ("dmarc", "spf"):
        if len(by_method.get(method, [])) > 1:
            return False, f"more than one {method} result in Gmail's header"
    dmarc = by_method.get("dmarc", [None])[0]
    if dmarc is not None:
        header_from = dmarc.prop("header.from")
        shown = f"dmarc={dmarc.result} header.from={header_from}"
        if dmarc.result == "pass":
            if header_from is None:
                return False, "dmarc=pass names no header.from"
            if ascii_lower(header_from) != domain:
                return False, f"dmarc=pass is for {header_from}, not {domain}"
            return True, shown
        if dmarc.result in _FAILED_DMARC:
            return False, shown
    for dkim in by_method.get("dkim", []):
        signer = dkim.prop("header.d") or dkim.prop("header.i")
        if dkim.result == "pass" and _aligned(domain, signer):
            return True, f"dkim=pass for {signer}, aligned with {domain}"
    for spf in by_method.get("spf", []):
        mailfrom = spf.prop("smtp.mailfrom")
        if spf.result == "pass" and _aligned(domain, mailfrom):
            return True, f"spf=pass smtp.mailfrom={mailfrom}, aligned with {domain}"
    summary = " ".join(f"{r.method}={r.result}" for r in results) or "no results"
    return False, f"nothing aligned with {domain} passed ({summary})"


def _gmail_results(values: list[str]) -> AuthResults | str | None:
    """Gmail's parsed header, or why it cannot be trusted (str), or None when absent."""
    if not values:
        return None
    top_id = _authserv_id(values[0])
    if top_id == GMAIL_AUTHSERV_ID:
        try:
            return parse_results(values[0])
        except Unparseable as exc:
            return f"Gmail's Authentication-Results cannot be read: {exc}"
    if any(_authserv_id(v) == GMAIL_AUTHSERV_ID for v in values[1:]):
        above = top_id or "an unreadable header"
        return f"an mx.google.com header below {above}'s: the sender may have written it"
    return None


def check_sender(mail: Mail) -> SenderCheck:
    """Whether Gmail authenticated the From domain; never raises."""
    sender = mail.sender
    email = sender.email if sender else None
    gmail = _gmail_results(mail.raw_headers_named("Authentication-Results"))
    if gmail is None:
        return SenderCheck(email, None, "no Authentication-Results from mx.google.com")
    if isinstance(gmail, str):
        return SenderCheck(email, False, gmail)
    if sender is None:
        return SenderCheck(None, False, "no single usable From address")
    domain = _domain_of(sender.email)
    if domain is None:
        return SenderCheck(email, False, f"the From domain of {sender.email} is not a plain name")
    authenticated, evidence = _judge(domain, gmail.results)
    return SenderCheck(email, authenticated, evidence)
