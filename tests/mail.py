"""Building real RFC 822 bytes for tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from introbot.sandbox.control import SandboxControl


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


def make_draft(n: int = 1, **fields: Any) -> bytes:
    """A draft from the connector to a contact, with a distinct Message-ID per ``n``."""
    defaults: dict[str, Any] = {
        "sender": "Sam Rivera <connector@example.com>",
        "to": "Dana Whitfield <dana@northwind.example>",
        "subject": "Would you like to meet Alex Kim?",
        "message_id": f"<draft-{n}@introbot.local>",
        "body": f"Draft version {n}\n",
    }
    return make_mail(**{**defaults, **fields})


def deliver_many(control: SandboxControl, n: int, **fields: Any) -> list[dict[str, str]]:
    """``n`` unrelated messages arrive, each in its own thread."""
    return [
        control.deliver(
            make_mail(**{"message_id": f"<m{i}@x>", "subject": f"Subject {i}", **fields})
        )
        for i in range(n)
    ]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
