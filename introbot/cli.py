"""The ``introbot`` command line: parse arguments, call into the rest, report errors plainly."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from introbot import __version__
from introbot.gmail.errors import GmailError
from introbot.sandbox import DEFAULT_USER, SandboxServer
from introbot.sandbox.accounting import RateLimitSettings
from introbot.sandbox.server import CONTROL_ENDPOINTS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="introbot")
@click.option("-v", "--verbose", count=True, help="More detail in the log (-vv for debug).")
def main(verbose: int) -> None:
    """introbot drafts double opt-in introductions in your Gmail; you send them."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@main.command()
@click.option("--serve", is_flag=True, help="Keep the sandbox running afterwards to explore it.")
def demo(serve: bool) -> None:
    """Show introbot at work on a built-in sandbox mailbox (no Google account needed)."""
    from introbot.demo import run_demo

    server = SandboxServer().start()
    try:
        with _until_stopped() as wait:
            run_demo(click.echo, server)
            if serve:
                click.echo(f"\nThe sandbox stays up at {server.url} ; press Ctrl-C to stop.")
                wait()
    except GmailError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        server.stop()


@main.group()
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
def sandbox_serve(host: str, port: int, user: str, state: Path | None, rate_limit: bool) -> None:
    """Serve the Gmail REST API (and /_sandbox/ controls) until Ctrl-C."""
    try:
        server = SandboxServer(host, port, user, state, RateLimitSettings() if rate_limit else None)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
        ) from None
    except (ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot load the sandbox state from {state}: {exc}") from None
    with _until_stopped() as wait:
        server.start()
        try:
            click.echo(f"Sandbox Gmail for {server.sandbox.mailbox.user} at {server.url}")
            click.echo(f"Gmail API: {server.url}gmail/v1/users/me/...")
            click.echo(f"Batches:   {server.url}batch/gmail/v1")
            click.echo("Controls:")
            for line in CONTROL_ENDPOINTS:
                click.echo(f"  {line}")
            wait()
        finally:
            server.stop()
            click.echo("Sandbox stopped.")


@contextmanager
def _until_stopped() -> Iterator[Callable[[], None]]:
    """Catch SIGINT/SIGTERM from here on; the yielded function blocks until one arrives."""
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: _wait(stopped)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _wait(event: threading.Event) -> None:
    while not event.wait(0.2):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
