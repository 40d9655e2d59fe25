"""A new user following only the README reaches a working `introbot doctor`: the setup
commands of the README's "Use it on your Gmail" section, run in order, as written, with the
sandbox standing in for Google (the download is the sandbox's client file)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from introbot.sandbox.control import SandboxControl
from tests.cli import INTROBOT, fake_browser

README = Path(__file__).parent.parent / "README.md"


def setup_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- readme-setup[^>]*-->\s*```sh\n(.*?)```", text, re.S)
    assert block, "the README's setup block is marked with <!-- readme-setup -->"
    return [line for line in block[1].splitlines() if line.strip()]


@pytest.mark.slow
def test_the_readme_setup_reaches_a_working_doctor(
    google: SandboxControl, home: Path, tmp_path: Path
) -> None:
    commands = setup_commands()
    assert [c.split()[:2] for c in commands] == [
        ["introbot", "init"], ["cp", "~/Downloads/client_secret_*.json"], ["introbot", "auth"],
        ["introbot", "doctor"], ["introbot", "poll"],
    ]  # fmt: skip
    (home / "credentials.json").unlink()  # the user has not downloaded it yet
    environment = {**os.environ, "BROWSER": str(fake_browser(tmp_path))}
    for command in commands:
        words = shlex.split(command)
        if words[0] == "cp":  # the downloaded client file, into introbot's config folder
            assert words[2] == "~/.config/introbot/credentials.json"
            (home / "credentials.json").write_text(json.dumps(google.client_file()))
            continue
        done = subprocess.run(
            [*INTROBOT, *words[1:]], capture_output=True, text=True, timeout=60, env=environment
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        if words[1] == "init":
            assert "credentials.json" in done.stdout  # init says where the file goes
        if words[1] == "doctor":
            assert "Everything introbot needs is in place." in done.stdout
            assert not re.search(r"^(FAIL|warn)", done.stdout, re.M), done.stdout


def test_every_readme_section_introbot_points_at_exists() -> None:
    import introbot

    headings = set(re.findall(r"^#+ (.+)$", README.read_text(encoding="utf-8"), re.M))
    package = Path(introbot.__file__).parent
    pointers = {
        found
        for path in package.rglob("*.py")
        for found in re.findall(r"README(?:'s|:) '([^']+)'", path.read_text(encoding="utf-8"))
    }
    assert pointers, "introbot's messages point at README sections"
    assert pointers <= headings, pointers - headings
