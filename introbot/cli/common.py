"""What the commands share: failing plainly, the account a command works on, and opening
it."""

from __future__ import annotations

import functools
import signal
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from introbot.app import App, open_app
from introbot.cli import output
from introbot.config import (
    Account,
    ConfigError,
    Flags,
    Loaded,
    configured_accounts,
    database_for,
    store_for,
)
from introbot.config import load as load_config
from introbot.model import Intro
from introbot.paths import config_dir
from introbot.settings import Settings
from introbot.store import Store, StoreLocation


def email_addresses(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A click callback: the option's value (one or, with multiple=True, several) must be
    email addresses that can receive mail; refused at once, with the reason, before the
    command does anything. Returns them lower-cased."""
    from introbot.reading.addresses import undeliverable

    def check(raw: str) -> str:
        text = raw.strip()
        why = undeliverable(text) if "@" in text else "there is no @ and domain"
        if why:
            raise click.BadParameter(f"{text!r} is not an email address: {why}", ctx, param)
        return text.lower()

    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(check(v) for v in value)
    return check(str(value))


def fail(message: str) -> NoReturn:
    """A mistake in the command line, the config or the rules (or a mailbox taken): exit 2."""
    output.error(message)
    sys.exit(output.EXIT_USAGE)


def gmail_failed(message: str) -> NoReturn:
    """Gmail (or the sandbox standing in for it) or the sign-in failed: exit 1."""
    output.error(message)
    sys.exit(output.EXIT_GMAIL)


def sandbox_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: --sandbox must be an http address with a host and port."""
    if value is None:
        return None
    parts = urllib.parse.urlsplit(value.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise click.BadParameter(
            f"{value!r} is not a sandbox address: give it as `introbot sandbox serve` prints "
            "it, e.g. http://127.0.0.1:8765/",
            ctx,
            param,
        )
    return value.strip()


def sandbox_answers(url: str) -> None:
    """Fail at once (exit 1) if nothing listens at the sandbox's address, rather than
    retrying for seconds as for Gmail."""
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=3).close()
    except OSError as exc:
        gmail_failed(
            f"no sandbox answers at {url} ({exc.strerror or exc}): start one with "
            "`introbot sandbox serve` (it prints its address), or check --sandbox"
        )


@dataclass(frozen=True)
class Target:
    """The account a command works on, the flags given, and the sandbox if one stands in.
    The settings are loaded on first use: a mistake in them ends the command plainly."""

    account: Account
    flags: Flags
    sandbox: str | None

    @functools.cached_property
    def loaded(self) -> Loaded:
        try:
            return load_config(self.account, self.flags)
        except ConfigError as exc:
            fail(str(exc))

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def database(self) -> Path:
        """The account's database; with --sandbox, the sandbox's own (unless --db)."""
        return database_for(self.account, self.settings, self.sandbox, self.flags)

    @property
    def store(self) -> StoreLocation:
        """Where the account's records are: its SQLite file, or ``[store] url``'s database."""
        return store_for(self.account, self.settings, self.sandbox, self.flags)


def target_of(
    account_name: str | None, sandbox: str | None = None, flags: Flags | None = None
) -> Target:
    try:
        account = Account.named(account_name)
    except ConfigError as exc:
        fail(str(exc))
    return Target(account, flags or {}, sandbox)


ACCOUNT_OPTION = click.option(
    "--account",
    "account_name",
    envvar="INTROBOT_ACCOUNT",
    metavar="NAME",
    help="Which of your accounts (mailboxes) to work on; default: 'default'.",
)


def settings_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options of a command that uses an account's settings but neither Gmail nor the
    database (``rules check``): --account, --name, --rules; no --sandbox or --db to ignore."""

    @functools.wraps(f)
    def command(
        account_name: str | None, rules_dir: Path | None, connector_name: str | None, **rest: Any
    ) -> None:
        flags = {
            "paths.rules": ("--rules", rules_dir),
            "connector.name": ("--name", connector_name),
        }
        f(target_of(account_name, None, flags), **rest)

    for option in (_NAME_OPTION, _RULES_DIR_OPTION, ACCOUNT_OPTION):
        command = option(command)
    return command


_NAME_OPTION = click.option("--name", "connector_name", help="Your name, as drafts sign it.")
_RULES_DIR_OPTION = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Your rules folder (phrases and templates).",
)


def account_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options every account command takes, handed to it as one ``target``."""
    return _account_options(
        f, ACCOUNT_OPTION, lambda name, sandbox, flags, rest: target_of(name, sandbox, flags)
    )


_ACCOUNTS_OPTION = click.option(
    "--account",
    "account_name",
    multiple=True,
    envvar="INTROBOT_ACCOUNT",
    metavar="NAME",
    help="An account (mailbox) to work on; repeat it for several; default: 'default'.",
)
_ALL_OPTION = click.option(
    "--all", "all_accounts", is_flag=True, help="Every account set up on this machine."
)


def accounts_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options of a command that works on several accounts at once (``run``): --account
    may be repeated and --all takes every account set up; ``f`` gets ``targets``, one per
    account, each with the flags given."""

    def targets_of(
        names: tuple[str, ...], sandbox: str | None, flags: Flags, rest: dict[str, Any]
    ) -> list[Target]:
        if not rest.pop("all_accounts"):
            return [target_of(name, sandbox, flags) for name in dict.fromkeys(names or (None,))]
        if names:
            fail("--all takes every account; give either --all or --account NAME...")
        accounts = configured_accounts()
        if not accounts:
            fail(
                f"no account is set up in {config_dir() / 'accounts'} yet: `introbot init` "
                "(or `introbot init --account NAME`) sets one up"
            )
        return [Target(account, flags, sandbox) for account in accounts]

    return _ALL_OPTION(_account_options(f, _ACCOUNTS_OPTION, targets_of))


def _account_options(
    f: Callable[..., None],
    account_option: Callable[[Callable[..., None]], Callable[..., None]],
    targets: Callable[[Any, str | None, Flags, dict[str, Any]], object],
) -> Callable[..., None]:
    @functools.wraps(f)
    def command(
        account_name: Any,
        sandbox: str | None,
        db: Path | None,
        store_url: str | None,
        rules_dir: Path | None,
        connector_name: str | None,
        **rest: Any,
    ) -> None:
        flags = {
            "paths.database": ("--db", db),
            "store.url": ("--store", store_url),
            "paths.rules": ("--rules", rules_dir),
            "connector.name": ("--name", connector_name),
        }
        f(targets(account_name, sandbox, flags, rest), **rest)

    decorated: Callable[..., None] = command
    for option in (
        _NAME_OPTION,
        _RULES_DIR_OPTION,
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The database (default: introbot.db in the account's folder; with --sandbox, "
            "the sandbox's own).",
        ),
        click.option(
            "--store",
            "store_url",
            metavar="URL",
            help="A PostgreSQL database (postgresql://...) instead of the SQLite file, as "
            "[store] url; unlike that setting, also with --sandbox.",
        ),
        click.option(
            "--sandbox",
            metavar="URL",
            callback=sandbox_url,
            help="Work against a sandbox Gmail server at URL instead of Gmail, with a database "
            "of its own (`introbot sandbox forget` removes it).",
        ),
        account_option,
    ):
        decorated = option(decorated)
    return decorated


@contextmanager
def account_app(target: Target, sandbox_first: bool = True) -> Iterator[App]:
    """The account's app; a command fails at once if the sandbox it names is not there
    (``sandbox_first``; a daemon does not: it waits for Gmail, or a sandbox, to answer)."""
    from introbot.gmail.errors import GmailError
    from introbot.rules import RulesError
    from introbot.store import StoreError

    if target.sandbox and sandbox_first:
        sandbox_answers(target.sandbox)
    try:
        app = open_app(target.account, target.settings, target.sandbox, store=target.store)
    except (RulesError, StoreError) as exc:
        fail(str(exc))
    except GmailError as exc:
        gmail_failed(str(exc))
    try:
        yield app
    except GmailError as exc:
        gmail_failed(str(exc))
    finally:
        app.close()


@contextmanager
def store_only(target: Target) -> Iterator[Store]:
    from introbot.store import StoreError

    location = target.store
    if not location.exists():
        first = f"poll --sandbox {target.sandbox}" if target.sandbox else "poll"
        fail(
            f"no introbot database at {location.describe()} yet: the first `introbot {first}` "
            "(or `introbot run`) for this account creates it"
        )
    try:
        store = location.open()
    except StoreError as exc:
        fail(str(exc))
    try:
        yield store
    finally:
        store.close()


def one_intro(store: Store, intro_id: str) -> Intro:
    found = store.find(intro_id)
    if not found:
        fail(f"no intro with an id starting {intro_id!r} (see `introbot list`)")
    if len(found) > 1:
        fail(f"{intro_id!r} matches {len(found)} intros: {', '.join(i.id for i in found)}")
    return found[0]


@contextmanager
def until_stopped() -> Iterator[Callable[[], int]]:
    """Catch SIGINT/SIGTERM from here on; the yielded function blocks until one arrives and
    returns it (SIGINT is Ctrl-C: the caller exits 130, as every interrupted command does)."""
    stopped = threading.Event()
    received: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stopped.set()

    def wait() -> int:
        wait_for(stopped)
        return received[0]

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield wait
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_for(signum: int) -> None:
    """After a long-running command stopped on ``signum``: Ctrl-C exits 130 (interrupted);
    SIGTERM, the way a service manager stops it, is a clean stop (0)."""
    if signum == signal.SIGINT:
        sys.exit(output.EXIT_INTERRUPTED)


def wait_for(event: threading.Event) -> None:
    while not event.wait(0.2):
        pass
