"""The commands of the intro workflow: poll, run, list, show, cancel, decide, stats."""

from __future__ import annotations

import functools
import json
import logging
import sys
from datetime import UTC, datetime

import click

from introbot.app import App
from introbot.cli.common import (
    Target,
    account_app,
    account_options,
    fail,
    one_intro,
    store_only,
)
from introbot.model import Observation, Stage, address_key


@click.command()
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
    with account_app(target) as app:
        try:
            with single_instance(app.store.path), mailbox_lock(app.mailbox()):
                report = app.engine.poll()
        except AlreadyRunning as exc:
            fail(str(exc))
        click.echo(
            f"poll: {report.requests} request(s), {report.observations} change(s), "
            f"{report.drafts_created} draft(s) written"
            + (" (full sync)" if report.full_sync else "")
        )
        for line in report.decisions:
            click.echo(f"  {line}")
        warning = app.sign_in_ending()
        if warning:
            click.echo(f"Warning: {warning}", err=True)


def _dry_run(target: Target) -> None:
    from introbot import dryrun
    from introbot.gmail.errors import GmailError
    from introbot.rules import RulesError
    from introbot.store import StoreError

    try:
        plan = dryrun.run(target.account, target.settings, target.sandbox)
    except (dryrun.DryRunError, RulesError, StoreError) as exc:
        fail(str(exc))
    except GmailError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(dryrun.describe(plan))


@click.command()
@account_options
@click.option(
    "--interval",
    type=click.IntRange(1, 86_400),
    help="Seconds between polls (default: daemon.poll_interval_seconds, 60).",
)
def run(target: Target, interval: int | None) -> None:
    """Keep polling until Ctrl-C or SIGTERM; the poll in progress always finishes."""
    from introbot.daemon import AlreadyRunning, mailbox_lock, run_forever, single_instance

    with account_app(target) as app:
        try:
            with single_instance(app.store.path), mailbox_lock(app.mailbox()):
                seconds = interval or app.settings.daemon.poll_interval_seconds
                click.echo(f"introbot is watching Gmail every {seconds} s; Ctrl-C stops it.")
                decisions = logging.getLogger("introbot")
                if decisions.getEffectiveLevel() == logging.WARNING:  # neither -q nor -v
                    decisions.setLevel(logging.INFO)  # the daemon logs a line per decision
                run_forever(
                    functools.partial(_poll_logged, app, set()),
                    seconds,
                    signed_in_again=app.signed_in_again,
                )
        except AlreadyRunning as exc:
            fail(str(exc))
        click.echo("introbot stopped.")


def _poll_logged(app: App, warned_on: set[str]) -> None:
    """One poll of the daemon; a sign-in about to end is warned of once a day."""
    report = app.engine.poll()
    app.keep_sign_in()
    warning = app.sign_in_ending()
    today = datetime.now(UTC).date().isoformat()
    if warning and today not in warned_on:
        warned_on.add(today)
        logging.getLogger("introbot").warning("sign_in_ending why=%r", warning)
    if report.requests or report.observations:
        logging.getLogger("introbot").info(
            "poll requests=%d changes=%d drafts=%d",
            report.requests,
            report.observations,
            report.drafts_created,
        )


@click.command("list")
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

    with store_only(target) as store:
        intros = store.intros(stage=Stage(stage) if stage else None)
        problems = store.problem_threads()
    if as_json:
        click.echo(
            json.dumps([views.intro_summary(i) for i in intros], indent=1, ensure_ascii=False)
        )
    else:
        click.echo(views.table(intros, datetime.now(UTC)))
        if problems and not stage:
            click.echo("\n" + views.problems_table(problems))


@click.command()
@account_options
@click.argument("intro_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(target: Target, intro_id: str, as_json: bool) -> None:
    """One intro's timeline, with the evidence for every decision."""
    from introbot import views

    with store_only(target) as store:
        intro = one_intro(store, intro_id)
        lines = store.timeline(intro.id)
    if as_json:
        click.echo(json.dumps(views.intro_detail(intro, lines), indent=1, ensure_ascii=False))
    else:
        click.echo(views.detail(intro, lines))


@click.command()
@account_options
@click.argument("intro_id")
def cancel(target: Target, intro_id: str) -> None:
    """Cancel an intro: its unsent drafts are deleted."""
    from introbot.model import Cancel

    with account_app(target) as app:
        intro = one_intro(app.store, intro_id)
        _act(app, intro.id, Cancel("cancelled from the command line"))


@click.command()
@account_options
@click.argument("intro_id")
@click.argument("party", metavar="requester|contact|ADDRESS")
@click.argument("answer", type=click.Choice(["yes", "no"]))
def decide(target: Target, intro_id: str, party: str, answer: str) -> None:
    """Decide for a party yourself (after an unclear reply, a call, ...)."""
    from introbot.model import Consent, Decision, Role

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
        fail(reason)
    app.engine.drain(now)
    app.engine.converge_labels()
    click.echo(f"intro {intro_id}: {after.stage.value}")


@click.command()
@account_options
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only intros requested on or after this day (YYYY-MM-DD).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(target: Target, since: datetime | None, as_json: bool) -> None:
    """How your intros go: by state, acceptance per side, time to a yes and to the intro."""
    from introbot import stats as figures

    with store_only(target) as store:
        intros = store.intros()
    result = figures.compute(intros, since.replace(tzinfo=UTC) if since else None)
    click.echo(json.dumps(result, indent=1) if as_json else figures.report(result))
