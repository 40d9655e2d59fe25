"""The service files in deploy/ are valid, run `introbot run` for an account, restart after
a crash and not after a configuration mistake, and are installed as the README says."""

from __future__ import annotations

import configparser
import plistlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
UNIT = ROOT / "deploy" / "introbot@.service"
PLIST = ROOT / "deploy" / "com.introbot.agent.plist"
INSTALLED = Path(sys.executable).parent / "introbot"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_the_systemd_unit_runs_the_account_and_restarts_only_when_that_can_help() -> None:
    service = _unit()["Service"]
    assert service["ExecStart"] == "/usr/local/bin/introbot run --account %i"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # config mistakes: restarting cannot fix
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) >= 60
    assert _unit()["Install"]["WantedBy"] == "default.target"


@pytest.mark.slow
def test_the_systemd_unit_as_the_readme_installs_it_passes_systemd_analyze(
    tmp_path: Path,
) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    readme = (ROOT / "README.md").read_text()
    assert 'sed "s|/usr/local/bin/introbot|$(command -v introbot)|" deploy/introbot@.service' in (
        readme
    )
    installed = UNIT.read_text().replace("/usr/local/bin/introbot", str(INSTALLED))
    (tmp_path / "introbot@default.service").write_text(installed)
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "introbot@default.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_the_launchd_agent() -> None:
    agent = plistlib.loads(PLIST.read_bytes())
    assert agent["Label"] == "com.introbot.agent"
    assert agent["ProgramArguments"] == ["/usr/local/bin/introbot", "run", "--account", "default"]
    assert agent["KeepAlive"] == {"SuccessfulExit": False}  # restart after a crash only
    assert agent["RunAtLoad"] is True and agent["ThrottleInterval"] >= 10
    assert agent["StandardErrorPath"] == "HOME_FOLDER/Library/Logs/introbot.log"
    readme = (ROOT / "README.md").read_text()
    assert "deploy/com.introbot.agent.plist > ~/Library/LaunchAgents/" in readme
    assert re.search(r"launchctl bootstrap gui/\$\(id -u\)", readme)
