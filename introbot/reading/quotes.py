"""The new text of a message: what its writer typed, without quoted history, a signature
block, a mail app's footer line or a legal disclaimer.

Quoted history starts at an attribution line ("On ... wrote:", "Am ... schrieb", "Den ...
skrev", "2026年1月5日(月) 10:00 Sam <sam@x>:", wrapped over up to four lines, or typed on the
same line after the reply: "Sounds good! On ..."), an Outlook header block ("From: / Sent: /
To:" in any language of ``rules/phrases``, after a ``____`` or ``----`` rule or not), or a
separator ("-----Original Message-----", "---Original Message---", "---- 原始邮件 ----").
HTML mail first loses its quote elements (``gmail_quote``, ``divRplyFwdMsg``,
``blockquote``, ...) and client-inserted signatures. With ``>`` quotes, what is not quoted
below them is new text too (bottom-posted and interleaved replies).

Safety rule: a sentence the writer typed never silently disappears. So a mobile footer
("Sent from my iPhone") is removed as one line and what follows it stays; "Thanks," and
what follows stay; a signature block is removed only when every line of it is a name, a
title or contact details (see :func:`cut_signature`), and a P.S. below it stays.

Everything here is pure and linear in the input, which is capped (``MAX_*``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from bs4 import BeautifulSoup, Tag
from bs4.element import CData, NavigableString, PageElement

from introbot.reading.html_text import parse_html, soup_to_text
from introbot.reading.mime import Mail
from introbot.reading.phrases import normalize
from introbot.reading.text import NOT_READ
from introbot.rules import Phrases

# What a person types is never longer: a reply is read from its first MAX_LINES lines and
# MAX_READ_CHARS characters. What follows counts as unread (no yes can be taken from the
# reply) only where it could still be the writer's: after a top-posted reply's quoted
# history nothing is, and below ">" quotes only unquoted lines are.
MAX_LINES = 500
MAX_READ_CHARS = 20_000
#: Lines that may open an attribution whose patterns are tried in one text: each try costs
#: tens of microseconds, so a text of thousands of such lines (a hostile one) is read up to
#: the last one tried, and the rest counts as unread.
MAX_ATTRIBUTION_TRIES = 60
MAX_LINE_CHARS = 4_000
_MAX_DEPTH = 3  # nested bottom-posted replies followed
_MAX_CUTS = 8  # places tried on one line for an attribution after typed text

# HTML elements that hold quoted history, and ones after which everything is history, as
# (element, attribute, value): "class" matches one of the element's classes. In order of
# the CSS selectors they stand for ("div.gmail_quote", "blockquote", "div#divRplyFwdMsg").
_QUOTE_ELEMENTS = (
    ("div", "class", "gmail_quote"),
    ("div", "class", "gmail_attr"),
    ("blockquote", None, None),
    ("div", "class", "yahoo_quoted"),
    ("div", "class", "protonmail_quote"),
    ("div", "class", "moz-cite-prefix"),
    ("div", "class", "zmail_extra"),
    ("div", "class", "gmail_quote_container"),
    ("div", "name", "messageReplySection"),  # Spark
    ("div", "class", "gmail_signature"),  # a signature block the client inserted
    ("div", "name", "messageSignatureSection"),  # Spark's
)
_CUT_FROM_ELEMENTS = (
    ("div", "id", "divRplyFwdMsg"),
    ("div", "id", "appendonsend"),
    ("div", "id", "mail-editor-reference-message-container"),
)
_HEAD_CHARS = 200  # of an Outlook header block's text looked at for "From:"
_HEAD_NODES = 20  # elements and strings looked at for them ("From:" comes within ~5)
_QUOTE_NAMES = frozenset(name for name, _, _ in _QUOTE_ELEMENTS)


def _is(tag: Tag, element: tuple[str, str | None, str | None]) -> bool:
    name, attribute, value = element
    if tag.name != name:
        return False
    if attribute is None:
        return True
    found = tag.get(attribute)
    if attribute == "class":
        return value in (found if isinstance(found, list) else str(found or "").split())
    return found == value


def _text_head(tag: Tag, limit: int, removed: set[int]) -> str:
    """The start of ``tag.get_text(" ", strip=True)`` less what is removed: only as much as
    ``limit`` needs and at most ``_HEAD_NODES`` nodes looked at, so that looking into each
    of many nested elements stays linear."""
    pieces: list[str] = []
    size = 0
    for seen, node in enumerate(_walk(tag, removed)):
        if seen > _HEAD_NODES:
            break
        if isinstance(node, NavigableString) and type(node) in (NavigableString, CData):
            text = node.strip()
            if not text:
                continue
            pieces.append(text)
            size += len(text) + 1
            if size >= limit:
                break
    return " ".join(pieces)


def _walk(root: Tag, removed: set[int]) -> Iterator[PageElement]:
    """Everything under ``root`` in document order, less removed elements and all they
    hold (no recursion: any depth)."""
    stack: list[PageElement] = list(reversed(root.contents))
    while stack:
        node = stack.pop()
        if id(node) in removed:
            continue
        yield node
        if isinstance(node, Tag) and id(node) not in removed:  # removed on the way
            stack.extend(reversed(node.contents))


def _remove_with_following(tag: Tag, removed: set[int]) -> None:
    removed.update(id(sibling) for sibling in tag.find_next_siblings())
    removed.add(id(tag))


@functools.lru_cache(maxsize=2)  # a reply's readers ask for it more than once
def html_new_text(html: str) -> str:
    """Text of an HTML body with its quoted history removed, in the order of the CSS
    selectors this stands for: what everything after is history (and an ``<hr>`` just
    before it), Outlook's bordered header block (with what follows it), then the quote
    elements. The tree is shared (see html_text.parse_html), so it is not changed: what is
    removed is left out of the text. Each step is one walk."""
    soup: BeautifulSoup = parse_html(html)
    removed: set[int] = set()
    for node in _walk(soup, removed):
        if isinstance(node, Tag) and any(_is(node, element) for element in _CUT_FROM_ELEMENTS):
            previous = node.find_previous_sibling("hr")
            if previous is not None:
                removed.add(id(previous))
            _remove_with_following(node, removed)
    for node in _walk(soup, removed):
        if isinstance(node, Tag) and node.name == "div" and node.get("style"):
            style = str(node.get("style", "")).replace(" ", "").lower()
            if "border-top:solid" in style:
                head = _text_head(node, _HEAD_CHARS, removed).lower()[:_HEAD_CHARS]
                if "from:" in head:
                    _remove_with_following(node, removed)
    for node in _walk(soup, removed):
        if not isinstance(node, Tag) or node.name not in _QUOTE_NAMES:
            continue
        if any(_is(node, element) for element in _QUOTE_ELEMENTS):
            removed.add(id(node))
    return soup_to_text(soup, frozenset(removed))


# ------------------------------------------------------------------- plain text rules
_DECOR_CHARS = " \t\xa0*_=~#+>-–—"
_DECOR_RUN = re.compile(r"[-_=*~]{2,}")
_RULE_LINE = re.compile(r"^\s*(?:-{5,}|_{5,}|—{3,})\s*$")
_TRAILING_DECOR = re.compile(r"^\s*([-_=*~#+.])\1{1,}\s*$")
# Streak's tracking mark, zero-width and bidirectional controls (Arabic, Hebrew clients).
_INVISIBLE = str.maketrans(
    "",
    "",
    "\u1427\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff\u00ad",
)
_HEADER_LINE = re.compile(
    r"^\s*\*{0,2}([^\W\d_][\w .'-]{0,24}?)\*{0,2}\s*[:\uff1a]\s*\*{0,2}\s*(\S?)"
)
_TIME = re.compile(r"\d{1,2}[:.h]\d{2}")
_EMAIL = re.compile(r"[^\s<>()\[\]\"'@,;:]+@[^\s<>()\[\]\"'@,;:]+\.[^\W_]{2,}")
_BRACKETED_EMAIL = re.compile(
    r"[<(\[]\s*(?:mailto:)?[^\s<>()\[\]@]+@[^\s<>()\[\]]+\s*[>)\]]\s*[:\uff1a]?\s*$"
)
_DATE_LED = re.compile(
    r"^(?:[^\W\d_]{2,12}\.?,?\s+)?"  # an optional weekday ("ons", "Tue,")
    r"(?:\d{4}\s?[-/.年]\s?\d{1,2}\s?[-/.月]\s?\d{1,2}日?"  # 2014-10-17, 2011/4/7, 2022年1月1日
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 02.04.2012, 13-02-2014
    r"|\d{1,2}\.?\s+[^\W\d_]{3,12}\.?,?\s+\d{4})"  # 20 окт. 2016, 4 dec. 2024
)
_GMT = re.compile(r"\b(?:GMT|UTC)\s?[+-]\d{1,2}:?\d{2}|\b[AaPp]\.?[Mm]\.?\b")
_GMT_NAME = re.compile(r"(?:GMT|UTC)\s?[+-]\d{1,2}:?\d{2}\s+[^\W\d_][^,.;!?]{0,60}$")
_DIGIT_OR_AT = re.compile(r"[\d@]")
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f]\s*$")
_PLAIN_WORD = re.compile(r"^[\"'(\[]?[^\W\d_]+(?:['’-][^\W\d_]+)*[\"')\].,;:!?]*$")
# A sentence end, then what may start an attribution (not a lowercase continuation).
_TYPED_THEN_ATTRIBUTION = re.compile(
    r"(?:(?:[^\W\d_]{2,}\.|[!?])\s+|[\u3002\uff01\uff1f]\s*)(?=\S)"
)
_DATE_ABBREVIATION = re.compile(r"(?<![:\d])\d{1,4}\.?,?\s+(?:de\s+)?[^\W\d_]{2,4}\.$")
_ENDS_SENTENCE = re.compile(r"(?:[^\W\d_]{4,}[.]|[!?\u3002\uff01\uff1f]|\.\.)\s*$")
_KEYWORD_LED = re.compile(
    r"^\^(\((?:\?:)?)?([^\W\d_|]+(?: [^\W\d_|]+)?(?:\|[^\W\d_|]+(?: [^\W\d_|]+)?)*)(?(1)\))\\b"
)


F = TypeVar("F", bound=Callable[..., Any])


def _per_rules(function: F) -> F:
    """Memoize a function of one rule tuple by the tuple's identity: hashing 60 compiled
    patterns (as ``lru_cache`` does) costs ~25 µs, more than the work it saves per line."""
    memo: dict[int, tuple[object, Any]] = {}

    @functools.wraps(function)
    def cached(rules: object) -> Any:
        entry = memo.get(id(rules))
        if entry is None or entry[0] is not rules:
            entry = (rules, function(rules))
            if len(memo) > 32:
                memo.clear()
            memo[id(rules)] = entry
        return entry[1]

    return cached  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class _Marker:
    """Lines ``start:end`` begin quoted history; ``prefix`` is new text typed before an
    attribution on its own line ("Sounds good! On Tue, ... wrote:")."""

    start: int
    end: int
    kind: str  # attribution | header | separator | forward
    prefix: str = ""


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _bare(line: str) -> str:
    return line.strip().lstrip("> ").strip()


def _undecorated(text: str) -> tuple[str, bool]:
    """``text`` without the dashes, stars or underscores around it, and whether there were
    any ("-----Original Message-----", "*---- Forwarded ----*")."""
    inner = text.lstrip(_DECOR_CHARS)
    core = inner.rstrip(_DECOR_CHARS.replace(">", ""))
    left, right = text[: len(text) - len(inner)], inner[len(core) :]
    return core, bool(_DECOR_RUN.search(left) or _DECOR_RUN.search(right))


@_per_rules
def _separator_phrases(phrases: tuple[str, ...]) -> frozenset[str]:
    return frozenset(normalize(_undecorated(p)[0]).rstrip(" :") for p in phrases)


def _is_separator(bare: str, phrases: Phrases) -> str | None:
    """ "-----Original Message-----" (separator) or "Begin forwarded message:" (forward)."""
    if len(bare) > 120:
        return None
    core, decorated = _undecorated(bare)
    key = normalize(core).rstrip(" :")
    if key in _separator_phrases(phrases.forwarded):
        return "forward"
    if decorated and key in _separator_phrases(phrases.original_message):
        return "separator"
    return None


def _header_label(line: str, phrases: Phrases, first: bool = False) -> str | None:
    """The known label of a ``Label: value`` line ("From" with its value on the next line
    too, as HTML mail turns into text)."""
    match = _HEADER_LINE.match(_bare(line))
    if match is None:
        return None
    label = normalize(match.group(1)).strip()
    if not match.group(2):
        return label if first and label in phrases.header_from else None
    return label if label in phrases.header_from or label in phrases.header_labels else None


def _header_block_end(lines: list[str], index: int, phrases: Phrases) -> int | None:
    """If an Outlook-style block ("From: ... / Sent: ... / To: ...") starts at ``index``:
    the index after it. Two labelled lines or more among the next six, the first on this
    very line; a From label among them or a full date and time on the first."""
    first = _header_label(lines[index], phrases, first=True) if index < len(lines) else None
    if first is None:
        return None
    labels, end, blanks, loose = [first], index + 1, 0, 0
    for offset in range(index + 1, min(len(lines), index + 14)):
        if not lines[offset].strip():  # HTML mail puts a blank line between the labels
            blanks += 1
            if blanks > 1:
                break
            continue
        label = _header_label(lines[offset], phrases)
        if label is not None:  # a wrapped value between two labels belongs to the block
            labels.append(label)
            end, blanks, loose = offset + 1, 0, 0
        elif blanks or loose >= 2:
            break
        else:
            loose += 1
    has_from = any(label in phrases.header_from for label in labels)
    dated = bool(
        _TIME.search(lines[index]) and re.search(r"(?<!\d)(?:19|20)\d\d(?!\d)", lines[index])
    )
    return end if len(labels) >= 2 and (has_from or dated) else None


def _skip_blank(lines: list[str], index: int, most: int = 3) -> int:
    limit = min(len(lines), index + most)
    while index < limit and not lines[index].strip():
        index += 1
    return index


def _attribution_text(text: str, phrases: Phrases) -> bool:
    """Is ``text`` (one line or a wrapped run joined) an attribution line?"""
    core, decorated = _undecorated(text)
    if not core or len(core) > 400:
        return False
    anchored, floating = _combined(phrases.attribution)
    candidates = (core, core + ":") if decorated else (core,)
    if _worth_trying(core, candidates, phrases) and any(
        anchored.match(c) or floating.search(c) for c in candidates
    ):
        return True
    return _date_led(core)


def _worth_trying(core: str, candidates: tuple[str, ...], phrases: Phrases) -> bool:
    """Can any attribution pattern match? Those that need a closing colon cannot match a
    text that does not end with one, and the others start with a word of their own (see
    ``_start_words``): the patterns cost ~60 µs a try, this check almost nothing."""
    words = _start_words(phrases.attribution)
    if words is None or _combined(phrases.attribution)[1].pattern != r"(?!)":
        return True
    if any(c.rstrip().endswith((":", "\uff1a")) for c in candidates):
        return True
    return core.lower().startswith(words)


@_per_rules
def _combined(patterns: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The attribution patterns as two: those tied to the start of the line (tried there
    only, which is much faster) and the others."""
    anchored = [p.pattern[1:] for p in patterns if p.pattern.startswith("^")]
    floating = [p.pattern for p in patterns if not p.pattern.startswith("^")]
    return _join(anchored), _join(floating)


def _join(patterns: list[str]) -> re.Pattern[str]:
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)", re.IGNORECASE)
    except re.error:  # each compiles alone (rules.py checks), so this is a safety net
        return re.compile(r"(?!)")


def _date_led(core: str) -> bool:
    """ "2014-10-17 11:28 GMT+03:00 Sam <sam@x>:", "2011/4/7 Sam <sam@x>": a date first,
    then a closing colon (with a time), or just a name and its bracketed address, or a GMT
    offset and a name. A sentence that starts with a date ("10.02.2026 at 10:00 is fine,
    cc Jamie <jamie@x>") is not one."""
    match = _DATE_LED.match(core)
    if match is None or len(core) > 250 or _SENTENCE_END.search(core):
        return False
    rest = core[match.end() :].rstrip()
    if rest.endswith((":", "\uff1a")):
        return bool(_TIME.search(rest) or _BRACKETED_EMAIL.search(rest))
    address = _BRACKETED_EMAIL.search(rest)
    if address is not None:
        name = _GMT.sub("", _TIME.sub("", rest[: address.start()]))
        return len(name.split()) <= 6 and not re.search(r"[,;.!?]", name)
    return bool(_GMT_NAME.search(rest))


#: What an attribution run holds unless its pattern starts with a word of its own: a date
#: or time, an address, a colon, or a decoration ("---- Sam wrote ----" reads with a colon).
_ATTRIBUTION_HINT = re.compile(r"[\d:@<\uff1a\uff1c]|[-_=*~]{2}")
_COLON_AT_END = re.compile(r"(?::|\[:\uff1a\]|\[\uff1a:\])\\s\*\$$")
_LITERAL_START = re.compile(r"^\^([^\\\[\](){}.*+?|^$]+)")


@_per_rules
def _start_words(patterns: tuple[re.Pattern[str], ...]) -> tuple[str, ...] | None:
    """The words an attribution without a hint (see ``_ATTRIBUTION_HINT``) must start
    with ("on", "den", "在"), from the rules: patterns that need a closing colon need no
    word. None when some pattern fits neither (then every line is tried, as it may be)."""
    words: list[str] = []
    keyworded = {pattern.pattern for pattern in patterns if _KEYWORD_LED.match(pattern.pattern)}
    for pattern in patterns:
        source = pattern.pattern
        if _COLON_AT_END.search(source):
            continue
        if source in keyworded:
            match = _KEYWORD_LED.match(source)
            assert match is not None
            words += match.group(2).lower().split("|")
        elif literal := _LITERAL_START.match(source):
            words.append(literal.group(1).lower())
        else:
            return None
    return tuple(words)


def _may_start_attribution(lines: list[str], index: int, phrases: Phrases) -> bool:
    """A cheap test that rules out most lines before the patterns are tried: it keeps a
    long message of plain short lines linear and fast."""
    words = _start_words(phrases.attribution)
    if words is None or _combined(phrases.attribution)[1].pattern != r"(?!)":
        return True
    if _hint_within(lines, index):
        return True
    start = _undecorated(_bare(lines[index]))[0].lower()
    return start.startswith(words)


_hints: tuple[list[str], list[int]] | None = None  # the last lines looked at, their hints


def _hint_within(lines: list[str], index: int) -> bool:
    """Does one of the six lines from ``index`` hold an attribution hint? The positions of
    the hints in the last list of lines asked about are kept: the test is asked for
    every line of a text in turn, and must not cost six searches a line."""
    global _hints
    known = _hints
    if known is None or known[0] is not lines or len(known[1]) != len(lines) + 1:
        following, at = [len(lines) + 6] * (len(lines) + 1), len(lines) + 6
        for position in range(len(lines) - 1, -1, -1):  # the next hint at or after each line
            if _ATTRIBUTION_HINT.search(lines[position]):
                at = position
            following[position] = at
        known = _hints = (lines, following)
    return index < len(lines) and known[1][index] < index + 6


def may_hold_attribution(line: str, phrases: Phrases) -> bool:
    """False when no attribution pattern can match anywhere in ``line`` (patterns tied to
    the start of a line need a hint or one of their start words there): a cheap test that
    spares most lines the patterns."""
    return _may_start_attribution([line], 0, phrases)


def _span_end(lines: list[str], index: int, phrases: Phrases) -> int | None:
    """The end of an attribution starting at ``index``, which may wrap over up to four
    lines (one blank line allowed inside: Polymail's "On ... Sam" / "<" / "mailto:..." /
    "> wrote:"). None when no run from this line reads as one."""
    first = lines[index].strip()
    if not _bare(first) or len(first) > 400:
        return None
    if not _may_start_attribution(lines, index, phrases):
        return None
    parts: list[str] = []
    blanks = 0
    for offset in range(index, min(len(lines), index + 6)):
        bare = _bare(lines[offset])
        if not bare:
            blanks += 1
            if blanks > 1 or offset == index:
                break
            continue
        if parts and _ENDS_SENTENCE.search(parts[-1]):
            break
        if parts and parts[-1].rstrip().endswith((":", "\uff1a")):
            break  # an attribution ends at its colon: that line alone was the candidate
        parts.append(bare)
        if len(parts) > 4:
            break
        if _attribution_text(" ".join(parts), phrases):
            return offset + 1
    return None


def _attribution_marker(lines: list[str], index: int, phrases: Phrases) -> _Marker | None:
    """An attribution starting at this line, perhaps after new text on the same line."""
    bare = _bare(lines[index])
    end = _span_end(lines, index, phrases)
    if end is None:  # "Glad to! Den 5 jan. 2026 skrev Sam <sam@x>:" matches only from "Den"
        prefix = _split_prefix(bare, phrases) if bare.endswith((":", "\uff1a")) else ""
        return _Marker(index, index + 1, "attribution", prefix) if prefix else None
    joined = " ".join(_bare(line) for line in lines[index:end] if line.strip())
    prefix = _split_prefix(joined, phrases)
    first = bare.rstrip(_DECOR_CHARS + ",;:")
    prefix = prefix if len(prefix) < len(first) else ""  # it must end inside the first line
    if prefix or end - index == 1 or _attribution_head(bare, phrases):
        return _Marker(index, end, "attribution", prefix)
    for later in range(index + 1, end):  # "Hello" / "On ... wrote:": the attribution is later
        if lines[later].strip() and _span_end(lines, later, phrases) is not None:
            return None
    return _Marker(index, end, "attribution")


def _attribution_head(bare: str, phrases: Phrases) -> bool:
    """Does this line open a wrapped attribution ("On Tue, ... Sam <", "2014-10-17 ...")?"""
    core = _undecorated(bare)[0]
    if core.endswith("<") or _DATE_LED.match(core):
        return True
    lowered = normalize(core)
    return any(
        re.match(rf"{re.escape(word)}\b", lowered)
        for word, _ in _keyword_patterns(phrases.attribution)
    )


@_per_rules
def _keyword_patterns(
    patterns: tuple[re.Pattern[str], ...],
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The attribution patterns that start with a word ("^on\\b...", "^am\\b..."): their
    word, and the pattern without its ``^`` to try in the middle of a line."""
    found = []
    for pattern in patterns:
        match = _KEYWORD_LED.match(pattern.pattern)
        if match:  # "^on\b...", "^(den|på)\b..."
            try:
                rest = re.compile(pattern.pattern[1:], re.IGNORECASE)
            except re.error:
                continue
            found += [(word, rest) for word in match.group(2).split("|")]
    return tuple(found)


def _split_prefix(bare: str, phrases: Phrases) -> str:
    """Text typed before an attribution on the same line ("Sounds good! On Tue, ... Sam
    <sam@x> wrote:"), or "". The attribution is the shortest tail that reads as one; what
    is before it must read as typed text, not as a date."""
    if len(bare) > 400 or _DATE_LED.match(bare) or not _DIGIT_OR_AT.search(bare):
        return ""  # both cuts below need a digit or an address in the attribution
    keyworded = _keyword_patterns(phrases.attribution)
    cuts = [cut for word, pattern in keyworded if (cut := _keyword_cut(bare, word, pattern))]
    lowered = bare.lower()
    starts_so = any(lowered.startswith(word) and p.match(bare) for word, p in keyworded)
    if not cuts and not starts_so:  # not "Den man. 5. jan.":
        cuts = [_sentence_cut(bare, phrases)]
    prefix = bare[: max(cuts, default=0)].rstrip(_DECOR_CHARS + ",;:")
    return prefix if re.search(r"\w", prefix) else ""


def _keyword_cut(bare: str, word: str, pattern: re.Pattern[str]) -> int:
    """Where "On ... wrote:" (``word`` and ``pattern``) starts after typed text, or 0."""
    capital = word[:1].upper() + word[1:]
    if capital not in bare[1:]:
        return 0  # the usual case, found without a pattern
    starts = [m.start() for m in re.finditer(rf"(?<=[\s\-.!?,;:)]){re.escape(capital)}\b", bare)]
    for start in reversed(starts[-_MAX_CUTS:]):  # the shortest tail first
        before = bare[:start].rstrip(_DECOR_CHARS)
        typed = _SENTENCE_END.search(before) or not re.search(r"\d", before)
        if typed and re.search(r"\d", bare[start:]) and pattern.match(bare, start):
            return start
    return 0


def _sentence_cut(bare: str, phrases: Phrases) -> int:
    """Where an attribution starts after a typed sentence ("Yes! Sam <sam@x> wrote:"), or 0."""
    ends = [m.end() for m in _TYPED_THEN_ATTRIBUTION.finditer(bare)]
    for end in reversed(ends[-_MAX_CUTS:]):  # the shortest tail first: typed text is kept
        rest = bare[end:]
        if not (rest[:1].isalnum() or rest[:1] in "\"'<("):
            continue  # "lun., 9 feb.": a weekday, not a sentence
        if _DATE_ABBREVIATION.search(bare[:end].rstrip()):
            continue  # "5 de jan. de 2026", "2026. febr. 9.": a month, not a sentence
        if (_EMAIL.search(rest) or re.search(r"\d", rest)) and _attribution_text(rest, phrases):
            return end
    return 0


def _marker(lines: list[str], index: int, phrases: Phrases) -> _Marker | None:
    """Does quoted history (or a forwarded message) start at this line?"""
    bare = _bare(lines[index])
    if not bare:
        return None
    kind = _is_separator(bare, phrases)
    if kind is not None or _RULE_LINE.match(bare):
        after = _skip_blank(lines, index + 1)
        end = _header_block_end(lines, after, phrases)
        if kind is not None:
            return _Marker(index, end if end is not None else index + 1, kind)
        return _Marker(index, end, "separator") if end is not None else None
    end = _header_block_end(lines, index, phrases)
    if end is not None:
        return _Marker(index, end, "header")
    return _attribution_marker(lines, index, phrases)


def _find_marker(lines: list[str], phrases: Phrases) -> _Marker | None:
    """The first marker of quoted history, or an ``unread`` one where the tries allowed
    (``MAX_ATTRIBUTION_TRIES``) ran out."""
    tries = 0
    for index in range(len(lines)):
        if lines[index].strip() and _may_start_attribution(lines, index, phrases):
            tries += 1
            if tries > MAX_ATTRIBUTION_TRIES:
                return _Marker(index, len(lines), "unread")
        marker = _marker(lines, index, phrases)
        if marker is not None:
            return marker
    return None


def quote_start(lines: list[str], phrases: Phrases) -> int | None:
    """The index of the line where quoted history starts, if any, in the first
    ``MAX_LINES`` lines (what a person types before it is never longer)."""
    marker = _find_marker(lines[:MAX_LINES], phrases)
    return marker.start if marker is not None and marker.kind != "unread" else None


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() and not _is_quoted(line) for line in lines)


def _unquoted(lines: list[str]) -> list[str]:
    """The lines that are not quoted, less a link's tail that the quoting client wrapped
    onto a line of its own between two quoted lines (" (http://x/y) >")."""
    kept = []
    for index, line in enumerate(lines):
        if _is_quoted(line):
            continue
        inside = 0 < index < len(lines) - 1 and all(
            _is_quoted(lines[i]) for i in (index - 1, index + 1)
        )
        if inside and line.strip() and not any(_PLAIN_WORD.match(w) for w in line.split()):
            continue
        kept.append(line)
    return kept


def _strip_history(lines: list[str], phrases: Phrases, depth: int = 0) -> tuple[list[str], bool]:
    """The lines the writer typed, before any signature handling; and whether unquoted
    lines after these (ones not read) would count as typed too."""
    marker = _find_marker(lines, phrases) if depth < _MAX_DEPTH else None
    if marker is None:
        return [line for line in lines if not _is_quoted(line)], True
    if marker.kind == "unread":
        return [line for line in lines[: marker.start] if not _is_quoted(line)] + [
            "",
            NOT_READ,
        ], False
    above = lines[: marker.start] + ([marker.prefix] if marker.prefix else [])
    below = lines[marker.end :]
    after = _skip_blank(below, 0, len(below))
    gmail_style = marker.kind == "attribution" and after < len(below) and _is_quoted(below[after])
    if gmail_style:  # "> " quotes: what is not quoted below them is typed (bottom, interleaved)
        rest, more = _strip_history(_unquoted(below), phrases, depth + 1)
        return [line for line in above if not _is_quoted(line)] + [""] + rest, more
    if _has_content(above):
        return [line for line in above if not _is_quoted(line)], False
    if marker.kind == "forward":
        return [], False  # a forward with nothing added: the forwarded words are not the writer's
    unquoted = [line for line in below if not _is_quoted(line)]
    return _strip_history(unquoted, phrases, depth + 1)


# -------------------------------------------------------------- signatures and footers
_PHONE = re.compile(
    r"^(?:[^\W\d_][\w.]{0,12}\s*[:.]?\s*)?[+(]?\d[\d\s().\-/]{5,}\d(?:\s*\w{0,6})?$"
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SEPARATED = re.compile(r"\S\s+[|•·]\s+\S|\S\s*\|\s*\S")
_NAME_WORD = re.compile(r"^(?:[^\W\d_][\w'’.-]*|[^\W\d_]\.)$")
_PARTICLES = frozenset(
    {"de", "da", "di", "du", "del", "della", "der", "den", "van", "von", "la", "le", "y", "e",
     "i", "zu", "af", "bin", "al", "el", "dos", "das"}
)  # fmt: skip
_TITLE_SMALL_WORDS = frozenset(
    {"of", "at", "and", "&", "for", "the", "in", "de", "la", "van", "der", "für", "und", "og",
     "och", "i", "en", "y", "e", "di", "du", "des", "del", "da"}
)  # fmt: skip
_CLAUSE_WORDS = frozenset(
    {"not", "no", "only", "unless", "but", "if", "except", "please", "never", "maybe",
     "perhaps", "after", "before", "until", "when", "just", "also", "happy", "sure", "yes",
     "thanks"}
)  # fmt: skip
_ABBREVIATIONS = ("inc.", "ltd.", "co.", "corp.", "llc.", "gmbh.", "jr.", "sr.", "s.a.", "b.v.")
_PS = re.compile(r"^\s*(?:p\.?\s?p?\.?s\.?|ps)\b", re.IGNORECASE)
_SIG_DELIMITER = re.compile(r"^(?:--\s*|_{8,}\s*)$")
_MAX_SIGNATURE_LINES = 12


def _name_like(bare: str) -> bool:
    """ "Dana Whitfield", "Person B", "-Sam", "/John": one to four capitalised words."""
    text = re.sub(r"^[-/~–—]{1,2}(?=\w)", "", bare)
    words = text.split()
    if not 1 <= len(words) <= 4 or not words[0][:1].isupper():
        return False
    if words[0].casefold().strip(",.") in _CLAUSE_WORDS:  # "Not Recruiters", "Only Tuesdays"
        return False
    return all(
        _NAME_WORD.match(w) and (w[:1].isupper() or w in _PARTICLES) and not w.endswith("'")
        for w in words
    )


def _contact_like(bare: str) -> bool:
    """A phone number, an address, a link, or details joined with "|"."""
    if _PHONE.match(bare):
        return True
    words = len(bare.split())
    if words <= 8 and ("@" in bare or _URL.search(bare)):
        return True
    return words <= 14 and bool(_SEPARATED.search(bare)) and not _SENTENCE_END.search(bare)


def _title_like(bare: str) -> bool:
    """ "VP Logistics", "Head of Partnerships, Northwind": short, capitalised, no clause."""
    words = bare.split()
    if not 1 <= len(words) <= 6 or not words[0][:1].isupper() or _PS.match(bare):
        return False
    if "'" in bare or "’" in bare or bare.endswith(("!", "?", ":", ";")):
        return False
    if bare.endswith(".") and not normalize(bare).endswith(_ABBREVIATIONS):
        return False
    return all(
        not w[:1].isalpha() or w[:1].isupper() or w.rstrip(",") in _TITLE_SMALL_WORDS for w in words
    )


def _block_end(lines: list[str], start: int, kind: str) -> int | None:
    """Where the signature block that starts at ``start`` ends: the end of the text, or a
    P.S. below it (kept). None when a line of it is neither a name, a title nor contact
    details, except up to two short taglines right under the contact details ("No calls
    on weekends, please." under a phone number, with no blank line between): a sentence
    typed after a bare name, or after a blank line, stays.
    """
    if len(lines) - start > 3 * _MAX_SIGNATURE_LINES:
        return None
    if kind == "name" and (start + 1 >= len(lines) or not lines[start + 1].strip()):
        return None  # a full name opens a block only with its details right below it
    contact = kind == "delimiter"
    titles = taglines = 0
    for index in range(start + 1, len(lines)):
        bare = lines[index].strip()
        if _PS.match(bare):
            return index
        if not bare or (contact and _SIG_DELIMITER.match(bare)):
            continue
        if _contact_like(bare) or _SIG_DELIMITER.match(bare):
            contact = True
        elif _title_like(bare) and not _name_like(bare):
            titles += 1
        elif _name_like(bare):
            continue
        elif contact and taglines < 2 and len(bare.split()) <= 15 and lines[index - 1].strip():
            taglines += 1  # attached to the block: after a blank line it is a sentence
        else:
            return None
    needs_contact = kind == "name" or titles > 0
    return len(lines) if contact or not needs_contact else None


def _signoff_rest(lowered: str, signoffs: frozenset[str]) -> str | None:
    """For a valediction line ("Best regards,", "Regards, Roman"): the rest after it."""
    text = lowered.strip().rstrip(",.!")
    if text in signoffs:
        return ""
    head, sep, rest = text.partition(",")
    return rest.strip() if sep and head.strip() in signoffs else None


def _starts_signature(
    line: str, names: tuple[str, ...], phrases: Phrases, after_blank: bool
) -> str | None:
    """How a signature block can start on this line, or None."""
    bare = line.strip()
    lowered = normalize(bare)
    if _SIG_DELIMITER.match(bare):
        return "delimiter"
    rest = _signoff_rest(lowered, phrases.signoffs)
    if rest is not None and (not rest or _name_like(bare.partition(",")[2].strip())):
        return "signoff"
    if names and _signs_name(line, names):
        return "signer"
    if re.match(r"^[-/~–—]{1,2}\w", bare) and _name_like(bare):
        return "signed"  # "-Sam", "/John", "~Dana"
    if after_blank and len(bare.split()) >= 2 and _name_like(bare):
        return "name"  # "Alex Kim", only with contact details below it
    return None


def _signs_name(line: str, names: tuple[str, ...]) -> bool:
    """A line that is the writer's name, or starts with it followed by details ("Dana
    Whitfield | VP ...", "Dana Whitfield, Northwind"), not by a sentence ("Dana, happy to")."""
    bare = line.strip().lstrip("-–—/~ ").strip().rstrip(",")
    lowered = normalize(bare)
    for name in names:
        if lowered == name:
            return True
        match = re.match(rf"{re.escape(name)}\s*([|,/•·–—-])\s*", lowered)
        if match is not None:
            details = bare[match.end() :]
            return match.group(1) != "," or _title_like(details) or _contact_like(details)
    return False


def _is_footer(bare: str, phrases: Phrases) -> bool:
    """ "Sent from my iPhone", "Sent with Proton Mail": a short line from the mail app. A
    sentence that happens to start so ("Sent from my desk, it is easier") is not."""
    if not bare:
        return False
    lowered = normalize(bare)
    if not lowered.startswith(tuple(phrases.sent_from)):
        return False
    text = _URL.sub("", re.sub(r"\([^)]*\)|<[^>]*>", "", bare)).strip().rstrip(".!")
    return len(text.split()) <= 12 and not re.search(r"[,;:!?]|\.\s", text)


def _cut_disclaimer(lines: list[str], phrases: Phrases) -> list[str]:
    seen_text = False
    for index, line in enumerate(lines):
        lowered = normalize(line.strip())
        if seen_text and _starts_paragraph(lines, index) and phrases.disclaimers.find(lowered):
            return lines[:index]
        seen_text = seen_text or bool(lowered)
    return lines


def _starts_paragraph(lines: list[str], index: int) -> bool:
    previous = lines[index - 1].strip() if index else ""
    return not previous or bool(_SIG_DELIMITER.match(previous) or _TRAILING_DECOR.match(previous))


def cut_signature(lines: list[str], phrases: Phrases, signer: str | None = None) -> list[str]:
    """The lines without a mobile footer, a legal disclaimer and a signature block.

    A signature block is the tail of the text from a "--" line, a valediction ("Best
    regards,"), the writer's own name (``signer``), a "-Sam" line or a full name over
    contact details, when every line from there on is a name, a title or contact details
    (see :func:`_block_end`). A P.S. below it is kept; any other sentence below it keeps
    the block too: nothing the writer typed is dropped. Lines after "Thanks" or "Sent from
    my iPhone" are kept."""
    names: tuple[str, ...] = ()
    if signer:
        full = normalize(" ".join(signer.split()))
        names = (full, full.split()[0]) if " " in full else (full,)
    lines = [line for line in lines if not _is_footer(line.strip(), phrases)]
    lines = _cut_disclaimer(lines, phrases)
    while lines and (not lines[-1].strip() or _TRAILING_DECOR.match(lines[-1])):
        lines = lines[:-1]
    seen_text = False
    for index, line in enumerate(lines):
        previous = lines[index - 1].strip() if index else ""
        # "Alex Kim" opens a block after a blank line or a closing line ("Thanks,")
        after_blank = not previous or (previous.endswith((",", "!")) and len(previous.split()) <= 4)
        kind = _starts_signature(line, names, phrases, after_blank) if seen_text else None
        end = _block_end(lines, index, kind) if kind is not None else None
        if kind == "delimiter" and end is None:  # "--": the rest is signature but a P.S.
            ps = (i for i in range(index + 1, len(lines)) if _PS.match(lines[i]))
            end = next(ps, len(lines))
        if end is not None:
            return lines[:index] + (["", *lines[end:]] if end < len(lines) else [])
        seen_text = seen_text or bool(line.strip())
    return lines


def _without_sent_lines(lines: list[str], sent_text: str | None) -> list[str]:
    """Drop lines pasted back from the message we sent (a quote without quote marks)."""
    if not sent_text:
        return lines

    def key(line: str) -> str:
        return " ".join(normalize(line.lstrip("> ")).split()).strip(" .,:;!?")

    ours = {key(line) for line in sent_text[:MAX_READ_CHARS].splitlines() if key(line)}
    pasted = any(len(key(line)) >= 12 and key(line) in ours for line in lines)
    if not pasted:  # short lines alone ("Sam") are no proof of a paste
        return lines
    return [line for line in lines if key(line) not in ours]


def plain_new_text(
    text: str, phrases: Phrases, sent_text: str | None = None, signer: str | None = None
) -> str:
    """What the writer typed in a plain-text body (see the module docstring)."""
    try:
        return _plain_new_text(text, phrases, sent_text, signer)
    except (re.error, RecursionError, ValueError, IndexError):  # never expected; be safe:
        return ""  # no new text reads as unclear


_TYPED_LINE = re.compile(r"^[^\S\n]*[^\s>]", re.MULTILINE)  # a line with text, not quoted


def _plain_new_text(text: str, phrases: Phrases, sent_text: str | None, signer: str | None) -> str:
    head = text[:MAX_READ_CHARS].translate(_INVISIBLE)  # what a person types is never longer
    split = head.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [line[:MAX_LINE_CHARS] for line in split[:MAX_LINES]]
    lines, more = _strip_history(lines, phrases)
    if more and (len(text) > MAX_READ_CHARS or len(split) > MAX_LINES):
        unread = "\n".join(split[MAX_LINES:]) + "\n" + text[MAX_READ_CHARS:]
        more = bool(_TYPED_LINE.search(unread.translate(_INVISIBLE)))
    else:
        more = False
    lines = cut_signature(lines, phrases, signer)
    lines = _without_sent_lines(lines, sent_text)
    if more and NOT_READ not in lines:
        lines += ["", NOT_READ]
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
