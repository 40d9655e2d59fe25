"""What a reader of an HTML mail actually sees.

A mail client shows neither the text of elements hidden by CSS or by attributes
(``display:none``, ``visibility:hidden``, ``hidden``, zero-height boxes that clip, text
pushed off screen) nor text painted in its background's colour, faded to nothing, or too
small to read. :func:`strip_hidden` removes all of that from a parsed tree and says whether
any of it was words, so that a reply whose HTML holds more than it shows can be read as
unclear.

Hiddenness is worked out top-down in one pass, each element's state from its parent's, so
the cost is linear in the size of the tree at any depth. Stylesheets in the message
(``<style>``) are applied for simple selectors: a tag, classes, an id, and compounds of
them. A rule that would hide something through a selector this module does not resolve
(descendants, attributes, pseudo-classes, ``*``), generated text (``content:``), an
external stylesheet, or a stylesheet too large to read all count as hidden words present:
they are not removed (their effect is unknown), but the flag says the text cannot be
trusted as what the reader saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bs4 import BeautifulSoup
from bs4.element import (
    NavigableString,
    PageElement,
    PreformattedString,
    Script,
    Stylesheet,
    Tag,
    TemplateString,
)

MAX_CSS_CHARS = 100_000  # stylesheet text read from one message
MAX_RULES = 2_000  # simple selectors kept from it
MAX_RULE_CHECKS = 200_000  # selector-to-element comparisons in one message
MIN_CONTRAST = 1.5  # WCAG contrast ratio below which text does not stand out
MIN_FONT_PX = 4.0  # smaller text cannot be read
FAR_OFF_PX = 1000.0  # a box moved this far is off the screen
MAX_PX = 1e6  # sizes are capped here, so that nested relative sizes never overflow

# Removed without comment: markup that is never text.
NOT_TEXT = ("script", "style", "head", "title", "meta")
# Never rendered by a mail client: their words are hidden words.
_NEVER_SHOWN = frozenset({"template", "noscript", "iframe", "noframes", "datalist"})
_WORD = re.compile(r"[^\W_]")
_LENGTH = re.compile(
    r"([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(px|pt|pc|in|cm|mm|q|em|rem|ex|ch|%)?"
)
_FONT_SIZE_TOKEN = re.compile(
    r"(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:px|pt|pc|in|cm|mm|q|em|rem|ex|ch|%)|0)"
)
_CSS_ESCAPE = re.compile(r"\\([0-9a-f]{1,6})\s?|\\(.)", re.I | re.S)
_BLOCK = re.compile(r"(?:(?<=[{}])|^)([^{}]*)\{([^{}]*)\}")
_COMPOUND = re.compile(r"([a-z][\w-]*)?((?:[.#][\w-]+)*)")
_PART = re.compile(r"[.#][\w-]+")
_COLOR_TOKEN = re.compile(r"#[0-9a-f]{3,8}\b|(?:rgba?|hsla?)\([^)]*\)|[a-z]+")
_SCALE = re.compile(r"\bscale(?:x|y|3d)?\(\s*([-+]?[\d.]+(?:e[-+]?\d+)?)(%?)")
_FILTER_OPACITY = re.compile(r"\bopacity\(\s*([\d.]+)(%?)\s*\)")
_INSET = re.compile(r"\binset\(\s*([\d.]+)%")
_CLIP_RECT = re.compile(r"rect\(([^)]*)\)")
_FONT_TAG_PX = {1: 10.0, 2: 13.0, 3: 16.0, 4: 18.0, 5: 24.0, 6: 32.0, 7: 48.0}
_FONT_KEYWORDS = {
    "xx-small": 9.0, "x-small": 10.0, "small": 13.0, "medium": 16.0, "large": 18.0,
    "x-large": 24.0, "xx-large": 32.0, "xxx-large": 48.0,
}  # fmt: skip
_UNIT_PX = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4,
            "q": 96 / 101.6, "rem": 16.0}  # fmt: skip
_NAMED = """
aliceblue f0f8ff antiquewhite faebd7 aqua 00ffff aquamarine 7fffd4 azure f0ffff beige f5f5dc
bisque ffe4c4 black 000000 blanchedalmond ffebcd blue 0000ff blueviolet 8a2be2 brown a52a2a
burlywood deb887 cadetblue 5f9ea0 chartreuse 7fff00 chocolate d2691e coral ff7f50
cornflowerblue 6495ed cornsilk fff8dc crimson dc143c cyan 00ffff darkblue 00008b
darkcyan 008b8b darkgoldenrod b8860b darkgray a9a9a9 darkgreen 006400 darkgrey a9a9a9
darkkhaki bdb76b darkmagenta 8b008b darkolivegreen 556b2f darkorange ff8c00 darkorchid 9932cc
darkred 8b0000 darksalmon e9967a darkseagreen 8fbc8f darkslateblue 483d8b darkslategray 2f4f4f
darkslategrey 2f4f4f darkturquoise 00ced1 darkviolet 9400d3 deeppink ff1493 deepskyblue 00bfff
dimgray 696969 dimgrey 696969 dodgerblue 1e90ff firebrick b22222 floralwhite fffaf0
forestgreen 228b22 fuchsia ff00ff gainsboro dcdcdc ghostwhite f8f8ff gold ffd700
goldenrod daa520 gray 808080 green 008000 greenyellow adff2f grey 808080 honeydew f0fff0
hotpink ff69b4 indianred cd5c5c indigo 4b0082 ivory fffff0 khaki f0e68c lavender e6e6fa
lavenderblush fff0f5 lawngreen 7cfc00 lemonchiffon fffacd lightblue add8e6 lightcoral f08080
lightcyan e0ffff lightgoldenrodyellow fafad2 lightgray d3d3d3 lightgreen 90ee90
lightgrey d3d3d3 lightpink ffb6c1 lightsalmon ffa07a lightseagreen 20b2aa lightskyblue 87cefa
lightslategray 778899 lightslategrey 778899 lightsteelblue b0c4de lightyellow ffffe0
lime 00ff00 limegreen 32cd32 linen faf0e6 magenta ff00ff maroon 800000
mediumaquamarine 66cdaa mediumblue 0000cd mediumorchid ba55d3 mediumpurple 9370db
mediumseagreen 3cb371 mediumslateblue 7b68ee mediumspringgreen 00fa9a mediumturquoise 48d1cc
mediumvioletred c71585 midnightblue 191970 mintcream f5fffa mistyrose ffe4e1 moccasin ffe4b5
navajowhite ffdead navy 000080 oldlace fdf5e6 olive 808000 olivedrab 6b8e23 orange ffa500
orangered ff4500 orchid da70d6 palegoldenrod eee8aa palegreen 98fb98 paleturquoise afeeee
palevioletred db7093 papayawhip ffefd5 peachpuff ffdab9 peru cd853f pink ffc0cb plum dda0dd
powderblue b0e0e6 purple 800080 rebeccapurple 663399 red ff0000 rosybrown bc8f8f
royalblue 4169e1 saddlebrown 8b4513 salmon fa8072 sandybrown f4a460 seagreen 2e8b57
seashell fff5ee sienna a0522d silver c0c0c0 skyblue 87ceeb slateblue 6a5acd slategray 708090
slategrey 708090 snow fffafa springgreen 00ff7f steelblue 4682b4 tan d2b48c teal 008080
thistle d8bfd8 tomato ff6347 turquoise 40e0d0 violet ee82ee wheat f5deb3 white ffffff
whitesmoke f5f5f5 yellow ffff00 yellowgreen 9acd32
window ffffff canvas ffffff windowtext 000000 canvastext 000000
"""
_WORDS = _NAMED.split()
NAMED_COLORS = dict(zip(_WORDS[::2], _WORDS[1::2], strict=True))

Color = tuple[float, float, float, float]  # red, green, blue 0-255; alpha 0-1
Rgb = tuple[float, float, float]
Decls = dict[str, tuple[str, bool]]  # property -> (value, !important)


# ------------------------------------------------------------------------ values
def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e9 else None  # no NaN, no overflow


def _hex(text: str) -> Color | None:
    digits = text.lstrip("#")
    if len(digits) in (3, 4):
        digits = "".join(ch * 2 for ch in digits)
    if len(digits) not in (6, 8) or any(ch not in "0123456789abcdef" for ch in digits):
        return None
    alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha)


def _channels(inner: str) -> list[tuple[float, bool]] | None:
    """The numbers of ``rgb(...)`` / ``hsl(...)``, each with whether it was a percentage."""
    values = []
    for part in re.split(r"[\s,/]+", inner.strip()):
        if not part:
            continue
        number = _number(part.rstrip("%").removesuffix("deg"))
        if number is None:
            return None
        values.append((number, part.endswith("%")))
    return values if len(values) in (3, 4) else None


def _hsl(h: float, s: float, lightness: float) -> Rgb:
    s, lightness = min(max(s, 0.0), 1.0), min(max(lightness, 0.0), 1.0)

    def channel(n: float) -> float:
        k = (n + h / 30) % 12
        return 255 * (lightness - s * min(lightness, 1 - lightness) * max(-1, min(k - 3, 9 - k, 1)))

    return (channel(0), channel(8), channel(4))


def parse_color(value: str) -> Color | None:
    """A CSS colour (names, #hex, rgb(), hsl(), with alpha); None when not one."""
    text = value.strip().lower()
    if text == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    if text in NAMED_COLORS:
        return _hex(NAMED_COLORS[text])
    if text.startswith("#"):
        return _hex(text)
    match = re.fullmatch(r"(rgba?|hsla?)\((.*)\)", text)
    channels = _channels(match.group(2)) if match else None
    if not match or channels is None:
        return None
    alpha = 1.0
    if len(channels) == 4:
        number, percent = channels[3]
        alpha = min(max(number / 100 if percent else number, 0.0), 1.0)
    if match.group(1).startswith("hsl"):
        return (*_hsl(channels[0][0], channels[1][0] / 100, channels[2][0] / 100), alpha)
    red, green, blue = (min(max(n * 2.55 if p else n, 0.0), 255.0) for n, p in channels[:3])
    return (red, green, blue, alpha)


def _legacy_color(value: str) -> Color | None:
    """``bgcolor="ffffff"`` and friends: HTML accepts hex without the ``#``."""
    text = value.strip().lower()
    return parse_color(text) or (
        _hex(text) if re.fullmatch(r"[0-9a-f]{3}|[0-9a-f]{6}", text) else None
    )


def _blend(color: Color, alpha: float, under: Rgb) -> Rgb:
    a = min(max(color[3] * alpha, 0.0), 1.0)
    return (
        color[0] * a + under[0] * (1 - a),
        color[1] * a + under[1] * (1 - a),
        color[2] * a + under[2] * (1 - a),
    )


def _luminance(rgb: Rgb) -> float:
    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])


def contrast(first: Rgb, second: Rgb) -> float:
    """The WCAG contrast ratio, 1 (same colour) to 21 (black on white)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _length(value: str, em_px: float) -> float | None:
    """A CSS length in pixels; None for what cannot be known (percentages, calc, auto)."""
    match = _LENGTH.fullmatch(value.strip())
    number = _number(match.group(1)) if match else None
    if match is None or number is None:
        return None
    unit = match.group(2) or "px"  # a bare number: quirks mode takes it as pixels
    if number == 0:
        return 0.0
    if unit in ("em",):
        return number * em_px
    if unit in ("ex", "ch"):
        return number * em_px / 2
    return number * _UNIT_PX[unit] if unit in _UNIT_PX else None


# ------------------------------------------------------------------ declarations
def _unescape_css(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""
        return match.group(2)

    return _CSS_ESCAPE.sub(one, text) if "\\" in text else text


def _without_comments(css: str) -> str:
    """CSS minus ``/* ... */``, in one pass (an unclosed comment runs to the end)."""
    out, at = [], 0
    while True:
        start = css.find("/*", at)
        if start < 0:
            out.append(css[at:])
            return "".join(out)
        out.append(css[at:start])
        end = css.find("*/", start + 2)
        if end < 0:
            return "".join(out)
        out.append(" ")
        at = end + 2


def _put(into: Decls, name: str, value: str, important: bool) -> None:
    old = into.get(name)
    if old is None or important or not old[1]:
        into[name] = (value, important)


def parse_declarations(text: str) -> Decls:
    """``color: red; display: none !important`` -> {property: (value, important)}."""
    found: Decls = {}
    for part in _unescape_css(_without_comments(text)).split(";"):
        name, sep, value = part.partition(":")
        if not sep:
            continue
        value = value.strip().lower()
        important = bool(re.search(r"!\s*important$", value))
        value = re.sub(r"!\s*important$", "", value).strip()
        _put(found, name.strip().lower(), value, important)
    return found


def _merge(into: Decls, other: Decls) -> None:
    for name, (value, important) in other.items():
        _put(into, name, value, important)


def _get(decls: Decls, name: str) -> str:
    entry = decls.get(name)
    return entry[0] if entry else ""


# ------------------------------------------------------------------------ state
@dataclass(frozen=True, slots=True)
class _State:
    """What an element passes to its children (the defaults: black text on white)."""

    color: Color = (0.0, 0.0, 0.0, 1.0)
    background: Rgb = (255.0, 255.0, 255.0)
    font_px: float = 16.0
    zoom: float = 1.0
    opacity: float = 1.0
    visible: bool = True
    aria_hidden: bool = False

    def text_hidden(self) -> bool:
        """Is text drawn in this state invisible: hidden, tiny, or the background's colour?"""
        if not self.visible or self.font_px * self.zoom < MIN_FONT_PX:
            return True
        drawn = _blend(self.color, self.opacity, self.background)
        return contrast(drawn, self.background) < MIN_CONTRAST


def _font_px(decls: Decls, parent_px: float) -> float:
    value = _get(decls, "font-size")
    if not value and "font" in decls:  # the shorthand: "bold 12px/1.4 Arial", "0/0 a"
        tokens = [t.split("/")[0] for t in _get(decls, "font").split()]
        value = next(
            (t for t in tokens if _FONT_SIZE_TOKEN.fullmatch(t) or t in _FONT_KEYWORDS), ""
        )
    if not value:
        return parent_px
    if value in _FONT_KEYWORDS:
        return _FONT_KEYWORDS[value]
    if value in ("smaller", "larger"):
        return parent_px / 1.2 if value == "smaller" else parent_px * 1.2
    if value.endswith("%"):
        number = _number(value[:-1])
        return (
            min(parent_px * number / 100, MAX_PX)
            if number is not None and number >= 0
            else parent_px
        )
    size = _length(value, parent_px)
    return min(size, MAX_PX) if size is not None and size >= 0 else parent_px


def _factor(value: str) -> float | None:
    """``0.5`` or ``50%`` -> 0.5."""
    number = _number(value.rstrip("%")) if value else None
    if number is None:
        return None
    return max(number / 100 if value.endswith("%") else number, 0.0)


def _opacity(decls: Decls) -> float:
    opacity = _factor(_get(decls, "opacity"))
    factor = min(opacity, 1.0) if opacity is not None else 1.0
    for number, percent in _FILTER_OPACITY.findall(_get(decls, "filter")):
        value = _factor(number + percent)
        factor *= min(value, 1.0) if value is not None else 1.0
    return factor


def _background(decls: Decls) -> Color | None:
    if "background-color" in decls:
        return parse_color(_get(decls, "background-color"))
    shorthand = re.sub(r"url\([^)]*\)", " ", _get(decls, "background"))
    for token in _COLOR_TOKEN.findall(shorthand):
        color = parse_color(token)
        if color is not None:
            return color
    return None


def _text_color(decls: Decls, current: Color) -> Color:
    for name in ("-webkit-text-fill-color", "color"):
        value = _get(decls, name)
        if value in ("", "inherit", "currentcolor", "unset"):
            continue
        if value == "initial":
            return (0.0, 0.0, 0.0, 1.0)
        color = parse_color(value)
        if color is not None:
            return color
    return current


def _inherit(state: _State, decls: Decls) -> _State:
    """The state inside an element with these declarations."""
    visibility = _get(decls, "visibility")
    background = _background(decls)
    zoom = _factor(_get(decls, "zoom"))
    return _State(
        color=_text_color(decls, state.color),
        background=_blend(background, 1.0, state.background) if background else state.background,
        font_px=_font_px(decls, state.font_px),
        zoom=min(state.zoom * zoom, MAX_PX) if zoom is not None else state.zoom,
        opacity=state.opacity * _opacity(decls),
        visible=state.visible
        if visibility not in ("hidden", "collapse", "visible")
        else visibility == "visible",
        aria_hidden=state.aria_hidden,
    )


def _lengths(decls: Decls, names: tuple[str, ...], em_px: float) -> list[float]:
    found = (_length(_get(decls, name), em_px) for name in names if name in decls)
    return [value for value in found if value is not None]


def _clipped_away(decls: Decls, em_px: float) -> bool:
    """``clip: rect(0 0 0 0)`` on a positioned box, ``clip-path: inset(50%)``."""
    match = _CLIP_RECT.search(_get(decls, "clip"))
    if match and _get(decls, "position") in ("absolute", "fixed"):
        edges = [_length(part, em_px) for part in re.split(r"[\s,]+", match.group(1).strip())]
        if len(edges) == 4 and None not in edges:
            top, right, bottom, left = (e or 0.0 for e in edges)
            if bottom - top <= 2 or right - left <= 2:
                return True
    inset = _INSET.search(_get(decls, "clip-path"))
    return bool(inset and (_number(inset.group(1)) or 0.0) >= 50)


def _moved_away(decls: Decls, em_px: float) -> bool:
    """Text pushed off the screen: far-off offsets, margins, or indents."""
    if _get(decls, "position") in ("absolute", "fixed") and any(
        abs(v) >= FAR_OFF_PX for v in _lengths(decls, ("left", "top", "right", "bottom"), em_px)
    ):
        return True
    margins = _lengths(decls, ("margin-left", "margin-top", "text-indent"), em_px)
    margins += [
        v for v in (_length(t, em_px) for t in _get(decls, "margin").split()) if v is not None
    ]
    return any(v <= -FAR_OFF_PX / 2 for v in margins)


def _scaled_away(decls: Decls) -> bool:
    for number, percent in _SCALE.findall(_get(decls, "transform")):
        value = _number(number)
        if value is not None and abs(value / 100 if percent else value) < 0.1:
            return True
    first = _get(decls, "scale").split()
    value = _factor(first[0]) if first else None
    return value is not None and value < 0.1


def box_hidden(decls: Decls, em_px: float) -> bool:
    """Does this element, with everything in it, not show at all?"""
    if _get(decls, "display") == "none" or _get(decls, "mso-hide") == "all":
        return True
    overflow = {_get(decls, n) for n in ("overflow", "overflow-x", "overflow-y")}
    if overflow & {"hidden", "clip"} and any(
        v <= 2 for v in _lengths(decls, ("height", "max-height", "width", "max-width"), em_px)
    ):
        return True
    return _clipped_away(decls, em_px) or _moved_away(decls, em_px) or _scaled_away(decls)


def hides(decls: Decls) -> bool:
    """Would these declarations hide text on a plain page (black on white)?"""
    root = _State()
    return box_hidden(decls, root.font_px) or _inherit(root, decls).text_hidden()


# ------------------------------------------------------------------- stylesheets
def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value) if value is not None else ""


@dataclass(frozen=True, slots=True)
class _Rule:
    tag: str | None
    classes: frozenset[str]
    ident: str | None
    decls: Decls

    def matches(self, tag: str, classes: set[str], ident: str) -> bool:
        return (
            (self.tag is None or self.tag == tag)
            and (self.ident is None or self.ident == ident)
            and self.classes <= classes
        )


def _simple_rule(selector: str, decls: Decls) -> _Rule | None:
    """A rule for ``p``, ``.x``, ``#y``, ``div.x.z``; None for anything else."""
    match = _COMPOUND.fullmatch(selector)
    if not match or not selector:
        return None
    parts = _PART.findall(match.group(2))
    ids = [p[1:] for p in parts if p.startswith("#")]
    if len(ids) > 1:
        return None
    classes = frozenset(p[1:] for p in parts if p.startswith("."))
    return _Rule(match.group(1), classes, ids[0] if ids else None, decls)


def _key(rule: _Rule) -> str:
    if rule.ident is not None:
        return "#" + rule.ident
    if rule.classes:
        return "." + min(rule.classes)
    return rule.tag or ""


class _Sheet:
    """The message's own stylesheet rules, looked up by tag, class and id."""

    def __init__(self, css: str, complete: bool) -> None:
        self.rules: dict[str, list[_Rule]] = {}
        self.unresolved = not complete or "@import" in css.lower()
        self._checks = 0
        self._cache: dict[tuple[str, tuple[str, ...], str], Decls] = {}
        kept = 0
        for prelude, body in _BLOCK.findall(_without_comments(css)):
            selectors = [s.strip().lower() for s in prelude.split(",")]
            if any(s.startswith("@") for s in selectors) or not body.strip():
                continue  # @font-face, @page: not about text
            decls = parse_declarations(body)
            if _WORD.search(_get(decls, "content")):
                self.unresolved = True  # text the stylesheet writes is not in the markup
            for selector in selectors:
                rule = _simple_rule(selector, decls) if kept < MAX_RULES else None
                if rule is None:
                    self.unresolved = self.unresolved or hides(decls)
                    continue
                kept += 1
                self.rules.setdefault(_key(rule), []).append(rule)

    def decls_for(self, tag: str, classes: list[str], ident: str) -> Decls:
        """The declarations of every rule matching an element, from the least specific to
        the most (tag rules, then class rules, then id rules; each in stylesheet order)."""
        signature = (tag, tuple(classes), ident)
        cached = self._cache.get(signature)
        if cached is not None:
            return cached
        keys = [tag, *("." + c for c in dict.fromkeys(classes))] + (["#" + ident] if ident else [])
        candidates = [rule for key in keys for rule in self.rules.get(key, ())]
        self._checks += len(candidates)
        if self._checks > MAX_RULE_CHECKS:
            self.unresolved = True  # too much to match: what it hides is unknown
            return {}
        wanted = set(classes)
        found: Decls = {}
        for rule in candidates:
            if rule.matches(tag, wanted, ident):
                _merge(found, rule.decls)
        self._cache[signature] = found
        return found


def _stylesheet(soup: BeautifulSoup) -> _Sheet:
    texts, total = [], 0
    for style in soup.find_all("style"):
        text = style.get_text()
        total += len(text)
        texts.append(text)
        if total > MAX_CSS_CHARS:
            break
    css = "\n".join(texts).replace("<!--", " ").replace("-->", " ")  # CSS ignores both
    sheet = _Sheet(css[:MAX_CSS_CHARS], complete=total <= MAX_CSS_CHARS)
    if any("stylesheet" in _attr(link, "rel").lower() for link in soup.find_all("link")):
        sheet.unresolved = True  # a stylesheet from elsewhere can hide anything
    return sheet


# ------------------------------------------------------------------------ the walk
def readable(node: PageElement) -> bool:
    """A string a browser shows (not a comment, CDATA, doctype, script or template)."""
    return isinstance(node, NavigableString) and not isinstance(
        node, PreformattedString | Stylesheet | Script | TemplateString
    )


def has_words(tag: Tag) -> bool:
    """Any letter or digit in the text of ``tag`` (a template's text included)."""
    return any(
        isinstance(node, NavigableString)
        and not isinstance(node, PreformattedString | Stylesheet | Script)
        and _WORD.search(str(node))
        for node in tag.descendants
    )


def _hints(tag: Tag) -> Decls:
    """Presentational attributes as CSS (they yield to any stylesheet rule)."""
    hints: Decls = {}
    text_attr = "color" if tag.name == "font" else "text" if tag.name == "body" else ""
    for attribute, name in (("bgcolor", "background-color"), (text_attr, "color")):
        color = _legacy_color(_attr(tag, attribute)) if attribute else None
        if color is not None:
            hints[name] = ("rgba({},{},{},{})".format(*color), False)
    size = _attr(tag, "size").strip() if tag.name == "font" else ""
    number = _number(size) if re.fullmatch(r"[-+]?\d{1,2}", size) else None
    if number is not None:
        level = int(3 + number if size[0] in "+-" else number)
        hints["font-size"] = (f"{_FONT_TAG_PX[min(max(level, 1), 7)]}px", False)
    return hints


_STYLING_ATTRIBUTES = ("class", "id", "style", "bgcolor", "color", "text", "size", "aria-hidden")


class _Walk:
    """One top-down pass: what to remove, and whether any of it was words.

    Elements styled alike in alike surroundings share one computation (mail repeats the
    same ``style`` on every span): the caches are keyed by the styling attributes."""

    def __init__(self, sheet: _Sheet) -> None:
        self.sheet = sheet
        self.doomed: list[PageElement] = []
        self.hidden_words = False
        self._decls: dict[tuple[str, ...], Decls] = {}
        self._inside: dict[tuple[_State, tuple[str, ...]], _State | None] = {}
        self._text_hidden: dict[_State, bool] = {}

    def hide(self, node: PageElement) -> None:
        if isinstance(node, Tag):
            self.doomed.append(node)
            self.hidden_words = self.hidden_words or has_words(node)
        elif readable(node) and str(node).strip():
            self.doomed.append(node)
            self.hidden_words = self.hidden_words or bool(_WORD.search(str(node)))

    def text_hidden(self, state: _State) -> bool:
        known = self._text_hidden.get(state)
        if known is None:
            known = self._text_hidden[state] = state.text_hidden()
        return known

    def declarations(self, tag: Tag, signature: tuple[str, ...]) -> Decls:
        """Presentational hints, then stylesheet rules, then the ``style`` attribute."""
        known = self._decls.get(signature)
        if known is None:
            known = _hints(tag)
            classes = _attr(tag, "class").lower().split()
            ident = _attr(tag, "id").strip().lower()
            _merge(known, self.sheet.decls_for(tag.name, classes, ident))
            _merge(known, parse_declarations(_attr(tag, "style")))
            self._decls[signature] = known
        return known

    def enter(self, tag: Tag, state: _State) -> _State | None:
        """The state inside ``tag``, or None when it does not show at all."""
        name = tag.name
        if name in _NEVER_SHOWN or tag.has_attr("hidden"):
            return None
        if name == "dialog" and not tag.has_attr("open"):
            return None
        if not tag.attrs and name not in self.sheet.rules:
            return state
        if name == "input" and _attr(tag, "type").lower() != "hidden":
            self.hidden_words = self.hidden_words or bool(_WORD.search(_attr(tag, "value")))
        signature = (name, *(_attr(tag, a) for a in _STYLING_ATTRIBUTES))
        key = (state, signature)
        if key in self._inside:
            return self._inside[key]
        decls = self.declarations(tag, signature)
        inside: _State | None = None
        if not box_hidden(decls, state.font_px):
            inside = _inherit(state, decls) if decls else state
            if _attr(tag, "aria-hidden").strip().lower() == "true":
                inside = replace(inside, aria_hidden=True)
        self._inside[key] = inside
        return inside

    def run(self, root: BeautifulSoup) -> None:
        stack: list[tuple[Tag, _State]] = [(root, _State())]
        while stack:
            node, state = stack.pop()
            text_hidden: bool | None = None
            # a closed <details> shows only its first <summary>
            closed = node.name == "details" and not node.has_attr("open")
            summary = node.find("summary", recursive=False) if closed else None
            for child in node.contents:
                if closed and child is not summary:
                    self.hide(child)
                    continue
                if isinstance(child, Tag):
                    inside = self.enter(child, state)
                    if inside is None:
                        self.hide(child)
                    else:
                        stack.append((child, inside))
                elif readable(child) and str(child).strip():
                    if text_hidden is None:
                        text_hidden = self.text_hidden(state)
                    if text_hidden:
                        self.hide(child)
                    elif state.aria_hidden and _WORD.search(str(child)):
                        self.hidden_words = True  # shown, but hidden from screen readers


def detach(nodes: list[PageElement]) -> None:
    """Take nodes out of the tree, one scan of each parent's children (not one per node)."""
    by_parent: dict[int, tuple[Tag, set[int]]] = {}
    for node in nodes:
        if node.parent is not None:
            by_parent.setdefault(id(node.parent), (node.parent, set()))[1].add(id(node))
    for parent, wanted in by_parent.values():
        positions = [i for i, child in enumerate(parent.contents) if id(child) in wanted]
        for index in reversed(positions):
            parent.contents[index].extract(_self_index=index)


def strip_hidden(soup: BeautifulSoup) -> bool:
    """Remove from ``soup`` what a reader would not see. True when any of it was words,
    or when the message's stylesheet may hide words this module cannot place."""
    sheet = _stylesheet(soup)
    detach(list(soup.find_all(NOT_TEXT)))
    walk = _Walk(sheet)
    walk.run(soup)
    detach(walk.doomed)
    return walk.hidden_words or sheet.unresolved
