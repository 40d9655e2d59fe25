"""``introbot explain``: what introbot reads in a message, and why."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from introbot.cli.common import ACCOUNT_OPTION, email_addresses, fail, target_of
from introbot.config import Account
from introbot.settings import Settings

if TYPE_CHECKING:
    from introbot.rules import Phrases


@click.group()
def explain() -> None:
    """Show what introbot reads in a message, and why."""


_RULES_OPTION = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Use the phrases in this rules folder (default: the account's, or the built-in).",
)


def _account_settings(account_name: str | None) -> tuple[Account, Settings]:
    """The account's settings, if it has a config; a mistake in them ends the command."""
    target = target_of(account_name)
    return target.account, target.settings


def _read_message(source: str) -> bytes:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")
    from introbot.reading.mime import looks_like_mail

    if not looks_like_mail(raw):
        fail(
            f"{'standard input' if source == '-' else source} is not an email message "
            "(no RFC 822 headers such as From: or Subject: at the top)"
        )
    return raw


def _load_phrases(rules_dir: Path | None, account_name: str | None) -> Phrases:
    from introbot.rules import RulesError, default_phrases, load_phrases

    rules_dir = rules_dir or _account_settings(account_name)[1].paths.rules
    try:
        return load_phrases(rules_dir) if rules_dir else default_phrases()
    except RulesError as exc:
        fail(str(exc))


@explain.command("reply")
@click.argument("source", metavar="FILE.eml|-")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--sent",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The consent message the reply answers (.eml or text): its lines are not the reply's.",
)
@click.option(
    "--as",
    "as_party",
    type=click.Choice(["requester", "contact"]),
    help="Whose reply it is: a requester's is read as an answer and then a note for the contact.",
)
@_RULES_OPTION
@ACCOUNT_OPTION
def explain_reply(
    source: str,
    as_json: bool,
    sent: Path | None,
    as_party: str | None,
    rules_dir: Path | None,
    account_name: str | None,
) -> None:
    """The verdict on a reply to a consent message: yes, no, unclear, auto_reply or bounce."""
    from introbot.cli import explain_text as render
    from introbot.model import Role
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
    role = Role(as_party) if as_party else None
    reading = read_reply(mail, _load_phrases(rules_dir, account_name), sent_text, role)
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
    metavar="ADDRESS",
    callback=email_addresses,
    help="Your own address (repeat for each); never made a party. Default: the account's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--in-sent",
    is_flag=True,
    help="The message is in your Sent mail: a note from you counts even when Gmail did not "
    "authenticate it (as it does not for mail you send yourself).",
)
@_RULES_OPTION
@ACCOUNT_OPTION
def explain_request(
    source: str,
    me: tuple[str, ...],
    as_json: bool,
    in_sent: bool,
    rules_dir: Path | None,
    account_name: str | None,
) -> None:
    """The introductions an intro-request message asks for, or what is missing."""
    from introbot.cli import explain_text as render
    from introbot.reading.mime import read_mail
    from introbot.reading.requests import read_request

    raw = _read_message(source)
    mail = read_mail(raw)
    me = me or _own_addresses(account_name)
    reading = read_request(mail, me, _load_phrases(rules_dir, account_name), in_sent)
    if as_json:
        click.echo(json.dumps(render.request_json(reading), ensure_ascii=False))
    else:
        click.echo(render.request_report(reading, mail.problems))


def _own_addresses(account_name: str | None) -> tuple[str, ...]:
    """The account's addresses: the signed-in one its database knows, and its aliases."""
    from introbot.store import mailbox_of

    account, settings = _account_settings(account_name)
    signed_in = mailbox_of(account.database(settings))
    addresses = tuple(dict.fromkeys(([signed_in] if signed_in else []) + list(settings.me)))
    if not addresses:
        fail(
            f"say whose request this is: --me YOUR@ADDRESS (the account '{account.name}' does "
            "not know your address yet: it learns it on its first poll, or from "
            "[connector] addresses in its config)"
        )
    return addresses
