"""The command line loads a command only when it runs: the help lists every command from
its summary in introbot.cli.COMMANDS, which must say what the command itself says."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from introbot.cli import COMMANDS, LazyGroup, main


def _commands_section(group: click.Group) -> str:
    ctx = click.Context(group, info_name="introbot")
    formatter = ctx.make_formatter()
    group.format_commands(ctx, formatter)
    return formatter.getvalue()


def test_the_help_lists_each_command_as_the_command_itself_would() -> None:
    fresh = LazyGroup(name="introbot", lazy=COMMANDS)
    eager = LazyGroup(name="introbot", lazy=COMMANDS)
    for name, lazy in COMMANDS.items():  # listed from the commands themselves
        eager.add_command(lazy.load(), name)
    assert _commands_section(fresh) == _commands_section(eager)
    assert fresh.commands == {}  # listing them imported none
    for name, lazy in COMMANDS.items():
        real = lazy.load()
        assert real.name == name
        summary = click.Command(name, help=lazy.summary)
        assert summary.get_short_help_str(1000) == real.get_short_help_str(1000), name


def test_every_command_runs_through_the_group() -> None:
    ctx = click.Context(main, info_name="introbot")
    for name, lazy in COMMANDS.items():
        assert main.get_command(ctx, name) is lazy.load()
    assert main.get_command(ctx, "no-such-command") is None


_PROBE = """
import json, sys
import introbot.cli
try:
    introbot.cli.main([sys.argv[1]], prog_name="introbot")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.slow
def test_help_and_version_import_no_command() -> None:
    heavy = {"introbot.engine", "introbot.store", "introbot.gmail", "googleapiclient", "bs4"}
    heavy |= {"pydantic", "introbot.cli.common", "introbot.reading", "apscheduler", "sqlite3"}
    heavy |= {"rich", "portalocker"}  # output is printed by commands, not by the help
    for flag in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, flag], capture_output=True, text=True, check=True
        )
        loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
        assert "click" in loaded
        assert not {m for m in loaded if m in heavy or m.split(".")[0] in heavy}, flag
        assert not {m for m in loaded if m.startswith("introbot.") and m.count(".") == 1} - {
            "introbot.cli",
            "introbot.logs",
        }
