"""Replicas as real processes: `introbot run` started several times (each with a config
folder of its own, as pods have) against one real PostgreSQL, serving the mailboxes of a
Workspace domain that one sandbox serves (each mailbox with its own quota and state).
kill -9 at random moments while three replicas work 50 mailboxes through whole
introductions: every intro is made exactly once, no draft twice. A replica frozen with
SIGSTOP past its lease and resumed writes nothing. PostgreSQL restarted under the load of
ten mailboxes: the replicas reconnect and carry on."""

from __future__ import annotations

import functools
import os
import random
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from introbot.app import mailbox_name
from introbot.cli.bench_burst import DOMAIN, team_environment
from introbot.leases import Lease, read_leases
from introbot.model import Stage
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, compose_reply
from introbot.store import Store, StoreLocation
from tests.cli import INTROBOT
from tests.postgres import PostgresServer
from tests.test_crash_safety import _request_bytes
from tests.waiting import wait_until

pytestmark = pytest.mark.slow  # starts introbot as processes
# Renewed every 2 s, writes stop 2 s before the end: a lease round over 50 mailboxes on a
# loaded 2-core machine has taken over a second (with 3 s, fences lapsed between rounds).
LEASE_SECONDS = 6
RANDOM_KILLS = 6  # at most: a slow machine takes longer, not more chaos
MAILBOXES = 50  # the figure, for the kill -9 test
RESTARTED_MAILBOXES = 10  # PostgreSQL restarted under the load of ten mailboxes' polls
# Hang guards, never timings: a stage's mail across 50 mailboxes on a loaded 2-core CI
# machine, with replicas killed meanwhile, has taken a minute and more.
STAGE_SECONDS = 180
EXPECTED_SENT = sorted(
    [
        "Re: Could you introduce me to Dana Whitfield?",
        "Would you like to meet Alex Kim?",
        "Intro: Alex Kim <> Dana Whitfield",
    ]
)
_teams = iter(range(1, 10_000))


@dataclass
class Box:
    account: str
    mailbox: str  # its name in PostgreSQL
    control: SandboxControl

    def drafts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control.mailbox()["drafts"]
        assert len(found) <= 2, f"duplicate drafts in {self.account}: {found}"
        return found

    def asked(self) -> bool:
        return len(self.drafts()) == 2

    def joint_drafted(self) -> bool:
        return any(d["subject"].startswith("Intro:") for d in self.drafts())

    def introduced(self) -> bool:
        """Once the joint draft was sent: is the intro done? A joint draft in Drafts again
        is one written twice (a lost send not found), which nobody will send: said at once."""
        mailbox = self.control.mailbox()
        again = [d["id"] for d in mailbox["drafts"] if d["subject"].startswith("Intro:")]
        assert not again, f"{self.account}: the joint draft written again once sent: {again}"
        return any("introbot/introduced" in m["labelIds"] for m in mailbox["messages"])


class ReplicaProcess:
    """One `introbot run` serving every mailbox of the domain, with a config folder of its
    own (as pods have) and the team's settings from its environment."""

    def __init__(self, config: Path, log: Path, env: dict[str, str]) -> None:
        self.config = config
        self.log = log
        self.env = {**env, "INTROBOT_CONFIG_DIR": str(config), "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.kills = 0

    def start(self) -> None:
        with self.lock, self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*INTROBOT, "run", "--interval", "1"], stdout=log, stderr=log, env=self.env
            )

    def kill9(self) -> None:
        with self.lock:
            if self.proc is not None:
                self.proc.kill()
                self.proc.wait()
                self.kills += 1

    def restart_killed(self) -> None:
        self.kill9()
        self.start()

    def stop(self) -> None:
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGCONT)
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()

    def said(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def team(
    tmp_path: Path, server: PostgresServer, mailboxes: int, replicas: int
) -> Iterator[tuple[list[Box], list[ReplicaProcess]]]:
    """A Workspace domain of ``mailboxes`` mailboxes (one sandbox serves them all, and
    Google's token endpoint for the service account that signs in as each), their stores
    in PostgreSQL, and ``replicas`` replica processes (not started). One domain instead of
    an account each: no `introbot init` and sign-in per mailbox, one server, and each
    replica opens one config."""
    team_id = next(_teams)
    addresses = [f"m{n}-t{team_id}-p{os.getpid()}@{DOMAIN}" for n in range(mailboxes)]
    with SandboxServer(user=addresses, realism="tests") as gmail:
        key = tmp_path / f"key{team_id}.json"
        env = team_environment(gmail.url, key, addresses, server.url)
        env["INTROBOT_STORE_LEASE_SECONDS"] = str(LEASE_SECONDS)
        control = SandboxControl(gmail.url)
        boxes = [Box(a, mailbox_name(a), control.of(a)) for a in addresses]
        processes = [
            ReplicaProcess(tmp_path / f"replica{n}", tmp_path / f"replica{n}.log", env)
            for n in range(replicas)
        ]
        try:
            yield boxes, processes
        except BaseException:
            for process in processes:  # what each said, for the failure's report
                print(f"--- {process.log.name}", *process.said().splitlines()[-60:], sep="\n")
            raise
        finally:
            for process in processes:
                process.stop()


def _request(box: Box) -> None:
    raw = _request_bytes().replace(b"connector@example.com", box.account.encode())
    delivered = box.control.deliver(raw)
    box.control.label_thread(delivered["threadId"], add=("intro-request",))


def _say_yes(box: Box) -> None:
    messages = box.control.mailbox()["messages"]
    for address, sender, text in (
        ("alex.kim@tidepool.io", "Alex Kim <alex.kim@tidepool.io>", "Yes please!"),
        ("dana@northwind.example", "Dana Whitfield <dana@northwind.example>", "Yes, happy to."),
    ):
        sent = [m for m in messages if "SENT" in m["labelIds"] and address in m["headers"]["To"]]
        box.control.deliver(compose_reply(sent[-1], sender, text, at=datetime.now()))


def _introduce_all(boxes: list[Box], meanwhile: Callable[[], None] = lambda: None) -> None:
    """Each mailbox through a whole introduction, the connector sending every draft;
    ``meanwhile`` is called once each stage's mail is in (a replica killed, a restart)."""
    for box in boxes:
        _request(box)
    meanwhile()
    for box in boxes:
        wait_until(f"{box.account}'s consent drafts", box.asked, STAGE_SECONDS)
        for draft in box.drafts():
            box.control.send_draft(draft["id"])
        _say_yes(box)
    meanwhile()
    for box in boxes:
        wait_until(f"{box.account}'s joint draft", box.joint_drafted, STAGE_SECONDS)
        (joint,) = box.drafts()
        box.control.send_draft(joint["id"])
    meanwhile()
    for box in boxes:
        wait_until(f"{box.account} introduced", box.introduced, STAGE_SECONDS)


def _store(box: Box, server: PostgresServer) -> Store:
    return StoreLocation.postgres(server.url, box.mailbox, server.folder / "locks").open()


def _cursor(box: Box, server: PostgresServer) -> bool:
    store = _store(box, server)
    try:
        return store.cursor() is not None
    finally:
        store.close()


def _started(replicas: list[ReplicaProcess], boxes: list[Box], server: PostgresServer) -> None:
    """The replicas started, and each mailbox polled once (its cursor saved) before any
    fault: a first poll that dies before it saves one is followed by a full sync, which
    is another test's business."""
    for replica in replicas:
        replica.start()
    for box in boxes:
        check = functools.partial(_cursor, box, server)
        wait_until(f"{box.account}'s first poll", check, STAGE_SECONDS)


def _exactly_once(boxes: list[Box], server: PostgresServer) -> None:
    for box in boxes:
        mailbox = box.control.mailbox()
        sent = sorted(
            m["headers"]["Subject"] for m in mailbox["messages"] if "SENT" in m["labelIds"]
        )
        assert sent == EXPECTED_SENT, box.account
        assert mailbox["drafts"] == []
        store = _store(box, server)
        try:
            (intro,) = store.intros()
            assert intro.stage is Stage.INTRODUCED
        finally:
            store.close()


def test_kill_9_of_replicas_at_random_moments_every_intro_exactly_once(
    home: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    rng = random.Random(16)
    with team(tmp_path, postgres_server, MAILBOXES, 3) as (boxes, replicas):
        _started(replicas, boxes, postgres_server)
        done = threading.Event()

        def killer() -> None:
            # Every 6-12 s: a replica serving 50 mailboxes needs a few seconds (of CPU) to
            # start again, and one killed more often than that would never work at all.
            for _ in range(RANDOM_KILLS):
                if done.wait(rng.uniform(6.0, 12.0)):
                    return
                rng.choice(replicas).restart_killed()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        try:  # and, as each stage's mail comes in, a replica holding a mailbox killed
            stages = random.Random(17)

            def kill_a_holder() -> None:
                leases, _ = read_leases(postgres_server.url)
                ours = {box.mailbox for box in boxes}
                pids = {int(str(lease.holder).split("-")[-2]) for lease in leases
                        if lease.mailbox in ours and lease.live and lease.holder}  # fmt: skip
                held = [r for r in replicas if r.proc is not None and r.proc.pid in pids]
                stages.choice(held or replicas).restart_killed()

            _introduce_all(boxes, kill_a_holder)
        finally:
            done.set()
            thread.join()
        _exactly_once(boxes, postgres_server)
        assert sum(r.kills for r in replicas) >= 3
        leases, _ = read_leases(postgres_server.url)
        tokens = {lease.mailbox: lease.token for lease in leases}
        assert any(tokens[box.mailbox] > 1 for box in boxes), leases  # taken over, at least once


def test_a_replica_frozen_past_its_lease_and_resumed_writes_nothing(
    home: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    # Two mailboxes: one would be served as the account itself, under its own name.
    with team(tmp_path, postgres_server, 2, 2) as ([box, _], [first, second]):

        def lease() -> Lease | None:
            leases, _ = read_leases(postgres_server.url)
            held = [lease for lease in leases if lease.mailbox == box.mailbox and lease.live]
            return held[0] if held else None

        def holder() -> str | None:
            found = lease()
            return found.holder if found else None

        first.start()
        wait_until("the first replica holds the mailbox", lambda: holder() is not None, 60)
        frozen, frozen_token = holder(), lease().token  # type: ignore[union-attr]
        assert first.proc is not None
        first.proc.send_signal(signal.SIGSTOP)
        second.start()
        wait_until("the second replica took over", lambda: holder() not in (None, frozen), 60)
        _request(box)
        wait_until("the consent drafts", box.asked, 60)
        first.proc.send_signal(signal.SIGCONT)
        wait_until("the frozen one noticed", lambda: "lease_lost" in first.said(), 30)
        for draft in box.drafts():
            box.control.send_draft(draft["id"])
        _say_yes(box)
        wait_until("the joint draft", lambda: len(box.drafts()) == 1, 60)
        # The resumed replica may be given the mailbox back by the spread, but only by a
        # takeover: with a greater token than the one it was frozen with.
        assert max(lease.token for lease in read_leases(postgres_server.url)[0]
                   if lease.mailbox == box.mailbox) > frozen_token  # fmt: skip
        assert len(box.drafts()) == 1


def test_postgresql_restarted_under_load_replicas_carry_on(
    home: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """The server stopped (immediate: connections cut) and started again as each stage's
    mail comes in: the replicas reconnect, claim their leases again and finish the work."""
    with team(tmp_path, postgres_server, RESTARTED_MAILBOXES, 2) as (boxes, replicas):
        _started(replicas, boxes, postgres_server)

        def restart() -> None:
            postgres_server.stop("fast")  # every connection cut; nothing committed lost
            postgres_server.restart()

        _introduce_all(boxes, restart)
        _exactly_once(boxes, postgres_server)
        assert all(r.proc is not None and r.proc.poll() is None for r in replicas)
