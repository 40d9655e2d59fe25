"""Commands around introbot rather than of it: the demo, the benchmark, the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import click

from introbot.cli.common import until_stopped
from introbot.gmail.errors import GmailError
from introbot.sandbox import DEFAULT_USER, SandboxServer
from introbot.sandbox.accounting import RateLimitSettings
from introbot.sandbox.realism import PROFILES
from introbot.sandbox.server import CONTROL_ENDPOINTS


@click.command()
@click.option("--serve", is_flag=True, help="Keep the sandbox running afterwards to explore it.")
def demo(serve: bool) -> None:
    """Show introbot at work on a built-in sandbox mailbox (no Google account needed)."""
    from introbot.demo import run_demo

    server = SandboxServer().start()
    try:
        with until_stopped() as wait:
            run_demo(click.echo, server)
            if serve:
                click.echo(f"\nThe sandbox stays up at {server.url} ; press Ctrl-C to stop.")
                wait()
    except GmailError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        server.stop()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--quick", is_flag=True, help="Tiny sizes (seconds, not minutes): to check it runs.")
@click.option("--reading", "reading_only", is_flag=True, help="Only the cost of reading mail.")
def bench(as_json: bool, quick: bool, reading_only: bool) -> None:
    """Measure Gmail quota and time against a rate-limited sandbox, beside a typical poller."""
    from introbot import bench as benchmark

    if reading_only:
        read = benchmark.reading(2 * 2**20 if quick else 25 * 2**20)
        click.echo(json.dumps(read, indent=1) if as_json else benchmark.reading_table(read))
        return
    click.echo(
        "Running the benchmark (a sandbox on 127.0.0.1; minutes unless --quick)...", err=True
    )
    result = (
        benchmark.run(burst_size=20, sizes=(10, 50), big=2 * 2**20) if quick else benchmark.run()
    )
    click.echo(json.dumps(result, indent=1) if as_json else benchmark.table(result))


@click.group()
def sandbox() -> None:
    """A local Gmail API server for trying introbot and for tests."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--user", default=DEFAULT_USER, show_default=True, help="The mailbox's address.")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the mailbox to this file after every change and reload it on start.",
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
    host: str, port: int, user: str, state: Path | None, rate_limit: bool, realism: str
) -> None:
    """Serve the Gmail REST API (and /_sandbox/ controls) until Ctrl-C."""
    try:
        server = SandboxServer(
            host, port, user, state, RateLimitSettings() if rate_limit else None, realism
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
            click.echo(
                f"Sandbox Gmail for {server.sandbox.mailbox.user} at {server.url} "
                f"(realism: {realism})"
            )
            click.echo(f"Gmail API: {server.url}gmail/v1/users/me/...")
            click.echo(f"Batches:   {server.url}batch/gmail/v1")
            click.echo("Controls:")
            for line in CONTROL_ENDPOINTS:
                click.echo(f"  {line}")
            wait()
        finally:
            server.stop()
            click.echo("Sandbox stopped.")
