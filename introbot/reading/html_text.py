"""HTML to text: the visible part of an HTML body as a tree (see
:mod:`introbot.reading.visible`) and as plain text, with mailto links spelled out.

Part of the bottom layer: this module imports nothing of introbot but the bottom layer.
A body too heavy to parse (an HTML bomb), cut short, or rejected by the parser is read
roughly, and counts as possibly hiding words.
"""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import unquote

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PageElement

from introbot.reading.addresses import EMAIL_IN_TEXT
from introbot.reading.text import NOT_READ, clean_line, clean_text
from introbot.reading.visible import readable, strip_hidden

MAX_HTML_CHARS = 400_000  # HTML handed to the HTML parser
MAX_TAGS = 2_000  # beyond this, an HTML body is read roughly rather than parsed
_NOT_TEXT_OPEN = re.compile(r"<(script|style|head|title|template|noscript)\b[^<>]{0,2000}>", re.I)
_BREAKS = re.compile(r"<(?:br|/p|/div|/li|/tr|/h\d)\b[^<>]{0,2000}>", re.I)
_TAGS = re.compile(r"<[^<>]{0,2000}>")
_UNCLOSED_TAG = re.compile(r"<[^<>]{0,2000}$")
_BLANK_LINES = re.compile(r"\n[^\S\n]*(?:\n[^\S\n]*)+")
_BLOCKS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt",
}  # fmt: skip


def _without_html_comments(source: str) -> str:
    """Markup minus ``<!-- ... -->``, in one pass (an unclosed comment runs to the end)."""
    out, at = [], 0
    while (start := source.find("<!--", at)) >= 0:
        out.append(source[at:start])
        end = source.find("-->", start + 4)
        if end < 0:
            return "".join(out)
        at = end + 3
    out.append(source[at:])
    return "".join(out)


def _without_not_text(source: str) -> str:
    """Markup minus script, style, head, title, template and noscript elements, in one pass:
    once a closing tag is missing, later openings of that element are not searched again."""
    out, at, unclosed = [], 0, set()
    while found := _NOT_TEXT_OPEN.search(source, at):
        name = found.group(1).lower()
        closing = re.compile(f"</{name}", re.I)
        close = None if name in unclosed else closing.search(source, found.end())
        if close is None:
            unclosed.add(name)
            out.append(source[at : found.end()])
            at = found.end()
            continue
        end = source.find(">", close.end())
        out.append(source[at : found.start()] + " ")
        at = len(source) if end < 0 else end + 1
    out.append(source[at:])
    return "".join(out)


def _rough_soup(source: str) -> BeautifulSoup:
    """A body too heavy to parse (an HTML bomb), or one the parser rejects: tags stripped
    by pattern, the text kept as lines."""
    text = _BREAKS.sub("\n", _without_not_text(_without_html_comments(source)))
    text = _UNCLOSED_TAG.sub(" ", _TAGS.sub(" ", text))  # a tag cut off at the end too
    text = _BLANK_LINES.sub("\n\n", text)  # ten thousand closing divs: not as many lines
    soup = BeautifulSoup("", "html.parser")
    for index, line in enumerate(html.unescape(text).split("\n")):
        if index:
            soup.append(soup.new_tag("br"))
        soup.append(NavigableString(line))
    return soup


@functools.lru_cache(maxsize=2)
def _visible_soup(source: str) -> tuple[BeautifulSoup, bool, str]:
    """The parsed body with what a reader would not see taken out (see reading/visible.py),
    whether that hid any words, and why the body could not be checked ("" when it was). A
    body too heavy to check (more than ``MAX_TAGS`` tags: parsing costs tens of
    microseconds a tag), one cut short, or one html.parser rejects, is read roughly (hidden
    text and all) and counts as possibly hiding words.

    Parsed once per body: its text, whether it hides words and its new text (quotes.py)
    are all read from this one tree, which therefore no reader changes."""
    source = source[:MAX_HTML_CHARS]
    if source.endswith(NOT_READ):
        return _rough_soup(source), True, "its HTML is too long to read whole"
    if source.count("<") > MAX_TAGS:
        return (
            _rough_soup(source),
            True,
            f"its HTML is too big to check what a reader sees (over {MAX_TAGS:,} tags)",
        )
    try:
        soup = BeautifulSoup(source, "html.parser")
        return soup, strip_hidden(soup), ""
    except Exception:  # e.g. ParserRejectedMarkup on "<![foo": the body must still read
        return _rough_soup(source), True, "its HTML cannot be parsed"


def parse_html(source: str) -> BeautifulSoup:
    """The visible part of an HTML body as a tree: no hidden elements, no text in the
    colour of its background or too small to read, no comments, scripts or styles.
    The tree is shared (parsed once per body): read it, never change it."""
    return _visible_soup(source)[0]


def html_hides_text(source: str) -> bool:
    """Does this HTML body hold words its reader does not see (or might not)?"""
    return _visible_soup(source)[1]


def html_unchecked(source: str) -> str:
    """Why what a reader of this HTML body sees could not be worked out ("" when it
    was): its text is then read roughly, hidden words included."""
    return _visible_soup(source)[2]


def _mailto_text(link: Tag) -> str | None:
    """A mailto link as ``Label <address>``; None for any other element."""
    href = str(link.get("href") or "") if link.name == "a" else ""
    if not href.lower().startswith("mailto:"):
        return None
    # The target is what a click would use: one address, nothing smuggled after it;
    # addresses written in the label are not shown as text beside it.
    target = clean_line(unquote(href[7:].split("?", 1)[0]))
    found = EMAIL_IN_TEXT.search(target)
    address = found.group(0) if found else ""
    words = (str(s).strip() for s in link.descendants if readable(s))
    label = EMAIL_IN_TEXT.sub("", clean_line(" ".join(w for w in words if w))).strip(" :,;")
    if address and label:
        return f"{label} <{address}>"
    return address or label


def soup_to_text(soup: BeautifulSoup | Tag, skip: frozenset[int] = frozenset()) -> str:
    """Visible text with line breaks kept and mailto links spelled out as ``Name <addr>``;
    the elements whose ``id()`` is in ``skip`` are left out with all they hold.

    One walk over the tree (no changes made to it), so the cost is linear at any depth."""
    pieces: list[str] = []
    stack: list[PageElement | None] = list(reversed(soup.contents))  # None: a line break
    while stack:
        node = stack.pop()
        if node is not None and skip and id(node) in skip:
            continue
        if node is None:
            pieces.append("\n")
        elif not isinstance(node, Tag):
            if readable(node):
                pieces.append(str(node))
        elif node.name == "br":
            pieces.append("\n")
        elif (mailto := _mailto_text(node)) is not None:
            pieces.append(mailto)
        else:
            if node.name in _BLOCKS:
                pieces.append("\n")
                stack.append(None)
            stack.extend(reversed(node.contents))
    text = clean_text("".join(pieces))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(source: str) -> str:
    return soup_to_text(parse_html(source))
