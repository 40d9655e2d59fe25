"""Auto-replies and bounces, written out whole as the servers that send them do."""

from __future__ import annotations

from dataclasses import dataclass

CONSENT_ID = "<consent-dana-7f3a@introbot.local>"
SUBJECT = "Would you like to meet Alex Kim?"
QUOTED_CONSENT = (
    "Hi Dana,\r\n\r\nAlex Kim, co-founder of Tidepool (cold-chain sensors), asked me for an\r\n"
    "introduction to you.\r\n\r\nWould you be open to it? Just reply yes and I'll connect you\r\n"
    "both, or no - no hard feelings, and no need to explain.\r\n\r\nSam\r\n"
)


@dataclass
class Automated:
    slug: str
    verdict: str  # auto_reply | bounce
    raw: bytes
    failed: tuple[str, ...] = ()


def _auth(domain: str) -> str:
    return (
        "Authentication-Results: mx.google.com;\r\n"
        f"       dkim=pass header.i=@{domain} header.s=sel1;\r\n"
        f"       spf=pass smtp.mailfrom={domain};\r\n"
        f"       dmarc=pass (p=NONE) header.from={domain}\r\n"
    )


def _reply_headers(sender: str, domain: str, subject: str, extra: str, n: int) -> str:
    return (
        _auth(domain) + extra + f"From: {sender}\r\nTo: Sam Rivera <connector@example.com>\r\n"
        f"Subject: {subject}\r\nDate: Tue, 24 Nov 2026 19:{n:02d}:03 +0000\r\n"
        f"Message-ID: <auto-{n}@{domain}>\r\nIn-Reply-To: {CONSENT_ID}\r\n"
        f"References: {CONSENT_ID}\r\nMIME-Version: 1.0\r\n"
    )


def _plain(body: str, charset: str = "utf-8") -> str:
    return (
        f'Content-Type: text/plain; charset="{charset}"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
        + body.replace("\n", "\r\n")
    )


def _auto(
    slug: str, sender: str, domain: str, subject: str, extra: str, body: str, n: int
) -> Automated:
    raw = _reply_headers(sender, domain, subject, extra, n) + _plain(body)
    return Automated(slug, "auto_reply", raw.encode("utf-8"))


AUTO_REPLIES = [
    _auto(
        "gmail-vacation-says-yes",
        "Dana Whitfield <dana@northwind.example>",
        "northwind.example",
        f"Re: {SUBJECT}",
        "Auto-Submitted: auto-replied\r\n",
        "Hi! I'm out of office until December 2 with limited access to email.\n"
        "Yes, I will get back to you when I'm back - happy to help then!\n\nDana",
        1,
    ),
    _auto(
        "exchange-automatic-reply",
        "Marcus Chen <marcus@chenlabs.io>",
        "chenlabs.io",
        f"Automatic reply: {SUBJECT}",
        "Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n"
        "X-MS-Exchange-Inbox-Rules-Loop: marcus@chenlabs.io\r\n",
        "Thank you for your email. I am currently out of the office with no access to email.\n"
        "For urgent matters please contact ops@chenlabs.io.",
        2,
    ),
    _auto(
        "exchange-subject-only",
        "Priya Raman <priya.raman@lumenhealth.com>",
        "lumenhealth.com",
        f"Automatic reply: {SUBJECT}",
        "X-Auto-Response-Suppress: All\r\nThread-Topic: Would you like to meet Alex Kim?\r\n",
        "I'm away until Monday. Yes, I'll read your message then.",
        3,
    ),
    _auto(
        "out-of-office-subject",
        "Jordan Lee <jordan@greenfield.vc>",
        "greenfield.vc",
        f"Out of Office: {SUBJECT}",
        "",
        "I'm at our LP meeting this week and slow to reply. Sure, I'll be back Friday.",
        4,
    ),
    _auto(
        "precedence-auto-reply",
        "Hannah O'Brien <hannah@obrien.design>",
        "obrien.design",
        f"Re: {SUBJECT}",
        "Precedence: auto_reply\r\n",
        "Thanks for your note! I'm heads-down on a project and checking mail twice a day.",
        5,
    ),
    _auto(
        "x-autoreply-header",
        "Tom Becker <tom@harborbio.com>",
        "harborbio.com",
        f"Re: {SUBJECT}",
        "X-Autoreply: yes\r\n",
        "Yes, your message arrived. I'm on leave and will reply in January.",
        6,
    ),
    _auto(
        "x-autorespond-header",
        "Grace Okafor <grace@okafor-law.com>",
        "okafor-law.com",
        f"Re: {SUBJECT}",
        "X-Autorespond: Thank you for contacting Okafor Law\r\n",
        "Thank you for contacting Okafor Law. A member of our team will respond shortly.",
        7,
    ),
    _auto(
        "empty-return-path",
        "Ben Carter <ben.carter@fieldstone.co>",
        "fieldstone.co",
        f"Re: {SUBJECT}",
        "Return-Path: <>\r\n",
        "Ben is travelling until the 30th. Happy to help when he's back - sure thing!",
        8,
    ),
    _auto(
        "de-abwesenheitsnotiz",
        "Jonas Becker <jonas.becker@kuehlwerk.de>",
        "kuehlwerk.de",
        f"Abwesenheitsnotiz: {SUBJECT}",
        "",
        "Vielen Dank für Ihre Nachricht. Ich bin bis zum 7. Dezember nicht im Büro.\n"
        "Ja, ich melde mich danach gerne.",
        9,
    ),
    _auto(
        "de-automatische-antwort",
        "Anna Schmidt <a.schmidt@nordlicht-ventures.de>",
        "nordlicht-ventures.de",
        f"Automatische Antwort: {SUBJECT}",
        "Auto-Submitted: auto-replied\r\n",
        "Ich bin derzeit im Urlaub und ab dem 1. Dezember wieder erreichbar.",
        10,
    ),
    _auto(
        "fr-reponse-automatique",
        "Camille Durand <camille@maisonbleue.fr>",
        "maisonbleue.fr",
        "Réponse automatique : Une mise en relation avec Alex Kim ?",
        "Auto-Submitted: auto-replied\r\n",
        "Bonjour, je suis absente jusqu'au 3 décembre. Oui, je vous répondrai à mon retour.",
        11,
    ),
    _auto(
        "fr-absence-du-bureau",
        "Julien Moreau <julien.moreau@atelier-nord.fr>",
        "atelier-nord.fr",
        "Absence du bureau",
        "",
        "Je suis en congé jusqu'au lundi 30 novembre. Avec plaisir à mon retour.",
        12,
    ),
    _auto(
        "es-respuesta-automatica",
        "Diego Ramírez <diego@andes.vc>",
        "andes.vc",
        "Respuesta automática: ¿Te presento a Alex Kim?",
        "Auto-Submitted: auto-replied\r\n",
        "Gracias por tu mensaje. Estoy de viaje hasta el 2 de diciembre. Sí, te contesto a la vuelta.",
        13,
    ),
    _auto(
        "es-fuera-de-la-oficina",
        "Carmen López <carmen.lopez@mercadoverde.mx>",
        "mercadoverde.mx",
        "Fuera de la oficina",
        "",
        "Estaré fuera de la oficina hasta el lunes. Por supuesto responderé a mi regreso.",
        14,
    ),
    _auto(
        "parental-leave-auto-submitted",
        "Lukas Weber <lukas@weber-consulting.de>",
        "weber-consulting.de",
        f"Re: {SUBJECT}",
        "Auto-Submitted: auto-replied\r\n",
        "I'm on parental leave until March. Absolutely happy to reconnect then!",
        15,
    ),
    _auto(
        "helpdesk-ticket",
        "Lumen Support <support@lumenhealth.com>",
        "lumenhealth.com",
        f"[Ticket #48213] Re: {SUBJECT}",
        "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
        "We received your request and a team member will get back to you within 2 business days.",
        16,
    ),
    _auto(
        "precedence-bulk-ooo",
        "Elodie Martin <elodie.martin@lumiere-conseil.fr>",
        "lumiere-conseil.fr",
        f"Re: {SUBJECT}",
        "Precedence: bulk\r\n",
        "I am out of the office. Yes, your email has been received.",
        17,
    ),
    _auto(
        "on-vacation-subject-no-headers",
        "Lucía Fernández <lucia@solmar.es>",
        "solmar.es",
        "On vacation until Dec 1",
        "",
        "Hi, I'm on vacation with no email. Happy to reply when I'm back!",
        18,
    ),
    # Header-less auto-replies: no Auto-Submitted, no autoreply header, an ordinary subject,
    # In-Reply-To set as a reply's would be. Only the text says a machine wrote them.
    _auto(
        "headerless-ooo-en",
        "Rosa Delgado <rosa@brightline.example>",
        "brightline.example",
        f"Re: {SUBJECT}",
        "",
        "Thank you for your message. I am out of the office until Monday 7 December with "
        "limited access to email.\nFor anything urgent, please contact my colleague Theo at "
        "theo@brightline.example.\n\nYes, I will answer when I return.\n\nRosa",
        19,
    ),
    _auto(
        "headerless-ooo-fr",
        "Margaux Petit <margaux.petit@clairval.fr>",
        "clairval.fr",
        f"RE: {SUBJECT}",
        "",
        "Bonjour,\n\nMerci pour votre message. Je suis en congés jusqu'au 4 janvier inclus et "
        "je vous répondrai à mon retour.\nPour toute urgence, vous pouvez joindre l'accueil.\n\n"
        "Bien cordialement,\nMargaux",
        20,
    ),
    _auto(
        "headerless-ooo-de",
        "Felix Hartmann <f.hartmann@brueckenbau.de>",
        "brueckenbau.de",
        f"AW: {SUBJECT}",
        "",
        "Guten Tag,\n\nvielen Dank für Ihre Nachricht. Ich bin bis einschließlich 11. Januar "
        "nicht im Büro.\nIn dringenden Fällen wenden Sie sich bitte an unser Sekretariat.\n\n"
        "Gerne melde ich mich danach.\nFelix Hartmann",
        21,
    ),
    _auto(
        "headerless-ooo-es",
        "Inés Navarro <ines@cafetal.co>",
        "cafetal.co",
        f"RE: {SUBJECT}",
        "",
        "Hola,\n\ngracias por tu mensaje. Estoy de vacaciones hasta el 8 de enero con acceso "
        "limitado al correo. Si es urgente, escribe a equipo@cafetal.co.\n\nClaro, te responderé "
        "a mi regreso.",
        22,
    ),
    _auto(
        "headerless-responder-within-days",
        "Northwind Partnerships <partners@northwind.example>",
        "northwind.example",
        f"Re: {SUBJECT}",
        "",
        "Happy to help! This inbox replies within 3 business days.\nSure, we read every message.",
        23,
    ),
]


# -------------------------------------------------------------------------- bounces
def _dsn(
    slug: str,
    sender: str,
    subject: str,
    human: str,
    recipient: str,
    status: str,
    n: int,
    action: str = "failed",
    extra: str = "",
) -> Automated:
    boundary = f"00000000000{n:04d}dsnboundary"
    raw = (
        "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=\r\n"
        "Return-Path: <>\r\n"
        + extra
        + f"From: {sender}\r\nTo: connector@example.com\r\nSubject: {subject}\r\n"
        f"Date: Tue, 24 Nov 2026 17:{n:02d}:40 +0000\r\nMessage-ID: <dsn-{n}@mx.example.net>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; boundary="{boundary}"; report-type=delivery-status\r\n\r\n'
        f'--{boundary}\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\n'
        + human.replace("\n", "\r\n")
        + f"\r\n\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "Arrival-Date: Tue, 24 Nov 2026 17:12:01 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: Sam Rivera <connector@example.com>\r\nTo: {recipient}\r\n"
        f"Subject: {SUBJECT}\r\nMessage-ID: {CONSENT_ID}\r\n\r\n"
        + QUOTED_CONSENT
        + f"\r\n--{boundary}--\r\n"
    )
    failed = (recipient,) if action == "failed" else ()
    return Automated(slug, "bounce", raw.encode("utf-8"), failed)


def _plain_bounce(slug: str, headers: str, body: str, failed: tuple[str, ...], n: int) -> Automated:
    raw = (
        headers + f"To: connector@example.com\r\nDate: Tue, 24 Nov 2026 18:{n:02d}:00 +0000\r\n"
        f"Message-ID: <bounce-{n}@mail.example.net>\r\nMIME-Version: 1.0\r\n" + _plain(body)
    )
    return Automated(slug, "bounce", raw.encode("utf-8"), failed)


BOUNCES = [
    _dsn(
        "gmail-address-not-found",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        "** Address not found **\n\nYour message wasn't delivered to dana@northwind.example because "
        "the address couldn't be found, or is unable to receive mail.",
        "dana@northwind.example",
        "5.1.1",
        1,
    ),
    _dsn(
        "exchange-undeliverable",
        "Microsoft Outlook <postmaster@chenlabs.onmicrosoft.com>",
        f"Undeliverable: {SUBJECT}",
        "Your message to marcus@chenlabs.io couldn't be delivered.\n"
        "marcus wasn't found at chenlabs.io.",
        "marcus@chenlabs.io",
        "5.1.10",
        2,
    ),
    _dsn(
        "postfix-returned",
        "MAILER-DAEMON@mail.lumenhealth.com (Mail Delivery System)",
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mail.lumenhealth.com.\n\nI'm sorry to have to inform you "
        "that your message could not\nbe delivered to one or more recipients.",
        "priya.raman@lumenhealth.com",
        "5.1.1",
        3,
    ),
    _dsn(
        "mailbox-full",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        "Your message wasn't delivered to jordan@greenfield.vc because the recipient's inbox is "
        "out of storage space.",
        "jordan@greenfield.vc",
        "5.2.2",
        4,
    ),
    _dsn(
        "delay-notification",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Delay)",
        "Your message to hannah@obrien.design has been delayed. Yes, we'll keep trying for 47 "
        "more hours.",
        "hannah@obrien.design",
        "4.4.1",
        5,
        action="delayed",
    ),
    _dsn(
        "de-unzustellbar",
        "Microsoft Outlook <postmaster@kuehlwerk.de>",
        f"Unzustellbar: {SUBJECT}",
        "Ihre Nachricht an jonas.becker@kuehlwerk.de konnte nicht zugestellt werden.",
        "jonas.becker@kuehlwerk.de",
        "5.1.1",
        6,
    ),
    _dsn(
        "fr-non-remis",
        "Microsoft Outlook <postmaster@maisonbleue.fr>",
        "Non remis : Une mise en relation avec Alex Kim ?",
        "Votre message n'a pas pu être remis à camille@maisonbleue.fr.",
        "camille@maisonbleue.fr",
        "5.1.1",
        7,
    ),
    _dsn(
        "es-no-se-puede-entregar",
        "Microsoft Outlook <postmaster@andes.vc>",
        "No se puede entregar: ¿Te presento a Alex Kim?",
        "No se pudo entregar el mensaje a diego@andes.vc.",
        "diego@andes.vc",
        "5.1.1",
        8,
    ),
    _dsn(
        "quoted-original-says-yes",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        "Your message wasn't delivered to tom@harborbio.com. Yes, the domain exists, but the "
        "mailbox is disabled.",
        "tom@harborbio.com",
        "5.2.1",
        9,
    ),
    _plain_bounce(
        "exim-failed-recipients",
        "Return-Path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.fieldstone.co>\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n"
        "X-Failed-Recipients: ben.carter@fieldstone.co\r\nAuto-Submitted: auto-replied\r\n",
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\nrecipients. "
        "This is a permanent error. The following address(es) failed:\n\n"
        "  ben.carter@fieldstone.co\n    No such user here",
        ("ben.carter@fieldstone.co",),
        10,
    ),
    _plain_bounce(
        "qmail-failure-notice",
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@okafor-law.com\r\nSubject: failure notice\r\n",
        "Hi. This is the qmail-send program at okafor-law.com.\nI'm afraid I wasn't able to "
        "deliver your message to the following addresses.\nThis is a permanent error; I've given up. "
        "Sorry it didn't work out.\n\n<grace@okafor-law.com>:\nSorry, no mailbox here by that name.",
        ("grace@okafor-law.com",),
        11,
    ),
    _plain_bounce(
        "yahoo-not-delivered",
        "From: MAILER-DAEMON@yahoo.com\r\nSubject: Failure Notice\r\n",
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        "<lucia@solmar.es>:\n554: delivery error: dd This user doesn't have a yahoo.com account",
        ("lucia@solmar.es",),
        12,
    ),
    _plain_bounce(
        "postmaster-text-only-no-report",
        "From: Postmaster <postmaster@relay.brightline.example>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n",
        "This is the mail relay at relay.brightline.example.\n\nYour message could not be "
        "delivered to one or more recipients. Yes, the relay tried twice.\n\n"
        "<rosa@brightline.example>: host mx.brightline.example said: 550 5.1.1 "
        "mailbox unavailable\n\n--- a copy of the original message follows ---\n"
        "From: Sam Rivera <connector@example.com>\nSubject: Would you like to meet Alex Kim?",
        ("rosa@brightline.example",),
        13,
    ),
    _plain_bounce(
        "daemon-without-address",
        "From: MAILER-DAEMON <>\r\nSubject: Message failed\r\n",
        "There was an error delivering your mail to <f.hartmann@brueckenbau.de>.\n\n"
        "mx.brueckenbau.de did not accept the RCPT TO command:\n"
        "550 5.1.1 <f.hartmann@brueckenbau.de>: no such user",
        ("f.hartmann@brueckenbau.de",),
        14,
    ),
    _plain_bounce(
        "gateway-failure-de",
        "From: Mail Gateway <gateway@clairval.fr>\r\n"
        "Subject: Zustellung fehlgeschlagen: Would you like to meet Alex Kim?\r\n",
        "Ihre Nachricht konnte nicht zugestellt werden an:\n\n   ines@cafetal.co\n\n"
        "Grund: Empfänger unbekannt. Nein, ein weiterer Versuch wird nicht unternommen.",
        ("ines@cafetal.co",),
        15,
    ),
]

AUTOMATED = AUTO_REPLIES + BOUNCES
