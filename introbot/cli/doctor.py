"""``introbot doctor``: check everything introbot needs, one line per check, each either
ok or the fix. A check never raises: whatever goes wrong is a finding."""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from introbot.app import gmail_endpoint, mailbox_store
from introbot.cli.rulecheck import check as check_rules
from introbot.config import Account, ConfigError, Flags, Loaded, store_for
from introbot.config import load as load_config
from introbot.daemon import AlreadyRunning, mailbox_lock, single_instance
from introbot.gmail.auth import (
    SCOPE,
    TESTING_TOKEN_LIFETIME,
    SignIn,
    SignInError,
    read_client_file,
)
from introbot.gmail.client import GmailClient
from introbot.gmail.errors import AuthExpired, GmailError, GmailRejected
from introbot.gmail.pacing import RetryPolicy
from introbot.paths import credentials_file, readable_by_others
from introbot.rules import default_rules_dir
from introbot.store import SCHEMA_VERSION, StoreError, StoreLocation, mailbox_of
from introbot.store.postgres import describe

# Google signed the service account in as the mailbox, but Gmail refuses it.
WORKSPACE_GMAIL_FIX = (
    "The service account may act as this mailbox, but its Gmail does not answer: check in "
    "the Google Admin console that the user exists and has Gmail on (Apps > Google Workspace "
    "> Gmail > Service status), and in the service account's Cloud project that the Gmail "
    "API is enabled (APIs & Services > Library > Gmail API)."
)
QUICK = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=2)  # a check, not a poll


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    SKIP = "skip"


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str


# Asked before creating missing labels: True to create them.
LabelOffer = Callable[[list[str]], bool]


@dataclass
class Doctor:
    account: Account
    flags: Flags
    sandbox: str | None
    offer_labels: LabelOffer
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    mailbox: str | None = None  # --mailbox: one of the account's [workspace] mailboxes

    def run(self) -> Iterator[Finding]:
        """Every finding, in order; an unexpected error becomes the last one."""
        try:
            yield from self._checks()
        except Exception as exc:  # a bug or a surprise: say so, never a traceback
            yield Finding("doctor", Status.FAIL, f"unexpected {type(exc).__name__}: {exc}")

    def _checks(self) -> Iterator[Finding]:
        try:
            loaded = load_config(self.account, self.flags)
        except ConfigError as exc:
            yield Finding("config", Status.FAIL, str(exc))
            return
        yield self._config(loaded)
        yield self._name(loaded)
        yield from self._rules(loaded)
        several = self._unpicked_mailboxes(loaded)
        database = store_for(self.account, loaded.settings, self.sandbox, self.flags)
        if not self.sandbox and not several:
            try:  # the one mailbox this doctor is about: --mailbox's store, or the account's
                database = mailbox_store(database, loaded.settings, self.mailbox)
            except GmailError as exc:  # --mailbox names no mailbox of the account
                yield Finding("mailbox", Status.FAIL, str(exc))
                return
        client = yield from self._connection(loaded)
        if several:
            yield _mailbox_stores(database, loaded, several)
            return
        if client is not None:
            with contextlib.closing(client):
                address, finding = self._gmail(client, database, loaded)
                yield finding
                if address:
                    yield self._labels(client, loaded)
                    yield self._others(address, client.endpoint, database)
        yield self._database(database)
        if database.url:
            yield _lease(database)
        yield self._instance(database)

    def _unpicked_mailboxes(self, loaded: Loaded) -> tuple[str, ...]:
        """The account's [workspace] mailboxes when it lists several and none is picked
        (--mailbox): the doctor then checks each one's sign-in and their stores together."""
        workspace = loaded.settings.workspace
        if self.sandbox or self.mailbox or workspace.service_account_key is None:
            return ()
        return workspace.mailboxes if len(workspace.mailboxes) > 1 else ()

    def _connection(self, loaded: Loaded) -> Generator[Finding, None, GmailClient | None]:
        """The client file and sign-in findings; then a client, if there is one to use."""
        if self.sandbox:
            yield Finding("credentials", Status.SKIP, f"working against the sandbox {self.sandbox}")
            return GmailClient.for_sandbox(self.sandbox, timeout=10, retry=QUICK)
        if loaded.settings.workspace.service_account_key is not None:
            return (yield from self._workspace(loaded))
        yield self._client_file()
        sign_in, finding = self._sign_in()
        yield finding
        if sign_in is None:
            yield Finding("gmail", Status.SKIP, "needs a working sign-in first")
            return None
        return GmailClient(
            sign_in.credentials,
            gmail_endpoint(loaded.settings),
            timeout=10,
            retry=QUICK,
            signed_in_at=sign_in.signed_in_at,
        )

    def _workspace(self, loaded: Loaded) -> Generator[Finding, None, GmailClient | None]:
        """A Workspace account: the service account may act as each listed mailbox."""
        from introbot.app import workspace_client
        from introbot.gmail.auth import DelegationRefused, check_delegation, workspace_credentials

        workspace = loaded.settings.workspace
        assert workspace.service_account_key is not None
        refused = 0
        for mailbox in [self.mailbox] if self.mailbox else workspace.mailboxes:
            try:
                check_delegation(workspace_credentials(workspace.service_account_key, mailbox))
            except (SignInError, DelegationRefused) as exc:
                refused += 1
                yield Finding("sign-in", Status.FAIL, str(exc))
                continue
            yield Finding("sign-in", Status.OK, f"the service account may act as {mailbox}")
        if refused or self._unpicked_mailboxes(loaded):
            why = (
                "several mailboxes: `introbot doctor --mailbox ADDRESS` checks one's Gmail, "
                "labels, store and lease"
            )
            why = "needs a working sign-in first" if refused else why
            yield Finding("gmail", Status.SKIP, why)
            return None
        return workspace_client(loaded.settings, self.mailbox, timeout=10)

    # -------------------------------------------------------------------- checks
    def _config(self, loaded: Loaded) -> Finding:
        if not loaded.file_found:
            return Finding(
                "config",
                Status.WARN,
                f"no {self.account.config_file}: the defaults are in use; "
                f"`{self.account.command('init')}` creates the file",
            )
        return Finding("config", Status.OK, f"{self.account.config_file} is valid")

    def _name(self, loaded: Loaded) -> Finding:
        connector = loaded.settings.connector
        if connector.name is None:
            where = (
                f"[connector] name in {self.account.config_file}"
                if loaded.file_found
                else f"`{self.account.command('init')}`"
            )
            return Finding(
                "name",
                Status.WARN,
                "no name set: drafts are signed without one (never with a name made from your "
                f"address). Set it: {where}, or --name",
            )
        sign = connector.signature or connector.name.split()[0]
        return Finding("name", Status.OK, f"drafts are from {connector.name}, signed {sign!r}")

    def _rules(self, loaded: Loaded) -> Iterator[Finding]:
        folder = loaded.settings.paths.rules or default_rules_dir()
        if not folder.is_dir():
            yield Finding("rules", Status.FAIL, f"no rules folder at {folder}")
            return
        problems = [c for c in check_rules(folder, loaded.settings) if not c.ok]
        for problem in problems:
            yield Finding("rules", Status.FAIL, problem.problem or problem.what)
        if not problems:
            which = "the built-in rules" if loaded.settings.paths.rules is None else str(folder)
            yield Finding("rules", Status.OK, f"{which}: phrases load, every template renders")

    def _client_file(self) -> Finding:
        path = credentials_file()
        if not path.exists() and self.account.token_file.exists():
            return Finding(
                "credentials",
                Status.WARN,
                f"no OAuth client file at {path}: not needed now, but "
                f"`{self.account.command('auth')}` will need it to sign in again",
            )
        try:
            read_client_file(path)
        except SignInError as exc:
            return Finding("credentials", Status.FAIL, str(exc))
        return Finding("credentials", Status.OK, f"{path} is a Desktop-app OAuth client")

    def _sign_in(self) -> tuple[SignIn | None, Finding]:
        token = self.account.token_file
        if not token.exists():
            return None, Finding(
                "sign-in", Status.FAIL, f"not signed in: run `{self.account.command('auth')}`"
            )
        try:
            sign_in = SignIn.load(token)
        except AuthExpired as exc:
            return None, Finding("sign-in", Status.FAIL, str(exc))
        mode = readable_by_others(token)
        if mode is not None:
            return None, Finding(
                "sign-in",
                Status.FAIL,
                f"{token} is readable by others (mode {mode:o}): run `chmod 600 {token}`",
            )
        if SCOPE not in sign_in.scopes:
            return None, Finding(
                "sign-in",
                Status.FAIL,
                f"signed in without Gmail access ({' '.join(sorted(sign_in.scopes)) or 'no scope'})"
                f": run `{self.account.command('auth')}` and allow Gmail",
            )
        if not sign_in.credentials.refresh_token:
            return None, Finding(
                "sign-in",
                Status.FAIL,
                f"the saved sign-in has no refresh token: run `{self.account.command('auth')}`",
            )
        try:
            sign_in.refresh()
        except AuthExpired as exc:
            return None, Finding("sign-in", Status.FAIL, str(exc))
        except SignInError as exc:
            return None, Finding("sign-in", Status.FAIL, str(exc))
        age = sign_in.age(self.now)
        when = f"signed in {sign_in.signed_in_at:%Y-%m-%d}" if sign_in.signed_in_at else "signed in"
        if age is not None and age >= TESTING_TOKEN_LIFETIME - timedelta(days=1):
            ends = (sign_in.signed_in_at or self.now) + TESTING_TOKEN_LIFETIME
            return sign_in, Finding(
                "sign-in",
                Status.WARN,
                f"{when} ({age.days} days ago): if your OAuth consent screen is still in "
                f"'Testing', Google ends this sign-in on {ends:%Y-%m-%d}. Publish the app "
                "(README: 'Use it on your Gmail', step 3) to keep it",
            )
        return sign_in, Finding("sign-in", Status.OK, f"{when}; Google renewed the access token")

    def _gmail(
        self, client: GmailClient, database: StoreLocation, loaded: Loaded
    ) -> tuple[str | None, Finding]:
        try:
            profile = client.profile()  # one quota unit, signed in as the mailbox
        except GmailError as exc:
            fix = ""  # a refusal for good, of a Workspace mailbox: the admin's side
            workspace = loaded.settings.workspace.service_account_key is not None
            if workspace and not self.sandbox and isinstance(exc, GmailRejected):
                fix = f" {WORKSPACE_GMAIL_FIX}"
            return None, Finding("gmail", Status.FAIL, f"{exc}{fix}")
        except Exception as exc:  # a network failure of any kind
            return None, Finding("gmail", Status.FAIL, f"cannot reach Gmail: {exc}")
        address = profile.email.lower()
        known = mailbox_of(database)
        if known and known != address and self.sandbox:
            return None, Finding(
                "gmail",
                Status.FAIL,
                f"the sandbox at {self.sandbox} serves {address}, but introbot's database for it "
                f"({database.describe()}) belongs to {known}: "
                f"`{self.account.command('sandbox forget')} {self.sandbox}` "
                "removes it, or pass --db NEW-FILE",
            )
        if known and known != address:
            return None, Finding(
                "gmail",
                Status.FAIL,
                f"signed in as {address}, but this account's database belongs to {known}: sign "
                f"in as {known} (`{self.account.command('auth')}`), or use another --account",
            )
        return address, Finding(
            "gmail", Status.OK, f"{address}: {profile.messages_total} messages, reachable"
        )

    def _labels(self, client: GmailClient, loaded: Loaded) -> Finding:
        wanted = list(loaded.settings.all_labels().values())
        try:
            have = {label.name.casefold() for label in client.labels()}
            missing = [name for name in wanted if name.casefold() not in have]
            if not missing:
                return Finding("labels", Status.OK, f"all {len(wanted)} labels exist")
            if self.offer_labels(missing):
                client.ensure_labels(missing)
                return Finding("labels", Status.OK, f"created {', '.join(missing)}")
        except GmailError as exc:
            return Finding("labels", Status.FAIL, str(exc))
        return Finding(
            "labels",
            Status.WARN,
            f"missing: {', '.join(missing)} (the first poll creates them; "
            "`introbot doctor --fix` creates them now)",
        )

    def _others(self, address: str, endpoint: str, database: StoreLocation) -> Finding:
        """Another introbot on this mailbox from another database would draft twice."""
        try:
            with single_instance(database.lock_path):
                pass
        except AlreadyRunning:
            return Finding("mailbox", Status.OK, "its introbot holds this mailbox")
        try:
            with mailbox_lock(f"{address} at {endpoint}"):
                pass
        except AlreadyRunning as exc:
            return Finding(
                "mailbox",
                Status.FAIL,
                f"{exc} - from another database or account; two would draft everything twice",
            )
        return Finding("mailbox", Status.OK, "no other introbot works on this mailbox")

    def _database(self, database: StoreLocation) -> Finding:
        if database.url:
            return _postgres(database)
        assert database.path is not None
        path = database.path
        if not path.exists():
            folder = next((p for p in path.parents if p.exists()), path.parent)
            if not os.access(folder, os.W_OK):
                return Finding(
                    "database", Status.FAIL, f"cannot create {path}: {folder} is read-only"
                )
            return Finding("database", Status.OK, f"{path} will be created by the first poll")
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            return Finding("database", Status.FAIL, f"{path} is not writable")
        try:
            store = database.open()
        except StoreError as exc:
            return Finding("database", Status.FAIL, str(exc))
        try:
            count = len(store.intros())
        finally:
            store.close()
        return Finding("database", Status.OK, f"{path}: schema {SCHEMA_VERSION}, {count} intro(s)")

    def _instance(self, database: StoreLocation) -> Finding:
        try:
            with single_instance(database.lock_path):
                pass
        except AlreadyRunning as exc:
            return Finding("daemon", Status.OK, f"another {exc.who} is running")
        return Finding("daemon", Status.OK, "not running (start it with `introbot run`)")


def _lease(database: StoreLocation) -> Finding:
    """Which replica works the mailbox (``introbot run`` processes sharing the database)."""
    from introbot.leases import lease_of

    assert database.url is not None
    try:
        well, said = lease_of(database.url, database.mailbox)
    except Exception as exc:  # the database finding above says why it cannot be reached
        return Finding("lease", Status.SKIP, f"cannot read the leases: {type(exc).__name__}")
    return Finding("lease", Status.OK if well else Status.WARN, said)


def _mailbox_stores(account: StoreLocation, loaded: Loaded, mailboxes: Sequence[str]) -> Finding:
    """Several mailboxes, none picked: whether their stores can be reached and how many
    exist yet, in one look (one connection for PostgreSQL, however many mailboxes)."""
    stores = [mailbox_store(account, loaded.settings, m) for m in mailboxes]
    if account.url is None:
        made = [s for s in stores if s.exists()]
        return Finding(
            "database",
            Status.OK,
            f"{len(made)} of the {len(stores)} mailboxes' files exist in "
            f"{account.path.parent if account.path else '?'}; the others are created by their "
            "first poll",
        )
    from introbot.store.postgres import mailbox_versions

    try:
        server, versions = mailbox_versions(account.url, [s.mailbox for s in stores])
    except StoreError as exc:
        return Finding("database", Status.FAIL, str(exc))
    newer = sorted(name for name, version in versions.items() if version > SCHEMA_VERSION)
    where = f"{describe(account.url)} on {server}"
    if newer:
        return Finding(
            "database",
            Status.FAIL,
            f"{where}: the mailboxes {', '.join(newer)} were written by a newer introbot "
            f"(this one knows schema {SCHEMA_VERSION}): upgrade introbot",
        )
    count = sum(1 for version in versions.values() if version > 0)
    return Finding(
        "database",
        Status.OK,
        f"{where}: {count} of the {len(stores)} mailboxes have a store; the others are created "
        "by their first poll",
    )


def _postgres(database: StoreLocation) -> Finding:
    """A mailbox in PostgreSQL: the server answers, and its schema is one this introbot
    reads (nothing is created or migrated by looking)."""
    from introbot.store.postgres import probe

    assert database.url is not None
    try:
        found = probe(database.url, database.mailbox)
    except StoreError as exc:
        return Finding("database", Status.FAIL, str(exc))
    where = f"{database.describe()} on {found.server}"
    if found.schema_version is None or found.schema_version == 0:
        return Finding(
            "database", Status.OK, f"{where}: the mailbox will be created by the first poll"
        )
    if found.schema_version > SCHEMA_VERSION:
        return Finding(
            "database",
            Status.FAIL,
            f"{where} was written by a newer introbot (schema {found.schema_version}, this one "
            f"knows {SCHEMA_VERSION}): upgrade introbot",
        )
    if found.schema_version < SCHEMA_VERSION:
        return Finding(
            "database",
            Status.OK,
            f"{where}: schema {found.schema_version}, brought to {SCHEMA_VERSION} by the next "
            f"poll; {found.intros} intro(s)",
        )
    return Finding(
        "database", Status.OK, f"{where}: schema {SCHEMA_VERSION}, {found.intros} intro(s)"
    )


def report(findings: list[Finding]) -> str:
    width = max(len(f.check) for f in findings)
    lines = [f"{f.status.value:<4}  {f.check:<{width}}  {f.detail}" for f in findings]
    failed = sum(f.status is Status.FAIL for f in findings)
    lines.append("")
    lines.append(
        f"{failed} problem(s): fix them and run `introbot doctor` again."
        if failed
        else "Everything introbot needs is in place."
    )
    return "\n".join(lines)


_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}


def print_report(findings: list[Finding]) -> None:
    """The report for people: a line per check, in colour on a terminal, where the fix is
    wrapped under it; a file or a pipe gets each check whole on its line."""
    from rich.text import Text

    from introbot.cli import output

    width = max(len(f.check) for f in findings)
    console = output.console()
    indent = " " * (width + 8)
    for f in findings:
        detail = f.detail
        if console.is_terminal:
            detail = textwrap.fill(
                detail,
                width=min(console.width, 100),
                initial_indent=indent,
                subsequent_indent=indent,
            ).lstrip()
        line = Text()
        line.append(f"{f.status.value:<4}", style=_STYLE[f.status])
        line.append(f"  {f.check:<{width}}  {detail}")
        console.print(line)
    failed = sum(f.status is Status.FAIL for f in findings)
    console.print()
    console.print(
        f"{failed} problem(s): fix them and run `introbot doctor` again."
        if failed
        else "Everything introbot needs is in place.",
        markup=False,
    )


def document(findings: list[Finding]) -> dict[str, object]:
    """The report for programs (``doctor --json``)."""
    return {
        "ok": not any(f.status is Status.FAIL for f in findings),
        "checks": [
            {"check": f.check, "status": f.status.value.lower(), "detail": f.detail}
            for f in findings
        ],
    }
