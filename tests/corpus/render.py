"""Render hand-written corpus cases as the mail real clients send.

Each client style wraps the writer's own words the way that client does: Gmail's
``On ... wrote:`` with ``>`` quotes and a ``gmail_quote`` HTML part, Apple Mail's
``blockquote type=cite``, Outlook's ``____`` header block and ``divRplyFwdMsg``, the older
``-----Original Message-----``, Thunderbird's ``moz-cite-prefix``, iPhone's "Sent from my
iPhone", localized attribution lines and header labels, and assorted charsets and
transfer encodings.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTP
from email.utils import format_datetime, formataddr

CONNECTOR = ("Sam Rivera", "connector@example.com")
CONSENT_ID = "<consent-dana-7f3a@introbot.local>"
SENT_AT = datetime(2026, 11, 24, 17, 12, tzinfo=UTC)

CONSENT = {
    "en": (
        "Would you like to meet Alex Kim?",
        "Hi {first},\n\n"
        "Alex Kim, co-founder of Tidepool (cold-chain sensors), asked me for an introduction\n"
        "to you. They'd like 20 minutes to show you their pilot results from the Oakland\n"
        "warehouse.\n\n"
        "Would you be open to it? Just reply yes and I'll connect you both, or no - no hard\n"
        "feelings, and no need to explain. If yes, how do you prefer to be reached?\n\n"
        "Sam",
    ),
    "fr": (
        "Une mise en relation avec Alex Kim ?",
        "Bonjour {first},\n\n"
        "Alex Kim, cofondateur de Tidepool (capteurs pour la chaîne du froid), m'a demandé\n"
        "de vous le présenter. Il aimerait 20 minutes pour vous montrer ses résultats.\n\n"
        "Seriez-vous d'accord ? Répondez simplement oui, ou non - sans aucun souci, et sans\n"
        "besoin de vous justifier. Si oui, comment préférez-vous être contacté(e) ?\n\n"
        "Sam",
    ),
    "de": (
        "Möchten Sie Alex Kim kennenlernen?",
        "Hallo {first},\n\n"
        "Alex Kim, Mitgründer von Tidepool (Sensoren für die Kühlkette), hat mich gebeten,\n"
        "Sie einander vorzustellen. Er würde Ihnen gern in 20 Minuten seine Pilotergebnisse\n"
        "zeigen.\n\n"
        "Wären Sie offen dafür? Antworten Sie einfach mit Ja oder Nein - kein Problem, und\n"
        "keine Begründung nötig. Falls ja: Wie erreicht man Sie am besten?\n\n"
        "Sam",
    ),
    "es": (
        "¿Te presento a Alex Kim?",
        "Hola {first}:\n\n"
        "Alex Kim, cofundador de Tidepool (sensores para la cadena de frío), me pidió que\n"
        "os presentara. Le gustaría enseñarte en 20 minutos los resultados de su piloto.\n\n"
        "¿Te parece bien? Responde sí o no - sin problema, y sin necesidad de explicar nada.\n"
        "Si es que sí, ¿cómo prefieres que te contacte?\n\n"
        "Sam",
    ),
}

ATTRIBUTION = {
    "en": "On Tue, Nov 24, 2026 at 9:12 AM Sam Rivera <connector@example.com> wrote:",
    "fr": "Le mar. 24 nov. 2026 à 09:12, Sam Rivera <connector@example.com> a écrit :",
    "de": "Am Di., 24. Nov. 2026 um 09:12 Uhr schrieb Sam Rivera <connector@example.com>:",
    "es": "El mar, 24 nov 2026 a las 9:12, Sam Rivera (<connector@example.com>) escribió:",
}
APPLE_ATTRIBUTION = {
    "en": "On Nov 24, 2026, at 9:12 AM, Sam Rivera <connector@example.com> wrote:",
    "fr": "Le 24 nov. 2026 à 09:12, Sam Rivera <connector@example.com> a écrit :",
    "de": "Am 24.11.2026 um 09:12 schrieb Sam Rivera <connector@example.com>:",
    "es": "El 24 nov 2026, a las 9:12, Sam Rivera <connector@example.com> escribió:",
}
OUTLOOK_LABELS = {
    "en": ("From", "Sent", "To", "Subject", "Tuesday, November 24, 2026 9:12 AM"),
    "fr": ("De ", "Envoyé ", "À ", "Objet ", "mardi 24 novembre 2026 09:12"),
    "de": ("Von", "Gesendet", "An", "Betreff", "Dienstag, 24. November 2026 09:12"),
    "es": ("De", "Enviado", "Para", "Asunto", "martes, 24 de noviembre de 2026 9:12"),
}
SENT_FROM = {
    "en": "Sent from my iPhone",
    "fr": "Envoyé de mon iPhone",
    "de": "Von meinem iPhone gesendet",
    "es": "Enviado desde mi iPhone",
}


@dataclass
class Party:
    name: str
    email: str

    @property
    def first(self) -> str:
        return self.name.split()[0]


@dataclass
class Reply:
    """One reply to a consent message, as its writer typed it."""

    slug: str
    verdict: str
    text: str
    party: Party
    lang: str = "en"
    style: str = "gmail"  # gmail apple iphone outlook original thunderbird html_gmail
    # html_outlook bottom interleaved plain_noquote
    signature: str = ""
    charset: str = "utf-8"
    encoding: str = "qp"  # qp | base64 | 8bit
    auth: str = "pass"  # pass | fail | softfail | none
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    subject: str | None = None
    body_override: Message | None = None  # for automated mail built by hand


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _auth_results(party: Party, auth: str) -> str | None:
    domain = party.email.rpartition("@")[2]
    if auth == "none":
        return None
    if auth == "fail":
        return (
            "mx.google.com;\r\n       dkim=fail header.i=@" + domain + ";\r\n"
            "       spf=fail (google.com: domain of " + party.email + " does not designate "
            "203.0.113.9 as permitted sender) smtp.mailfrom=" + party.email + ";\r\n"
            "       dmarc=fail (p=REJECT sp=REJECT dis=QUARANTINE) header.from=" + domain
        )
    if auth == "softfail":
        return (
            "mx.google.com;\r\n       spf=softfail (google.com: domain of transitioning "
            + party.email
            + " does not designate 198.51.100.7 as permitted sender) "
            "smtp.mailfrom=" + party.email
        )
    return (
        "mx.google.com;\r\n       dkim=pass header.i=@"
        + domain
        + " header.s=s1 header.b=Zk3x9Q;\r\n"
        "       spf=pass (google.com: domain of " + party.email + " designates 209.85.220.41 "
        "as permitted sender) smtp.mailfrom=" + party.email + ";\r\n"
        "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=" + domain
    )


def _text_part(text: str, subtype: str, charset: str, encoding: str) -> Message:
    cs = Charset(charset)
    cs.body_encoding = {"base64": BASE64, "qp": QP}.get(encoding)  # type: ignore[assignment]
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text, cs)
    del part["MIME-Version"]
    if encoding == "8bit":
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = "8bit"
    return part


def _html_body(inner: str) -> str:
    return f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>{inner}</body></html>'


def _paragraphs(text: str) -> str:
    return "".join(
        "<div>"
        + "<br>".join(html.escape(line) for line in block.split("\n"))
        + "</div><div><br></div>"
        for block in text.split("\n\n")
    )


def consent_text(reply: Reply) -> tuple[str, str]:
    subject, body = CONSENT[reply.lang]
    return subject, body.format(first=reply.party.first)


def render_reply(reply: Reply, index: int) -> bytes:
    subject, consent = consent_text(reply)
    own = reply.text + (f"\n\n{reply.signature}" if reply.signature else "")
    lang = reply.lang
    style = reply.style
    plain: str | None = None
    markup: str | None = None
    if style == "gmail":
        plain = f"{own}\n\n{ATTRIBUTION[lang]}\n\n{_quote(consent)}\n"
        markup = _html_body(
            f'<div dir="ltr">{_paragraphs(own)}</div><br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">{html.escape(ATTRIBUTION[lang])}<br></div>'
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
            f'rgb(204,204,204);padding-left:1ex">{_paragraphs(consent)}</blockquote></div>'
        )
    elif style == "html_gmail":
        markup = _html_body(
            f'<div dir="ltr">{_paragraphs(own)}</div><br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">{html.escape(ATTRIBUTION[lang])}<br></div>'
            f'<blockquote class="gmail_quote">{_paragraphs(consent)}</blockquote></div>'
        )
    elif style == "apple":
        plain = f"{own}\n\n> {APPLE_ATTRIBUTION[lang]}\n> \n{_quote(consent)}\n"
        markup = _html_body(
            f'{_paragraphs(own)}<div><br><blockquote type="cite"><div>'
            f"{html.escape(APPLE_ATTRIBUTION[lang])}</div><br>{_paragraphs(consent)}</blockquote></div>"
        )
    elif style == "iphone":
        plain = (
            f"{own}\n\n{SENT_FROM[lang]}\n\n> {APPLE_ATTRIBUTION[lang]}\n> \n{_quote(consent)}\n"
        )
    elif style in ("outlook", "html_outlook"):
        frm, sent, to, subj, when = OUTLOOK_LABELS[lang]
        block = (
            f"{frm}: Sam Rivera <connector@example.com>\n{sent}: {when}\n"
            f"{to}: {reply.party.name} <{reply.party.email}>\n{subj}: {subject}"
        )
        if style == "outlook":
            plain = f"{own}\n\n________________________________\n{block}\n\n{consent}\n"
        markup = _html_body(
            f'<div dir="ltr">{_paragraphs(own)}</div><div id="appendonsend"></div>'
            '<hr style="display:inline-block;width:98%" tabindex="-1">'
            f'<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt">'
            f"{'<br>'.join(html.escape(line) for line in block.split(chr(10)))}</font><div>&nbsp;</div></div>"
            f"<div>{_paragraphs(consent)}</div>"
        )
    elif style == "original":
        frm, sent, to, subj, when = OUTLOOK_LABELS[lang]
        marker = {"en": "-----Original Message-----", "fr": "-----Message d'origine-----",
                  "de": "-----Ursprüngliche Nachricht-----", "es": "-----Mensaje original-----"}[lang]  # fmt: skip
        plain = (
            f"{own}\n\n{marker}\n{frm}: Sam Rivera [mailto:connector@example.com]\n"
            f"{sent}: {when}\n{to}: {reply.party.name}\n{subj}: {subject}\n\n{consent}\n"
        )
    elif style == "thunderbird":
        plain = f"{own}\n\nOn 24/11/2026 18:12, Sam Rivera wrote:\n{_quote(consent)}\n"
        markup = _html_body(
            f"<p>{html.escape(own).replace(chr(10), '<br>')}</p>"
            '<div class="moz-cite-prefix">On 24/11/2026 18:12, Sam Rivera wrote:<br></div>'
            f'<blockquote type="cite">{_paragraphs(consent)}</blockquote>'
        )
    elif style == "bottom":
        plain = f"{ATTRIBUTION[lang]}\n{_quote(consent)}\n\n{own}\n"
    elif style == "interleaved":
        plain = f"{ATTRIBUTION[lang]}\n{own}\n"  # the text itself carries the > lines
    elif style == "plain_noquote":
        plain = f"{own}\n"
    elif style == "pasted":
        plain = f"{own}\n\n{consent}\n"  # the consent pasted back without quote marks
    else:
        raise ValueError(style)

    if plain is not None and markup is not None:
        msg: Message = MIMEMultipart("alternative", boundary=f"000000000000{index:04d}alt")
        del msg["MIME-Version"]
        msg.attach(_text_part(plain, "plain", reply.charset, reply.encoding))
        msg.attach(_text_part(markup, "html", reply.charset, reply.encoding))
    elif plain is not None:
        msg = _text_part(plain, "plain", reply.charset, reply.encoding)
    else:
        assert markup is not None
        msg = _text_part(markup, "html", reply.charset, reply.encoding)
    return _envelope(msg, reply, reply.subject or f"Re: {subject}", index)


def _encoded(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def header_block(headers: list[tuple[str, str]]) -> bytes:
    """Headers as a client writes them; values may already be folded with CRLF."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")


def _envelope(msg: Message, reply: Reply, subject: str, index: int) -> bytes:
    domain = reply.party.email.rpartition("@")[2]
    headers: list[tuple[str, str]] = []
    results = _auth_results(reply.party, reply.auth)
    if results:
        headers.append(("Authentication-Results", results))
    headers.append(
        (
            "Received",
            f"from mail.{domain} (mail.{domain} [203.0.113.5])\r\n"
            "        by mx.google.com with ESMTPS id x12si1234567qkb.2026.11.24",
        )
    )
    headers += reply.extra_headers
    headers += [
        ("From", formataddr((reply.party.name, reply.party.email), charset="utf-8")),
        ("To", formataddr(CONNECTOR)),
        ("Subject", _encoded(subject)),
        ("Date", format_datetime(SENT_AT + timedelta(hours=2 + index % 40))),
        ("Message-ID", f"<reply-{index:03d}-{reply.slug}@{domain}>"),
        ("In-Reply-To", CONSENT_ID),
        ("References", CONSENT_ID),
        ("MIME-Version", "1.0"),
    ]
    return header_block(headers) + msg.as_bytes(policy=SMTP)
