"""Automated mail by headers and by content: bounces, auto-replies, read receipts, abuse
reports; and human replies that only mention being away, which must stay human."""

from __future__ import annotations

import time

import pytest

from introbot.model import Verdict
from introbot.reading.automated import Automation, detect
from introbot.reading.mime import read_mail
from introbot.reading.replies import read_reply
from introbot.rules import default_phrases
from tests.mail import make_mail

PHRASES = default_phrases()
CONSENT_ID = "<consent-42@introbot.local>"
SUBJECT = "Re: Would you like to meet Alex Kim?"
QUOTE = (
    "\n\nOn Tue, Nov 24, 2026 at 9:12 AM Sam Rivera <connector@example.com> wrote:\n"
    "> Hi Dana, Alex Kim asked me for an introduction to you.\n"
    "> Would you be open to it? Just reply yes or no.\n> Sam\n"
)


def reply(
    body: str,
    *,
    subject: str = SUBJECT,
    sender: str = "Dana <dana@northwind.example>",
    threaded: bool = True,
) -> bytes:
    """A plain reply as a person's client would send it: no automation header at all."""
    return make_mail(
        sender=sender,
        subject=subject,
        body=body,
        message_id="<r-1@northwind.example>",
        in_reply_to=CONSENT_ID if threaded else None,
        references=CONSENT_ID if threaded else None,
    )


def automation(raw: bytes) -> Automation | None:
    return detect(read_mail(raw), PHRASES)


# ------------------------------------------------------------ header-less auto-replies
@pytest.mark.parametrize(
    "body",
    [
        # English, an out-of-office notice that also says "yes"
        "Thanks for your note. I'm out of the office until Tuesday 8 December and checking "
        "email intermittently.\nIf it can't wait, please contact Priya on the front desk.\n"
        "Yes, I'll get to your email upon my return.",
        # French
        "Bonjour, merci pour votre e-mail. Je suis absent du bureau jusqu'au 2 février. En cas "
        "d'urgence, merci de contacter le standard. Avec plaisir à mon retour.",
        # German
        "Danke für Ihre Nachricht! Ich bin derzeit im Urlaub und ab dem 5. Januar wieder "
        "erreichbar. Ihre E-Mail wird nicht weitergeleitet. Ja, ich antworte danach.",
        # Spanish
        "Hola, estoy fuera de la oficina hasta el 12 de enero. Para asuntos urgentes, llama a "
        "recepción. Sí, le responderé a mi vuelta.",
        # Italian, Portuguese, Dutch
        "Grazie per il suo messaggio. Sono fuori ufficio fino al 9 gennaio; per urgenze scriva "
        "alla segreteria.",
        "Obrigada pela sua mensagem. Estou de férias e responderei quando regressar.",
        "Bedankt voor uw bericht. Ik ben met vakantie tot en met 6 januari.",
        # a service responder promising a reply time
        "I'm happy to help - replies within 2 days",
        "Thanks for reaching out! We've received your message and one of our team will be in "
        "touch within 48 hours.",
        # a machine saying what it is
        "This is an automated response: this mailbox is not monitored.",
    ],
)
def test_an_auto_reply_without_any_header_is_read_by_its_text(body: str) -> None:
    found = automation(reply(body))
    assert found is not None and found.kind == "auto_reply", found


def test_an_out_of_office_notice_that_is_not_a_reply_needs_less() -> None:
    body = "I am on parental leave until April and will reply when I'm back."
    assert automation(reply(body, threaded=False)) is not None


@pytest.mark.parametrize(
    "body",
    [
        "I'm out of office next week but happy to chat now" + QUOTE,
        "I'm out of office next week but happy to chat now",
        "I'm on vacation until Monday, but yes, happy to be introduced!" + QUOTE,
        "Thanks for your email! I'm travelling with limited access to email, but yes, go ahead.",
        "I'm away until the 5th so I'll reply properly when I'm back - but yes, happy to meet.",
        "Sorry, I'm on leave until March. Please contact my colleague Jo instead." + QUOTE,
        "Let me check my calendar and I'll get back to you within 2 days." + QUOTE,
        "Je suis en vacances jusqu'au 3, mais oui, avec plaisir !" + QUOTE,
        "Ich bin gerade im Urlaub, aber ja, gerne!" + QUOTE,
        "Estoy de vacaciones hasta el lunes, pero sí, encantada." + QUOTE,
        "Thank you for your message. Yes, happy to meet Alex, as soon as possible." + QUOTE,
    ],
)
def test_a_person_who_mentions_being_away_is_still_a_person(body: str) -> None:
    assert automation(reply(body)) is None


def test_a_quoted_auto_reply_below_a_persons_answer_is_not_theirs() -> None:
    body = (
        "Sorry about my out-of-office - I'm back now, and yes, happy to meet Alex.\n\n"
        "On Mon, Nov 23, 2026 Dana <dana@northwind.example> wrote:\n"
        "> This is an automatic reply. I am out of the office until 23 November.\n"
    )
    assert automation(reply(body)) is None


# ------------------------------------------------------------------ bounces by content
def bounce(sender: str, subject: str, body: str) -> bytes:
    """A delivery failure with no multipart/report, no Return-Path, no X-Failed-Recipients."""
    return make_mail(sender=sender, subject=subject, body=body, message_id="<b-1@mx.example>")


@pytest.mark.parametrize(
    ("sender", "subject", "body", "failed"),
    [
        (  # Postfix-like wording, from a postmaster address
            "Postmaster <postmaster@mail.northwind.example>",
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mail.northwind.example.\n\nYour message could not "
            "be delivered to one or more recipients.\n\n<dana@northwind.example>: host "
            "mx.northwind.example said: 550 5.1.1 user unknown",
            ("dana@northwind.example",),
        ),
        (  # Exim-like wording, a sender with no address at all
            "Mail Delivery System <>",
            "Mail delivery failed: returning message to sender",
            "A message that you sent could not be delivered to one or more of its recipients. "
            "This is a permanent error. The following address(es) failed:\n\n"
            "  tom@harborbio.example\n    SMTP error from remote mail server after RCPT TO",
            ("tom@harborbio.example",),
        ),
        (  # qmail-like wording
            "MAILER-DAEMON <>",
            "failure notice",
            "I was not able to deliver your message to the following addresses.\n\n"
            "<grace@okafor.example>:\nSorry, no mailbox here by that name. (#5.1.1)",
            ("grace@okafor.example",),
        ),
        (  # Exchange-like wording
            "Mail Gateway <gateway@chenlabs.example>",
            f"Undeliverable: {SUBJECT}",
            "Your message did not reach some or all of the intended recipients.\n\n"
            "The following recipient(s) could not be reached:\n\n    marcus@chenlabs.example\n"
            "        Recipient not found #550 5.1.10",
            ("marcus@chenlabs.example",),
        ),
        (  # French, a virus-scanning gateway
            "Passerelle <passerelle@maisonbleue.example>",
            "Message non remis",
            "Votre message n'a pas pu être remis au destinataire suivant :\n"
            "camille@maisonbleue.example\nMotif : utilisateur inconnu.",
            ("camille@maisonbleue.example",),
        ),
        (  # Spanish
            "Servidor de correo <correo@andes.example>",
            "Error de entrega",
            "No se pudo entregar el mensaje a diego@andes.example: buzón lleno.",
            ("diego@andes.example",),
        ),
    ],
)
def test_a_bounce_without_a_report_is_read_by_its_text(
    sender: str, subject: str, body: str, failed: tuple[str, ...]
) -> None:
    found = automation(bounce(sender, subject, body))
    assert found is not None and found.kind == "bounce", found
    assert found.failed_recipients == failed


def test_a_forwarded_bounce_is_a_persons_message() -> None:
    body = (
        "Can you check this? My note to Bob came back.\n\n"
        "---------- Forwarded message ---------\nFrom: Mail Delivery Subsystem\n"
        "Subject: Delivery Status Notification (Failure)\n\n"
        "Your message wasn't delivered to bob@lost.example because the address couldn't be "
        "found.\n550 5.1.1 user unknown\n"
    )
    assert automation(reply(body, subject="Fwd: Delivery Status Notification (Failure)")) is None


@pytest.mark.parametrize(
    "body",
    [
        "Your email to Bob couldn't be delivered - he left. Try bob@newco.example." + QUOTE,
        "Your email to Bob couldn't be delivered - he left. Try bob@newco.example.",
    ],
)
def test_a_person_saying_mail_bounced_is_still_a_person(body: str) -> None:
    assert automation(reply(body)) is None


def test_a_postmaster_address_alone_does_not_make_a_bounce() -> None:
    raw = make_mail(
        sender="Bob <postmaster@bobs-shop.example>",
        subject="Photos from Sunday",
        body="Here are the photos, enjoy!",
    )
    assert automation(raw) is None


# ---------------------------------------------------------- read receipts and reports
def report(report_type: str, human: str, machine_type: str, machine: str) -> bytes:
    boundary = "rpt-7f3a"
    return (
        "From: Dana <dana@northwind.example>\r\nTo: connector@example.com\r\n"
        f"Subject: {SUBJECT}\r\nMessage-ID: <rpt-1@northwind.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\n{human}\r\n"
        f"--{boundary}\r\nContent-Type: {machine_type}\r\n\r\n{machine}\r\n--{boundary}--\r\n"
    ).encode()


def test_a_read_receipt_is_an_auto_reply_never_an_answer() -> None:
    raw = report(
        "disposition-notification",
        "Your message was displayed on the recipient's screen. No, this does not mean it was "
        "read or agreed to.",
        "message/disposition-notification",
        "Final-Recipient: rfc822; dana@northwind.example\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed",
    )
    found = automation(raw)
    assert found is not None and found.kind == "auto_reply"
    assert read_reply(read_mail(raw), PHRASES).verdict is Verdict.AUTO_REPLY


def test_a_read_receipt_without_a_report_is_read_by_subject_and_text() -> None:
    raw = make_mail(
        sender="Dana <dana@northwind.example>",
        subject="Read: Meet Alex Kim?",
        body="Your message\n\n  Subject: Meet Alex Kim?\n\nwas read on 24/11/2026 10:02.",
    )
    found = automation(raw)
    assert found is not None and found.kind == "auto_reply"


def test_an_abuse_report_goes_to_the_connector_as_a_bounce() -> None:
    raw = report(
        "feedback-report",
        "A recipient marked a message from your address as spam. Yes, this is a report.",
        "message/feedback-report",
        "Feedback-Type: abuse\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1",
    )
    found = automation(raw)
    assert found is not None and found.kind == "bounce"
    assert "abuse report" in found.evidence


# --------------------------------------------------------------------------- headers
@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("From: MAILER-DAEMON <>\r\n", "bounce"),
        ("From: Relay <relay@mx.example>\r\nReturn-Path: <MAILER-DAEMON@mx.example>\r\n", "bounce"),
        ("From: Alerts <no-reply@tools.example>\r\n", "auto_reply"),
        ("From: Dana <dana@northwind.example>\r\nAuto-Submitted: auto-replied\r\n", "auto_reply"),
    ],
)
def test_machine_headers(headers: str, kind: str) -> None:
    raw = headers + f"Subject: {SUBJECT}\r\nMessage-ID: <h@x.example>\r\n\r\nYes, sure.\r\n"
    found = automation(raw.encode())
    assert found is not None and found.kind == kind


def test_auto_submitted_no_is_a_person() -> None:
    raw = reply("Yes, happy to meet Alex.")
    raw = b"Auto-Submitted: no\r\n" + raw
    assert automation(raw) is None


# ------------------------------------------------------------- never a yes or a no
@pytest.mark.parametrize(
    "raw",
    [
        reply("I'm happy to help - replies within 2 days"),
        reply(
            "Thank you for your email. I am out of the office until Monday with no access to "
            "email. Absolutely, I will respond to your message when I return."
        ),
        bounce(
            "Postmaster <postmaster@mx.example>",
            "Returned mail: see transcript",
            "The following addresses had permanent fatal errors: <dana@northwind.example>\n"
            "550 5.1.1 No thanks, user unknown",
        ),
    ],
)
def test_automated_mail_never_gets_a_yes_or_a_no(raw: bytes) -> None:
    verdict = read_reply(read_mail(raw), PHRASES).verdict
    assert verdict in (Verdict.AUTO_REPLY, Verdict.BOUNCE)


# ------------------------------------------------------------------------------ caps
@pytest.mark.slow
def test_a_huge_body_is_read_in_bounded_time() -> None:
    body = ("out of office " * 40 + "\n") * 20_000  # ~11 MB of text, many phrase hits
    raw = bounce("Mailer <mailer-daemon-ish@example.com>", "Hello", body)
    started = time.monotonic()
    automation(raw)
    assert time.monotonic() - started < 5


def test_a_huge_from_header_with_a_daemon_name_costs_nothing_more() -> None:
    raw = (
        "From: "
        + "a" * 200_000
        + " mailer-daemon <x@y.example>\r\nSubject: hi\r\n\r\n"
        + "b" * 3_000_000
        + "\r\n"
    ).encode()
    started = time.monotonic()
    automation(raw)
    assert time.monotonic() - started < 5
