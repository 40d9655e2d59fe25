"""Settings: the shape of an account's ``config.toml``, validated (pydantic).

Every section and key here is a key of the file, of an ``INTROBOT_<SECTION>_<KEY>``
environment variable and, for some, of a command-line flag; :mod:`introbot.config` merges
them (flags > environment > file > defaults) and reports mistakes by where they came from.
"""

from __future__ import annotations

import unicodedata
import urllib.parse
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from introbot.languages import LANGUAGES, Language
from introbot.model import Order, Person, address_key

LOGICAL_LABELS = (
    "awaiting-consent",
    "ready",
    "introduced",
    "declined",
    "needs-attention",
    "cancelled",
    "expired",
    "yes",
    "no",
)
# Gmail's own labels: a name of ours that equals one of these would be refused or, worse,
# mean something else.
SYSTEM_LABELS = frozenset(
    [
        "inbox",
        "sent",
        "draft",
        "drafts",
        "spam",
        "trash",
        "unread",
        "starred",
        "important",
        "chat",
        "chats",
        "snoozed",
        "all",
        "category_personal",
        "category_social",
        "category_promotions",
        "category_updates",
        "category_forums",
    ]
)


def _control(c: str) -> bool:
    return (
        unicodedata.category(c) in ("Cc", "Zl", "Zp")
        or "\u202a" <= c <= "\u202e"
        or ("\u2066" <= c <= "\u2069")
    )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectorSection(_Section):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    """Your name, as the drafts sign it. Unset: drafts are signed without a name (never with
    one made from your address: "jsmith1987@" is not a name)."""
    signature: str | None = Field(default=None, min_length=1, max_length=500)
    """What the drafts put under "Best,": unset, the first word of your name."""
    addresses: tuple[str, ...] = ()
    """Your other addresses (aliases): never made a party. The signed-in one is added."""

    @field_validator("name", "signature")
    @classmethod
    def _text(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Text a draft carries: no control characters (a newline in a name would be a header
        line), no bidi overrides; a signature may have several lines."""
        if value is None:
            return None
        allowed = "\n\t" if info.field_name == "signature" else ""
        if any(_control(c) and c not in allowed for c in value):
            lines = "lines of text" if allowed else "one line of text"
            raise ValueError(f"must be {lines}, without control characters")
        return value.strip() or None

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            local, at, domain = value.strip().rpartition("@")
            if not (local and at and "." in domain) or any(c.isspace() for c in value.strip()):
                raise ValueError(f"not an email address: {value!r}")
        return tuple(v.strip().lower() for v in values)


class LabelsSection(_Section):
    request: str = Field(default="intro-request", min_length=1, max_length=200)
    """The label you put on an email to ask for an introduction."""
    prefix: str = Field(default="introbot/", max_length=100)
    """Put in front of introbot's own labels: introbot/awaiting-consent, introbot/yes..."""


class WorkflowSection(_Section):
    order: Order = Order.PARALLEL
    """parallel: both consent drafts at once. requester_first: the contact is asked only
    after the requester confirms."""
    remind_after_days: int = Field(default=4, ge=1, le=365)
    expire_after_days: int = Field(default=21, ge=2, le=730)
    pending_grace_days: int = Field(default=3, ge=1, le=60)
    """How long a draft that left Drafts with no sent copy counts as "maybe sent" before it
    counts as discarded. Undo send shows the copy seconds later; Schedule send at the time
    chosen, typically the next working morning, which after a weekend is 3 days away."""
    remember_declines_days: int = Field(default=90, ge=0, le=3650)
    """A contact who declined any intro this many days back is not asked again without your
    say (`introbot ask-again`); one who declined the same requester, never. 0: only that."""

    @model_validator(mode="after")
    def _expire_after_remind(self) -> WorkflowSection:
        if self.expire_after_days <= self.remind_after_days:
            raise ValueError(
                f"expire_after_days ({self.expire_after_days}) must be larger than "
                f"remind_after_days ({self.remind_after_days})"
            )
        return self


class DraftsSection(_Section):
    guess_organisation: bool = False
    """Name someone's organisation in drafts as guessed from their address's domain
    (harborbio.com -> "Harborbio"). Off: drafts say only what people wrote; `introbot show`
    marks the guess either way."""


def split_host_port(value: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` -> ("127.0.0.1", 9464); ``"[::1]:9464"``; ``":9464"`` is every
    interface; port 0 is any free port. ValueError with what is expected."""
    host, colon, port = value.strip().rpartition(":")
    if not colon or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT (for example 127.0.0.1:9464)")
    host = host.removeprefix("[").removesuffix("]")
    return host or "0.0.0.0", int(port)


class DaemonSection(_Section):
    poll_interval_seconds: int = Field(default=60, ge=1, le=86_400)
    http: str | None = None
    """HOST:PORT where `introbot run` answers /healthz, /readyz and /metrics (Prometheus);
    unset: no HTTP at all. 127.0.0.1:9464 keeps it on this machine."""

    @field_validator("http")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            split_host_port(value)
        return value


class WorkspaceSection(_Section):
    """Google Workspace: sign in as mailboxes of a domain with a service account that has
    domain-wide delegation, instead of each person running `introbot auth`."""

    service_account_key: Path | None = None
    """The service account's JSON key file (relative: to config.toml's folder)."""
    mailboxes: tuple[str, ...] = ()
    """The addresses it signs in as; an admin adds a mailbox by adding its address."""

    @field_validator("mailboxes")
    @classmethod
    def _addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return ConnectorSection._addresses(values)

    @model_validator(mode="after")
    def _together(self) -> WorkspaceSection:
        if self.mailboxes and self.service_account_key is None:
            raise ValueError("mailboxes needs service_account_key (the service account's key)")
        if self.service_account_key is not None and not self.mailboxes:
            raise ValueError("service_account_key needs mailboxes (the addresses to sign in as)")
        if len(set(self.mailboxes)) != len(self.mailboxes):
            raise ValueError("mailboxes names an address twice")
        return self


class GmailSection(_Section):
    units_per_minute: int = Field(default=15_000, ge=600, le=15_000)
    """The per-user quota introbot paces itself under (a burst of a fifteenth of it, then
    90% of its rate): Gmail's 15,000 units a minute, unless the Cloud project's admin set
    "Queries per minute per user" lower."""
    endpoint: str | None = None
    """Where this account's Gmail calls go; unset: Gmail itself (or the environment variable
    INTROBOT_GMAIL_ENDPOINT). A sandbox standing in for Gmail answers on this machine. Only
    https, or http to this machine: every call carries the sign-in's access token."""

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urllib.parse.urlsplit(value.strip())
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or parts.scheme not in ("https", "http"):
            raise ValueError(f"{value!r} is not an address like https://gmail.googleapis.com/")
        if parts.scheme == "http" and not local:
            raise ValueError(
                f"{value!r} would send the sign-in unencrypted: use https, or http only to "
                "this machine (127.0.0.1, a sandbox)"
            )
        return value.strip()


class PathsSection(_Section):
    rules: Path | None = None
    """Your rules folder (phrases and templates); the built-in rules if unset."""
    database: Path | None = None
    """introbot's SQLite database; ``introbot.db`` in the account folder if unset."""


class StoreSection(_Section):
    url: str | None = None
    """Where introbot keeps its records. Unset: an SQLite file per account (see
    ``paths.database``), for one person. ``"postgresql://USER@HOST:5432/DATABASE"``: a
    PostgreSQL database that a team's mailboxes share (the password there, or in
    PGPASSWORD or ~/.pgpass); needs ``pip install 'introbot[postgres]'``."""
    mailbox: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]{0,39}$")
    """This account's name in a shared PostgreSQL database (its records live in the schema
    ``introbot_<mailbox>``); the account's name if unset. Give every mailbox its own."""
    lease_seconds: int = Field(default=30, ge=3, le=3600)
    """With PostgreSQL, replicas (``introbot run`` processes sharing the database) work
    each mailbox under a lease of this many seconds, renewed every third of it; a replica
    that stops renewing (killed, paused, cut off) loses the mailbox to another after it."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().lower().startswith(("postgresql://", "postgres://")):
            # Never echo the value: a URL may carry a password.
            raise ValueError(
                'must be a PostgreSQL URL ("postgresql://user@host:5432/database"); for '
                "SQLite leave it unset (paths.database names another file)"
            )
        return value.strip()


class LanguagesSection(_Section):
    """The language of the drafts (see introbot.languages): ``default``, and an address per
    line for someone always written to in one language (``"dana@northwind.io" = "de"``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Language] = Field(init=False)
    default: Language = "en"
    """Drafts to someone whose language introbot cannot tell, notes to you, and the
    introduction when its two parties write in different languages."""

    @model_validator(mode="after")
    def _addresses(self) -> LanguagesSection:
        for key in self.model_extra or {}:
            local, at, domain = key.strip().rpartition("@")
            if not (local and at and "." in domain) or any(c.isspace() for c in key.strip()):
                raise ValueError(
                    f"{key!r} is neither 'default' nor an email address (a person's language "
                    f'is written "name@example.com" = "fr"; introbot writes '
                    f"{', '.join(LANGUAGES)})"
                )
        return self

    @property
    def people(self) -> dict[str, str]:
        """Address key -> the language that person is always written to in."""
        return {address_key(k.strip()): str(v) for k, v in (self.model_extra or {}).items()}


class Settings(_Section):
    connector: ConnectorSection = ConnectorSection()
    labels: LabelsSection = LabelsSection()
    workflow: WorkflowSection = WorkflowSection()
    drafts: DraftsSection = DraftsSection()
    daemon: DaemonSection = DaemonSection()
    gmail: GmailSection = GmailSection()
    paths: PathsSection = PathsSection()
    store: StoreSection = StoreSection()
    languages: LanguagesSection = LanguagesSection()
    workspace: WorkspaceSection = WorkspaceSection()

    @model_validator(mode="after")
    def _labels_distinct(self) -> Settings:
        names = list(self.all_labels().values())
        for name in names:
            if name.strip().casefold() in SYSTEM_LABELS:
                raise ValueError(f"label {name!r} is one of Gmail's own labels; choose another")
        folded = [n.casefold() for n in names]
        clash = next((n for n in names if folded.count(n.casefold()) > 1), None)
        if clash is not None:
            raise ValueError(
                f"labels.request and labels.prefix give two labels the same name {clash!r}"
            )
        return self

    @classmethod
    def of(cls, connector_name: str | None = None, **sections: object) -> Settings:
        """Settings in code (tests, demo): ``Settings.of("Sam", workflow={...})``."""
        return cls.model_validate({"connector": {"name": connector_name}, **sections})

    @property
    def me(self) -> tuple[str, ...]:
        return self.connector.addresses

    def label(self, logical: str) -> str:
        """The Gmail label name for a logical label ("needs-attention")."""
        return f"{self.labels.prefix}{logical}"

    def all_labels(self) -> dict[str, str]:
        names = {logical: self.label(logical) for logical in LOGICAL_LABELS}
        return {"request": self.labels.request, **names}

    def connector_person(self, address: str) -> Person:
        """You, as the drafts' sender: your name only if you set one."""
        return Person(self.connector.name, address)
