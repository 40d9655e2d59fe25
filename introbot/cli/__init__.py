"""The ``introbot`` command line: parse arguments, call into the rest, report errors plainly.

One module per family of commands; this one holds the group and its logging options."""

from __future__ import annotations

import click

from introbot import __version__, logs
from introbot.cli import explain, intros, setup, tools
from introbot.logs import LogFormat


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


for command in (
    tools.demo,
    setup.init,
    setup.auth,
    setup.doctor,
    setup.rules,
    explain.explain,
    intros.poll,
    intros.run,
    intros.list_intros,
    intros.show,
    intros.cancel,
    intros.decide,
    intros.stats,
    tools.bench,
    tools.sandbox,
):
    main.add_command(command)
