"""``introbot bench --burst``: a burst of requests spread over several Workspace mailboxes,
worked by 1, 2 and 4 replicas (``introbot run`` processes sharing one PostgreSQL under
leases), against one sandbox that serves every mailbox, each with Gmail's per-user quota.

Each replica is bounded to ``workers`` polls at once (``--workers``, default 1): a replica
then works one mailbox at a time, as fast as that mailbox's quota lets it (the client's
token bucket: a 1,000-unit burst, then 225 units/s), so what a replica adds is mailboxes
worked at once, and quota, not this machine's CPU, is what limits each of them. Without
such a bound one replica works all the mailboxes at once and is bounded by the CPU it gets
(on a small machine: at once), and more replicas on the same cores cannot add anything.

Per replica count: the wall time from the burst's delivery until every request's two
consent drafts are made, requests per second, how the mailboxes were spread over the
replicas (the wall time is the busiest replica's: 10 mailboxes over 4 replicas are at best
3, 3, 2, 2), each mailbox's units per second while it was worked as a share of Gmail's
250/s, the 429s the sandbox answered, and duplicates (a request drafted twice) and misses
(not drafted), which must both be 0. The CPU the replicas and the bench (the sandbox) spent
says whether the machine, not the quota, was the limit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REQUESTS = 1000
MAILBOXES = 10
REPLICA_COUNTS = (1, 2, 4)
LEASE_SECONDS = 6  # rounds every 2 s: the replicas settle on their spread within seconds
# Each mailbox's quota in the sandbox, and the pace the replicas keep under it ([gmail]
# units_per_minute): 40% of Gmail's 15,000. Measured: a request costs a replica 80-150 ms of
# CPU, so a replica working one mailbox at this pace needs about half a core, and four need
# two: on a 2-core machine, 4 replicas are CPU-bound at this quota (--quota lowers it).
QUOTA_UNITS_PER_MINUTE = 6000
DOMAIN = "firm.example"


@dataclass
class MailboxFigures:
    address: str
    requests: int
    drafts: int
    duplicates: int  # requests drafted more than once (each extra draft counted)
    missing: int  # requests not drafted
    units: int  # quota units spent while it was worked
    worked_seconds: float  # from its first draft to its last
    quota_share: float  # units per second while worked, over the quota's per second
    rate_limited: int  # 429s the sandbox answered it


@dataclass
class BurstRun:
    replicas: int
    workers: int
    requests: int
    seconds: float
    requests_per_second: float
    spread: list[int]  # mailboxes per replica, busiest first
    rate_limited: int
    duplicates: int
    missing: int
    replica_cpu_seconds: float
    sandbox_cpu_seconds: float  # the bench's own process: the sandbox, mostly
    mailboxes: list[MailboxFigures] = field(default_factory=list)


# ------------------------------------------------------------------ the processes
@contextmanager
def local_postgres() -> Iterator[str]:
    """A PostgreSQL server of the bench's own (as the tests start theirs); its URL. Its
    folder is a temporary one of its own: as root the server runs as ``postgres``, which
    must be able to enter it."""
    from introbot.store.local_server import PostgresServer

    folder = Path(tempfile.mkdtemp(prefix="introbot-bench-pg-"))
    try:
        server = PostgresServer.in_folder(folder)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a live process (Linux; elsewhere 0)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _replica(folder: Path, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True)
    log = (folder / "run.log").open("wb")
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "introbot", "run", "--interval", "1", "--workers", str(workers)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**env, "INTROBOT_CONFIG_DIR": str(folder)},
        )


def team_environment(gmail: str, key: Path, addresses: list[str], store: str) -> dict[str, str]:
    """The environment of a replica serving the Workspace mailboxes ``addresses`` of the
    sandbox at ``gmail`` (as a Deployment sets it: no config file), their stores in the
    PostgreSQL at ``store``; the service account's key is written to ``key``. This
    process's environment without its own INTROBOT_ settings."""
    from introbot.sandbox.control import SandboxControl

    control = SandboxControl(gmail)
    control.oauth(require_token=True)
    key.write_text(json.dumps(control.service_account(domains=[DOMAIN])))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTROBOT_")}
    env.update(
        INTROBOT_GMAIL_ENDPOINT=gmail,
        INTROBOT_WORKSPACE_SERVICE_ACCOUNT_KEY=str(key),
        INTROBOT_WORKSPACE_MAILBOXES=", ".join(addresses),
        INTROBOT_NAME="Sam Rivera",
        INTROBOT_STORE_URL=store,
    )
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------ one run
def _request(n: int, mailbox: str) -> bytes:
    """Request ``n``, written to the mailbox (another address on it would be a party)."""
    from introbot.cli.bench import request_bytes

    return request_bytes(n).replace(b"connector@example.com", mailbox.encode())


def _settled(url: str, stores: list[str], replicas: int) -> list[int] | None:
    """Mailboxes per replica once every mailbox is held by the replica the spread gives it
    and ``replicas`` are live; None before."""
    from introbot.leases import read_leases, read_plan

    leases, live = read_leases(url)
    plan = read_plan(url)
    held = {lease.mailbox: lease.holder for lease in leases if lease.live}
    if len(live) != replicas or any(held.get(s) != plan.get(s) for s in stores):
        return None
    return sorted(Counter(held[s] for s in stores).values(), reverse=True)


def _cursors_saved(url: str, stores: list[str], locks: Path) -> bool:
    from introbot.store import StoreLocation

    for name in stores:
        try:
            store = StoreLocation.postgres(url, name, locks).open()
        except Exception:  # not made yet: the replica's first poll creates it
            return False
        try:
            if store.cursor() is None:
                return False
        finally:
            store.close()
    return True


def _wait(what: str, done: Any, seconds: float, processes: list[Any]) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = done()
        if found:
            return found
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a replica stopped while waiting for {what}")
        time.sleep(0.2)
    raise RuntimeError(f"gave up waiting for {what} after {seconds:.0f} s")


def _figures(
    sandbox: Any, requests: int, quota: int, worked: tuple[float, float]
) -> MailboxFigures:
    """One mailbox's figures: its drafts (who each is to: a request drafted twice writes
    to its requester twice) and its quota while worked."""
    box = sandbox.mailbox
    with sandbox.lock:
        to = Counter(str(box.messages[m].parsed.header("To")) for m in box.drafts.values())
    drafted = Counter(
        n for n in range(requests) for address, times in to.items()
        if f"requester{n}@" in address for _ in range(times)
    )  # fmt: skip
    stats = sandbox.stats.snapshot()
    first, last = worked
    seconds = max(last - first, 1e-9)
    units = int(stats["quota_units"])
    return MailboxFigures(
        address=box.user,
        requests=requests,
        drafts=len(box.drafts),
        duplicates=sum(times - 1 for times in drafted.values() if times > 1)
        + max(0, sum(times for address, times in to.items() if "dana@" in address) - requests),
        missing=requests - len(drafted),
        units=units,
        worked_seconds=seconds,
        quota_share=units / seconds / (quota / 60),
        rate_limited=int(stats["rate_limited"]),
    )


def burst_with(
    url: str,
    folder: Path,
    replicas: int,
    requests: int,
    mailboxes: int,
    workers: int,
    quota: int = QUOTA_UNITS_PER_MINUTE,
) -> BurstRun:
    """One run: a fresh sandbox and fresh mailboxes in the database at ``url``."""
    from introbot.app import mailbox_name
    from introbot.sandbox import SandboxServer
    from introbot.sandbox.accounting import RateLimitSettings

    if mailboxes < 2:
        raise ValueError("the burst needs 2 mailboxes or more (one is served as an account)")
    run = uuid.uuid4().hex[:6]
    addresses = [f"b{n}-{run}@{DOMAIN}" for n in range(mailboxes)]
    stores = [mailbox_name(a) for a in addresses]
    per_box = [requests // mailboxes + (n < requests % mailboxes) for n in range(mailboxes)]
    with ExitStack() as stack:
        server = stack.enter_context(
            SandboxServer(user=addresses, rate_limit=RateLimitSettings(units_per_minute=quota))
        )
        env = team_environment(server.url, folder / f"key-{run}.json", addresses, url)
        env.update(
            INTROBOT_STORE_LEASE_SECONDS=str(LEASE_SECONDS),
            INTROBOT_GMAIL_UNITS_PER_MINUTE=str(quota),
            PYTHONUNBUFFERED="1",
        )
        processes = [_replica(folder / f"r{run}-{n}", env, workers) for n in range(replicas)]
        for process in processes:
            stack.callback(_stop, process)
        boxes = [server.mailbox(a) for a in addresses]
        _wait(
            "the first polls", lambda: _cursors_saved(url, stores, folder / "locks"), 300, processes
        )
        spread = _wait("the spread", lambda: _settled(url, stores, replicas), 120, processes)
        cpu_before = [_cpu_seconds(p.pid) for p in processes]
        bench_cpu = os.times()
        for box in boxes:
            box.stats.reset()
        began = time.monotonic()
        for box, count in zip(boxes, per_box, strict=True):
            with box.lock:
                labels = [box.mailbox.ensure_label(n).id for n in ("INBOX", "intro-request")]
                for n in range(count):
                    box.mailbox.add_message(_request(n, box.mailbox.user), labels)
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        deadline = began + 60 + 10 * requests
        while len(last) < mailboxes:
            now = time.monotonic()
            for n, box in enumerate(boxes):
                made = len(box.mailbox.drafts)
                if made and n not in first:
                    first[n] = now
                if made >= 2 * per_box[n] and n not in last:
                    last[n] = now
            if now > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(
                    f"the burst did not finish: {len(last)} of {mailboxes} mailboxes done"
                )
            time.sleep(0.05)
        seconds = time.monotonic() - began
        time.sleep(2.0)  # a draft made twice would show now
        cpu_after = [_cpu_seconds(p.pid) for p in processes]
        bench_now = os.times()
        figures = [
            _figures(box, count, quota, (first[n], last[n]))
            for n, (box, count) in enumerate(zip(boxes, per_box, strict=True))
        ]
    return BurstRun(
        replicas=replicas,
        workers=workers,
        requests=requests,
        seconds=seconds,
        requests_per_second=requests / seconds,
        spread=spread,
        rate_limited=sum(f.rate_limited for f in figures),
        duplicates=sum(f.duplicates for f in figures),
        missing=sum(f.missing for f in figures),
        replica_cpu_seconds=sum(cpu_after) - sum(cpu_before),
        sandbox_cpu_seconds=(bench_now.user - bench_cpu.user)
        + (bench_now.system - bench_cpu.system),
        mailboxes=figures,
    )


def burst_replicas(
    requests: int = REQUESTS,
    mailboxes: int = MAILBOXES,
    counts: tuple[int, ...] = REPLICA_COUNTS,
    workers: int = 1,
    store: str | None = None,
    quota: int = QUOTA_UNITS_PER_MINUTE,
) -> dict[str, Any]:
    """Every replica count in turn; the PostgreSQL at ``store``, else one of the bench's."""
    folder = Path(tempfile.mkdtemp(prefix="introbot-bench-burst-"))
    try:
        with ExitStack() as stack:
            url = store or stack.enter_context(local_postgres())
            (folder / "locks").mkdir()
            runs = [burst_with(url, folder, n, requests, mailboxes, workers, quota) for n in counts]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "requests": requests,
        "mailboxes": mailboxes,
        "workers_per_replica": workers,
        "quota_units_per_minute": quota,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "runs": [asdict(r) for r in runs],
    }


def rows(result: dict[str, Any], row: Any) -> list[str]:
    """The table rows (``row`` makes one from cells): one per replica count."""
    lines = []
    first = result["runs"][0]
    for r in result["runs"]:
        shares = [m["quota_share"] for m in r["mailboxes"]]
        gain = r["requests_per_second"] / first["requests_per_second"]
        allows = first["spread"][0] / r["spread"][0]  # the busiest replica's share sets it
        spread = "/".join(str(n) for n in r["spread"])
        lines.append(
            row(
                f"burst of {r['requests']:,} over {result['mailboxes']} mailboxes, "
                f"{r['replicas']} replica(s) x {r['workers']} worker(s)",
                f"{r['seconds']:.0f} s, {r['requests_per_second']:.1f} requests/s = {gain:.2f}x "
                f"one replica (the spread {spread} allows {allows:.2f}x); each mailbox "
                f"{min(shares):.0%}-{max(shares):.0%} of its quota's pace while worked; "
                f"{r['rate_limited']} x 429, {r['duplicates']} duplicates, {r['missing']} missed; "
                f"CPU {r['replica_cpu_seconds']:.0f} s replicas, "
                f"{r['sandbox_cpu_seconds']:.0f} s sandbox",
                "-",
                "-",
                "linear in replicas; >= 90% of quota; 0 x 429; 0 duplicates",
            )
        )
    return lines


def options(command: Any) -> Any:
    """The ``introbot bench`` options of this bench (the command's hook)."""
    import click

    for option in reversed(
        (
            click.option(
                "--burst",
                "burst_only",
                is_flag=True,
                help="Only the burst worked by 1, 2 and 4 replicas sharing a PostgreSQL (minutes).",
            ),
            click.option(
                "--requests",
                type=click.IntRange(2, 100_000),
                help=f"With --burst: the burst's size (default {REQUESTS:,}).",
            ),
            click.option(
                "--replicas",
                help="With --burst: the replica counts, comma-separated (default 1,2,4).",
            ),
            click.option(
                "--workers",
                type=click.IntRange(1, 256),
                default=1,
                show_default=True,
                help="With --burst: polls at once per replica (1: a replica works one mailbox "
                "at a time, so replicas, not this machine's cores, are what is added).",
            ),
            click.option(
                "--quota",
                type=click.IntRange(600, 15_000),
                default=QUOTA_UNITS_PER_MINUTE,
                show_default=True,
                help="With --burst: each mailbox's quota in units a minute (the replicas pace "
                "under it); lower it where the replicas' CPU, not the quota, is the limit.",
            ),
            click.option(
                "--store",
                metavar="URL",
                help="With --burst: this PostgreSQL (default: a server the bench starts); with "
                "--mailboxes: the stores in it (default: SQLite files).",
            ),
        )
    ):
        command = option(command)
    return command


def from_options(quick: bool, given: dict[str, Any]) -> dict[str, Any]:
    """The burst as ``introbot bench --burst`` options ask (--quick: 40 requests)."""
    counts = tuple(int(n) for n in (given.get("replicas") or "1,2,4").split(","))
    requests = given.get("requests") or (4 * MAILBOXES if quick else REQUESTS)
    return burst_replicas(
        requests=requests,
        counts=counts,
        workers=given["workers"],
        store=given.get("store"),
        quota=given["quota"],
    )
