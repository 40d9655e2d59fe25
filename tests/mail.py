"""Building real RFC 822 bytes for tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime


def make_mail(
    *,
    sender: str = "Alex Kim <alex.kim@tidepool.io>",
    to: str = "Sam Rivera <connector@example.com>",
    subject: str = "Could you introduce me to Dana?",
    body: str = "Hi Sam,\n\nWould you introduce me to Dana?\n\nAlex\n",
    message_id: str | None = "<req-1@tidepool.io>",
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    html: str | None = None,
    attachment: bytes | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 24, 17, 12, 44, tzinfo=UTC))
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="deck.pdf")
    return msg.as_bytes()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
