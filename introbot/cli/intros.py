"""The commands of the intro workflow: poll, run, list, show, cancel, decide, stats."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from introbot import logs
from introbot.app import App
from introbot.cli import output
from introbot.cli.common import (
    Target,
    account_app,
    account_options,
    accounts_options,
    fail,
    gmail_failed,
    one_intro,
    sandbox_answers,
    store_only,
)
from introbot.model import Cancel, Decision, Intro, Observation, address_key

if TYPE_CHECKING:
    from introbot.daemon import AlreadyRunning, Mailbox
    from introbot.engine import PollReport


JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON for programs instead of prose."
)


@click.command()
@account_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read Gmail and print what would be drafted and labeled; change nothing.",
)
@JSON_OPTION
def poll(target: Target, dry_run: bool, as_json: bool) -> None:
    """Run one pass over Gmail and exit (for cron or a systemd timer)."""
    from introbot.daemon import AlreadyRunning, writer_locks
    from introbot.leases import LeaseLost
    from introbot.store import StoreError, WrongMailbox

    if dry_run:
        _dry_run(target, as_json)
        return
    with account_app(target) as app:
        try:
            with writer_locks(app, "poll"):
                report = app.engine.poll()
        except WrongMailbox as exc:
            fail(_sandbox_hint(target, str(exc)))
        except AlreadyRunning as exc:
            fail(_poll_refused(exc))
        except LeaseLost as exc:
            fail(f"{exc}; run `introbot poll` again")
        except StoreError as exc:
            fail(str(exc))
        at = datetime.now(UTC)
        warnings = []
        if report.drafts_created and app.settings.connector.name is None:
            warnings.append(
                "no name is set, so the drafts are signed without one; set [connector] "
                "name (`introbot doctor` says where) or pass --name."
            )
        ending = app.sign_in_ending()
        if ending:
            warnings.append(ending)
        if as_json:
            output.emit_json({**poll_document(report, at), "warnings": warnings})
        else:
            for line in poll_prose(report, at):
                output.say(line)
        for warning in warnings:
            output.warn(warning)


def _poll_refused(busy: AlreadyRunning) -> str:
    """Why `poll` did not run and what to do: a replica's polls do the same work."""
    if busy.replica:
        return (
            f"{busy}: its polls do what `introbot poll` would, so there is nothing to do here. "
            "To poll from this machine anyway, run it again once that replica stops "
            "(`introbot doctor` says who holds the mailbox)"
        )
    return str(busy)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def poll_prose(report: PollReport, at: datetime) -> list[str]:
    """What one poll did, for people: a line, then one per decision."""
    lines = [
        f"Polled Gmail at {output.local_time(at)}: "
        f"{_plural(report.requests, 'new request')}, {_plural(report.observations, 'change')}, "
        f"{_plural(report.drafts_created, 'draft')} written"
        + (" (a full sync)." if report.full_sync else ".")
    ]
    # A line each, whole (greppable); a terminal wraps them at its width.
    return lines + [f"  {decision}" for decision in report.decisions]


def poll_document(report: PollReport, at: datetime) -> dict[str, object]:
    """What one poll did, for programs (``poll --json``)."""
    decisions: list[dict[str, str]] = []
    for line in report.decisions:
        subject, _, text = line.partition(": ")
        if subject.startswith("thread "):
            decisions.append({"thread": subject.removeprefix("thread "), "text": text})
        else:
            decisions.append({"intro": subject, "text": text})
    return {
        "polled_at": at.isoformat(),
        "full_sync": report.full_sync,
        "requests": report.requests,
        "changes": report.observations,
        "drafts_written": report.drafts_created,
        "decisions": decisions,
    }


def _sandbox_hint(target: Target, message: str) -> str:
    """A sandbox session's own database of another mailbox (the sandbox restarted with
    another --user): the way out is to forget it."""
    if not target.sandbox or target.database != target.account.sandbox_database(target.sandbox):
        return message
    return (
        f"{message} This is introbot's database for the sandbox at {target.sandbox}: "
        f"`{target.account.command('sandbox forget')} {target.sandbox}` removes it."
    )


def _dry_run(target: Target, as_json: bool) -> None:
    from introbot.cli import dryrun
    from introbot.gmail.errors import GmailError
    from introbot.rules import RulesError
    from introbot.store import StoreError

    if target.sandbox:
        sandbox_answers(target.sandbox)
    try:
        plan = dryrun.run(target.account, target.settings, target.sandbox, target.store)
    except (dryrun.DryRunError, RulesError, StoreError) as exc:
        fail(str(exc))
    except GmailError as exc:
        gmail_failed(str(exc))
    if as_json:
        output.emit_json(dryrun.document(plan))
    else:
        output.say(dryrun.describe(plan))


def _listen(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--http HOST:PORT, checked before anything runs."""
    from introbot.settings import split_host_port

    try:
        if value is not None:
            split_host_port(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


@click.command()
@accounts_options
@click.option(
    "--interval",
    type=click.IntRange(1, 86_400),
    help="Seconds between polls (default: each account's daemon.poll_interval_seconds, 60).",
)
@click.option(
    "--http",
    metavar="HOST:PORT",
    help="Answer /healthz, /readyz and /metrics there (default: daemon.http; unset: not at all).",
    callback=_listen,
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    envvar="INTROBOT_RUN_WORKERS",
    help="With several accounts: how many are polled at once, at most (default: one per "
    "account, up to 8).",
)
def run(targets: list[Target], interval: int | None, http: str | None, workers: int | None) -> None:
    """Keep polling until Ctrl-C or SIGTERM; the poll in progress always finishes.

    On a terminal each poll that finds something is told as `introbot poll` tells it;
    elsewhere (a service) as log lines. Ctrl-C stops after the poll in progress (exit 130,
    as for any interrupted command; a second Ctrl-C stops at once); SIGTERM, a service
    manager's ordinary stop, the same way with exit 0.

    With several accounts (--account A --account B, or --all) one process serves them all,
    each with its own interval, sign-in, quota pacing and database, up to --workers polled
    at once: a slow or failing mailbox holds up no other. Each then takes its settings from
    its own config.toml (a sandbox: its [gmail] endpoint). An account whose [workspace]
    mailboxes lists several is served the same way, one mailbox each (--mailbox: only that
    one), each with a store of its own.
    """
    served = [each for target in targets for each in _each_mailbox(target)]
    if len(served) == 1:
        _run_one(served[0], interval, http)
    else:
        _run_several(served, interval, workers, http)


def _each_mailbox(target: Target) -> list[Target]:
    """The account once per mailbox it serves: each of several ``[workspace] mailboxes``
    (unless --mailbox picked one), else the account itself (also when its config has a
    mistake: opening it tells which)."""
    from introbot.config import ConfigError
    from introbot.config import load as load_config

    if target.sandbox or target.mailbox:
        return [target]
    try:
        workspace = load_config(target.account, target.flags).settings.workspace
    except ConfigError:
        return [target]
    if workspace.service_account_key is None or len(workspace.mailboxes) < 2:
        return [target]
    return [dataclasses.replace(target, mailbox=m) for m in workspace.mailboxes]


def _run_one(target: Target, interval: int | None, http: str | None) -> None:
    from introbot import health as vitals
    from introbot.daemon import DAEMON, AlreadyRunning, run_forever, single_instance
    from introbot.leases import under_leases
    from introbot.store import StoreError

    on_terminal = sys.stdout.isatty()
    with account_app(target, sandbox_first=False) as app:
        try:
            # A short-lived writer (poll, decide, cancel) is waited for; another daemon not.
            with single_instance(app.store.path, DAEMON, wait=float("inf")), ExitStack() as held:
                seconds = interval or app.settings.daemon.poll_interval_seconds
                health = vitals.Health(seconds, app.store.answers)
                served = held.enter_context(
                    vitals.serving(http or app.settings.daemon.http, health)
                )
                output.say(f"introbot is watching Gmail every {seconds} s; Ctrl-C stops it.")
                if served is not None:
                    output.say(f"Health and metrics: {served.url}healthz, readyz, metrics")
                _log_decisions(on_terminal)
                logged = functools.partial(_poll_logged, app, set(), _Held(held), on_terminal)
                lease = app.settings.store.lease_seconds
                leased = under_leases(held, [(app.store.db, logged)], lease)
                health.leases = leased.owned if leased.replicas else None
                stopped_on = run_forever(
                    health.watch(leased.polls[0], app.account.name, after=vitals.counting(app)),
                    seconds,
                    signed_in_again=app.signed_in_again,
                    fatal=(AlreadyRunning, StoreError),
                    on_tick=health.tick,
                )
        except (AlreadyRunning, StoreError, OSError) as exc:
            fail(str(exc))
        output.say("introbot stopped.")
    if stopped_on == signal.SIGINT:
        sys.exit(output.EXIT_INTERRUPTED)


def _log_decisions(on_terminal: bool) -> None:
    decisions = logging.getLogger("introbot")
    if not on_terminal and decisions.getEffectiveLevel() == logging.WARNING:
        decisions.setLevel(logging.INFO)  # the daemon logs a line per decision


def _run_several(
    targets: list[Target], interval: int | None, workers: int | None, http: str | None
) -> None:
    """One process, several accounts: every account that can be opened is served; one that
    cannot (no sign-in, a mistake in its config, another daemon on it) is said and left.
    The health endpoints (--http, or the first account's [daemon] http) cover them all."""
    from introbot import health as vitals
    from introbot.app import mailbox_label
    from introbot.daemon import (
        AlreadyRunning,
        Mailbox,
        default_workers,
        raise_open_files_limit,
        run_many,
    )
    from introbot.gmail.auth import DELEGATION_STEP
    from introbot.leases import DEFAULT_LEASE_SECONDS, under_leases
    from introbot.store import StoreError

    given = [flag for flag, value in targets[0].flags.values() if value is not None]
    several_accounts = len({target.account.name for target in targets}) > 1
    if several_accounts and (given or targets[0].sandbox):
        fail(
            f"{(given or ['--sandbox'])[0]} is one account's setting; with several accounts each "
            "takes it from its own config.toml ([paths] database, [paths] rules, [connector] "
            "name; a sandbox: [gmail] endpoint)"
        )
    raise_open_files_limit(64 + 8 * len(targets))  # a database, locks, a connection each
    on_terminal = sys.stdout.isatty()
    with ExitStack() as stack:
        boxes: list[Mailbox] = []
        apps: list[App] = []
        labels: list[str] = []  # each box's name in the metrics: never an address
        lease = DEFAULT_LEASE_SECONDS
        health = vitals.Health(float(interval or 1), _stores_check(apps))
        for target in targets:
            app = _opened_for_daemon(target, stack)
            name = target.mailbox or target.account.name
            if isinstance(app, str):
                what = f"the mailbox {name}" if target.mailbox else f"the account '{name}'"
                output.warn(f"not serving {what}: {app}")
                continue
            apps.append(app)
            poll = functools.partial(
                _poll_logged, app, set(), _Held(stack.enter_context(ExitStack())), on_terminal
            )
            seconds = interval or app.settings.daemon.poll_interval_seconds
            renew = f"`{app.account.command('auth')}` signs in anew"
            if app.settings.workspace.service_account_key is not None:  # no one signs in
                renew = f"allow the service account for this mailbox ({DELEGATION_STEP})"
            boxes.append(
                Mailbox(
                    name,
                    poll,
                    seconds,
                    app.signed_in_again,
                    release=app.store.release,
                    sign_in_fix=renew,
                )
            )
            labels.append(
                mailbox_label(app.account.name, target.mailbox)
                if target.mailbox
                else app.account.name
            )
            lease = app.settings.store.lease_seconds
        if not boxes:
            fail("no account or mailbox could be served (see above)")
        leased = under_leases(
            stack, [(a.store.db, b.poll) for a, b in zip(apps, boxes, strict=True)], lease
        )
        health.leases = leased.owned if leased.replicas else None
        for box, served_app, label, under_lease in zip(
            boxes, apps, labels, leased.polls, strict=True
        ):
            box.poll = health.watch(under_lease, label, vitals.counting(served_app))
        pool = workers or default_workers(len(boxes))
        health.interval = max(box.interval for box in boxes)  # "recent" for the slowest
        try:
            served = stack.enter_context(
                vitals.serving(http or apps[0].settings.daemon.http, health)
            )
        except OSError as exc:
            fail(str(exc))
        output.say(
            f"introbot is watching Gmail for {_served(len(boxes), targets)} "
            f"({_listing(boxes)}), up to {pool} at once; Ctrl-C stops it."
        )
        if served is not None:
            output.say(f"Health and metrics: {served.url}healthz, readyz, metrics")
        _log_decisions(on_terminal)
        try:
            stopped_on = run_many(
                boxes, pool, fatal=(AlreadyRunning, StoreError), on_tick=health.tick
            )
        except (AlreadyRunning, StoreError):
            fail("every account stopped: " + "; ".join(f"{b.name}: {b.status}" for b in boxes))
        for box in boxes:
            output.say(f"  {box.name}: {_box_status(box)}")
        output.say("introbot stopped.")
    if stopped_on == signal.SIGINT:
        sys.exit(output.EXIT_INTERRUPTED)


def _served(count: int, targets: list[Target]) -> str:
    """What the daemon serves, for its first line: accounts, or one account's mailboxes."""
    if len({t.account.name for t in targets}) > 1:
        return _plural(count, "account")
    return f"{count} mailbox" if count == 1 else f"{count} mailboxes"


def _stores_check(apps: list[App]) -> Callable[[], str | None]:
    """The readiness probe's store check: one statement per PostgreSQL database the
    accounts use, never one per mailbox (``apps`` is filled in as they are opened); an
    SQLite file is judged by its own mailbox's polls (:meth:`introbot.health.Health.readiness`)."""
    from introbot.store import databases_answer

    return lambda: databases_answer(app.store for app in apps)


def _opened_for_daemon(target: Target, stack: ExitStack) -> App | str:
    """The account's app with its database locked for the daemon (closed with ``stack``),
    or why it cannot be served."""
    from introbot.app import mailbox_store, open_app
    from introbot.config import ConfigError, store_for
    from introbot.config import load as load_config
    from introbot.daemon import COMMAND_WAIT_SECONDS, DAEMON, AlreadyRunning, single_instance
    from introbot.gmail.errors import GmailError
    from introbot.rules import RulesError
    from introbot.store import StoreError

    try:
        settings = load_config(target.account, target.flags).settings
        store = store_for(target.account, settings, None, target.flags)
        store = mailbox_store(store, settings, target.mailbox)
        app = open_app(target.account, settings, store=store, mailbox=target.mailbox)
    except (ConfigError, RulesError, StoreError, GmailError) as exc:
        return str(exc)
    stack.callback(app.close)
    try:
        stack.enter_context(single_instance(app.store.path, DAEMON, COMMAND_WAIT_SECONDS))
    except AlreadyRunning as exc:
        return str(exc)
    return app


def _listing(boxes: list[Mailbox], shown: int = 10) -> str:
    """``alpha, beta every 60 s`` or ``alpha every 60 s, beta every 30 s``; the first ten."""
    seconds = {box.interval for box in boxes}
    if len(seconds) == 1:
        names = [str(box.name) for box in boxes[:shown]]
        tail = f" and {len(boxes) - shown} more" if len(boxes) > shown else ""
        return f"{', '.join(names)}{tail} every {int(seconds.pop())} s"
    names = [f"{box.name} every {int(box.interval)} s" for box in boxes[:shown]]
    return ", ".join(names) + (f" and {len(boxes) - shown} more" if len(boxes) > shown else "")


def _box_status(box: Mailbox) -> str:
    last = f", the last at {output.local_time(box.last_polled)}" if box.last_polled else ""
    return f"{_plural(box.polls, 'poll')}{last}; {box.status}"


@dataclass
class _Held:
    """The locks a daemon keeps until it stops."""

    locks: ExitStack
    mailbox: bool = False


def _poll_logged(app: App, warned_on: set[str], held: _Held, prose: bool = False) -> None:
    """One poll of the daemon; a sign-in about to end is warned of once a day. The first
    that reaches Gmail takes the mailbox's lock (which mailbox it is may need Gmail) and
    keeps it until the daemon stops; a short-lived command holding it is waited out."""
    from introbot.daemon import COMMAND_WAIT_SECONDS, DAEMON, AlreadyRunning, mailbox_lock

    if not held.mailbox:
        try:
            held.locks.enter_context(mailbox_lock(app.mailbox(), DAEMON, COMMAND_WAIT_SECONDS))
        except AlreadyRunning as exc:
            if exc.daemon:
                raise
            logging.getLogger("introbot").info("waiting for %s", exc)
            return
        held.mailbox = True
    report = app.engine.poll()
    app.keep_sign_in()
    warning = app.sign_in_ending()
    today = datetime.now(UTC).date().isoformat()
    if warning and today not in warned_on:
        warned_on.add(today)
        logging.getLogger("introbot").warning("sign_in_ending why=%r", warning)
    if prose and (report.requests or report.observations or report.decisions):
        account = logs.ACCOUNT.get()  # set when one process serves several accounts
        for line in poll_prose(report, datetime.now(UTC)):
            output.say(f"[{account}] {line}" if account else line)
    elif report.requests or report.observations:
        logging.getLogger("introbot").info(
            "poll requests=%d changes=%d drafts=%d",
            report.requests,
            report.observations,
            report.drafts_created,
        )


# The states are the Gmail labels' names (introbot/awaiting-consent...); "asking", their old
# name, is still taken, for scripts (views.state_names() is the same list: a test checks).
STATES = ("awaiting-consent", "ready", "introduced", "declined", "cancelled", "expired", "asking")


@click.command("list")
@account_options
@click.option(
    "--state",
    "state",
    type=click.Choice(STATES),
    help="Only intros in this state, as the Gmail label names it ('asking': awaiting-consent).",
)
@click.option(
    "--attention",
    is_flag=True,
    help="Only what waits for you: decisions, drafts to send, requests set aside.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_intros(target: Target, state: str | None, attention: bool, as_json: bool) -> None:
    """Your intros: who, where they stand, and what happens next."""
    from introbot.cli import views

    with store_only(target) as store:
        intros = store.intros(stage=views.stage_for(state) if state else None)
        problems = [] if state else store.problem_threads()
    if attention:
        intros = [i for i in intros if views.next_step(i).yours]
    if as_json:
        # The requests set aside (they have no intro) wait for you too.
        threads = [{"thread_id": t, "needs_attention": why} for t, why in problems]
        listed = {"intros": [views.intro_summary(i) for i in intros], "request_threads": threads}
        click.echo(json.dumps(listed, indent=1, ensure_ascii=False))
        return
    if attention and not intros and not problems:
        click.echo("Nothing waits for you.")
        return
    if intros or not attention:
        click.echo(views.table(intros, datetime.now(UTC)))
    if problems:
        click.echo(("\n" if intros or not attention else "") + views.problems_table(problems))
    if intros or problems:
        legend = views.legend(intros, len(problems))
        click.echo(
            "\nStates (the labels introbot puts on the request threads in Gmail):\n" + legend
        )


@click.command()
@account_options
@click.argument("intro_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(target: Target, intro_id: str, as_json: bool) -> None:
    """One intro's timeline, with the evidence for every decision."""
    from introbot.cli import views

    guess = target.settings.drafts.guess_organisation
    with store_only(target) as store:
        intro = one_intro(store, intro_id)
        lines = store.timeline(intro.id)
    if as_json:
        detail = views.intro_detail(intro, lines, guess)
        click.echo(json.dumps(detail, indent=1, ensure_ascii=False))
    else:
        click.echo(views.detail(intro, lines, guess))


@click.command()
@account_options
@click.argument("intro_id")
@JSON_OPTION
def cancel(target: Target, intro_id: str, as_json: bool) -> None:
    """Cancel an intro: its unsent drafts are deleted."""
    with account_app(target) as app:
        intro = one_intro(app.store, intro_id)
        _act(app, intro.id, Cancel("cancelled from the command line"), "cancel", as_json)


@click.command()
@account_options
@click.argument("intro_id")
@click.argument("party", metavar="requester|contact|ADDRESS")
@click.argument("answer", type=click.Choice(["yes", "no"]))
@JSON_OPTION
def decide(target: Target, intro_id: str, party: str, answer: str, as_json: bool) -> None:
    """Decide for a party yourself (after an unclear reply, a call, ...)."""
    from introbot.model import Consent, Role

    with account_app(target) as app:
        intro = one_intro(app.store, intro_id)
        roles = {r.value: r for r in Role}
        role = roles.get(party.lower()) or next(
            (
                p.role
                for p in (intro.requester, intro.contact)
                if p.person.key == address_key(party)
            ),
            None,
        )
        if role is None:
            fail(f"{party!r} is neither 'requester', 'contact' nor an address in intro {intro.id}")
        _act(app, intro.id, Decision(role, Consent(answer), "cli"), "decide", as_json)


def _act(
    app: App, intro_id: str, observation: Decision | Cancel, command: str, as_json: bool
) -> None:
    """Act at once under the writer's locks and lease (waiting briefly for a poll), or,
    while `introbot run` holds them (on this machine, or a replica sharing the PostgreSQL
    store), queue it for the holder's next poll: never two writers on one mailbox (two
    would draft the same intro twice)."""
    from introbot.daemon import AlreadyRunning, writer_locks
    from introbot.leases import LeaseLost
    from introbot.store import StoreError

    try:
        with writer_locks(app, command):
            _act_now(app, intro_id, observation, as_json)
    except AlreadyRunning as busy:
        if not busy.same_store:  # from another database: ours is not its queue
            fail(f"{busy}; then run this again")
        _queue(app, intro_id, observation, busy, as_json)
    except LeaseLost as exc:
        fail(f"{exc}; run this again")
    except StoreError as exc:
        fail(str(exc))


def _queue(
    app: App, intro_id: str, observation: Decision | Cancel, busy: AlreadyRunning, as_json: bool
) -> None:
    from introbot.workflow import InvalidTransition, step

    now = datetime.now(UTC)
    intro = app.store.load(intro_id)
    assert intro is not None
    try:
        transition = step(intro, observation, now, app.engine.workflow_rules())
    except InvalidTransition as exc:
        fail(str(exc))
    if transition.intro == intro and not transition.actions:
        fail("nothing to change")
    app.store.queue_command(intro_id, observation, now)
    if as_json:
        output.emit_json({**_acted(intro), "queued": True, "busy": busy.who})
        return
    output.say(
        f"intro {intro_id}: queued, since {busy.who} is working on this mailbox; "
        f"{_next_poll(busy)} acts on it (`introbot show {intro_id}` tells when)."
    )


def _next_poll(busy: AlreadyRunning) -> str:
    """Whose poll takes up what a command recorded for the holder of the mailbox."""
    return "its next poll" if busy.daemon else "the next `introbot poll` or `introbot run`"


def _act_now(app: App, intro_id: str, observation: Observation, as_json: bool) -> None:
    now = datetime.now(UTC)
    before = app.store.load(intro_id)
    applied = app.engine.apply(intro_id, observation, now, "command line")
    after = applied.intro
    if applied.rejected is not None:
        fail(applied.rejected)
    if after is None or after == before:
        fail("nothing to change")
    app.engine.drain(now)
    app.engine.converge_labels()
    from introbot.cli.views import state

    if as_json:
        output.emit_json({**_acted(after), "queued": False})
    else:
        output.say(f"intro {intro_id}: {state(after)}")


def _acted(intro: Intro) -> dict[str, object]:
    """What `decide` and `cancel --json` say of the intro, acted on or queued."""
    from introbot.workflow import STAGE_LABELS

    return {
        "intro": intro.id,
        "state": STAGE_LABELS[intro.stage],
        "needs_attention": bool(intro.attention),
    }


@click.command()
@account_options
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Only intros requested on or after this day (YYYY-MM-DD).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(target: Target, since: datetime | None, as_json: bool) -> None:
    """How your intros go: by state, acceptance per side, time to a yes and to the intro."""
    from introbot.cli import stats as figures

    with store_only(target) as store:
        intros = store.intros()
        requests = len(store.problem_threads())
    result = figures.compute(intros, since.astimezone() if since else None, requests)  # local day
    click.echo(json.dumps(result, indent=1) if as_json else figures.report(result))


@click.command("ask-again")
@account_options
@click.argument("thread_id")
def ask_again(target: Target, thread_id: str) -> None:
    """Ask anyway for a request set aside (a past decline or intro).

    introbot asks nobody twice without your say: a request for two people already being
    introduced or introduced, or to someone who declined, is set aside with the reason and
    its thread id (`introbot list --attention`). This reads it again and asks, once.
    """
    from introbot.daemon import AlreadyRunning, writer_locks
    from introbot.leases import LeaseLost
    from introbot.store import StoreError, WrongMailbox

    with account_app(target) as app:
        record = app.store.thread(thread_id)
        if record is None or not record.problem:
            fail(
                f"thread {thread_id} is not a request set aside; `introbot list --attention` "
                "shows those that are"
            )
        before = len(app.store.intros(thread_id=thread_id))
        app.store.ask_again(thread_id, datetime.now(UTC))
        try:
            with writer_locks(app, "ask-again"):
                report = app.engine.poll()
        except AlreadyRunning as busy:
            if not busy.same_store:
                fail(f"{busy}; then run this again")
            click.echo(
                f"thread {thread_id}: recorded, since {busy.who} is working on this mailbox; "
                f"{_next_poll(busy)} asks again."
            )
            return
        except LeaseLost as exc:
            fail(f"{exc}; the request is recorded: the next poll asks again")
        except (WrongMailbox, StoreError) as exc:
            fail(str(exc))
        for line in report.decisions:
            click.echo(f"  {line}")
        opened = len(app.store.intros(thread_id=thread_id)) - before
        click.echo(f"thread {thread_id}: asked again, {opened} intro(s) opened.")
