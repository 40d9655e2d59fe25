"""`introbot run` never gives up (issue 12): Gmail unreachable or a sign-in refused at start
or later, it backs off (capped, with jitter) and keeps trying, saying so once; a second
SIGINT or SIGTERM stops it at once, even in the middle of a poll stuck in retries. Real
`introbot run` processes against a sandbox that is down, then up."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from introbot.config import Account
from introbot.daemon import Backoff
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from tests.cli import INTROBOT, sign_in_directly
from tests.test_crash_safety import _request_bytes
from tests.waiting import wait_until


@contextmanager
def _daemon(log: Path, *options: str, verbose: bool = False) -> Iterator[subprocess.Popen[str]]:
    """``introbot [-vv] run OPTIONS --interval 1``, its log in ``log``; killed if left."""
    with log.open("w") as stderr:
        daemon = subprocess.Popen(
            [*INTROBOT, *(["-vv"] if verbose else []), "run", *options, "--interval", "1"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
    try:
        yield daemon
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_backoff_is_capped_jittered_and_forgets_on_success() -> None:
    backoff = Backoff(base=5, cap=300, rng=random.Random(7))
    delays = [backoff.failed() for _ in range(12)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(300, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered: no two daemons retry in step
    assert backoff.succeeded() == 12 and backoff.failures == 0
    assert backoff.failed() <= 5


@pytest.mark.slow
def test_run_started_while_gmail_is_down_keeps_trying_and_carries_on(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "daemon.log"
    db = tmp_path / "introbot.db"
    options = ("--sandbox", url, "--db", str(db), "--name", "Sam Rivera")
    with _daemon(log, *options, verbose=True) as daemon:
        _wait_long("the first failure", lambda: "gmail_unreachable" in log.read_text())
        _wait_long("a second, quiet failure", lambda: "poll_failed failures=2" in log.read_text())
        assert daemon.poll() is None  # still there: it did not give up
        with SandboxServer(port=port) as server:
            control = SandboxControl(server.url)
            delivered = control.deliver(_request_bytes())
            control.label_thread(delivered["threadId"], add=("intro-request",))
            _wait_long("the consent drafts", lambda: len(control.mailbox()["drafts"]) == 2)
            _wait_long("back to normal", lambda: "gmail_reachable again" in log.read_text())
            daemon.send_signal(signal.SIGTERM)
            out, _ = daemon.communicate(timeout=60)
    text = log.read_text()
    assert daemon.returncode == 0 and "introbot stopped." in out
    assert text.count("gmail_unreachable") == 1  # said once, not in a flood
    loud = [line for line in text.splitlines() if " WARNING introbot.gmail.client " in line]
    assert len(loud) <= 5, loud  # only the first failed poll's retries are warnings
    assert "Traceback" not in text


@pytest.mark.slow
def test_run_started_with_a_refused_sign_in_waits_for_a_new_one(
    google: SandboxControl, home: Path, tmp_path: Path
) -> None:
    account = Account.named(None)
    sign_in_directly(google, account.token_file)
    google.revoke_sign_ins()
    google.expire_access_tokens()
    log = tmp_path / "daemon.log"
    with _daemon(log) as daemon:
        _wait_long("the refusal", lambda: "no longer accepts introbot's sign-in" in log.read_text())
        assert daemon.poll() is None  # waiting, not exited
        sign_in_directly(google, account.token_file)  # the user runs `introbot auth` again
        _wait_long("the new sign-in", lambda: "sign_in renewed=true" in log.read_text())
        google.reset_stats()
        _wait_long("polling again", lambda: google.stats()["requests"] > 0)
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0 and "introbot stopped." in out
    assert log.read_text().count("no longer accepts") == 1


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_signal_stops_a_poll_stuck_in_retries(
    tmp_path: Path, signum: int, code: int
) -> None:
    with SandboxServer() as server:
        control = SandboxControl(server.url)
        control.add_faults({"method": "*", "hang": 5, "status": 503, "count": 1000})
        log = tmp_path / "daemon.log"
        db = tmp_path / "introbot.db"
        with _daemon(log, "--sandbox", server.url, "--db", str(db)) as daemon:
            _wait_long("a poll stuck in retries", lambda: "gmail_retry" in log.read_text())
            daemon.send_signal(signum)
            _wait_long("the first stop", lambda: "stopping on signal" in log.read_text())
            assert daemon.poll() is None  # the first lets the poll finish (minutes here)
            daemon.send_signal(signum)
            daemon.wait(timeout=20)  # a hang guard; it stops within the second
        assert daemon.returncode == code
        assert "stopping now on a second signal" in log.read_text()


def _wait_long(what: str, check: Callable[[], bool]) -> None:
    wait_until(what, check, timeout=120)
