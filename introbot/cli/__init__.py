"""The ``introbot`` command line: parse arguments, call into the rest, report errors plainly.

One module per family of commands; this one holds the group and its logging options.
Commands are loaded when they run (``introbot --help`` and ``--version`` import click and
little else): :data:`COMMANDS` names where each lives and its one-line summary for the help.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click

from introbot import __version__, logs
from introbot.cli.output import EXIT_INTERRUPTED, OPTIONS, ColorChoice
from introbot.logs import LogFormat


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``module:attribute``) and the first paragraph of its help,
    which ``introbot --help`` shows without importing the module (a test checks that it
    matches the command's own help)."""

    where: str
    summary: str
    example: str = ""

    def load(self) -> click.Command:
        module, _, attribute = self.where.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):  # a bug in COMMANDS, never input
            raise TypeError(f"{self.where} is not a click command")
        _whole_summaries(command)
        if self.example and not command.epilog:
            command.epilog = f"\b\nExample:\n  {self.example}"  # \b: kept as written
        return command


def _whole_summaries(command: click.Command) -> None:
    """A group's help lists its commands' summaries whole (wrapped), never cut off with
    "..." (Click keeps a ``short_help`` as written)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            if sub.short_help is None and sub.help:
                sub.short_help = sub.help.split("\n\n")[0].replace("\n", " ").strip()
            _whole_summaries(sub)


#: In the order of a connector's work: try it, set up, check, poll, follow up, tune.
COMMANDS: dict[str, LazyCommand] = {
    "demo": LazyCommand(
        "introbot.cli.tools:demo",
        "Show introbot at work on a built-in sandbox mailbox (no Google account needed).",
        "introbot demo",
    ),
    "init": LazyCommand(
        "introbot.cli.setup:init",
        "Create the account's config.toml and an editable copy of the rules.",
        "introbot init --name 'Sam Rivera'",
    ),
    "auth": LazyCommand(
        "introbot.cli.setup:auth",
        "Sign in to Gmail (Google's own sign-in page; introbot only ever sees a token).",
        "introbot auth",
    ),
    "doctor": LazyCommand(
        "introbot.cli.setup:doctor",
        "Check config, rules, sign-in, Gmail, labels, database and daemon; say how to fix each.",
        "introbot doctor --fix",
    ),
    "poll": LazyCommand(
        "introbot.cli.intros:poll",
        "Run one pass over Gmail and exit (for cron or a systemd timer).",
        "introbot poll --dry-run",
    ),
    "run": LazyCommand(
        "introbot.cli.intros:run",
        "Keep polling until Ctrl-C or SIGTERM; the poll in progress always finishes.",
        "introbot run --interval 300",
    ),
    "list": LazyCommand(
        "introbot.cli.intros:list_intros",
        "Your intros: who, where they stand, and what happens next.",
        "introbot list",
    ),
    "show": LazyCommand(
        "introbot.cli.intros:show",
        "One intro's timeline, with the evidence for every decision.",
        "introbot show 14ff62",
    ),
    "decide": LazyCommand(
        "introbot.cli.intros:decide",
        "Decide for a party yourself (after an unclear reply, a call, ...).",
        "introbot decide 98bc75 contact yes",
    ),
    "cancel": LazyCommand(
        "introbot.cli.intros:cancel",
        "Cancel an intro: its unsent drafts are deleted.",
        "introbot cancel 7ca811",
    ),
    "ask-again": LazyCommand(
        "introbot.cli.intros:ask_again",
        "Ask anyway for a request set aside (a past decline or intro).",
        "introbot ask-again 19a0f3c2d4e5b6a7",
    ),
    "stats": LazyCommand(
        "introbot.cli.intros:stats",
        "How your intros go: by state, acceptance per side, time to a yes and to the intro.",
        "introbot stats --since 2026-01-01",
    ),
    "explain": LazyCommand(
        "introbot.cli.explain:explain",
        "Show what introbot reads in a message, and why.",
        "introbot explain reply message.eml",
    ),
    "rules": LazyCommand(
        "introbot.cli.setup:rules", "Your phrases and templates.", "introbot rules check"
    ),
    "sandbox": LazyCommand(
        "introbot.cli.tools:sandbox",
        "A local Gmail API server for trying introbot and for tests.",
        "introbot sandbox serve --port 8025",
    ),
    "store": LazyCommand(
        "introbot.cli.store:store",
        "Your records' database: copy an SQLite store into PostgreSQL.",
        "introbot store copy --to postgresql://introbot@db.example:5432/introbot",
    ),
    "bench": LazyCommand(
        "introbot.cli.bench:command",
        "Measure Gmail quota and time against a rate-limited sandbox, beside a typical poller.",
        "introbot bench",
    ),
}

#: The options of ``introbot`` itself, which go before the command.
GLOBAL_OPTIONS = frozenset({"-v", "--verbose", "-q", "--quiet", "--log-format", "--color"})


class LazyGroup(click.Group):
    """A group whose commands are imported when one is run (Click's "lazy loading"
    pattern); the help lists them from their summaries, importing none."""

    def __init__(self, *args: object, lazy: dict[str, LazyCommand], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *sorted(set(self.commands) - set(self.lazy))]  # workflow order

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:
            if exc.option_name not in GLOBAL_OPTIONS:
                raise
            raise click.UsageError(
                f"{exc.message.rstrip('.')}. Global options go before the command: "
                f"`introbot {exc.option_name} {ctx.invoked_subcommand or 'COMMAND'} ...`",
                exc.ctx,
            ) from None
        except KeyboardInterrupt:
            click.echo("\nintrobot: interrupted.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return self.commands.get(cmd_name)

    def _listed(self, name: str) -> click.Command:
        """The command as the help lists it: itself if loaded, else its summary."""
        if name in self.commands:
            return self.commands[name]
        return click.Command(name, help=self.lazy[name].summary)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Click's own layout (Group.format_commands), without importing a command.
        commands = [(name, self._listed(name)) for name in self.list_commands(ctx)]
        commands = [(name, command) for name, command in commands if not command.hidden]
        if not commands:
            return
        # Whole summaries, wrapped by the formatter: never cut off with "...".
        rows = [(name, command.get_short_help_str(limit=1000)) for name, command in commands]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="introbot")
@click.option("-v", "--verbose", count=True, help="More detail in the log (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and warnings that need you.")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour in the output: auto is on a terminal unless NO_COLOR is set.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="key=value lines, or one JSON object per line for log shippers.",
)
def main(verbose: int, quiet: bool, color: ColorChoice, log_format: LogFormat) -> None:
    """introbot drafts double opt-in introductions in your Gmail; you send them.

    \b
    Start with `introbot demo`; then `introbot init`, `introbot auth`, `introbot doctor`.
    Global options (-v, -q, --color, --log-format) go before the command.
    Exit codes: 0 done, 1 Gmail or sign-in failed, 2 a mistake in the command line or the
    config (or another introbot holds the mailbox), 130 interrupted (Ctrl-C).
    """
    OPTIONS.color = color
    OPTIONS.quiet = quiet
    logs.setup(-1 if quiet else verbose, log_format)
