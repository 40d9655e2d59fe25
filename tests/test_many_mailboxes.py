"""Many mailboxes in one process (`introbot run --all`, `--account A --account B`): each
account with its own sandbox Gmail (one sandbox server per mailbox, reached through its
[gmail] endpoint; one sandbox serving them all would do as well), sign-in, database and pacing; a slow mailbox, one failing with 500s and
one whose sign-in was revoked hold up none of the others, and the process stops cleanly.
The scheduling alone is tested with plain callables (no Gmail) in the fast lane."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from introbot.cli import bench
from introbot.config import Account
from introbot.daemon import Mailbox, default_workers, run_many
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, authentication_results
from introbot.store import Store, StoreLocation
from introbot.store.pool import KEEP_IDLE
from introbot.store.postgres import describe, pool_for
from tests.cli import INTROBOT, invoke, sign_in_directly
from tests.mail import make_mail
from tests.postgres import PostgresServer


# ----------------------------------------------------------------- the scheduling
def _until(condition: Callable[[], bool], what: str, deadline: float = 30) -> None:
    stop = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > stop:
            raise AssertionError(f"not within {deadline} s: {what}")
        time.sleep(0.02)


def _serve(boxes: list[Mailbox], workers: int) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=run_many, args=(boxes, workers, stop), daemon=True)
    thread.start()
    return stop, thread


def test_a_stuck_mailbox_holds_one_worker_and_the_others_keep_their_turns() -> None:
    released = threading.Event()
    stuck_calls: list[int] = []
    turns = {"b": 0, "c": 0}

    def stuck() -> None:
        stuck_calls.append(1)
        released.wait(60)

    def counting(name: str) -> Callable[[], None]:
        return lambda: turns.__setitem__(name, turns[name] + 1)

    boxes = [
        Mailbox("a", stuck, 0.02),
        Mailbox("b", counting("b"), 0.02),
        Mailbox("c", counting("c"), 0.02),
    ]
    stop, thread = _serve(boxes, workers=2)
    try:
        _until(lambda: turns["b"] >= 5 and turns["c"] >= 5, "b and c polled while a hangs")
        assert stuck_calls == [1]  # one poll at a time per mailbox: never a second one
        assert boxes[0].polls == 0 and boxes[1].status == "ok"
    finally:
        released.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert boxes[0].polls == 1  # finished its poll before the daemon stopped


def test_one_worker_is_the_bound_a_stuck_mailbox_then_holds_up_the_rest() -> None:
    """The converse, so that the test above can fail: with a pool of one, the others wait."""
    started, released = threading.Event(), threading.Event()
    turns: list[int] = []

    def stuck() -> None:
        started.set()
        released.wait(60)

    boxes = [Mailbox("a", stuck, 0.02), Mailbox("b", lambda: turns.append(1), 0.02)]
    stop, thread = _serve(boxes, workers=1)
    try:
        _until(started.is_set, "a's poll started")
        time.sleep(0.2)  # ten of b's intervals
        assert turns == []
        released.set()
        _until(lambda: len(turns) >= 2, "b polled once a is done")
    finally:
        released.set()
        stop.set()
        thread.join(30)


def test_a_failing_mailbox_backs_off_alone() -> None:
    failures: list[int] = []
    turns: list[int] = []

    def failing() -> None:
        failures.append(1)
        raise RuntimeError("the server answered 500 again")

    boxes = [Mailbox("bad", failing, 0.01), Mailbox("good", lambda: turns.append(1), 0.01)]
    stop, thread = _serve(boxes, workers=2)
    try:
        _until(lambda: len(turns) >= 20, "the good mailbox polled on")
    finally:
        stop.set()
        thread.join(30)
    assert boxes[0].backoff.failures == len(failures) >= 1
    assert boxes[0].status.startswith("failing") and boxes[1].backoff.failures == 0


def _held_connections(location: StoreLocation, folder: Path) -> int:
    """The database connections this process holds: open SQLite files under ``folder``, or
    PostgreSQL sessions of introbot's (this process's pool, and any store holding one)."""
    if location.url is None:
        held = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # closed meanwhile
                # (SQLite also opens the folder itself for a moment, to sync it)
                held += os.readlink(f"/proc/self/fd/{fd}").startswith(f"{folder}{os.sep}")
        return held
    with psycopg.connect(location.url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'introbot'"
        ).fetchone()
    return int(row[0]) if row else 0


def _stores(locations: Callable[[], StoreLocation], folder: Path, count: int) -> list[Store]:
    """``count`` mailboxes' stores, opened; SQLite's copied from one (a migration is slow)."""
    first = locations()
    if first.path is None:
        return [first.open(), *(locations().open() for _ in range(count - 1))]
    first.open().close()
    for n in range(1, count):
        shutil.copy(first.path, folder / f"copy-{n}.db")
    return [Store(first.path), *(Store(folder / f"copy-{n}.db") for n in range(1, count))]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_idle_mailboxes_hold_no_database_connection(
    locations: Callable[[], StoreLocation], tmp_path: Path
) -> None:
    """A mailbox takes a connection for its poll and gives it back after: the connections
    held stay within the workers (and the pool's idle ones), never one per mailbox."""
    workers, mailboxes = 2, 16
    stores = _stores(locations, tmp_path, mailboxes)
    sqlite = stores[0].dialect == "sqlite"
    where = locations()
    before = _held_connections(where, tmp_path)
    pool = None if sqlite else pool_for(str(where.url))
    made = 0 if pool is None else pool.opened
    seen: list[int] = []
    boxes = []
    for n, store in enumerate(stores):

        def poll(store: Store = store) -> None:
            store.set_meta("polled", str(int(store.get_meta("polled") or 0) + 1))
            if sqlite:  # the file, its -wal and its -shm, for each poll under way
                seen.append(_held_connections(where, tmp_path))

        boxes.append(Mailbox(f"m{n}", poll, 0.05, release=store.release))
    try:
        stop, thread = _serve(boxes, workers)
        _until(lambda: all(b.polls >= 2 for b in boxes), "two polls of every mailbox")
        stop.set()
        thread.join()
        if sqlite:
            assert max(seen) <= 3 * workers and _held_connections(where, tmp_path) == 0
        else:
            assert pool is not None and pool.opened - made <= workers + KEEP_IDLE
            assert _held_connections(where, tmp_path) - before <= KEEP_IDLE
        assert [s.get_meta("polled") for s in stores] == [str(b.polls) for b in boxes]
    finally:
        for store in stores:
            store.close()


def test_the_pool_has_a_worker_per_mailbox_up_to_eight() -> None:
    assert [default_workers(n) for n in (1, 3, 8, 9, 1000)] == [1, 3, 8, 8, 8]


# ---------------------------------------------------------------- the command line
def _request(control: SandboxControl, connector: str, requester: str, contact: str) -> None:
    raw = make_mail(
        sender=f"Requester <{requester}>",
        to=connector,
        subject="Would you connect us?",
        body=f"Hello,\n\nWould you put me in touch with {contact}? It would help.\n",
    )
    signed = f"Authentication-Results: {authentication_results(requester)}\r\n".encode()
    delivered = control.deliver(signed + raw)
    control.label_thread(delivered["threadId"], add=("intro-request",))


def _poison(control: SandboxControl) -> None:
    """A labeled message that reads as nothing at all: no sender, no parties, bad bytes."""
    raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\xff\xfe\x00garbage\r\n"
    delivered = control.deliver(raw)
    control.label_thread(delivered["threadId"], add=("intro-request",))


def _drafts(control: SandboxControl) -> list[dict]:  # type: ignore[type-arg]
    drafts: list[dict] = control.mailbox()["drafts"]  # type: ignore[type-arg]
    return drafts


def _account(name: str, server: SandboxServer, signed_in: bool = True) -> SandboxControl:
    """An account whose Gmail is ``server`` ([gmail] endpoint), signed in through it."""
    control = SandboxControl(server.url)
    assert invoke("init", "--account", name, "--name", f"{name.title()} Person").exit_code == 0
    account = Account.named(name)
    _set_endpoint(account, server.url)
    control.oauth(require_token=True)
    if signed_in:
        sign_in_directly(control, account.token_file)
    return control


def _set_endpoint(account: Account, url: str) -> None:
    """The account's [gmail] endpoint, in the place `introbot init` left for it."""
    text = account.config_file.read_text(encoding="utf-8")
    commented = '# endpoint = "http://127.0.0.1:8765/"'
    assert commented in text
    account.config_file.write_text(text.replace(commented, f'endpoint = "{url}"'), "utf-8")


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*INTROBOT, "run", *args, "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow  # starts introbot as a process, and waits out a hung call
def test_run_all_serves_every_account_and_none_holds_up_another(home: Path) -> None:
    with (
        SandboxServer(user="ana@alpha.example") as alpha_gmail,
        SandboxServer(user="bo@beta.example") as beta_gmail,
        SandboxServer(user="cy@gamma.example") as gamma_gmail,
        SandboxServer(user="di@delta.example") as delta_gmail,
    ):
        alpha = _account("alpha", alpha_gmail)
        beta = _account("beta", beta_gmail)
        gamma = _account("gamma", gamma_gmail)
        delta = _account("delta", delta_gmail)
        _account("epsilon", alpha_gmail, signed_in=False)
        _request(alpha, "ana@alpha.example", "rosa@r.example", "karl@k.example")
        _poison(alpha)
        _request(beta, "bo@beta.example", "sven@s.example", "tara@t.example")
        # beta: its first call hangs (the client gives up on it after 30 s and asks again);
        # gamma: Gmail answers 500 to everything; delta: the user revoked introbot's access.
        beta.add_faults({"method": "*", "hang": 600})
        gamma.add_faults({"method": "*", "status": 500, "count": 10_000})
        delta.revoke_sign_ins()

        daemon = _start("--all")
        try:
            _until(lambda: len(_drafts(alpha)) >= 2, "alpha's consent drafts", 25)
            assert _drafts(beta) == []  # beta is still waiting on its hung call
            _until(lambda: len(_drafts(beta)) >= 2, "beta's consent drafts", 120)
        finally:
            daemon.send_signal(signal.SIGTERM)
            out, err = daemon.communicate(timeout=120)
        assert daemon.returncode == 0, err
        recipients = {d["to"] for d in _drafts(alpha)}

    assert "introbot is watching Gmail for 4 accounts (alpha, beta, delta, gamma" in out
    assert "not serving the account 'epsilon': introbot is not signed in" in err
    status = {line.split(":")[0].strip(): line for line in out.splitlines() if ": " in line}
    assert status["alpha"].endswith("; ok") and status["beta"].endswith("; ok")
    assert "0 polls; failing" in status["gamma"]
    assert "0 polls; signed out" in status["delta"]
    assert "`introbot auth --account delta`" in status["delta"]
    assert out.rstrip().endswith("introbot stopped.")
    lines = err.splitlines()
    assert any("gmail_unreachable" in line and line.endswith("account=gamma") for line in lines)
    assert any(" ERROR " in line and line.endswith("account=delta") for line in lines)
    assert not any(" ERROR " in line and "account=alpha" in line for line in lines)
    assert any("decision" in line and line.endswith("account=alpha") for line in lines)

    assert any("rosa@r.example" in r for r in recipients)
    assert not any("sven@s.example" in r or "tara@t.example" in r for r in recipients)
    for name, requester in (("alpha", "rosa@r.example"), ("beta", "sven@s.example")):
        listed = invoke("list", "--account", name, "--json")
        (intro,) = json.loads(listed.stdout)["intros"]  # alpha's poison made no intro
        assert intro["requester"]["email"] == requester


@pytest.mark.slow  # starts introbot as a process
def test_ctrl_c_stops_every_account_with_exit_130(home: Path) -> None:
    with (
        SandboxServer(user="ana@alpha.example") as alpha_gmail,
        SandboxServer(user="bo@beta.example") as beta_gmail,
    ):
        alpha, beta = _account("alpha", alpha_gmail), _account("beta", beta_gmail)
        daemon = _start("--account", "alpha", "--account", "beta", "--workers", "1")
        try:
            _until(lambda: all(c.stats()["requests"] >= 3 for c in (alpha, beta)), "polls", 60)
        finally:
            daemon.send_signal(signal.SIGINT)
            out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 130, err
    assert "for 2 accounts (alpha, beta every 1 s), up to 1 at once" in out
    assert "  alpha: " in out and "  beta: " in out and "introbot stopped." in out


def test_several_accounts_refuse_one_accounts_options(home: Path) -> None:
    for name in ("alpha", "beta"):
        assert invoke("init", "--account", name).exit_code == 0
    refused = invoke("run", "--account", "alpha", "--account", "beta", "--db", "x.db")
    assert refused.exit_code == 2
    assert "--db is one account's setting" in refused.stderr
    both = invoke("run", "--all", "--account", "alpha")
    assert both.exit_code == 2 and "either --all or --account" in both.stderr


def test_run_all_with_no_account_set_up_says_how_to_make_one(home: Path) -> None:
    result = invoke("run", "--all")
    assert result.exit_code == 2 and "`introbot init`" in result.stderr


def test_an_endpoint_that_would_send_the_sign_in_in_clear_is_refused(home: Path) -> None:
    assert invoke("init").exit_code == 0
    _set_endpoint(Account.named(None), "http://gmail.example.net/")
    result = invoke("poll")
    assert result.exit_code == 2 and "unencrypted" in result.stderr


@pytest.mark.slow  # starts sandboxes and introbot as processes
def test_the_many_mailboxes_benchmark_runs_at_tiny_sizes() -> None:
    done = subprocess.run(
        [*INTROBOT, "bench", "--mailboxes", "--quick", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [r["mailboxes"] for r in result["runs"]] == [2, 4]
    assert all(r["polls"] >= r["mailboxes"] and r["peak_rss_mb"] > 0 for r in result["runs"])
    assert all(len(r["interval_cpu_shares"]) == 3 for r in result["runs"])
    assert "| idle-polling 4 mailboxes in one process (every 1 s; SQLite) |" in result["table"]


@pytest.mark.slow  # starts a sandbox and introbot as processes, on the PostgreSQL server
def test_the_many_mailboxes_benchmark_runs_on_postgresql(postgres_server: PostgresServer) -> None:
    """The bench measures mailboxes stored in PostgreSQL itself: the README's figure is the
    command's."""
    done = subprocess.run(
        [*INTROBOT, "bench", "--mailboxes", "--quick", "--json", "--sizes", "2",
         "--store", postgres_server.url],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [(r["mailboxes"], r["store"]) for r in result["runs"]] == [(2, "postgresql")]
    assert result["runs"][0]["polls"] >= 2
    assert "(every 1 s; PostgreSQL)" in result["table"]
    assert describe(postgres_server.url) in result["table"]


def test_the_bench_refuses_a_store_that_is_not_postgresql() -> None:
    runner = CliRunner()
    done = runner.invoke(bench.command, ["--mailboxes", "--store", "/tmp/x.db"])
    assert done.exit_code == 2 and "postgresql:// URL" in done.output
    done = runner.invoke(bench.command, ["--sizes", "3"])
    assert done.exit_code == 2 and "goes with --mailboxes" in done.output
    done = runner.invoke(bench.command, ["--mailboxes", "--sizes", "ten"])
    assert done.exit_code == 2 and "--sizes takes numbers" in done.output
