"""The command line, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from introbot import __version__
from introbot.sandbox.control import SandboxControl
from tests.mail import make_mail

pytestmark = pytest.mark.slow  # starts introbot as a process

INTROBOT = [sys.executable, "-m", "introbot"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*INTROBOT, *args], capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, deadline: float = 15) -> None:
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        try:
            urllib.request.urlopen(url + "_sandbox/stats", timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"sandbox at {url} did not come up")


def test_version_and_help() -> None:
    assert _run("--version").stdout.strip() == f"introbot, version {__version__}"
    helped = _run("--help")
    assert helped.returncode == 0
    assert "demo" in helped.stdout and "sandbox" in helped.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "introbot"
    assert script.exists(), "pip install should put an `introbot` command next to python"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0


def test_demo_tells_the_whole_story_and_sends_nothing() -> None:
    done = _run("demo")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("intro opened:") == 4  # four requests; the newsletter needs attention
    assert "needs attention: this looks like a newsletter" in out
    assert "contact said no" in out and "auto-reply from the contact ignored" in out
    assert "needs attention: contact: no clear yes or no" in out
    assert "contact said yes (decided by you (label))" in out
    assert out.count("introduced: you sent the introduction") == 2
    assert "Messages sent by introbot: 0" in out
    assert "Traceback" not in done.stderr


def test_sandbox_serve_runs_until_sigterm_and_keeps_state(tmp_path: Path) -> None:
    port = _free_port()
    state = tmp_path / "mailbox.json"
    url = f"http://127.0.0.1:{port}/"
    args = [*INTROBOT, "sandbox", "serve", "--port", str(port), "--state", str(state)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(url)
        delivered = SandboxControl(url).deliver(make_mail())
        profile = json.load(urllib.request.urlopen(url + "gmail/v1/users/me/profile"))
        assert profile["messagesTotal"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert f"at {url}" in out and "Sandbox stopped." in out
    assert state.exists()

    again = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(url)
        box = SandboxControl(url).mailbox()
        assert [m["id"] for m in box["messages"]] == [delivered["id"]]
    finally:
        again.send_signal(signal.SIGINT)
        out, err = again.communicate(timeout=15)
    # Ctrl-C: interrupted (130), as for every command; the server still stops cleanly.
    assert again.returncode == 130, err
    assert "Sandbox stopped." in out and "Traceback" not in err


def test_sandbox_serve_on_a_busy_port_says_what_to_do() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _run("sandbox", "serve", "--port", str(port), timeout=30)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(os.name != "posix", reason="signals")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_demo_serve_stops_on_sigterm_or_ctrl_c(signum: int, code: int) -> None:
    proc = subprocess.Popen(
        [*INTROBOT, "demo", "--serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = ""
        stop = time.monotonic() + 30
        while "stays up at" not in line and time.monotonic() < stop:
            line = proc.stdout.readline()
        url = line.split("stays up at ")[1].split()[0]
        assert SandboxControl(url).mailbox()["messages"]
    finally:
        proc.send_signal(signum)
        proc.communicate(timeout=15)
    assert proc.returncode == code
