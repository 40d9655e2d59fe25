"""Only the text a reader sees in an HTML mail counts.

Each case hides a consenting sentence beside a visible one that commits to nothing. Read
as a whole message (plain and HTML alternatives, as clients send them), the HTML must be
marked as hiding words; read as an HTML-only reply, the new text must be the visible
sentence alone."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from introbot.model import Verdict
from introbot.reading.html_text import MAX_TAGS, html_hides_text, html_to_text
from introbot.reading.mime import read_mail
from introbot.reading.quotes import new_text
from introbot.reading.replies import read_reply
from introbot.rules import default_phrases
from tests.mail import make_mail

PHRASES = default_phrases()
SHOWN = "I need a day or two to think about it."
CONSENT = "Yes please, go ahead and introduce us"


DANA = "Dana Whitfield <dana@northwind.example>"
CONNECTOR = "Sam Rivera <connector@example.com>"
SUBJECT = "Re: Would you like to meet Alex Kim?"


def _reply(html: str, plain: str | None = SHOWN) -> bytes:
    """A reply from Dana to the consent message: plain and HTML alternatives as clients
    send them, or (``plain=None``) an HTML-only message."""
    if plain is not None:
        return make_mail(
            sender=DANA, to=CONNECTOR, subject=SUBJECT, body=plain + "\n", html=html,
            message_id="<reply-1@northwind.example>", in_reply_to="<consent-1@example.com>",
        )  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = DANA, CONNECTOR, SUBJECT
    msg["Message-ID"], msg["In-Reply-To"] = "<reply-2@northwind.example>", "<consent-1@example.com>"
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


def _body(hidden: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body><p>{SHOWN}</p>{hidden}</body></html>"


HIDDEN = {
    "display-none": f'<div style="display: none">{CONSENT}</div>',
    "display-none-important-caps": f'<span style="DISPLAY:NONE !important">{CONSENT}</span>',
    "display-none-behind-css-comment": f'<span style="display:/* x */none">{CONSENT}</span>',
    "visibility-hidden": f'<p style="visibility:hidden">{CONSENT}</p>',
    "opacity-zero": f'<p style="opacity:0">{CONSENT}</p>',
    "opacity-multiplied-down": f'<div style="opacity:0.3"><p style="opacity:0.2">{CONSENT}</p></div>',
    "filter-opacity": f'<p style="filter: opacity(0%)">{CONSENT}</p>',
    "font-size-zero": f'<span style="font-size:0">{CONSENT}</span>',
    "font-size-two-px": f'<span style="font-size:2px">{CONSENT}</span>',
    "font-size-one-pt": f'<span style="font-size:1pt">{CONSENT}</span>',
    "font-size-relative-tiny": f'<div style="font-size:10%"><span style="font-size:1.5em">{CONSENT}</span></div>',
    "font-shorthand-zero": f'<span style="font: 0/0 serif">{CONSENT}</span>',
    "max-height-zero-clipped": f'<div style="max-height:0px; overflow:hidden">{CONSENT}</div>',
    "zero-box-clipped": f'<div style="width:0;height:0;overflow:hidden">{CONSENT}</div>',
    "hidden-attribute": f"<section hidden>{CONSENT}</section>",
    "white-text-default-page": f'<span style="color:#fff">{CONSENT}</span>',
    "white-in-white-box": f'<div style="background:#ffffff"><p style="color:white">{CONSENT}</p></div>',
    "same-rgb-as-background": f'<div style="background-color: rgb(40, 90, 160)"><b style="color:rgb(40,90,160)">{CONSENT}</b></div>',
    "named-on-hex": f'<div style="background:#f5f5dc url(paper.png)"><i style="color:beige">{CONSENT}</i></div>',
    "nearly-white": f'<span style="color:#fdfdfd">{CONSENT}</span>',
    "hsl-white": f'<span style="color:hsl(0, 0%, 100%)">{CONSENT}</span>',
    "transparent-text": f'<span style="color:transparent">{CONSENT}</span>',
    "faint-rgba": f'<span style="color:rgba(0,0,0,0.04)">{CONSENT}</span>',
    "font-tag-on-bgcolor-cell": f'<table><tr><td bgcolor="#102030"><font color="#102030">{CONSENT}</font></td></tr></table>',
    "legacy-colour-without-hash": f'<font color="ffffff">{CONSENT}</font>',
    "template": f"<template><p>{CONSENT}</p></template>",
    "noscript": f"<noscript>{CONSENT}</noscript>",
    "closed-details": f"<details><p>{CONSENT}</p></details>",
    "text-indent-off-screen": f'<div style="text-indent:-9999px">{CONSENT}</div>',
    "absolutely-off-screen": f'<div style="position:absolute; top:-5000px">{CONSENT}</div>',
    "clipped-to-nothing": f'<span style="position:absolute;clip:rect(0,0,0,0)">{CONSENT}</span>',
    "scaled-to-nothing": f'<span style="transform: scale(0)">{CONSENT}</span>',
    "outlook-only-hiding": f'<div style="mso-hide:all">{CONSENT}</div>',
    "css-escape-in-style": f'<span style="display:n\\6f ne">{CONSENT}</span>',
}
STYLESHEET = {
    "class-hidden-by-sheet": (".later{display:none}", f'<div class="later">{CONSENT}</div>'),
    "id-hidden-by-sheet": ("#quiet { visibility: hidden }", f'<p id="quiet">{CONSENT}</p>'),
    "tag-and-class": ("span.tiny{font-size:1px}", f'<span class="x tiny">{CONSENT}</span>'),
    "class-in-media-block": (
        "@media screen { .m { display:none } }",
        f'<p class="m">{CONSENT}</p>',
    ),
    "sheet-in-html-comment": ("<!-- .c{color:#FFF} -->", f'<p class="c">{CONSENT}</p>'),
    "sheet-class-case": (".Ghost{opacity:0}", f'<p class="ghost">{CONSENT}</p>'),
}


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_hidden_consent_is_not_read_and_is_flagged(hidden: str) -> None:
    mail = read_mail(_reply(_body(hidden)))
    assert mail.html_hidden_text
    assert mail.html is not None and "introduce" not in html_to_text(mail.html)
    assert SHOWN in html_to_text(mail.html)
    only_html = read_mail(_reply(_body(hidden), plain=None))
    assert only_html.plain is None and only_html.html_hidden_text
    assert new_text(only_html, PHRASES) == SHOWN


@pytest.mark.parametrize(("sheet", "hidden"), STYLESHEET.values(), ids=STYLESHEET.keys())
def test_a_stylesheet_in_the_message_hides_too(sheet: str, hidden: str) -> None:
    html = _body(hidden, head=f"<style>{sheet}</style>")
    assert read_mail(_reply(html)).html_hidden_text
    assert new_text(read_mail(_reply(html, plain=None)), PHRASES) == SHOWN


@pytest.mark.parametrize(
    "hidden",
    [
        f"<!-- {CONSENT} -->",
        f'<img src="cid:logo" alt="{CONSENT}">',
        f"<p><![CDATA[{CONSENT}]]></p>",
    ],
    ids=["comment", "alt-text", "cdata"],
)
def test_markup_that_is_never_text_is_dropped_without_alarm(hidden: str) -> None:
    html = _body(hidden, head=f"<title>{CONSENT}</title><meta name='x' content='{CONSENT}'>")
    mail = read_mail(_reply(html, plain=None))
    assert new_text(mail, PHRASES) == SHOWN
    assert not mail.html_hidden_text  # every client writes these; they hide nothing


@pytest.mark.parametrize(
    "shown",
    [
        '<span style="color:#777">Sure thing</span>',
        '<td style="background:#1a3d6e"><span style="color:#ffffff">Sure thing</span></td>',
        '<table bgcolor="black"><tr><td><font color="white">Sure thing</font></td></tr></table>',
        '<div style="font-size:0"><span style="font-size:15px">Sure thing</span></div>',
        '<div style="visibility:hidden"><p style="visibility:visible">Sure thing</p></div>',
        '<div style="max-height:0">Sure thing</div>',
        '<p style="color: windowtext; font-size: 11.0pt">Sure thing</p>',
        "<details open><summary>Note</summary>Sure thing</details>",
    ],
    ids=[
        "grey",
        "white-on-navy",
        "font-on-black",
        "font-size-reset",
        "visibility-back",
        "max-height-without-clip",
        "outlook-windowtext",
        "open-details",
    ],
)
def test_styled_text_a_reader_sees_still_counts(shown: str) -> None:
    outlook_sheet = (
        "<style><!-- @font-face {font-family:Calibri;} p.MsoNormal {margin:0in; "
        "font-size:11pt;} a:link, span.MsoHyperlink {color:#0563C1;} "
        "@page WordSection1 {size:8.5in 11.0in;} --></style>"
    )
    mail = read_mail(_reply(_body(shown, head=outlook_sheet), plain=None))
    assert "Sure thing" in new_text(mail, PHRASES)
    assert not mail.html_hidden_text


def test_a_hidden_negation_is_flagged_while_the_visible_text_reads_as_shown() -> None:
    # The reader sees "I'm keen to be introduced": the visible text is what counts, and the
    # flag says the HTML holds more, so the consent reader can send it to the connector.
    html = '<p>I\'m <span style="display:none">not</span> keen to be introduced.</p>'
    assert html_to_text(html) == "I'm keen to be introduced."
    assert html_hides_text(html)


def test_aria_hidden_words_are_shown_but_flagged() -> None:
    html = f'<p>{SHOWN}</p><p aria-hidden="true">{CONSENT}</p><span aria-hidden="true">👋</span>'
    assert CONSENT in html_to_text(html)  # a sighted reader sees them
    assert html_hides_text(html)  # a screen reader does not: the two readings differ
    assert not html_hides_text(f'<p>{SHOWN}</p><span aria-hidden="true">👋</span>')


@pytest.mark.parametrize(
    "sheet",
    [
        "div > p.soft{display:none}",  # a combinator
        "p:first-child{color:#fff}",  # a pseudo-class
        "[data-x]{font-size:0}",  # an attribute selector
        "*{visibility:hidden}",  # everything
        ".tag::after{content:'yes'}",  # words written by the stylesheet
        "@import url(https://example.com/hide.css);",  # a sheet from elsewhere
    ],
)
def test_a_stylesheet_that_may_hide_what_cannot_be_placed_is_flagged(sheet: str) -> None:
    html = _body(
        f'<div><p class="soft tag" data-x="1">{SHOWN}</p></div>', f"<style>{sheet}</style>"
    )
    assert html_hides_text(html)
    assert SHOWN in html_to_text(html)  # not resolved, so not removed: the flag tells


def test_a_harmless_stylesheet_rule_with_a_complex_selector_is_not_flagged() -> None:
    html = _body("", "<style>div > p:hover { color: #0055aa; text-decoration: underline }</style>")
    assert not html_hides_text(html)
    assert not html_hides_text(_body("", "<style>.clear::after{content:'';display:table}</style>"))


def test_an_external_stylesheet_is_flagged() -> None:
    html = _body("", '<link rel="stylesheet" href="https://example.com/a.css">')
    assert html_hides_text(html)


def _nested(depth: int) -> str:
    return (
        '<div style="color:#333; font-size:14px">' * depth
        + f'<p>{SHOWN}</p><span style="color:#FFFFFF">{CONSENT}</span>'
        + "</div>" * depth
    )


def test_hidden_consent_deep_in_nested_styled_boxes() -> None:
    mail = read_mail(_reply(_nested(MAX_TAGS // 2 - 5), plain=None))  # within the caps: checked
    assert mail.html_hidden_text and not mail.html_unchecked
    assert new_text(mail, PHRASES) == SHOWN
    deeper = '<div style="font-size:15px">' * (MAX_TAGS - 5) + f'<p style="opacity:0">{CONSENT}</p>'
    assert html_to_text(deeper + SHOWN) == SHOWN


@pytest.mark.parametrize("depth", [MAX_TAGS // 2 + 5, 4000, 14_000])
def test_html_too_big_or_deep_to_check_is_never_a_yes(depth: int) -> None:
    # More tags than are checked, or more HTML than is read (the rest is cut): read
    # roughly, the hidden consent too, and flagged: never a yes.
    mail = read_mail(_reply(_nested(depth), plain=None))
    assert mail.html_hidden_text and mail.html_unchecked
    reading = read_reply(mail, PHRASES)
    assert reading.verdict is not Verdict.YES
    with_plain = read_reply(read_mail(_reply(_nested(depth), plain=CONSENT)), PHRASES)
    assert with_plain.verdict is Verdict.UNCLEAR  # the plain part says yes; the HTML is unchecked


def test_html_the_parser_rejects_or_too_heavy_to_check_reads_and_is_flagged() -> None:
    rejected = f"<p>{SHOWN}</p><![bogus section <p>more</p>"
    assert SHOWN in html_to_text(rejected)  # html.parser raises on this: no crash here
    assert html_hides_text(rejected)
    heavy = "<b></b>" * 25_000 + f"<p>{SHOWN}</p>"
    assert html_to_text(heavy) == SHOWN
    assert html_hides_text(heavy)  # too many tags to check what is visible


def test_without_html_there_is_nothing_hidden() -> None:
    mail = read_mail(make_mail(body=SHOWN + "\n"))
    assert mail.html is None and not mail.html_hidden_text
