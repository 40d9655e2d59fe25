"""A small world for end-to-end tests: a sandbox Gmail, introbot's engine on a fresh
database, and helpers that play the connector (sending drafts) and the parties (replying)."""

from __future__ import annotations

import atexit
import functools
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build

from introbot.engine import OBSERVED_WORDS, Engine, PollReport
from introbot.gmail.client import GmailClient
from introbot.model import Intro
from introbot.rules import Rules, load_rules
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, authentication_results, compose_reply
from introbot.sandbox.realism import Realism
from introbot.settings import Settings
from introbot.store import Store, StoreLocation
from tests.conftest import FAST_RETRY

CONNECTOR = "connector@example.com"
ALEX = "Alex Kim <alex.kim@tidepool.io>"
DANA = "Dana Whitfield <dana@northwind.example>"
REQUEST = (
    "Hi Sam,\n\nCould you introduce me to Dana Whitfield (dana@northwind.example)? We build "
    "cold-chain sensors and her logistics team is exactly who we'd love to pilot with.\n\n"
    "Thanks,\nAlex"
)


def _names(text: bytes, address: str) -> bool:
    """Does ``text`` (lowercase) hold this whole address, not a piece of another one
    ("or@example.com" is in "connector@example.com", which every draft is from)?"""
    whole = rb"(?<![\w.%+'-])" + re.escape(address.lower().encode()) + rb"(?![\w-])"
    return re.search(whole, text) is not None


@functools.cache
def _migrated_database() -> Path:
    """An empty store at the current schema, made once a process (removed at its exit)."""
    folder = tempfile.mkdtemp(prefix="introbot-world-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "migrated.db"
    Store(path).close()  # the last connection closed: the WAL is checkpointed into the file
    return path


@functools.cache
def _shipped_rules() -> Rules:
    """The shipped rules, read once for all worlds (a folder of a test's own is read each
    time: the test may have just edited it)."""
    return load_rules()


@dataclass
class World:
    server: SandboxServer
    db: Path
    settings: Settings = field(default_factory=lambda: Settings.of("Sam Rivera"))
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    location: StoreLocation | None = None  # None: the SQLite file ``db``

    def __post_init__(self) -> None:
        self.untrusted: set[str] = set()  # replies that must never count as a yes
        # Gmail never changes a message's bytes (an edited draft is a new message id; a sent
        # draft may keep its id and gain Gmail's headers), so the invariants fetch each draft
        # and each sent message once.
        self._raw: dict[tuple[str, bool], bytes] = {}
        self.control = SandboxControl(self.server.url)
        self.client = GmailClient.for_sandbox(self.server.url, retry=FAST_RETRY, timeout=5)
        self.store = self.open_store()
        folder = self.settings.paths.rules
        rules = _shipped_rules() if folder is None else load_rules(folder)
        self.engine = Engine(self.client, self.store, self.settings, rules)

    @functools.cached_property
    def gmail(self) -> Any:
        """The connector's own hand in Gmail (edits, deletes, renames), via the plain API;
        built when a test first reaches for it (most never do, and building costs)."""
        return build(
            "gmail",
            "v1",
            static_discovery=True,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.server.url},
        ).users()

    def close(self) -> None:
        self.client.close()
        self.control.close()
        self.store.close()

    def open_store(self) -> Store:
        """The world's store, opened (again: after another process wrote to it). A new
        SQLite file starts as a copy of one migrated once per process: the same file a
        first ``Store(path)`` makes, without running every migration for each world."""
        if self.location:
            return self.location.open()
        if not self.db.exists():
            self.db.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_migrated_database(), self.db)
        return Store(self.db)

    def store_options(self) -> tuple[list[str], dict[str, str]]:
        """What an introbot command needs to work on this world's store: options and
        environment variables."""
        if self.location is None or self.location.url is None:
            path = self.location.path if self.location else self.db
            return ["--db", str(path)], {}
        return ["--store", self.location.url], {"INTROBOT_STORE_MAILBOX": self.location.mailbox}

    # ------------------------------------------------------------------- time
    def poll(self, after: timedelta = timedelta(seconds=1)) -> PollReport:
        """One poll at ``after`` past the last; then the invariants are checked."""
        self.now += after
        report = self.engine.poll(self.now)
        self.check_invariants()
        return report

    def check_invariants(self) -> None:
        """introbot never sends; no address reaches a party before both agreed; a decline
        never reaches the requester in the contact's words; no yes is counted from a forged
        or unauthenticated sender, another address or an automated reply."""
        for intro in self.store.intros():
            observed = None  # the observation the lines after it were decided on
            for line in self.store.timeline(intro.id):
                if line.kind == "observed":
                    observed = line.detail
                elif (
                    line.kind == "decided"
                    and re.match(r"(requester|contact) said yes \(", line.detail)
                    and "decided by you" not in line.detail
                ):
                    prefix = f"{OBSERVED_WORDS['ReplyReceived']} (reply "
                    assert observed and observed.startswith(prefix), (observed, line.detail)
                    deciding = observed.removeprefix(prefix).rstrip(")")
                    assert deciding not in self.untrusted, (
                        f"a yes was counted from {deciding}: {line.detail}"
                    )
        by_method = self.control.stats()["by_method"]
        assert not {"drafts.send", "messages.send"} & set(by_method), by_method
        box = self.control.mailbox()
        messages = [(d["messageId"], False, d["headers"]) for d in box["drafts"]]
        messages += [
            (m["id"], True, m["headers"]) for m in box["messages"] if "SENT" in m["labelIds"]
        ]
        for intro in self.store.intros():
            if intro.contact.consent.value == "no" and intro.contact.words.strip():
                # A decline never reaches the requester in the contact's own words.
                words = [
                    line.strip().lower()
                    for line in intro.contact.words.splitlines()
                    if len(line.strip()) > 8
                ]
                for message_id, sent, headers in messages:
                    if (
                        intro.requester.person.email.lower()
                        in f"{headers.get('To', '')} {headers.get('Cc', '')}".lower()
                    ):
                        text = self._raw_of(message_id, sent).decode("utf-8", "replace")
                        text = text.lower()
                        assert not any(w in text for w in words), (
                            "the contact's words reached the requester"
                        )
            agreed = intro.requester.consent.value == "yes" and intro.contact.consent.value == "yes"
            if agreed:
                continue
            pairs = ((intro.requester, intro.contact), (intro.contact, intro.requester))
            for reader, other in pairs:
                for message_id, sent, headers in messages:
                    recipients = f"{headers.get('To', '')} {headers.get('Cc', '')}".lower()
                    if not _names(recipients.encode(), reader.person.email):
                        continue
                    raw = self._raw_of(message_id, sent).lower()
                    assert not _names(raw, other.person.email), (
                        f"{other.person.email} leaked to {reader.person.email} before consent"
                    )

    def _raw_of(self, message_id: str, sent: bool) -> bytes:
        if (message_id, sent) not in self._raw:
            self._raw[message_id, sent] = self.control.raw(message_id)
        return self._raw[message_id, sent]

    # --------------------------------------------------------------- the world
    def request(
        self,
        body: str,
        sender: str = "Alex Kim <alex.kim@tidepool.io>",
        subject: str = "Could you introduce me to Dana Whitfield?",
        cc: str | None = None,
        label: bool = True,
    ) -> dict[str, str]:
        msg = EmailMessage()
        msg["Authentication-Results"] = authentication_results(
            sender.rpartition("<")[2].rstrip(">")
        )
        msg["From"] = sender
        msg["To"] = f"Sam Rivera <{CONNECTOR}>"
        if cc:
            msg["Cc"] = cc
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self.now)
        msg["Message-ID"] = make_msgid(domain="tidepool.io")
        msg.set_content(body)
        delivered = self.control.deliver(msg.as_bytes())
        if label:
            self.control.label_thread(delivered["threadId"], add=(self.settings.labels.request,))
        return delivered

    def asked(self, body: str = REQUEST) -> dict[str, str]:
        """A request arrives, introbot drafts, the connector sends both consent drafts."""
        request = self.request(body)
        self.poll()
        self.send_drafts()
        self.poll()
        return request

    def drafts(self) -> list[dict[str, Any]]:
        return list(self.control.mailbox()["drafts"])

    def draft_to(self, address: str) -> dict[str, Any]:
        found = [d for d in self.drafts() if address in (d["to"] or "")]
        assert len(found) == 1, f"expected one draft to {address}, found {found}"
        return found[0]

    def send_drafts(self, to: str | None = None) -> list[dict[str, str]]:
        """The connector presses Send on introbot's drafts (all, or those to one address)."""
        sent = []
        for draft in self.drafts():
            if to is None or to in (draft["to"] or ""):
                sent.append(self.control.send_draft(draft["id"]))
        return sent

    def sent_to(self, address: str) -> dict[str, Any]:
        box = self.control.mailbox()
        found = [
            m
            for m in box["messages"]
            if "SENT" in m["labelIds"] and address in m["headers"].get("To", "")
        ]
        assert found, f"nothing sent to {address}"
        last: dict[str, Any] = found[-1]
        return last

    def reply(
        self,
        sender: str,
        text: str,
        to_message: dict[str, Any] | None = None,
        auth: str | None = "pass",
        subject: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """A party answers the last message the connector sent them."""
        original = to_message or self.sent_to(sender.rpartition("<")[2].rstrip(">"))
        raw = compose_reply(
            original, sender, text, at=self.now, auth=auth, subject=subject, headers=extra
        )
        delivered = self.control.deliver(raw)
        address = sender.rpartition("<")[2].rstrip(">").lower()
        intended = original["headers"].get("To", "").lower()
        automated = any(k.lower() in ("auto-submitted", "precedence") for k in (extra or {}))
        if auth != "pass" or address not in intended or automated:
            self.untrusted.add(delivered["id"])
        return delivered

    # ------------------------------------------------------------ looking in
    def intros(self) -> list[Intro]:
        return self.store.intros()

    def only_intro(self) -> Intro:
        (intro,) = self.store.intros()
        return intro

    def thread_labels(self, thread_id: str) -> set[str]:
        box = self.control.mailbox()
        return {lab for m in box["messages"] if m["threadId"] == thread_id for lab in m["labelIds"]}


def make_world(
    tmp_path: Path,
    realism: Realism | str = "tests",
    location: StoreLocation | None = None,
    **settings: Any,
) -> Iterator[World]:
    """A world whose Gmail is as unkind as Gmail (the ``tests`` profile) unless told; its
    store at ``location`` (default: an SQLite file in ``tmp_path``)."""
    with SandboxServer(realism=realism) as server:
        world = World(
            server,
            tmp_path / "introbot.db",
            Settings.of("Sam Rivera", **settings),
            location=location,
        )
        try:
            yield world
        finally:
            world.close()
