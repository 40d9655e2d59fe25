"""Putting introbot together for one account: settings, rules, store, Gmail client, engine."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from introbot.config import Account, store_for
from introbot.engine import Engine
from introbot.gmail.auth import TESTING_TOKEN_LIFETIME, SignIn
from introbot.gmail.client import GMAIL_ENDPOINT, GmailClient
from introbot.gmail.errors import GmailError
from introbot.gmail.pacing import TokenBucket, bucket_for
from introbot.gmail.quota import UNITS_PER_USER_PER_MINUTE
from introbot.rules import (
    Phrases,
    Rules,
    default_rules_dir,
    load_phrases,
    load_templates,
    load_translations,
)
from introbot.settings import Settings
from introbot.store import Store, StoreLocation

# Where the signed-in client sends its calls: Gmail, or (tests) a sandbox standing in for it.
ENDPOINT_VARIABLE = "INTROBOT_GMAIL_ENDPOINT"


class SignInMissing(GmailError):
    """No saved Gmail sign-in."""


def gmail_endpoint(settings: Settings | None = None) -> str:
    """Where signed-in calls go: the account's ``[gmail] endpoint`` (which the environment
    variable sets too, when loaded), else the variable, else Gmail."""
    if settings is not None and settings.gmail.endpoint:
        return settings.gmail.endpoint
    return os.environ.get(ENDPOINT_VARIABLE) or GMAIL_ENDPOINT


def signed_in_client(
    account: Account,
    timeout: float = 30.0,
    gmail: type[GmailClient] = GmailClient,
    settings: Settings | None = None,
) -> tuple[GmailClient, SignIn]:
    if not account.token_file.exists():
        raise SignInMissing(
            f"introbot is not signed in to Gmail for the account '{account.name}' yet (no "
            f"{account.token_file}). Run `{account.command('auth')}`; to try introbot without "
            "Gmail, use --sandbox URL (see `introbot sandbox serve`) or `introbot demo`."
        )
    sign_in = SignIn.load(account.token_file)
    client = gmail(
        sign_in.credentials,
        gmail_endpoint(settings),
        timeout=timeout,
        signed_in_at=sign_in.signed_in_at,
        bucket=_pacing(settings),
    )
    return client, sign_in


_RULES: dict[tuple[Path, str], Rules] = {}
_PHRASES: dict[str, Phrases] = {}


def _digest(folder: Path) -> str:
    """What the files under ``folder`` say (their names and bytes), in a few bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def shared_rules(folder: Path | None) -> Rules:
    """The rules of ``folder``, loaded once per process while its files stay the same: a
    process serving many accounts keeps one copy of the same rules (about a megabyte each),
    and one of the same phrases, which hold no file names, across folders that only copy
    them (``introbot init`` gives each account its own). Rules are never changed once
    loaded; a file changed on disk is loaded anew."""
    folder = (folder or default_rules_dir()).resolve()
    key = (folder, _digest(folder))
    if key not in _RULES:
        said = _digest(folder / "phrases")
        phrases = _PHRASES.get(said) or load_phrases(folder)
        _PHRASES[said] = phrases
        _RULES[key] = Rules(folder, phrases, load_templates(folder), load_translations(folder))
    return _RULES[key]


def workspace_client(
    settings: Settings,
    mailbox: str | None = None,
    timeout: float = 30.0,
    gmail: type[GmailClient] = GmailClient,
) -> GmailClient:
    """A mailbox of ``[workspace] mailboxes``, signed in by the domain's service account
    (nothing saved: the key is the sign-in). ``mailbox`` chooses one when several are
    listed."""
    from introbot.gmail.auth import SignInError, workspace_credentials

    workspace = settings.workspace
    assert workspace.service_account_key is not None
    chosen = chosen_mailbox(settings, mailbox) or workspace.mailboxes[0]
    try:
        credentials = workspace_credentials(workspace.service_account_key, chosen)
    except SignInError as exc:
        raise SignInMissing(str(exc)) from None
    return gmail(credentials, gmail_endpoint(settings), timeout=timeout, bucket=_pacing(settings))


def _pacing(settings: Settings | None) -> TokenBucket | None:
    """The client's pacing under the account's ``[gmail] units_per_minute`` (None: Gmail's)."""
    if settings is None or settings.gmail.units_per_minute == UNITS_PER_USER_PER_MINUTE:
        return None
    return bucket_for(settings.gmail.units_per_minute)


def chosen_mailbox(settings: Settings, mailbox: str | None) -> str | None:
    """The mailbox of ``[workspace] mailboxes`` a command works on (``--mailbox``), None
    when the account has one mailbox only; refuses one not listed, or none of several."""
    listed = settings.workspace.mailboxes if settings.workspace.service_account_key else ()
    if mailbox is not None and mailbox not in listed:
        where = f"lists {', '.join(listed)}" if listed else "is not set for this account"
        raise SignInMissing(
            f"--mailbox {mailbox}: not one of the account's [workspace] mailboxes (it {where})"
        )
    if mailbox is None and len(listed) > 1:
        raise SignInMissing(
            f"[workspace] mailboxes lists {len(listed)} mailboxes and this command works on "
            f"one: pick it with --mailbox ADDRESS (one of {', '.join(listed)}); `introbot "
            "run` serves them all."
        )
    return mailbox if len(listed) > 1 else None


_UNSAFE = re.compile(r"[^a-z0-9._-]")


def mailbox_name(address: str) -> str:
    """A store name for a Workspace mailbox, safe as a PostgreSQL schema name and a file
    name: ``ana@firm.example`` is ``ana_at_firm.example``; an address with other characters,
    or too long, is shortened and told apart by a digest of it."""
    name = address.lower().replace("@", "_at_")
    if _UNSAFE.search(name) is None and len(name) <= 40 and name[0].isalnum():
        return name
    digest = hashlib.sha256(address.lower().encode()).hexdigest()[:8]
    return f"m{_UNSAFE.sub('-', name)[:30]}-{digest}"


def mailbox_label(account: str, address: str) -> str:
    """What metrics call one of an account's Workspace mailboxes: never its address (series
    leave the machine for monitoring), the account's name and the first 8 hex digits of the
    address's SHA-256 (``printf %s ADDRESS | sha256sum``)."""
    return f"{account}-{hashlib.sha256(address.lower().encode()).hexdigest()[:8]}"


def mailbox_store(
    location: StoreLocation, settings: Settings, mailbox: str | None
) -> StoreLocation:
    """Where one of several ``[workspace] mailboxes`` keeps its records: for PostgreSQL, a
    mailbox named after its address; for SQLite, a file of its own beside the account's.
    An account with one mailbox keeps the account's store."""
    chosen = chosen_mailbox(settings, mailbox)
    if chosen is None:
        return location
    name = mailbox_name(chosen)
    if location.url:
        return dataclasses.replace(location, mailbox=name)
    assert location.path is not None
    path = location.path.with_name(f"{location.path.stem}-{name}{location.path.suffix}")
    return dataclasses.replace(location, path=path)


@dataclass
class App:
    account: Account
    settings: Settings
    rules: Rules
    store: Store
    client: GmailClient
    engine: Engine
    sign_in: SignIn | None = None

    def close(self) -> None:
        self.keep_sign_in()
        self.client.close()
        self.store.close()

    def keep_sign_in(self) -> None:
        """Save a refreshed access token (a no-op when nothing changed)."""
        if self.sign_in is not None:
            self.sign_in.save_if_refreshed()

    def signed_in_again(self) -> bool:
        """Whether ``introbot auth`` saved a new sign-in since this one was loaded; if so
        the client carries on with it (a daemon need not be restarted after a revocation)."""
        if self.sign_in is None:
            return False
        try:
            fresh = SignIn.load(self.account.token_file)
        except GmailError:
            return False
        if fresh.credentials.refresh_token == self.sign_in.credentials.refresh_token:
            return False  # the same sign-in (perhaps with a refreshed access token)
        self.sign_in = fresh
        self.client.use_sign_in(fresh.credentials, fresh.signed_in_at)
        return True

    def sign_in_ending(self) -> str | None:
        """A warning when Google may end the sign-in tomorrow: 6 to 7 days old is when an app
        still in 'Testing' loses it (an older one that works belongs to a published app)."""
        age = self.sign_in.age() if self.sign_in else None
        if self.sign_in is None or self.sign_in.signed_in_at is None or age is None:
            return None
        if not TESTING_TOKEN_LIFETIME - timedelta(days=1) <= age < TESTING_TOKEN_LIFETIME:
            return None
        ends = self.sign_in.signed_in_at + TESTING_TOKEN_LIFETIME
        return (
            f"the Gmail sign-in is {age.days} days old: if your OAuth consent screen is still in "
            f"'Testing', Google ends it on {ends:%Y-%m-%d %H:%M} UTC. Publish the app (README: "
            f"'Use it on your Gmail', step 3) and run `{self.account.command('auth')}`"
        )

    def mailbox(self) -> str:
        """Which mailbox this is, for the one-process-per-mailbox lock."""
        return f"{self.engine.me()[0]} at {self.client.endpoint}"


def open_app(
    account: Account,
    settings: Settings,
    sandbox: str | None = None,
    timeout: float = 30.0,
    store: StoreLocation | None = None,
    gmail: type[GmailClient] = GmailClient,
    database: Path | None = None,
    mailbox: str | None = None,
) -> App:
    """Raises RulesError, StoreError, SignInMissing or AuthExpired with a message for the
    user. ``store`` replaces the account's (a dry run works on a copy), and so does
    ``database``, an SQLite file; ``gmail`` is the client class (a dry run passes one that
    records its writes); ``mailbox`` picks one of several ``[workspace] mailboxes``."""
    if store is None and database is not None:
        store = StoreLocation.sqlite(database)
    rules = shared_rules(settings.paths.rules)
    sign_in = None
    if sandbox:
        client = gmail.for_sandbox(sandbox, timeout=timeout)
    elif settings.workspace.service_account_key is not None:
        client = workspace_client(settings, mailbox, timeout, gmail)
    else:
        client, sign_in = signed_in_client(account, timeout, gmail, settings)
    opened = (store or store_for(account, settings, sandbox)).open()
    engine = Engine(client, opened, settings, rules)
    return App(account, settings, rules, opened, client, engine, sign_in)
