"""The ``introbot`` command line: parse arguments, call into the rest, report errors plainly."""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from introbot import __version__, logs
from introbot.app import App, open_app
from introbot.config import Account, ConfigError, Flags, Loaded
from introbot.config import load as load_config
from introbot.gmail.errors import GmailError
from introbot.logs import LogFormat
from introbot.model import Intro, Observation, Stage
from introbot.sandbox import DEFAULT_USER, SandboxServer
from introbot.sandbox.accounting import RateLimitSettings
from introbot.sandbox.server import CONTROL_ENDPOINTS
from introbot.settings import Settings
from introbot.store import Store

if TYPE_CHECKING:
    from introbot.rules import Phrases


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="introbot")
@click.option("-v", "--verbose", count=True, help="More detail in the log (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Log errors only.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="key=value lines, or one JSON object per line for log shippers.",
)
def main(verbose: int, quiet: bool, log_format: LogFormat) -> None:
    """introbot drafts double opt-in introductions in your Gmail; you send them."""
    logs.setup(-1 if quiet else verbose, log_format)


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
def explain() -> None:
    """Show what introbot reads in a message, and why."""


_RULES_OPTION = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Use the phrases in this rules folder instead of the built-in ones.",
)


def _read_message(source: str) -> bytes:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {source}: {exc.strerror}")
    from introbot.reading.mime import looks_like_mail

    if not looks_like_mail(raw):
        _fail(
            f"{'standard input' if source == '-' else source} is not an email message "
            "(no RFC 822 headers such as From: or Subject: at the top)"
        )
    return raw


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _load_phrases(rules_dir: Path | None) -> Phrases:
    from introbot.rules import RulesError, default_phrases, load_phrases

    try:
        return load_phrases(rules_dir) if rules_dir else default_phrases()
    except RulesError as exc:
        _fail(str(exc))


@explain.command("reply")
@click.argument("source", metavar="FILE.eml|-")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--sent",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The consent message the reply answers (.eml or text): its lines are not the reply's.",
)
@_RULES_OPTION
def explain_reply(source: str, as_json: bool, sent: Path | None, rules_dir: Path | None) -> None:
    """The verdict on a reply to a consent message: yes, no, unclear, auto_reply or bounce."""
    from introbot import explain as render
    from introbot.reading.mime import looks_like_mail, read_mail
    from introbot.reading.replies import read_reply

    raw = _read_message(source)
    mail = read_mail(raw)
    sent_text = None
    if sent is not None:
        sent_raw = sent.read_bytes()
        sent_text = (
            read_mail(sent_raw).text
            if looks_like_mail(sent_raw)
            else sent_raw.decode("utf-8", "replace")
        )
    reading = read_reply(mail, _load_phrases(rules_dir), sent_text)
    if as_json:
        click.echo(json.dumps(render.reply_json(reading), ensure_ascii=False))
    else:
        click.echo(render.reply_report(reading, mail.problems))


@explain.command("request")
@click.argument("source", metavar="FILE.eml|-")
@click.option(
    "--me",
    "me",
    multiple=True,
    required=True,
    metavar="ADDRESS",
    help="Your own address (repeat for each); never made a party.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_RULES_OPTION
def explain_request(
    source: str, me: tuple[str, ...], as_json: bool, rules_dir: Path | None
) -> None:
    """The introductions an intro-request message asks for, or what is missing."""
    from introbot import explain as render
    from introbot.reading.mime import read_mail
    from introbot.reading.requests import read_request

    raw = _read_message(source)
    mail = read_mail(raw)
    reading = read_request(mail, me, _load_phrases(rules_dir))
    if as_json:
        click.echo(json.dumps(render.request_json(reading), ensure_ascii=False))
    else:
        click.echo(render.request_report(reading, mail.problems))


# ----------------------------------------------------------------- the workflow
@dataclass(frozen=True)
class Target:
    """The account a command works on, its settings, and the sandbox if one stands in."""

    account: Account
    loaded: Loaded
    sandbox: str | None

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def database(self) -> Path:
        return self.account.database(self.settings)


def _target(
    account_name: str | None, sandbox: str | None = None, flags: Flags | None = None
) -> Target:
    try:
        account = Account.named(account_name)
        loaded = load_config(account, flags)
    except ConfigError as exc:
        _fail(str(exc))
    return Target(account, loaded, sandbox)


ACCOUNT_OPTION = click.option(
    "--account",
    "account_name",
    envvar="INTROBOT_ACCOUNT",
    metavar="NAME",
    help="Which of your accounts (mailboxes) to work on; default: 'default'.",
)


def account_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options every account command takes, handed to it as one ``target``."""

    @functools.wraps(f)
    def command(
        account_name: str | None,
        sandbox: str | None,
        db: Path | None,
        rules_dir: Path | None,
        connector_name: str | None,
        **rest: Any,
    ) -> None:
        flags = {
            "paths.database": ("--db", db),
            "paths.rules": ("--rules", rules_dir),
            "connector.name": ("--name", connector_name),
        }
        f(_target(account_name, sandbox, flags), **rest)

    for option in (
        click.option("--name", "connector_name", help="Your name, as drafts sign it."),
        click.option(
            "--rules",
            "rules_dir",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            help="Your rules folder (phrases and templates).",
        ),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The database (default: introbot.db in the account's folder).",
        ),
        click.option(
            "--sandbox",
            metavar="URL",
            help="Work against a sandbox Gmail server at URL instead of Gmail.",
        ),
        ACCOUNT_OPTION,
    ):
        command = option(command)
    return command


@contextmanager
def _app(target: Target) -> Iterator[App]:
    from introbot.gmail.errors import GmailError
    from introbot.rules import RulesError
    from introbot.store import StoreError

    try:
        app = open_app(target.account, target.settings, target.sandbox)
    except (RulesError, StoreError) as exc:
        _fail(str(exc))
    except GmailError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    try:
        yield app
    except GmailError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    finally:
        app.close()


@main.command()
@account_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read Gmail and print what would be drafted and labeled; change nothing.",
)
def poll(target: Target, dry_run: bool) -> None:
    """Run one pass over Gmail and exit (for cron or a systemd timer)."""
    from introbot.daemon import AlreadyRunning, mailbox_lock, single_instance

    if dry_run:
        _dry_run(target)
        return
    with _app(target) as app:
        try:
            with single_instance(app.store.path), mailbox_lock(app.mailbox()):
                report = app.engine.poll()
        except AlreadyRunning as exc:
            _fail(str(exc))
        click.echo(
            f"poll: {report.requests} request(s), {report.observations} change(s), "
            f"{report.drafts_created} draft(s) written"
            + (" (full sync)" if report.full_sync else "")
        )
        for line in report.decisions:
            click.echo(f"  {line}")


def _dry_run(target: Target) -> None:
    from introbot import dryrun
    from introbot.gmail.errors import GmailError
    from introbot.rules import RulesError
    from introbot.store import StoreError

    try:
        plan = dryrun.run(target.account, target.settings, target.sandbox)
    except (dryrun.DryRunError, RulesError, StoreError) as exc:
        _fail(str(exc))
    except GmailError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(dryrun.describe(plan))


@main.command()
@account_options
@click.option(
    "--interval",
    type=click.IntRange(1, 86_400),
    help="Seconds between polls (default: daemon.poll_interval_seconds, 60).",
)
def run(target: Target, interval: int | None) -> None:
    """Keep polling until Ctrl-C or SIGTERM; the poll in progress always finishes."""
    from introbot.daemon import AlreadyRunning, mailbox_lock, run_forever, single_instance

    with _app(target) as app:
        try:
            with single_instance(app.store.path), mailbox_lock(app.mailbox()):
                seconds = interval or app.settings.daemon.poll_interval_seconds
                click.echo(f"introbot is watching Gmail every {seconds} s; Ctrl-C stops it.")
                decisions = logging.getLogger("introbot")
                if decisions.getEffectiveLevel() == logging.WARNING:  # neither -q nor -v
                    decisions.setLevel(logging.INFO)  # the daemon logs a line per decision
                run_forever(lambda: _poll_logged(app), seconds)
        except AlreadyRunning as exc:
            _fail(str(exc))
        click.echo("introbot stopped.")


def _poll_logged(app: App) -> None:
    report = app.engine.poll()
    app.keep_sign_in()
    if report.requests or report.observations:
        logging.getLogger("introbot").info(
            "poll requests=%d changes=%d drafts=%d",
            report.requests,
            report.observations,
            report.drafts_created,
        )


@main.command("list")
@account_options
@click.option(
    "--state",
    "stage",
    type=click.Choice([s.value for s in Stage]),
    help="Only intros in this state.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_intros(target: Target, stage: str | None, as_json: bool) -> None:
    """Your intros: who, where they stand, and what happens next."""
    from introbot import views

    with _store_only(target) as store:
        intros = store.intros(stage=Stage(stage) if stage else None)
    if as_json:
        click.echo(
            json.dumps([views.intro_summary(i) for i in intros], indent=1, ensure_ascii=False)
        )
    else:
        click.echo(views.table(intros, datetime.now(UTC)))


@main.command()
@account_options
@click.argument("intro_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(target: Target, intro_id: str, as_json: bool) -> None:
    """One intro's timeline, with the evidence for every decision."""
    from introbot import views

    with _store_only(target) as store:
        intro = _one(store, intro_id)
        lines = store.timeline(intro.id)
    if as_json:
        click.echo(json.dumps(views.intro_detail(intro, lines), indent=1, ensure_ascii=False))
    else:
        click.echo(views.detail(intro, lines))


@main.command()
@account_options
@click.argument("intro_id")
def cancel(target: Target, intro_id: str) -> None:
    """Cancel an intro: its unsent drafts are deleted."""
    from introbot.model import Cancel

    with _app(target) as app:
        intro = _one(app.store, intro_id)
        _act(app, intro.id, Cancel("cancelled from the command line"))


@main.command()
@account_options
@click.argument("intro_id")
@click.argument("party", metavar="requester|contact|ADDRESS")
@click.argument("answer", type=click.Choice(["yes", "no"]))
def decide(target: Target, intro_id: str, party: str, answer: str) -> None:
    """Decide for a party yourself (after an unclear reply, a call, ...)."""
    from introbot.model import Consent, Decision, Role

    with _app(target) as app:
        intro = _one(app.store, intro_id)
        roles = {r.value: r for r in Role}
        role = roles.get(party.lower()) or next(
            (p.role for p in (intro.requester, intro.contact) if p.person.key == party.casefold()),
            None,
        )
        if role is None:
            _fail(f"{party!r} is neither 'requester', 'contact' nor an address in intro {intro.id}")
        _act(app, intro.id, Decision(role, Consent(answer), "cli"))


def _act(app: App, intro_id: str, observation: Observation) -> None:
    now = datetime.now(UTC)
    before = app.store.load(intro_id)
    after = app.engine.apply(intro_id, observation, now, "command line")
    if after is None or after == before:
        rejected = app.store.timeline(intro_id)[-1:]
        reason = (
            rejected[0].detail
            if rejected and rejected[0].kind == "rejected"
            else "nothing to change"
        )
        _fail(reason)
    app.engine.drain(now)
    app.engine.converge_labels()
    click.echo(f"intro {intro_id}: {after.stage.value}")


@contextmanager
def _store_only(target: Target) -> Iterator[Store]:
    from introbot.store import StoreError

    if not target.database.exists():
        _fail(
            f"no introbot database at {target.database} yet: the first `introbot poll` "
            "(or `introbot run`) for this account creates it"
        )
    try:
        store = Store(target.database)
    except StoreError as exc:
        _fail(str(exc))
    try:
        yield store
    finally:
        store.close()


def _one(store: Store, intro_id: str) -> Intro:
    found = store.find(intro_id)
    if not found:
        _fail(f"no intro with an id starting {intro_id!r} (see `introbot list`)")
    if len(found) > 1:
        _fail(f"{intro_id!r} matches {len(found)} intros: {', '.join(i.id for i in found)}")
    return found[0]


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--quick", is_flag=True, help="Tiny sizes (seconds, not minutes): to check it runs.")
def bench(as_json: bool, quick: bool) -> None:
    """Measure Gmail quota and time against a rate-limited sandbox, beside a typical poller."""
    from introbot import bench as benchmark

    click.echo(
        "Running the benchmark (a sandbox on 127.0.0.1; minutes unless --quick)...", err=True
    )
    result = benchmark.run(burst_size=20, sizes=(10, 50)) if quick else benchmark.run()
    click.echo(json.dumps(result, indent=1) if as_json else benchmark.table(result))


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
