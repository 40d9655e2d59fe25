"""Text primitives: one clean line, clean multi-line text, RFC 2047 words decoded.

The bottom of introbot: this module imports nothing of introbot. What it cleans can never
carry a header into a message written later: no CR, LF or other control or invisible
formatting characters survive :func:`clean_line`.
"""

from __future__ import annotations

import codecs
import email.header
import unicodedata

#: Said at the end of a text whose end was not read, so that no reader takes what it did
#: read for the whole message (a yes needs the whole reply explained).
NOT_READ = "[introbot stopped reading here; the message goes on]"


def _format_chars() -> str:
    """Every invisible formatting character (Unicode category Cf: zero-width, bidi
    overrides, soft hyphen, tags). They live in planes 0, 1 and 14 only."""
    ranges = (range(0x10000), range(0x10000, 0x20000), range(0xE0000, 0xE1000))
    return "".join(chr(c) for r in ranges for c in r if unicodedata.category(chr(c)) == "Cf")


_CF = _format_chars()
_CC = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))  # category Cc
_LINE_TABLE = {**dict.fromkeys(map(ord, _CF)), **dict.fromkeys(map(ord, _CC + "\u2028\u2029"), " ")}
_TEXT_TABLE = {
    **dict.fromkeys(map(ord, _CF + _CC.replace("\t", "").replace("\n", ""))),
    0xA0: " ",
}


def clean_line(value: str, limit: int | None = None) -> str:
    """One line of plain text: controls, line breaks and invisible formatting characters
    (zero-width, bidi overrides) become spaces or vanish; runs of spaces collapse."""
    cleaned = " ".join(value.translate(_LINE_TABLE).split())
    return cleaned[:limit] if limit is not None else cleaned


def clean_text(value: str) -> str:
    """Multi-line text: keeps line breaks, drops other controls and invisible formatting."""
    return value.replace("\r\n", "\n").replace("\r", "\n").translate(_TEXT_TABLE)


def decode_words(raw: str) -> str:
    """RFC 2047 encoded words decoded. Never raises: the email package can raise anything
    from ``email.errors`` on a crafted header (``=?ü?q?x?=`` gives CharsetError), and then
    each word is decoded alone, an unknown charset as UTF-8 with replacements."""
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))
    except Exception:
        pass
    try:
        chunks = email.header.decode_header(raw)
    except Exception:
        return raw
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            text = chunk
        else:
            try:
                text = chunk.decode(codecs.lookup(str(charset or "ascii").strip()).name, "replace")
            except (LookupError, ValueError, UnicodeError, TypeError):
                text = chunk.decode("utf-8", "replace")
        if out and text and not out[-1][-1:].isspace() and not text[:1].isspace():
            out.append(" ")
        out.append(text)
    return "".join(out)
