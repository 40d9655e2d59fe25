"""The new text of a message: what its writer typed, without quoted history, signature,
"Sent from my iPhone" or legal disclaimer.

Works on the patterns of Gmail, Apple Mail, Outlook (the ``____`` / From / Sent block and
``-----Original Message-----``), Thunderbird and mobile clients, with the attribution lines
and header labels of every language in ``rules/phrases``. HTML mail loses its quote
elements (``gmail_quote``, ``divRplyFwdMsg``, ``blockquote``, ...) before it becomes text.
Bottom-posted replies (the new text below the quote) and interleaved replies (answers
between ``>`` lines) keep their new text.

This module is hand-written rather than built on mail-parser-reply: its patterns are not
user-editable, its signature rule cuts a line such as "Thanks, happy to help!", and it
misses Gmail's Spanish attribution line.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from introbot.reading.mime import Mail, parse_html, soup_to_text
from introbot.rules import Phrases, normalize

MAX_LINES = 4000
MAX_READ_CHARS = 60_000
MAX_LINE_CHARS = 4_000
_SIG_DELIMITER = re.compile(r"^--\s*$")
_UNDERSCORES = re.compile(r"^\s*_{8,}\s*$")
_HEADER_LINE = re.compile(r"^\s*\*?([^\W\d_][\w .'-]{0,20}?)\*?\s*:\s*\S")

# HTML elements that hold quoted history, and ones after which everything is history.
_QUOTE_SELECTORS = (
    "div.gmail_quote",
    "div.gmail_attr",
    "blockquote",
    "div.yahoo_quoted",
    "div.protonmail_quote",
    "div.moz-cite-prefix",
    "div.zmail_extra",
)
_CUT_FROM_SELECTORS = (
    "div#divRplyFwdMsg",
    "div#appendonsend",
    "div#mail-editor-reference-message-container",
)


def _remove_with_following(tag: Tag) -> None:
    for sibling in list(tag.find_next_siblings()):
        sibling.decompose()
    tag.decompose()


def html_new_text(html: str) -> str:
    """Text of an HTML body with its quoted history removed."""
    soup: BeautifulSoup = parse_html(html)
    for selector in _CUT_FROM_SELECTORS:
        for tag in soup.select(selector):
            previous = tag.find_previous_sibling("hr")
            if previous is not None:
                previous.decompose()
            _remove_with_following(tag)
    for div in soup.find_all("div", style=True):
        style = str(div.get("style", "")).replace(" ", "").lower()
        if "border-top:solid" in style and "from:" in div.get_text(" ", strip=True).lower()[:200]:
            _remove_with_following(div)
    for selector in _QUOTE_SELECTORS:
        for tag in soup.select(selector):
            tag.decompose()
    return soup_to_text(soup)


# ------------------------------------------------------------------- plain text rules
def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _is_header_block(lines: list[str], index: int, phrases: Phrases) -> bool:
    """An Outlook-style block: two or more ``Label: value`` lines among the next five,
    the first a From label ("From:", "De :", "Von:"...)."""
    labels = []
    for line in lines[index : index + 6]:
        match = _HEADER_LINE.match(line.lstrip("> *"))
        label = normalize(match.group(1)).strip() if match else ""
        if label in phrases.header_from or label in phrases.header_labels:
            labels.append(label)
        elif not labels:
            return False  # the block must start on this very line
    return len(labels) >= 2 and labels[0] in phrases.header_from


def _marker(lines: list[str], index: int, phrases: Phrases) -> bool:
    """Does a quoted message (or a forwarded one) start at this line?"""
    line = lines[index].strip()
    bare = line.lstrip("> ").strip()
    lowered = normalize(bare)
    if not bare:
        return False
    if any(lowered.startswith(m) for m in phrases.original_message + phrases.forwarded):
        return True
    if _UNDERSCORES.match(bare):
        return _is_header_block(lines, index + 1, phrases)
    if _is_header_block(lines, index, phrases):
        return True
    # An attribution may wrap over up to three lines ("On Tue, ... Sam Rivera <" /
    # "sam@x> wrote:"): a run of non-blank lines whose first does not end a sentence.
    for span in (1, 2, 3):
        run = [part.strip().lstrip("> ").strip() for part in lines[index : index + span]]
        if len(run) < span or not all(run) or (span > 1 and run[0][-1] in ".!?"):
            break
        joined = " ".join(run)
        if len(joined) <= 400 and any(p.search(joined) for p in phrases.attribution):
            return True
    return False


def quote_start(lines: list[str], phrases: Phrases) -> int | None:
    for index in range(len(lines)):
        if _marker(lines, index, phrases):
            return index
    return None


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() and not _is_quoted(line) for line in lines)


def _signs_name(lowered: str, names: tuple[str, ...]) -> bool:
    """A line that is the writer's name, or starts with it ("Dana Whitfield | VP ...")."""
    bare = lowered.lstrip("-–— ").strip()
    return any(bare == name or re.match(rf"{re.escape(name)}\s*[|,/•·–—-]", bare) for name in names)


def cut_signature(lines: list[str], phrases: Phrases, signer: str | None = None) -> list[str]:
    """Everything from the signature, "Sent from my ..." or a disclaimer on is dropped.

    ``signer`` is the writer's display name: a line holding just that name (or their first
    name) after some text starts the signature even without a ``--`` delimiter."""
    names: tuple[str, ...] = ()
    if signer:
        full = normalize(" ".join(signer.split()))
        names = (full, full.split()[0]) if " " in full else (full,)
    seen_text = False
    for index, line in enumerate(lines):
        bare = line.strip()
        lowered = normalize(bare)
        if seen_text and names and _signs_name(lowered, names):
            return lines[:index]
        if _SIG_DELIMITER.match(bare) and seen_text:
            return lines[:index]
        if any(lowered.startswith(s) for s in phrases.sent_from):
            return lines[:index]
        if phrases.disclaimers.find(lowered) and seen_text:
            return lines[:index]
        if seen_text and lowered.rstrip(",.!") in phrases.signoffs:
            return lines[:index]
        seen_text = seen_text or bool(bare)
    return lines


def _without_sent_lines(lines: list[str], sent_text: str | None) -> list[str]:
    """Drop lines pasted back from the message we sent (a quote without quote marks)."""
    if not sent_text:
        return lines

    def key(line: str) -> str:
        return " ".join(normalize(line.lstrip("> ")).split()).strip(" .,:;!?")

    ours = {key(line) for line in sent_text.splitlines() if key(line)}
    pasted = any(len(key(line)) >= 12 and key(line) in ours for line in lines)
    if not pasted:  # short lines alone ("Sam") are no proof of a paste
        return lines
    return [line for line in lines if key(line) not in ours]


def plain_new_text(
    text: str, phrases: Phrases, sent_text: str | None = None, signer: str | None = None
) -> str:
    text = text[:MAX_READ_CHARS]  # what a person types above a quote is never longer
    lines = [
        line[:MAX_LINE_CHARS]
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:MAX_LINES]
    ]
    start = quote_start(lines, phrases)
    if start is not None:
        above, below = lines[:start], lines[start + 1 :]
        if _has_content(above):
            lines = above
        else:  # bottom-posted or interleaved under an attribution: the unquoted lines below
            lines = [line for line in below if not _is_quoted(line)]
            nested = quote_start(lines, phrases)
            lines = lines[:nested] if nested is not None else lines
    lines = [line for line in lines if not _is_quoted(line)]
    lines = cut_signature(lines, phrases, signer)
    lines = _without_sent_lines(lines, sent_text)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()


def new_text(mail: Mail, phrases: Phrases, sent_text: str | None = None) -> str:
    """What the writer of ``mail`` typed. ``sent_text`` is the message they answer, if
    known: its lines are removed even when pasted back without quote marks."""
    signer = mail.sender.name if mail.sender else None
    if mail.plain is not None:
        return plain_new_text(mail.plain, phrases, sent_text, signer)
    if mail.html is not None:
        text = plain_new_text(html_new_text(mail.html), phrases, sent_text, signer)
        return text or plain_new_text(mail.text, phrases, sent_text, signer)
    return ""
