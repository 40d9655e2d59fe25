"""``introbot demo``: the whole story on a sandbox Gmail, no Google account needed.

A sandbox Gmail server starts on 127.0.0.1 and a mailbox is seeded with realistic intro
requests (and a newsletter labeled by mistake). Then the real poll code runs over it while
the demo plays the connector (labels threads, sends drafts, decides an unclear reply) and
the other people (a yes, a no, an unclear reply, an out-of-office). Every step is narrated;
the demo ends with the drafts introbot wrote and where each intro stands.
"""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from introbot.cli.views import table
from introbot.engine import Engine, PollReport
from introbot.gmail.client import GmailClient
from introbot.model import Stage
from introbot.reading.mime import read_mail
from introbot.rules import load_rules
from introbot.sandbox import DEFAULT_USER, SandboxServer
from introbot.sandbox.control import SandboxControl, compose_reply, seed_messages
from introbot.settings import Settings
from introbot.store import Store

Echo = Callable[[str], None]

# Who answers what: the people of the seeded requests.
REPLIES = {
    "alex.kim@tidepool.io": (
        "Alex Kim <alex.kim@tidepool.io>",
        "Yes please! We'd love 20 minutes to show Dana our pilot results.",
    ),
    "dana@northwind.example": (
        "Dana Whitfield <dana@northwind.example>",
        "Yes, happy to. Email is best for me.",
    ),
    "maria@solstice.energy": (
        "Maria Santos <maria@solstice.energy>",
        "Yes - thank you Sam! We're raising a $2M seed for community solar.",
    ),
    "jordan@greenfield.vc": (
        "Jordan Lee <jordan@greenfield.vc>",
        "Thanks for asking first. Our plate is full through Q2, so I'll pass.",
    ),
    "priya@lumen.dev": ("Priya Shah <priya@lumen.dev>", "Yes, absolutely."),
    "tom@harborbio.com": ("Tom Becker <tom@harborbio.com>", "Maybe - what stage is Lumen at?"),
    "lea.moreau@atelier-nord.fr": (
        "Léa Moreau <lea.moreau@atelier-nord.fr>",
        "Oui, avec plaisir !",
    ),
    "camille.durand@maisonbleue.fr": (
        "Camille Durand <camille.durand@maisonbleue.fr>",
        "Je suis absente jusqu'au lundi 30 novembre.",
    ),
}
OUT_OF_OFFICE = {"camille.durand@maisonbleue.fr"}


class Demo:
    def __init__(self, echo: Echo, server: SandboxServer, folder: Path) -> None:
        self.echo = echo
        self.server = server
        self.control = SandboxControl(server.url)
        self.client = GmailClient.for_sandbox(server.url)
        self.store = Store(folder / "demo.db")
        settings = Settings.of("Sam Rivera")
        self.engine = Engine(self.client, self.store, settings, load_rules())
        self.now = datetime.now(UTC)

    def close(self) -> None:
        self.client.close()
        self.store.close()

    # ---------------------------------------------------------------- helpers
    def poll(self, title: str) -> PollReport:
        self.now += timedelta(minutes=5)
        report = self.engine.poll(self.now)
        self.echo(f"\n--> introbot polls ({title})")
        for line in report.decisions:
            self.echo(_wrapped(line, "    ", "        "))
        if not report.decisions:
            self.echo("    nothing new")
        return report

    def drafts(self) -> list[dict[str, Any]]:
        return list(self.control.mailbox()["drafts"])

    def send_drafts(self, which: Callable[[dict[str, Any]], bool] = lambda d: True) -> None:
        for draft in self.drafts():
            if which(draft):
                self.control.send_draft(draft["id"])
                sent = f'you send: "{draft["subject"]}" to {draft["to"]}'
                self.echo(_wrapped(sent, "    ", "        "))

    def sent_to(self, address: str) -> dict[str, Any] | None:
        sent = [
            m
            for m in self.control.mailbox()["messages"]
            if "SENT" in m["labelIds"] and address in m["headers"].get("To", "")
        ]
        return sent[-1] if sent else None

    # ------------------------------------------------------------------ story
    def run(self) -> None:
        echo = self.echo
        echo(f"A sandbox Gmail for connector@example.com runs at {self.server.url}")
        echo("(nothing leaves this machine; introbot talks to it exactly as to Gmail).")
        echo("\n1. Mail arrives, and you label the intro requests 'intro-request' in Gmail:")
        for _, raw in seed_messages():
            # What you send yourself (a forward, a note) is in your Sent mail, as in Gmail.
            author = read_mail(raw).sender
            own = author is not None and author.key == DEFAULT_USER
            labels = ("INBOX", "SENT") if own else ("INBOX", "UNREAD")
            delivered = self.control.deliver(raw, labels=labels)
            self.control.label_thread(delivered["threadId"], add=("intro-request",))
        for message in self.control.mailbox()["messages"]:
            arrived = f"- {message['headers'].get('From')}: {message['headers'].get('Subject')}"
            echo(_wrapped(arrived, "    ", "      "))
        echo("    (the newsletter got the label by mistake)")

        self.poll("it reads each labeled thread once")
        echo(f"\n    {len(self.drafts())} drafts wait in your Gmail. One of them:")
        contact_draft = next(d for d in self.drafts() if "dana@" in (d["to"] or ""))
        self.show_draft(contact_draft)

        echo("\n2. You read the consent drafts and send them from Gmail:")
        self.send_drafts(lambda d: d["to"] != "Sam Rivera <connector@example.com>")
        self.poll("it notices what you sent")

        echo("\n3. People answer:")
        for address, (sender, text) in REPLIES.items():
            original = self.sent_to(address)
            if original is None:
                continue
            headers = {"Auto-Submitted": "auto-replied"} if address in OUT_OF_OFFICE else None
            subject = "Absence du bureau" if address in OUT_OF_OFFICE else None
            raw = compose_reply(
                original, sender, text, at=self.now, subject=subject, headers=headers
            )
            self.control.deliver(raw)
            echo(f'    {sender.split(" <")[0]}: "{text}"')
        self.poll("it reads the replies")

        echo(
            "\n    Jordan said no. The note to Maria tells her so, and nothing more: "
            "Jordan's reply\n    and reasons stay with you (the privacy promise). "
            "The draft, for you to send:"
        )
        note = next(d for d in self.drafts() if "maria@" in (d["to"] or ""))
        self.show_draft(note)

        echo("\n4. Tom's reply was unclear, so you decide: you label it 'introbot/yes' in Gmail.")
        tom = next(
            m
            for m in self.control.mailbox()["messages"]
            if m["headers"].get("From", "").startswith("Tom Becker")
        )
        self.control.label_thread(tom["threadId"], add=("introbot/yes",))
        self.poll("it sees your decision")

        echo("\n5. You send the introductions:")
        self.send_drafts(lambda d: str(d["subject"]).startswith("Intro:"))
        self.poll("it closes what is done")

        echo("\n6. Where everything stands (`introbot list`):")
        echo(
            "\n".join(
                f"    {line}"
                for line in table(self.store.intros(), self.now, width=96).splitlines()
            )
        )
        left = self.drafts()
        echo(f"\n    Drafts still waiting for you in Gmail: {len(left)}")
        for draft in left:
            echo(f'    - "{draft["subject"]}" to {draft["to"]}')
        stats = self.control.stats()
        sends = stats["by_method"].get("drafts.send", 0) + stats["by_method"].get(
            "messages.send", 0
        )
        done = len(self.store.intros(stage=Stage.INTRODUCED))
        echo(
            f"\n{done} introductions made. Gmail API use: {stats['requests']} calls, "
            f"{stats['quota_units']} quota units.\nMessages sent by introbot: {sends} - "
            "you sent every one yourself."
        )
        echo(
            "\nWhat to try next:\n"
            "    introbot explain reply FILE.eml   how introbot reads a reply of your own\n"
            "    introbot sandbox serve            a sandbox of your own, then\n"
            "    introbot poll --sandbox URL       poll it, and `introbot list --sandbox URL`\n"
            "    introbot init, then introbot auth to use it on your Gmail (README: "
            "'Use it on your Gmail')"
        )

    def show_draft(self, draft: dict[str, Any]) -> None:
        self.echo(f"    To: {draft['to']}\n    Subject: {draft['subject']}")
        for line in str(draft["text"]).strip().splitlines():
            self.echo(_wrapped(line, "    | ", "    | ") if line.strip() else "    |")


def _wrapped(text: str, first: str, rest: str) -> str:
    """A line of the story, wrapped to stay short (quoted mail keeps its indent)."""
    indent = text[: len(text) - len(text.lstrip())]
    return "\n".join(
        textwrap.wrap(
            text.strip(), width=92, initial_indent=first + indent, subsequent_indent=rest + indent
        )
    )


def run_demo(echo: Echo, server: SandboxServer) -> None:
    with tempfile.TemporaryDirectory(prefix="introbot-demo-") as folder:
        demo = Demo(echo, server, Path(folder))
        try:
            demo.run()
        finally:
            demo.close()
