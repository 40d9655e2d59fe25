"""Commands around introbot rather than of it: the demo and the sandbox (the benchmark's
command is in cli/bench.py)."""

from __future__ import annotations

from pathlib import Path

import click

from introbot.cli.common import (
    ACCOUNT_OPTION,
    email_addresses,
    exit_for,
    fail,
    target_of,
    until_stopped,
)
from introbot.gmail.errors import GmailError
from introbot.sandbox import DEFAULT_USER, SandboxServer
from introbot.sandbox.accounting import RateLimitSettings
from introbot.sandbox.realism import PROFILES
from introbot.sandbox.server import CONTROL_ENDPOINTS


@click.command()
@click.option("--serve", is_flag=True, help="Keep the sandbox running afterwards to explore it.")
def demo(serve: bool) -> None:
    """Show introbot at work on a built-in sandbox mailbox (no Google account needed)."""
    from introbot.cli.demo import run_demo

    server = SandboxServer().start()
    stopped_on = None
    try:
        with until_stopped() as wait:
            run_demo(click.echo, server)
            if serve:
                click.echo(f"\nThe sandbox stays up at {server.url} ; press Ctrl-C to stop.")
                stopped_on = wait()
    except GmailError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        server.stop()
    if stopped_on is not None:
        exit_for(stopped_on)


@click.group()
def sandbox() -> None:
    """A local Gmail API server for trying introbot and for tests."""


DEFAULT_PORT = 8765


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--user",
    "users",
    callback=email_addresses,
    multiple=True,
    default=(DEFAULT_USER,),
    show_default=True,
    help="A mailbox's address; repeat it to serve several, each with its own quota "
    "(the first is the default one).",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the first mailbox to this file after every change and reload it on start "
    "(each other one beside it, as STEM.ADDRESS.json).",
)
@click.option(
    "--rate-limit/--no-rate-limit",
    default=False,
    show_default=True,
    help="Enforce Gmail's per-user limit (15,000 units a minute).",
)
@click.option(
    "--realism",
    type=click.Choice(sorted(PROFILES)),
    default="kind",
    show_default=True,
    help="How unkind the sandbox is: 'realistic' turns on Gmail's delayed sends, rewritten "
    "Message-IDs, search lag... (docs/sandbox.md, Realism).",
)
def sandbox_serve(
    host: str,
    port: int,
    users: tuple[str, ...],
    state: Path | None,
    rate_limit: bool,
    realism: str,
) -> None:
    """Serve the Gmail REST API (and /_sandbox/ controls) until Ctrl-C (exit 130) or SIGTERM
    (exit 0)."""
    try:
        server = SandboxServer(
            host, port, users, state, RateLimitSettings() if rate_limit else None, realism
        )
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
        ) from None
    except (ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot load the sandbox state from {state}: {exc}") from None
    with until_stopped() as wait:
        server.start()
        try:
            served = ", ".join(box.mailbox.user for box in server.sandboxes.all())
            click.echo(f"Sandbox Gmail for {served} at {server.url} (realism: {realism})")
            click.echo(f"Gmail API: {server.url}gmail/v1/users/me/...")
            click.echo(f"Batches:   {server.url}batch/gmail/v1")
            click.echo("Controls:")
            for line in CONTROL_ENDPOINTS:
                click.echo(f"  {line}")
            click.echo(
                f"Try it: `introbot poll --sandbox {server.url}` (a database of its own, never "
                f"an account's; `introbot sandbox forget {server.url}` removes it)."
            )
            stopped_on = wait()
        finally:
            server.stop()
            click.echo("Sandbox stopped.")
    exit_for(stopped_on)


@sandbox.command("forget")
@click.argument("url", required=False, default=f"http://127.0.0.1:{DEFAULT_PORT}/")
@click.option("--all", "everything", is_flag=True, help="Every sandbox database of the account.")
@ACCOUNT_OPTION
def sandbox_forget(url: str, everything: bool, account_name: str | None) -> None:
    """Remove the database introbot keeps for a sandbox (default: the one `sandbox serve`
    starts), so the next `--sandbox` session starts afresh. Your account's is never touched."""
    from introbot.daemon import AlreadyRunning, single_instance

    account = target_of(account_name).account
    if everything:
        databases = sorted(account.sandbox_database(url).parent.glob("*.db"))
    else:
        databases = [account.sandbox_database(url)]
    removed = []
    for database in databases:
        if not database.exists():
            continue
        try:
            with single_instance(database, "forget"):
                for path in _database_files(database):
                    path.unlink(missing_ok=True)
        except AlreadyRunning as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot remove {database}: {exc.strerror}")
        removed.append(database)
    if not removed:
        which = "any sandbox" if everything else f"the sandbox at {url}"
        click.echo(f"No database for {which} (account '{account.name}'): nothing to remove.")
    for database in removed:
        click.echo(f"Removed {database}")


def _database_files(database: Path) -> list[Path]:
    """A SQLite database and what lives beside it: its journal files and its lock."""
    endings = ("", "-wal", "-shm", "-journal", ".lock")
    return [database.with_name(database.name + ending) for ending in endings]
