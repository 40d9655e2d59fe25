"""Output for people and for programs.

For people: rich (imported only when something is printed, so ``introbot --help`` stays
fast), colour only on a terminal, never with ``NO_COLOR`` set (https://no-color.org) or
``--color never``, always with ``--color always``; times in the local time zone, with it
named. For programs: ``--json`` on every command that reports something, one JSON document
on stdout.

Exit codes, the same for every command (the README lists them):
0 done; 1 Gmail or the sign-in failed (or a check of ``doctor`` did); 2 a mistake in the
command line, the config, the rules, or another introbot holding the mailbox; 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console

ColorChoice = Literal["auto", "always", "never"]

EXIT_OK = 0
EXIT_GMAIL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass
class Options:
    """What the global options asked of the output (set once by ``main``)."""

    color: ColorChoice = "auto"
    quiet: bool = False


OPTIONS = Options()


def console(err: bool = False) -> Console:
    """A console on stdout (or stderr) as the options and the environment ask."""
    from rich.console import Console

    color = OPTIONS.color
    return Console(
        stderr=err,
        force_terminal=True if color == "always" else None,
        no_color=False if color == "always" else None,  # None: rich reads NO_COLOR
        color_system=None if color == "never" else "auto",
        highlight=False,
        soft_wrap=True,  # our lines are short; never re-wrapped at a guessed width
        emoji=False,
    )


def say(text: str = "", style: str | None = None, err: bool = False) -> None:
    """A line (or lines) for people; nothing with ``-q``."""
    if not OPTIONS.quiet:
        out = console(err)
        # A terminal wraps long lines at its width; a file or a pipe gets them whole.
        out.print(text, style=style, markup=False, soft_wrap=not out.is_terminal)


def warn(text: str) -> None:
    """Something that needs the user: on stderr, even with ``-q``."""
    console(err=True).print(f"Warning: {text}", style="yellow", markup=False)


def error(text: str) -> None:
    console(err=True).print(f"Error: {text}", style="bold red", markup=False)


def emit_json(document: Any) -> None:
    """One JSON document on stdout (never coloured, never quiet: a program asked)."""
    import click

    click.echo(json.dumps(document, indent=1, ensure_ascii=False))


def local_time(moment: datetime) -> str:
    """``2026-12-01 15:04 CET``: the local time zone (``TZ``), named."""
    here = moment.astimezone()
    return here.strftime("%Y-%m-%d %H:%M ") + (here.tzname() or here.strftime("%z"))
