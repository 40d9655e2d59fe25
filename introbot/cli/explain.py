"""``introbot explain``: what introbot reads in a message, and why."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from introbot.cli.common import fail

if TYPE_CHECKING:
    from introbot.rules import Phrases


@click.group()
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
        fail(f"cannot read {source}: {exc.strerror}")
    from introbot.reading.mime import looks_like_mail

    if not looks_like_mail(raw):
        fail(
            f"{'standard input' if source == '-' else source} is not an email message "
            "(no RFC 822 headers such as From: or Subject: at the top)"
        )
    return raw


def _load_phrases(rules_dir: Path | None) -> Phrases:
    from introbot.rules import RulesError, default_phrases, load_phrases

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
