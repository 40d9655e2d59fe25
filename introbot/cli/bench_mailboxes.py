"""``introbot bench --mailboxes``: one process idle-polling many mailboxes, as ``introbot run
--all`` does (the same daemon, apps, polls, health records and store connections given back
between polls), against one sandbox in a second process that serves every mailbox (one per
address, each with its own access token and Gmail's per-user limit), so that only introbot is
measured.

Measured after every mailbox has had its first (full) sync, over whole poll intervals: the CPU
the introbot process spends, as a share of one core (each interval's and all of them), its
memory (RSS) at the end and at its peak since it started (VmHWM: the start, with every
mailbox opened, is in it), its open files, and what answering ``/readyz`` and ``/metrics``
costs then. The full bench runs 10, 100 and the target's 1,000 mailboxes at the default
interval (three intervals each: about 13 minutes in all); ``--quick`` 2 and 4 every second.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGET_MAILBOXES = 1000  # the figure: < 10% of a core, < 300 MB
_SERVE = """
import sys
from introbot.sandbox import SandboxServer
from introbot.sandbox.accounting import RateLimitSettings
from introbot.sandbox.control import SandboxControl
users = [f"connector{n}@example.com" for n in range(int(sys.argv[1]))]
server = SandboxServer(user=users, rate_limit=RateLimitSettings()).start()
control = SandboxControl(server.url)
tokens = [control.access_token(user, 7 * 86400) for user in users]
print(server.url, flush=True)
print("\\n".join(f"{u} {t}" for u, t in zip(users, tokens)), flush=True)
sys.stdin.read()  # until the benchmark closes it
"""


@dataclass
class Idle:
    mailboxes: int
    interval_seconds: float
    measured_seconds: float
    polls: int  # polls that succeeded while measured
    cpu_share: float  # of one core, over every interval measured
    rss_mb: float  # at the end
    peak_rss_mb: float  # the most since the process started (VmHWM)
    open_files: int = -1  # at the end (-1: not Linux)
    interval_cpu_shares: list[float] = field(default_factory=list)  # each interval's
    readyz_ms: float = 0.0  # what answering /readyz costs (its rule read from the polls)
    metrics_ms: float = 0.0  # ... and /metrics, whose text has every mailbox's series
    metrics_kb: float = 0.0


def _memory_mb(field: str) -> float:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: not measured
        return float("nan")
    line = next(line for line in status.splitlines() if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def measure_here(
    url: str,
    tokens: dict[str, str],
    folder: Path,
    interval: float,
    rounds: int,
    store_url: str | None = None,
) -> Idle:
    """In this process: serve one account per sandbox mailbox as ``introbot run --all``
    does, wait until each has polled once, then measure ``rounds`` intervals of idle
    polling. Each account's store is an SQLite file, or a mailbox in the PostgreSQL
    database at ``store_url``."""
    from google.oauth2.credentials import Credentials

    from introbot import health as vitals
    from introbot.app import open_app
    from introbot.cli.intros import _Held, _poll_logged
    from introbot.config import Account
    from introbot.daemon import Mailbox, default_workers, raise_open_files_limit, run_many
    from introbot.settings import Settings
    from introbot.store import StoreLocation

    raise_open_files_limit(64 + 8 * len(tokens))
    settings = Settings.of("Sam Rivera")
    health = vitals.Health(interval)
    with ExitStack() as stack:
        boxes = []
        for n, token in enumerate(tokens.values()):
            account = Account(f"m{n}", folder / f"m{n}")
            store = StoreLocation.sqlite(folder / f"m{n}.db")
            if store_url is not None:
                store = StoreLocation.postgres(store_url, f"bench-m{n}", folder / "locks")
            app = open_app(account, settings, url, store=store)
            stack.callback(app.close)
            app.client.use_sign_in(Credentials(token), None)  # type: ignore[no-untyped-call]
            held = _Held(stack.enter_context(ExitStack()))
            poll = functools.partial(_poll_logged, app, set(), held, False)
            watched = health.watch(poll, account.name, vitals.counting(app))
            boxes.append(Mailbox(account.name, watched, interval, release=app.store.release))
        stop = threading.Event()
        daemon = threading.Thread(
            target=run_many,
            args=(boxes, default_workers(len(boxes)), stop),
            kwargs={"on_tick": health.tick},
        )
        daemon.start()
        try:
            deadline = time.monotonic() + 10 * interval + 120 + len(boxes) / 5
            while any(box.polls == 0 for box in boxes) and time.monotonic() < deadline:
                time.sleep(0.2)
            polls, began, wall = sum(b.polls for b in boxes), _cpu(), time.monotonic()
            shares = []
            for _ in range(rounds):
                cpu, at = _cpu(), time.monotonic()
                time.sleep(interval)
                shares.append((_cpu() - cpu) / (time.monotonic() - at))
            polls = sum(b.polls for b in boxes) - polls
            seconds = time.monotonic() - wall
            used = _cpu() - began
            rss, peak, files = _memory_mb("VmRSS"), _memory_mb("VmHWM"), _open_files()
            ready = _median_ms(health.readiness)
            metrics = _median_ms(health.metrics)
            text = health.metrics()
        finally:
            stop.set()
            daemon.join()
    return Idle(
        len(tokens),
        interval,
        seconds,
        polls,
        used / seconds,
        rss,
        peak,
        files,
        shares,
        ready,
        metrics,
        len(text.encode()) / 1024,
    )


def _median_ms(probe: Any, times: int = 5) -> float:
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        probe()
        spent.append((time.perf_counter() - began) * 1000)
    return sorted(spent)[times // 2]


def idle_many(
    count: int, interval: float = 60.0, rounds: int = 2, store_url: str | None = None
) -> Idle:
    """``count`` sandbox mailboxes in one process, introbot polling them in another (its
    stores SQLite files, or mailboxes in the PostgreSQL database at ``store_url``)."""
    with tempfile.TemporaryDirectory(prefix="introbot-bench-many-") as tmp:
        env = {**os.environ, "INTROBOT_CONFIG_DIR": str(Path(tmp) / "config")}
        with subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        ) as servers:
            assert servers.stdout is not None and servers.stdin is not None
            url = servers.stdout.readline().strip()
            tokens = dict(servers.stdout.readline().split() for _ in range(count))
            spec = {"url": url, "tokens": tokens, "folder": tmp, "store_url": store_url}
            args = json.dumps(spec | {"interval": interval, "rounds": rounds})
            done = subprocess.run(
                [sys.executable, "-m", "introbot.cli.bench_mailboxes", args],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            servers.stdin.close()
        if done.returncode != 0:
            raise RuntimeError(f"the measured process failed: {done.stderr[-2000:]}")
        return Idle(**json.loads(done.stdout.strip().splitlines()[-1]))


SIZES = (10, 100, TARGET_MAILBOXES)


def many_mailboxes(
    sizes: tuple[int, ...] = SIZES,
    interval: float = 60.0,
    rounds: int = 3,
    store_url: str | None = None,
) -> dict[str, Any]:
    """Each size run in turn (the full bench runs the target's 1,000: nothing extrapolated),
    the stores SQLite files, or mailboxes in the PostgreSQL database at ``store_url``."""
    runs = [asdict(idle_many(n, interval, rounds, store_url)) for n in sizes]
    return {"runs": [run | {"store": "postgresql" if store_url else "sqlite"} for run in runs]}


TARGET = "< 10% of a core, < 300 MB"


def meets_target(cpu_share: float, rss_mb: float) -> bool:
    return cpu_share < 0.10 and rss_mb < 300


def rows(result: dict[str, Any], row: Any) -> list[str]:
    """The table rows (``row`` makes one from cells)."""
    lines = []
    for r in result["runs"]:
        shares = ", ".join(f"{s:.1%}" for s in r.get("interval_cpu_shares", []))
        at_target = r["mailboxes"] >= TARGET_MAILBOXES
        met = meets_target(r["cpu_share"], r["peak_rss_mb"])
        lines.append(
            row(
                f"idle-polling {r['mailboxes']:,} mailboxes in one process "
                f"(every {r['interval_seconds']:.0f} s; {_engine(r)})",
                f"{r['cpu_share']:.1%} of a core (each interval: {shares}), peak RSS "
                f"{r['peak_rss_mb']:.0f} MB (at the end {r['rss_mb']:.0f} MB), "
                f"{r['open_files']} open files ({r['polls']} polls in "
                f"{r['measured_seconds']:.0f} s); /readyz {r.get('readyz_ms', 0):.1f} ms, "
                f"/metrics {r.get('metrics_ms', 0):.0f} ms ({r.get('metrics_kb', 0):.0f} kB)",
                "-",
                "-",
                (TARGET + (": met" if met else ": NOT met")) if at_target else "-",
            )
        )
    return lines


def _engine(run: dict[str, Any]) -> str:
    return "PostgreSQL" if run.get("store") == "postgresql" else "SQLite"


if __name__ == "__main__":  # the measured process (see idle_many)
    spec = json.loads(sys.argv[1])
    idle = measure_here(
        spec["url"],
        spec["tokens"],
        Path(spec["folder"]),
        spec["interval"],
        spec["rounds"],
        spec["store_url"],
    )
    print(json.dumps(asdict(idle)))
