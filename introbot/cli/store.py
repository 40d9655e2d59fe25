"""``introbot store``: the records' own commands. ``store copy`` moves an account's SQLite
store into PostgreSQL, for a team (README: "Run it for a team")."""

from __future__ import annotations

import tempfile
import urllib.parse
from pathlib import Path

import click

from introbot.cli import output
from introbot.cli.common import Target, account_options, fail
from introbot.store import StoreLocation


@click.group()
def store() -> None:
    """Your records' database: copy an SQLite store into PostgreSQL."""


@store.command("copy")
@account_options
@click.option(
    "--to",
    "url",
    required=True,
    metavar="URL",
    help="The PostgreSQL database to copy into (postgresql://USER@HOST:5432/DATABASE).",
)
@click.option(
    "--to-mailbox",
    metavar="NAME",
    help="The mailbox's name there (default: the one introbot would use once [store] url "
    "names that database: [store] mailbox, else the account's name; a Workspace mailbox's "
    "from its address).",
)
@click.option(
    "--replace", is_flag=True, help="Replace the records that mailbox already holds there."
)
def copy(target: Target, url: str, to_mailbox: str | None, replace: bool) -> None:
    """Copy the account's SQLite store into PostgreSQL, all in one transaction.

    Every table's rows of the mailbox go in at once and are counted against the file's
    before the transaction commits; a mailbox there that already holds records is refused
    unless --replace. The SQLite file is read through a read-only copy and left as it was;
    `introbot run` must not be writing it meanwhile. Then set [store] url as it says."""
    from introbot.store import StoreError
    from introbot.store.postgres import is_postgres_url

    if target.flags.get("store.url", ("--store", None))[1] is not None:
        fail("`store copy` reads the account's SQLite store: give the PostgreSQL database as --to")
    if not is_postgres_url(url):
        fail("--to takes a PostgreSQL URL: postgresql://USER@HOST:5432/DATABASE")
    source, destination = _locations(target, url, to_mailbox)
    assert source.path is not None
    if not source.path.exists():
        fail(f"no introbot database at {source.path} to copy (--db names another file)")
    try:
        counts = _copied(target, source, destination, replace)
    except StoreError as exc:
        fail(str(exc))
    total = sum(counts.values())
    tables = ", ".join(f"{table} {n}" for table, n in counts.items() if n)
    rows = "1 row" if total == 1 else f"{total} rows"
    output.say(
        f"Copied {rows} ({tables}) from {source.path} into {destination.describe()} in one "
        f"transaction; every table's count matches. {source.path} is left as it was."
    )
    for line in _next_steps(target, url, destination.mailbox):
        output.say(line)


def _locations(
    target: Target, url: str, to_mailbox: str | None
) -> tuple[StoreLocation, StoreLocation]:
    """The account's SQLite store (--db, a Workspace mailbox's own file) and where it goes:
    the mailbox introbot would use in that database once [store] url names it."""
    from introbot.app import mailbox_store
    from introbot.gmail.errors import GmailError
    from introbot.paths import config_dir
    from introbot.store import StoreError

    settings = target.settings
    try:
        source = StoreLocation.sqlite(target.database)
        there = StoreLocation.postgres(
            url, settings.store.mailbox or target.account.name, config_dir() / "locks"
        )
        if not target.sandbox:
            source = mailbox_store(source, settings, target.mailbox)
            there = mailbox_store(there, settings, target.mailbox)
        if to_mailbox is not None:
            from introbot.store.postgres import schema_of

            schema_of(to_mailbox)  # a name PostgreSQL can hold, or what to give
            there = StoreLocation.postgres(url, to_mailbox, config_dir() / "locks")
    except (StoreError, GmailError) as exc:
        fail(str(exc))
    return source, there


def _copied(
    target: Target, source: StoreLocation, destination: StoreLocation, replace: bool
) -> dict[str, int]:
    """The copy, with no writer on the file and the mailbox's lease held in the database
    (a replica working it meanwhile would be overwritten). Raises StoreError."""
    from introbot.daemon import COMMAND_WAIT_SECONDS, AlreadyRunning, single_instance
    from introbot.leases import LeaseHeld, command_lease
    from introbot.store import Store, StoreError
    from introbot.store.copy import copy_mailbox, snapshot_sqlite

    assert source.path is not None
    wait = COMMAND_WAIT_SECONDS
    try:
        with (
            single_instance(source.path, "store copy", wait),
            tempfile.TemporaryDirectory(prefix="introbot-copy-") as folder,
        ):
            private = Path(folder) / "introbot.db"
            snapshot_sqlite(source.path, private)
            original = Store(private)  # brought to this introbot's schema: the copy only
            try:
                there = destination.open()
                try:
                    lease = target.settings.store.lease_seconds
                    with command_lease(there.db, "store copy", lease, wait):
                        return copy_mailbox(original, there, replace)
                finally:
                    there.close()
            finally:
                original.close()
    except AlreadyRunning as exc:
        raise StoreError(f"{exc}: a copy would miss what it writes next") from None
    except LeaseHeld as exc:
        raise StoreError(
            f"{exc}: stop what serves that mailbox (`introbot run`, the replicas) before "
            "copying into it"
        ) from None


def _next_steps(target: Target, url: str, mailbox: str) -> list[str]:
    """What to put in the config next, without the URL's password."""
    settings = target.settings
    shown = _without_password(url)
    default = settings.store.mailbox or target.account.name
    workspace = settings.workspace
    named_by_address = bool(target.mailbox) and len(workspace.mailboxes) > 1
    lines = [
        "",
        f"Next, in {target.account.config_file}:",
        "",
        "  [store]",
        f'  url = "{shown}"',
    ]
    if mailbox != default and not named_by_address:
        lines.append(f'  mailbox = "{mailbox}"')
    if shown != url.strip():
        lines += ["", "(the password: in the URL as you gave it, or in PGPASSWORD or ~/.pgpass)"]
    others = [m for m in workspace.mailboxes if m != target.mailbox] if named_by_address else []
    if others:
        lines += [
            "",
            f"Copy the account's other mailboxes too ({', '.join(others)}): "
            "`introbot store copy --to URL --mailbox ADDRESS` each.",
        ]
    lines += [
        "",
        f"Then `{target.account.command('doctor')}` and `introbot run`. introbot no longer "
        "reads the SQLite file: keep it until the first polls went well.",
    ]
    return lines


def _without_password(url: str) -> str:
    """The URL with its password taken out (the rest as given: host, options)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.password is None:
        return url.strip()
    host = parts.netloc.rpartition("@")[2]
    user = urllib.parse.quote(parts.username or "", safe="")
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))
