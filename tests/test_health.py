"""`introbot run`'s health, readiness and metrics endpoints (``--http`` / ``[daemon] http``):
scraped with urllib while a real `introbot run` works a sandbox mailbox, and the probes'
rules on a clock the test moves."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from introbot.config import Account
from introbot.gmail.errors import AuthExpired, GmailUnavailable
from introbot.health import STATES, Health, HealthServer
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from introbot.store import StoreError, StoreLocation, databases_answer
from introbot.store.postgres import pool_for, reachable
from introbot.store.sqlite import SqliteBackend
from tests.cli import INTROBOT, invoke
from tests.test_crash_safety import _request_bytes
from tests.test_many_mailboxes import _account
from tests.waiting import wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse_metrics(text: str) -> Samples:
    """Prometheus' text format, strictly: every sample of a family declared by # TYPE,
    counters named *_total, label values quoted, numbers that parse."""
    assert text.endswith("\n")
    kinds: dict[str, str] = {}
    samples: Samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge") and name not in kinds
            assert name.endswith("_total") == (kind == "counter"), name
            kinds[name] = kind
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        assert name in kinds, f"{name} has no # TYPE"
        pairs = _LABEL.findall(labels or "")
        assert ",".join(f'{k}="{v}"' for k, v in pairs) == (labels or "")
        unescaped = {(k, re.sub(r"\\(.)", _unescape, v)) for k, v in pairs}
        samples[(name, frozenset(unescaped))] = float(value)
    return samples


def _unescape(match: re.Match[str]) -> str:
    return "\n" if match[1] == "n" else match[1]


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, pairs), v in samples.items() if n == name and wanted <= pairs)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# ----------------------------------------------------------- a real `introbot run`
def announced_endpoints(daemon: subprocess.Popen[str]) -> str:
    """The URL of the health and metrics endpoints a starting ``introbot run`` prints."""
    assert daemon.stdout is not None
    for line in daemon.stdout:
        found = re.search(r"Health and metrics: (http://\S+/)healthz", line)
        if found:
            return found[1]
    raise AssertionError(f"no health address announced: {daemon.communicate()}")


@contextmanager
def _daemon(*options: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``introbot run OPTIONS --http 127.0.0.1:0``: the process and its endpoints' URL."""
    daemon = subprocess.Popen(
        [*INTROBOT, "run", *options, "--http", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield daemon, announced_endpoints(daemon)
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.communicate(timeout=60)


@pytest.mark.slow
def test_the_endpoints_of_a_running_daemon(tmp_path: Path) -> None:
    with SandboxServer() as server:
        control = SandboxControl(server.url)
        request = control.deliver(_request_bytes())
        control.label_thread(request["threadId"], add=("intro-request",))
        options = ("--sandbox", server.url, "--db", str(tmp_path / "i.db"), "--interval", "1")
        with _daemon(*options, "--name", "Sam Rivera") as (daemon, url):
            wait_until("ready", lambda: _get(url + "readyz")[0] == 200)
            assert _get(url + "healthz") == (200, "ok\n")
            before = control.stats()["quota_units"]
            status, text = _get(url + "metrics")
            after = control.stats()["quota_units"]
            assert status == 200
            samples = parse_metrics(text)
            assert total(samples, "introbot_polls_total", outcome="ok") >= 1
            assert total(samples, "introbot_errors_total") == 0
            # What the daemon says it spent is what Gmail (the sandbox) charged it.
            assert 0 < before <= total(samples, "introbot_gmail_units_total") <= after
            assert total(samples, "introbot_gmail_units_total", method="drafts.create") == 20
            assert total(samples, "introbot_intros", state="awaiting-consent") == 1
            assert (
                total(samples, "introbot_ready") == 1 and total(samples, "introbot_signed_in") == 1
            )
            assert "@" not in text  # series name the account, never an address
            assert "introbot_lease_owned" not in text  # no leases without a shared store
            assert _get(url + "elsewhere")[0] == 404
            control.add_faults({"method": "*", "status": 503, "count": 10_000})
            wait_until(
                "a failed poll counted",
                lambda: (
                    total(
                        parse_metrics(_get(url + "metrics")[1]),
                        "introbot_errors_total",
                        kind="gmail",
                    )
                    >= 1
                ),
            )
            assert _get(url + "healthz")[0] == 200  # Gmail down: alive, still trying
            daemon.send_signal(signal.SIGTERM)
            daemon.communicate(timeout=60)
        assert daemon.returncode == 0
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url + "healthz", timeout=5)  # gone with the daemon


@pytest.mark.slow
def test_readiness_fails_when_gmail_refuses_the_workspace_sign_in(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxServer(user=["ana@firm.example"]) as server:
        control = SandboxControl(server.url)
        control.oauth(require_token=True)
        key = tmp_path / "key.json"
        key.write_text(json.dumps(control.service_account(domains=["firm.example"])))
        monkeypatch.setenv("INTROBOT_GMAIL_ENDPOINT", server.url)
        monkeypatch.setenv("INTROBOT_WORKSPACE_SERVICE_ACCOUNT_KEY", str(key))
        monkeypatch.setenv("INTROBOT_WORKSPACE_MAILBOXES", "ana@firm.example")
        with _daemon("--interval", "1") as (_, url):
            wait_until("ready", lambda: _get(url + "readyz")[0] == 200)
            # The admin removes the delegation; the access token runs out.
            control.service_account(scopes=())
            control.expire_access_tokens()
            wait_until("not ready", lambda: _get(url + "readyz")[0] == 503)
            _, why = _get(url + "readyz")
            assert "refuses the sign-in" in why and "unauthorized_client" in why
            samples = parse_metrics(_get(url + "metrics")[1])
            assert total(samples, "introbot_errors_total", kind="sign_in") == 1
            assert total(samples, "introbot_signed_in") == 0
            assert _get(url + "healthz")[0] == 200


def _states(url: str) -> dict[str, float]:
    samples = parse_metrics(_get(url + "metrics")[1])
    return {state: total(samples, "introbot_mailboxes", state=state) for state in STATES}


@pytest.mark.slow  # starts introbot as a process
def test_many_accounts_ready_while_one_polls_well_each_failure_its_own(home: Path) -> None:
    """`introbot run --all`: a mailbox whose database went away is that mailbox's failure
    (in /metrics, by state and per mailbox); the process stays ready while another polls
    well, and says why not once none does."""
    with (
        SandboxServer(user="ana@alpha.example") as alpha_gmail,
        SandboxServer(user="bo@beta.example") as beta_gmail,
    ):
        alpha = _account("alpha", alpha_gmail)
        _account("beta", beta_gmail)
        with _daemon("--all", "--interval", "1") as (_, url):
            wait_until("both polled", lambda: _states(url)["ok"] == 2)
            assert _get(url + "readyz") == (200, "ok\n")
            for suffix in ("", "-wal", "-shm"):  # beta's database removed under the daemon
                (Account.named("beta").folder / f"introbot.db{suffix}").unlink(missing_ok=True)
            wait_until("beta failing on its store", lambda: _states(url)["store_failing"] == 1)
            assert _get(url + "readyz") == (200, "ok\n")  # alpha polls well
            samples = parse_metrics(_get(url + "metrics")[1])
            assert total(samples, "introbot_errors_total", account="beta", kind="store") == 1
            assert total(samples, "introbot_errors_total", account="alpha") == 0
            assert total(samples, "introbot_poll_running_seconds", account="beta") == 0
            alpha.revoke_sign_ins()
            wait_until("not ready", lambda: _get(url + "readyz")[0] == 503)
            why = _get(url + "readyz")[1].splitlines()
            assert why[0].startswith("alpha: Gmail refuses the sign-in")
            assert why[1].startswith("beta: its last poll failed on its store (StoreError: ")
            assert "cannot open the database" in why[1] and len(why) == 2
            assert _states(url) == {
                "ok": 0, "signed_out": 1, "store_failing": 1, "stale": 0, "not_polled": 0,
            }  # fmt: skip
            assert _get(url + "healthz") == (200, "ok\n")


def test_a_bad_or_taken_address_is_refused_before_anything_runs(home: Path) -> None:
    refused = invoke("run", "--sandbox", "http://127.0.0.1:1/", "--http", "nowhere")
    assert refused.exit_code == 2 and "HOST:PORT" in refused.output
    with socket.socket() as taken, SandboxServer() as server:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("run", "--sandbox", server.url, "--http", f"127.0.0.1:{port}")
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output


# ------------------------------------------------------------------ the probes' rules
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _probe(store: str | None = None) -> tuple[Health, Clock]:
    clock = Clock()
    return Health(60, store_check=lambda: store, clock=clock), clock


def test_alive_while_the_scheduler_ticks_or_a_poll_runs_not_when_it_stalls() -> None:
    health, clock = _probe()
    assert health.liveness() == []  # just started
    clock.now += 200
    assert health.liveness() == ["the scheduler never ran"]
    health.tick()
    clock.now += 179
    assert health.liveness() == []
    clock.now += 1
    assert health.liveness() == ["the scheduler last ran 180 s ago"]

    def slow_poll() -> None:
        clock.now += 600  # a long full sync is no stall
        assert health.liveness() == []
        clock.now += 300
        assert health.liveness() == ["work: a poll has run for 900 s"]

    health.tick()
    health.watch(slow_poll, "work", after=lambda _: None)()


def test_ready_only_signed_in_polled_recently_with_the_store_reachable() -> None:
    health, clock = _probe()
    health.tick()
    assert health.readiness() == ["no account polled yet"]
    poll = health.watch(lambda: None, "work", after=lambda _: None)
    assert health.readiness() == ["work: no poll has succeeded yet"]
    poll()
    assert health.readiness() == []
    clock.now += 180
    health.tick()
    assert health.readiness() == ["work: last good poll 180 s ago"]

    def refused() -> None:
        raise AuthExpired("Token has been expired or revoked")

    with pytest.raises(AuthExpired):
        health.watch(refused, "work", after=lambda _: None)()
    assert health.readiness()[0].startswith("work: Gmail refuses the sign-in (AuthExpired")

    def down() -> None:
        raise GmailUnavailable("Gmail kept answering 503")

    health.watch(lambda: None, "work", after=lambda _: None)()
    with pytest.raises(GmailUnavailable):
        health.watch(down, "work", after=lambda _: None)()
    assert health.readiness() == []  # a good poll 0 s ago still counts
    unreachable, _ = _probe(store="the database /x.db does not answer: disk I/O error")
    unreachable.tick()
    unreachable.watch(lambda: None, "work", after=lambda _: None)()
    assert unreachable.readiness() == ["the database /x.db does not answer: disk I/O error"]


def test_each_mailbox_times_its_own_poll_one_finishing_hides_no_stuck_other() -> None:
    health, clock = _probe()
    health.tick()
    quick = health.watch(lambda: clock.__setattr__("now", clock.now + 1), "quick", lambda _: None)

    def stuck() -> None:
        quick()  # another mailbox's poll starts and ends while this one runs on
        clock.now += 899
        assert health.liveness() == ["stuck: a poll has run for 900 s"]
        samples = parse_metrics(health.metrics())
        assert total(samples, "introbot_poll_running_seconds", account="stuck") == 900
        assert total(samples, "introbot_poll_running_seconds", account="quick") == 0

    health.watch(stuck, "stuck", after=lambda _: None)()
    health.tick()
    assert health.liveness() == []
    assert total(parse_metrics(health.metrics()), "introbot_poll_running_seconds") == 0


def _fails(health: Health, name: str, exc: Exception) -> None:
    def failing() -> None:
        raise exc

    with pytest.raises(type(exc)):
        health.watch(failing, name, after=lambda _: None)()


def test_many_mailboxes_ready_while_one_polls_well_and_each_state_counted() -> None:
    health, clock = _probe()
    health.tick()
    for name in ("a", "b", "c", "d"):
        health.watch(lambda: None, name, after=lambda _: None)()
    _fails(health, "a", AuthExpired("Token has been expired or revoked"))
    _fails(health, "b", StoreError("the database /b.db is not a usable introbot database"))
    _fails(health, "c", sqlite3.OperationalError("disk I/O error"))
    assert health.readiness() == []  # d polls well: one signed-out mailbox stops no replica
    counts = parse_metrics(health.metrics())
    assert {state: total(counts, "introbot_mailboxes", state=state) for state in STATES} == {
        "ok": 1, "signed_out": 1, "store_failing": 2, "stale": 0, "not_polled": 0,
    }  # fmt: skip
    assert total(counts, "introbot_errors_total", kind="store") == 2
    assert total(counts, "introbot_errors_total", account="a", kind="sign_in") == 1
    health.account("e")  # served, not polled yet
    clock.now += 180  # three intervals: d's good poll is stale
    health.tick()
    why = health.readiness(shown=3)
    assert why[0].startswith("a: Gmail refuses the sign-in (AuthExpired: ")
    assert why[1:] == [
        "b: its last poll failed on its store "
        "(StoreError: the database /b.db is not a usable introbot database)",
        "c: its last poll failed on its store (OperationalError: disk I/O error)",
        "... and 2 more mailboxes, none polled well",
    ]
    health.watch(lambda: None, "b", after=lambda _: None)()  # its store answers again
    assert health.readiness() == []


def test_readiness_asks_each_database_once_and_opens_no_mailbox_file(
    locations: Callable[[], StoreLocation],
) -> None:
    stores = [locations().open() for _ in range(3)]
    try:
        pool = pool_for(stores[0].db.url) if stores[0].dialect == "postgresql" else None  # type: ignore[attr-defined]
        made = pool.opened if pool else 0
        assert databases_answer(stores) is None
        assert not any(isinstance(s.db, SqliteBackend) and s.db.connected for s in stores)
        assert pool is None or pool.opened - made <= 1  # at most one connection, for all three
    finally:
        for store in stores:
            store.close()


def test_not_ready_over_http_while_the_database_server_does_not_answer() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"postgresql://introbot:s3cret@127.0.0.1:{closed.getsockname()[1]}/introbot"
    health = Health(60, store_check=lambda: reachable(url))
    health.tick()
    health.watch(lambda: None, "work", after=lambda _: None)()
    with HealthServer("127.0.0.1:0", health) as server:
        status, why = _get(server.url + "readyz")
    assert status == 503 and why.startswith("cannot reach PostgreSQL at postgresql://introbot@")
    assert "s3cret" not in why


def test_the_metrics_text_and_the_place_for_leases() -> None:
    health, _ = _probe()
    health.tick()
    odd = 'work "2"\\\n'
    poll = health.watch(
        lambda: None,
        odd,
        after=lambda h: h.observe({"messages.get": 15}, {"messages.get": 3}, {"ready": 2}, 1),
    )
    poll()
    health.leases = lambda: {"mailbox-7": True, "mailbox-9": False}
    samples = parse_metrics(health.metrics())
    assert total(samples, "introbot_gmail_units_total", account=odd, method="messages.get") == 15
    assert total(samples, "introbot_gmail_calls_total") == 3
    assert total(samples, "introbot_intros", state="ready") == 2
    assert total(samples, "introbot_intros_needing_attention") == 1
    assert total(samples, "introbot_lease_owned", mailbox="mailbox-7") == 1
    assert total(samples, "introbot_lease_owned") == 1


def test_a_failing_count_never_fails_the_poll() -> None:
    health, _ = _probe()

    def broken(_: object) -> None:
        raise RuntimeError("the store went away mid-count")

    health.watch(lambda: None, "work", after=broken)()
    assert health.accounts["work"].polls["ok"] == 1


def test_the_server_answers_head_and_text(tmp_path: Path) -> None:
    health, _ = _probe()
    with HealthServer("127.0.0.1:0", health) as server:
        request = urllib.request.Request(server.url + "metrics", method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert reply.read() == b""
        status, text = _get(server.url + "readyz")
        assert status == 503 and "no account polled yet" in text
