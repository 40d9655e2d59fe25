"""What a draft may say about a person before they agreed: no address in any spelling.

An address can be written plainly, inside a mailto link, with a look-alike at sign
(fullwidth U+FF20, small U+FE6B), URL-encoded (``%40``), or spelled out to beat scrapers
(``dana [at] northwind [dot] io``, ``dana(at)northwind(dot)io``, ``dana at northwind dot
io``). Every one of these is taken out, with the brackets or ``mailto:`` around it. A
display name that is, or holds, an address is no name. Pure; linear (every pattern is
bounded and anchored on an at sign or a spelled "at").
"""

from __future__ import annotations

import re

# Characters that stand for "@" in text; mapped one to one, so offsets are kept.
_AT_LOOKALIKES = str.maketrans({"\uff20": "@", "\ufe6b": "@"})
_LOCAL = r"[\w.!#$%&'*+/=?^`{|}~-]{1,256}"
_LABEL = r"[\w-]{1,63}"
_SYMBOL_AT = r"\s{0,2}(?:@|%40|[(\[{<]\s{0,2}at\s{0,2}[)\]}>])\s{0,2}"
_SPELLED_AT = r"\s{1,3}at\s{1,3}"
_ANY_DOT = r"(?:\s{0,2}[(\[{<]\s{0,2}dot\s{0,2}[)\]}>]\s{0,2}|\s{1,3}dot\s{1,3}|\s{0,2}\.\s{0,2})"
_TIGHT_DOT = r"(?:\s{0,2}[(\[{<]\s{0,2}dot\s{0,2}[)\]}>]\s{0,2}|\s{1,3}dot\s{1,3}|\.)"
_SPELLED_DOT = r"(?:\s{0,2}[(\[{<]\s{0,2}dot\s{0,2}[)\]}>]\s{0,2}|\s{1,3}dot\s{1,3})"
_TLD = r"[^\W\d_]{2,24}"

# A symbol (or bracketed) at, then a domain with at least one dot of any spelling.
_WITH_SYMBOL = rf"{_LOCAL}{_SYMBOL_AT}{_LABEL}(?:{_ANY_DOT}{_LABEL}){{0,7}}{_ANY_DOT}{_TLD}"
# A bare word "at": only with a spelled "dot" too and no spaced ".", so prose ("she works at
# acme.com", "he is at Tidepool. Call him") stays.
_WITH_WORD = (
    rf"{_LOCAL}{_SPELLED_AT}{_LABEL}(?:{_TIGHT_DOT}{_LABEL}){{0,7}}{_SPELLED_DOT}{_TLD}"
    rf"|{_LOCAL}{_SPELLED_AT}{_LABEL}(?:{_SPELLED_DOT}{_LABEL}){{1,7}}{_TIGHT_DOT}{_TLD}"
)
_ADDRESS = re.compile(
    rf"(?<![\w.%+'-])(?:mailto:\s{{0,2}})?(?:{_WITH_SYMBOL}|{_WITH_WORD})(?![\w-])",
    re.IGNORECASE,
)
_WRAPPED = re.compile(r"\s{0,3}[<(\[{]\s{0,3}\x00\s{0,3}[>)\]}]|\s{0,3}\x00")
MAX_REDACT_CHARS = 200_000


def redact_addresses(text: str) -> str:
    """``text`` with every email address taken out, however it is spelled."""
    text = text[:MAX_REDACT_CHARS].replace("\x00", "")
    lookalikes_mapped = text.translate(_AT_LOOKALIKES)  # one character for one: same offsets
    kept, cursor = [], 0
    for match in _ADDRESS.finditer(lookalikes_mapped):
        kept += [text[cursor : match.start()], "\x00"]
        cursor = match.end()
    if not kept:
        return text
    kept.append(text[cursor:])
    return _WRAPPED.sub("", "".join(kept))


def holds_address(text: str) -> bool:
    """Is there an address, in any spelling, in ``text`` (a display name, say)?"""
    return bool(_ADDRESS.search(text[:MAX_REDACT_CHARS].translate(_AT_LOOKALIKES))) or (
        "@" in text.translate(_AT_LOOKALIKES)
    )
