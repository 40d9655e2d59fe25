# ruff: noqa: RUF001  (the attribution lines of other scripts are meant to be there)
"""Quote, signature and footer stripping: what the writer typed, in every client and language.

Each case is real email bytes (tests/mail.py) read by ``read_mail``; the quoted message is a
consent ask that says both yes and no, so a leak shows up as extra text.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from introbot.reading.mime import read_mail
from introbot.reading.quotes import new_text, plain_new_text, quote_start
from introbot.rules import default_phrases
from tests.mail import make_mail

PHRASES = default_phrases()
ASK = "Would you like to meet Priya Nair? Reply yes or no, either is fine."
QUOTED = f"> Hi Dana,\n>\n> {ASK}\n>\n> Sam\n"


def _text(body: str, html: str | None = None, sender: str = "Dana Whitfield") -> str:
    raw = make_mail(
        sender=f"{sender} <dana@northwind.example>",
        to="Sam Rivera <connector@example.com>",
        subject="Re: Would you like to meet Priya Nair?",
        body=body,
        html=html,
    )
    return new_text(read_mail(raw), PHRASES)


# ------------------------------------------------------------------ attribution lines
ATTRIBUTIONS = [
    # Gmail, Apple Mail / iPhone, Thunderbird, Yahoo, Proton, Fastmail, Spark (English)
    "On Mon, Feb 9, 2026 at 4:15 PM Sam Rivera <connector@example.com> wrote:",
    "On Feb 9, 2026, at 16:15, Sam Rivera <connector@example.com> wrote:",
    "On 2/9/26 4:15 PM, Sam Rivera wrote:",
    "On Monday, February 9, 2026, 04:15:02 PM GMT+1, Sam Rivera <connector@example.com> wrote:",
    "On Monday, February 9th, 2026 at 16:15, Sam Rivera <connector@example.com> wrote:",
    "On Mon, Feb 9, 2026, at 16:15, Sam Rivera wrote:",
    "On 9 Feb 2026 at 16:15 +0100, Sam Rivera <connector@example.com>, wrote:",
    # other languages, as their clients write them
    "Am Mo., 9. Feb. 2026 um 16:15 Uhr schrieb Sam Rivera <connector@example.com>:",
    "Le lun. 9 févr. 2026 à 16:15, Sam Rivera <connector@example.com> a écrit :",
    "El lun, 9 feb 2026 a las 16:15, Sam Rivera (<connector@example.com>) escribió:",
    "Em seg., 9 de fev. de 2026 às 16:15, Sam Rivera <connector@example.com> escreveu:",
    "Il giorno lun 9 feb 2026 alle ore 16:15 Sam Rivera <connector@example.com> ha scritto:",
    "Op ma 9 feb. 2026 om 16:15 schreef Sam Rivera <connector@example.com>:",
    "Op 9 feb. 2026 om 16:15 heeft Sam Rivera <connector@example.com> het volgende geschreven:",
    "Den man. 9. feb. 2026 kl. 16.15 skrev Sam Rivera <connector@example.com>:",
    "Den mån 9 feb. 2026 kl 16:15 skrev Sam Rivera <connector@example.com>:",
    "På man. 9. feb. 2026 kl. 16:15 skrev Sam Rivera <connector@example.com>:",
    "pon., 9 lut 2026 o 16:15 Sam Rivera <connector@example.com> napisał(a):",
    "W dniu 9.02.2026 o 16:15, Sam Rivera pisze:",
    "пн, 9 февр. 2026 г. в 16:15, Sam Rivera <connector@example.com>:",
    "9 февр. 2026 г., в 16:15, Sam Rivera <connector@example.com> написал(а):",
    "2026年2月9日(月) 16:15 Sam Rivera <connector@example.com>:",
    "Sam Rivera <connector@example.com> 于2026年2月9日周一 16:15写道：",
    "2026년 2월 9일 (월) 오후 4:15, Sam Rivera <connector@example.com>님이 작성:",
    "9 Şub 2026 Pzt, 16:15 tarihinde Sam Rivera <connector@example.com> şunu yazdı:",
    "Vào Th 2, 9 thg 2, 2026 vào lúc 16:15 Sam Rivera <connector@example.com> đã viết:",
    "सोम, 9 फ़र॰ 2026 को 4:15 pm बजे Sam Rivera <connector@example.com> ने लिखा:",
    "\u202bفي الاثنين، 9 فبراير 2026 في 4:15 م، كتب Sam Rivera <connector@example.com>:\u202c",
    "Pada tanggal Sen, 9 Feb 2026 pukul 16.15 Sam Rivera <connector@example.com> menulis:",
    "\u202bבתאריך יום ב׳, 9 בפבר׳ 2026 ב-16:15 מאת Sam Rivera <connector@example.com>:\u202c",
    "Στις Δευ 9 Φεβ 2026 στις 4:15 μ.μ., ο/η Sam Rivera <connector@example.com> έγραψε:",
    "2026. febr. 9., H 16:15 keltezéssel Sam Rivera <connector@example.com> ezt írta:",
    "În lun., 9 feb. 2026 la 16:15, Sam Rivera <connector@example.com> a scris:",
    "Dne 9. 2. 2026 v 16:15 Sam Rivera <connector@example.com> napsal(a):",
    "Sam Rivera kirjoitti 9.2.2026 klo 16.15:",
    # old Gmail: a date, a name and the address, no verb
    "2026-02-09 16:15 GMT+01:00 Sam Rivera <connector@example.com>:",
]


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_attribution_lines_of_every_client_and_language(attribution: str) -> None:
    assert _text(f"Count me in.\n\n{attribution}\n{QUOTED}") == "Count me in."


@pytest.mark.parametrize("attribution", ATTRIBUTIONS[:3] + ATTRIBUTIONS[7:10])
def test_bottom_posted_under_an_attribution(attribution: str) -> None:
    assert _text(f"{attribution}\n{QUOTED}\nCount me in.\n") == "Count me in."


def test_an_attribution_wrapped_over_lines_leaves_nothing_behind() -> None:
    body = (
        "Count me in.\n\nOn Mon, Feb 9, 2026 at 4:15 PM Sam Rivera <\n"
        f"connector@example.com> wrote:\n\n{QUOTED}"
    )
    assert _text(body) == "Count me in."
    polymail = (
        "Count me in.\n\nOn Mon, Feb 9, 2026 at 4:15 PM Sam Rivera\n\n<\n"
        "mailto:Sam Rivera <connector@example.com>\n> wrote:\n" + QUOTED
    )
    assert _text(polymail) == "Count me in."


def test_a_short_reply_just_above_a_wrapped_attribution_is_kept() -> None:
    body = f"Fine by me\nOn Mon, Feb 9, 2026, Sam Rivera <\nconnector@example.com> wrote:\n{QUOTED}"
    assert _text(body) == "Fine by me"


@pytest.mark.parametrize(
    ("line", "typed"),
    [
        (
            "Sounds good! On Tue, Jan 3, 2026 at 9:00 AM Alex <alex@tidepool.io> wrote:",
            "Sounds good!",
        ),
        ("Sounds good! Alex Kim <alex@tidepool.io> wrote:", "Sounds good!"),
        ("ok--- On Tue, Jan 3, 2026 at 9:00 AM, alex@tidepool.io wrote:", "ok"),
        ("Glad to! Le 3 janv. 2026 à 09:00, Alex <alex@tidepool.io> a écrit :", "Glad to!"),
        ("Glad to! Den 3 jan. 2026 kl. 09:00 skrev Alex <alex@tidepool.io>:", "Glad to!"),
        ("Glad to! pon., 3 sty 2026 o 09:00 Alex <alex@tidepool.io> napisał(a):", "Glad to!"),
        ("Glad to! пн, 3 янв. 2026 г. в 09:00, Alex <alex@tidepool.io>:", "Glad to!"),
        ("Yes, 10:00 works. Alex <alex@tidepool.io> wrote:", "Yes, 10:00 works."),
        ("Yes. Tuesday works. Alex <alex@tidepool.io> wrote:", "Yes. Tuesday works."),
        # the reply itself starts with "On": only the attribution after it goes
        (
            "On second thought, yes. On Tue, Jan 3, 2026 at 9:00 AM Alex <alex@tidepool.io> wrote:",
            "On second thought, yes.",
        ),
    ],
)
def test_a_reply_typed_on_the_attribution_line_is_kept(line: str, typed: str) -> None:
    assert _text(f"{line}\n{QUOTED}") == typed


def test_a_line_that_merely_starts_with_on_is_not_an_attribution() -> None:
    body = "Yes, on Tuesday at 10:00.\nOn second thought, only if it is remote.\n"
    assert _text(body) == body.strip()


@pytest.mark.parametrize(
    "body",
    [
        "Yes!\n\nDate: Tuesday 9:30\nTo: the three of us\n",
        "Yes.\n10.02.2026 at 10:00 is fine, cc Jamie <jamie@northwind.example>\n",
        "Yes.\n2026-02-10 10:00 works. Jamie <jamie@northwind.example> books it.\n",
    ],
)
def test_typed_lines_that_look_a_little_like_headers_are_kept(body: str) -> None:
    assert _text(body) == body.strip()


# ------------------------------------------------------------- Outlook header blocks
HEADER_BLOCKS = [
    ("From", "Sent", "To", "Subject"),
    ("Von", "Gesendet", "An", "Betreff"),
    ("De", "Envoyé", "À", "Objet"),
    ("De", "Enviado el", "Para", "Asunto"),
    ("De", "Enviado", "Para", "Assunto"),
    ("Da", "Inviato", "A", "Oggetto"),
    ("Van", "Verzonden", "Aan", "Onderwerp"),
    ("Fra", "Sendt", "Til", "Emne"),
    ("Från", "Skickat", "Till", "Ämne"),
    ("Od", "Wysłano", "Do", "Temat"),
    ("От", "Отправлено", "Кому", "Тема"),
    ("差出人", "送信日時", "宛先", "件名"),
    ("发件人", "发送时间", "收件人", "主题"),
    ("寄件者", "寄件日期", "收件者", "主旨"),
    ("보낸 사람", "보낸 날짜", "받는 사람", "제목"),
    ("Kimden", "Gönderildi", "Kime", "Konu"),
    ("Từ", "Đã gửi", "Đến", "Chủ đề"),
]


@pytest.mark.parametrize("labels", HEADER_BLOCKS)
@pytest.mark.parametrize("rule", ["", "________________________________\n", " ----------\n\n"])
def test_outlook_header_blocks_in_every_language(labels: tuple[str, ...], rule: str) -> None:
    sender, sent, to, subject = labels
    block = (
        f"{rule}{sender}: Sam Rivera <connector@example.com>\n{sent}: 9.2.2026 16:15\n"
        f"{to}: Dana Whitfield <dana@northwind.example>\n{subject}: Intro\n\n{ASK}\n\nSam\n"
    )
    assert _text(f"Count me in.\n\n{block}") == "Count me in."


def test_bold_labels_and_a_block_that_starts_with_the_date() -> None:
    bold = "*From:* Sam Rivera [mailto:connector@example.com]\n*Sent:* Monday\n*To:* Dana\n"
    assert _text(f"Count me in.\n\n{bold}\n{ASK}\n") == "Count me in."
    dated = "Date: Mon, 9 Feb 2026 16:15:00 +0100\nTo: dana@northwind.example\n"
    assert _text(f"Count me in.\n\n{dated}\n{ASK}\n") == "Count me in."


def _html_only(html: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Dana Whitfield <dana@northwind.example>"
    msg["To"] = "connector@example.com"
    msg["Subject"] = "Re: Would you like to meet Priya Nair?"
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


def test_an_html_outlook_reply_with_paragraphs_between_the_labels() -> None:
    html = (
        "<html><body><p>Count me in.</p><p>Thanks,</p><p>Alex</p>"
        "<p><b>From:</b><br>Sam Rivera [mailto:connector@example.com]</p>"
        "<p><b>Sent:</b> Monday, February 9, 2026 4:15 PM</p><p><b>To:</b> Dana</p>"
        f"<p><b>Subject:</b> Intro</p><p>{ASK}</p></body></html>"
    )
    mail = read_mail(_html_only(html))
    assert mail.plain is None
    assert new_text(mail, PHRASES) == "Count me in.\n\nThanks,\n\nAlex"


@pytest.mark.parametrize(
    "html",
    [
        '<div dir="ltr">Count me in.<br clear="all"><div class="gmail_signature">Dana Whitfield'
        '<br>Always happy to help</div></div><div class="gmail_quote"><div class="gmail_attr">'
        "On Mon, Sam wrote:</div><blockquote>{ask}</blockquote></div>",
        '<div>Count me in.</div><div name="messageSignatureSection">Dana</div>'
        '<div name="messageReplySection">On 9 Feb 2026, Sam wrote:<br>{ask}</div>',
        '<div>Count me in.</div><div class="protonmail_quote">Sam wrote:<blockquote>{ask}'
        "</blockquote></div>",
        '<div>Count me in.</div><div class="yahoo_quoted"><div>On Monday, Sam wrote:</div>'
        "<div>{ask}</div></div>",
    ],
)
def test_html_quote_and_signature_elements_of_the_usual_clients(html: str) -> None:
    assert new_text(read_mail(_html_only(html.format(ask=ASK))), PHRASES) == "Count me in."


def test_a_header_block_on_top_leaves_the_message_below_it() -> None:
    body = (
        "Von: Dana Whitfield\nGesendet: Montag, 9. Februar 2026 16:15\nBetreff: Intro\n\nGerne!\n"
    )
    assert _text(body) == "Gerne!"


def test_a_forward_with_nothing_added_is_not_the_writers_text() -> None:
    body = (
        "---------- Forwarded message ---------\nFrom: Priya <priya@x.example>\n"
        "Date: Mon, Feb 9, 2026\nSubject: yes\nTo: Dana\n\nYes, I would love to.\n"
    )
    assert _text(body) == ""


# ---------------------------------------------------------------------- separators
@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "---Original Message---",
        "-------- Original message --------",
        "*-------- Original Message --------*",
        "-----Reply Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Oprindelig meddelelse-----",
        "----- Oorspronkelijk bericht -----",
        "------------------ 原始邮件 ------------------",
        "------------------\xa0原始邮件\xa0------------------",
        "---- Sam Rivera wrote ----",
        "------On 9/2/2026 16:15 PM, Sam Rivera wrote-----",
    ],
)
def test_separator_lines(separator: str) -> None:
    assert _text(f"Count me in.\n\n{separator}\n\n{ASK}\n") == "Count me in."


def test_dashes_inside_a_sentence_are_not_a_separator() -> None:
    body = "This is not a ---------- separator.\n\nNor is this line.\n"
    assert _text(body) == "This is not a ---------- separator.\n\nNor is this line."


# -------------------------------------------------- after the sign-off: still new text
def test_a_ps_after_the_sign_off_is_kept() -> None:
    body = "Happy to.\n\nThanks,\nDana\n\nP.S. only if it's not about recruiting\n"
    assert _text(body) == "Happy to.\n\nThanks,\n\nP.S. only if it's not about recruiting"


def test_a_sentence_after_a_valediction_and_name_is_kept_with_them() -> None:
    body = "Happy to.\n\nBest,\nDana\n\nUnless it is about recruiting.\n"
    assert _text(body) == body.strip()


def test_lines_after_thanks_are_kept() -> None:
    body = "Happy to.\n\nThanks!\nBut please keep it short, I am travelling.\n"
    assert _text(body) == body.strip()


@pytest.mark.parametrize(
    "footer",
    ["Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android", "Von meinem iPhone gesendet",
     "Envoyé de mon iPhone", "Sendt fra min iPad", "Sent with Proton Mail secure email."],
)  # fmt: skip
def test_text_after_a_mobile_footer_is_kept(footer: str) -> None:
    body = f"Sure.\n\n{footer}\n\nActually, only after the 15th.\n"
    assert _text(body) == "Sure.\n\nActually, only after the 15th."


def test_a_sentence_that_starts_like_a_footer_is_kept() -> None:
    body = "Yes.\n\nSent from my desk, which is easier than my phone.\n"
    assert _text(body) == body.strip()


# --------------------------------------------------------------- signature blocks
@pytest.mark.parametrize(
    "signature",
    [
        "Best regards,\nDana Whitfield\nVP Logistics | Northwind\n+1 (555) 010-0199",
        "Dana Whitfield\nVP Logistics, Northwind Traders\ndana@northwind.example",
        "Med venlig hilsen\nDana Whitfield",
        "Pozdrawiam,\nDana",
        "Mit freundlichen Grüßen\n\nDana Whitfield\nwww.northwind.example",
        "-Dana",
        "/Dana",
        "--\nDana Whitfield\nNorthwind Traders",
        "Dana Whitfield | VP Logistics\nMobile: +44 20 7946 0000\nNo calls on weekends, please.",
        "Cheers,\nDana\n\n_______________________________________________\nlogistics mailing list\n"
        "logistics@lists.northwind.example\nhttps://lists.northwind.example/logistics",
    ],
)
def test_a_signature_block_is_removed(signature: str) -> None:
    assert _text(f"Yes, please connect us.\n\n{signature}\n") == "Yes, please connect us."


def test_someone_elses_name_after_thanks_stays() -> None:
    assert _text("Yes.\n\nThanks,\nAlex\n", sender="Dana Whitfield") == "Yes.\n\nThanks,\nAlex"


def test_a_name_over_contact_details_needs_the_details() -> None:
    body = "Yes, please connect us.\n\nPriya Nair\nOnly Tuesdays\n"
    assert _text(body) == body.strip()


def test_a_full_name_with_details_after_thanks_is_a_signature() -> None:
    body = "Yes.\n\nThanks,\nAlex Kim\nCEO | Tidepool\n+1 415 555 0100\n"
    assert _text(body) == "Yes.\n\nThanks,"


def test_a_capitalised_condition_under_a_name_is_not_a_company_line() -> None:
    body = "Yes.\n\nBest,\nDana\nNot Recruiters\n"
    assert _text(body) == body.strip()


def test_the_writers_name_starting_a_sentence_is_not_a_signature() -> None:
    assert _text("Yes.\nDana, happy to help whenever.\n") == "Yes.\nDana, happy to help whenever."
    assert _text("Yes.\n\nDana Whitfield, Northwind Traders\n") == "Yes."


def test_a_legal_disclaimer_is_removed() -> None:
    body = "Yes.\n\nThis email and any attachments are confidential and intended only for you.\n"
    assert _text(body) == "Yes."


# ---------------------------------------------------- bottom posts and interleaving
def test_greeting_above_the_quote_and_answer_below_it() -> None:
    body = f"Hi Sam,\nOn Mon, Feb 9, 2026 at 4:15 PM Sam Rivera <connector@example.com> wrote:\n{QUOTED}\nYes, gladly.\n"
    assert _text(body) == "Hi Sam,\n\nYes, gladly."


def test_answers_between_quoted_lines_and_a_wrapped_link_in_the_quote() -> None:
    body = (
        "On Mon, Feb 9, 2026, Sam Rivera <connector@example.com> wrote:\n"
        "> Would you like to meet Priya?\nYes.\n> Read more at (https://example.com/\n"
        "long/link) >\n> Best way to reach you?\nEmail.\n"
    )
    assert _text(body) == "Yes.\nEmail."


def test_the_consent_we_sent_pasted_back_is_dropped() -> None:
    body = f"Yes, happy to.\n\n{ASK}\n"
    raw = make_mail(sender="Dana <dana@northwind.example>", body=body)
    assert new_text(read_mail(raw), PHRASES, sent_text=f"Hi Dana,\n\n{ASK}\n") == "Yes, happy to."


def test_quote_start_points_at_the_attribution() -> None:
    lines = ["Yes.", "", "On Mon, Feb 9, 2026, Sam <connector@example.com> wrote:", "> hi"]
    assert quote_start(lines, PHRASES) == 2
    assert quote_start(["Yes.", "No quote here."], PHRASES) is None


def test_hostile_input_is_capped_and_does_not_raise() -> None:
    for text in (
        "On On 1 wrote on:\n" * 5000,
        ("Yes. " * 90 + "a <a@b.co> wrote:\n") * 200,
        "\x00>\n" * 9000,
    ):
        assert isinstance(plain_new_text(text, PHRASES, sent_text=text[:500], signer="On"), str)
