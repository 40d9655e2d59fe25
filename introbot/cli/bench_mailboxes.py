"""``introbot bench --mailboxes``: one process idle-polling many mailboxes, as ``introbot run
--all`` does (the same daemon, apps and polls), each mailbox a sandbox server of its own with
Gmail's per-user limit on, all of them in a second process so that only introbot is measured.

Measured after every mailbox has had its first (full) sync: the CPU the introbot process
spends, as a share of one core, and its memory (RSS), over whole poll intervals. The figure
for more mailboxes than were run is a straight line through the sizes run, said as such.
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TARGET_MAILBOXES = 1000  # the figure: < 10% of a core, < 300 MB
_SERVE = """
import sys
from introbot.sandbox import SandboxServer
from introbot.sandbox.accounting import RateLimitSettings
servers = [
    SandboxServer(user=f"connector{n}@example.com", rate_limit=RateLimitSettings()).start()
    for n in range(int(sys.argv[1]))
]
print("\\n".join(s.url for s in servers), flush=True)
sys.stdin.read()  # until the benchmark closes it
"""


@dataclass
class Idle:
    mailboxes: int
    interval_seconds: float
    measured_seconds: float
    polls: int  # polls that succeeded while measured
    cpu_share: float  # of one core
    rss_mb: float
    peak_rss_mb: float


def _memory_mb(field: str) -> float:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: not measured
        return float("nan")
    line = next(line for line in status.splitlines() if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def measure_here(urls: list[str], folder: Path, interval: float, rounds: int) -> Idle:
    """In this process: serve one account per sandbox as ``introbot run --all`` does, wait
    until each has polled once, then measure ``rounds`` intervals of idle polling."""
    from introbot.app import open_app
    from introbot.cli.intros import _Held, _poll_logged
    from introbot.config import Account
    from introbot.daemon import Mailbox, default_workers, raise_open_files_limit, run_many
    from introbot.settings import Settings
    from introbot.store import StoreLocation

    raise_open_files_limit(64 + 8 * len(urls))
    settings = Settings.of("Sam Rivera")
    with ExitStack() as stack:
        boxes = []
        for n, url in enumerate(urls):
            account = Account(f"m{n}", folder / f"m{n}")
            app = open_app(account, settings, url, store=StoreLocation.sqlite(folder / f"m{n}.db"))
            stack.callback(app.close)
            held = _Held(stack.enter_context(ExitStack()))
            poll = functools.partial(_poll_logged, app, set(), held, False)
            boxes.append(Mailbox(account.name, poll, interval))
        stop = threading.Event()
        daemon = threading.Thread(target=run_many, args=(boxes, default_workers(len(boxes)), stop))
        daemon.start()
        try:
            deadline = time.monotonic() + 10 * interval + 120
            while any(box.polls == 0 for box in boxes) and time.monotonic() < deadline:
                time.sleep(0.2)
            polls, cpu, wall = sum(b.polls for b in boxes), os.times(), time.monotonic()
            time.sleep(rounds * interval)
            polls, cpu_now = sum(b.polls for b in boxes) - polls, os.times()
            seconds = time.monotonic() - wall
            used = (cpu_now.user - cpu.user) + (cpu_now.system - cpu.system)
            rss, peak = _memory_mb("VmRSS"), _memory_mb("VmHWM")
        finally:
            stop.set()
            daemon.join()
    return Idle(len(urls), interval, seconds, polls, used / seconds, rss, peak)


def idle_many(count: int, interval: float = 60.0, rounds: int = 2) -> Idle:
    """``count`` sandbox mailboxes in one process, introbot polling them in another."""
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
            urls = [servers.stdout.readline().strip() for _ in range(count)]
            args = json.dumps({"urls": urls, "folder": tmp, "interval": interval, "rounds": rounds})
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


def many_mailboxes(
    sizes: tuple[int, ...] = (10, 100), interval: float = 60.0, rounds: int = 2
) -> dict[str, Any]:
    runs = [idle_many(n, interval, rounds) for n in sizes]
    small, large = runs[0], runs[-1]
    span = large.mailboxes - small.mailboxes

    def at_target(value: str) -> float:
        a, b = float(getattr(small, value)), float(getattr(large, value))
        per_box = (b - a) / span if span else b / large.mailboxes
        return b + per_box * (TARGET_MAILBOXES - large.mailboxes)

    return {
        "runs": [asdict(r) for r in runs],
        "extrapolated": {
            "mailboxes": TARGET_MAILBOXES,
            "interval_seconds": large.interval_seconds,
            "cpu_share": at_target("cpu_share"),
            "rss_mb": at_target("rss_mb"),
            "from": [r.mailboxes for r in runs],
        },
    }


def rows(result: dict[str, Any], row: Any) -> list[str]:
    """The table rows (``row`` makes one from cells)."""
    lines = []
    for r in result["runs"]:
        lines.append(
            row(
                f"idle-polling {r['mailboxes']} mailboxes in one process "
                f"(every {r['interval_seconds']:.0f} s)",
                f"{r['cpu_share']:.1%} of a core, RSS {r['rss_mb']:.0f} MB "
                f"({r['polls']} polls in {r['measured_seconds']:.0f} s)",
                "-",
                "-",
                "-",
            )
        )
    x = result["extrapolated"]
    lines.append(
        row(
            f"{x['mailboxes']:,} mailboxes (every {x['interval_seconds']:.0f} s), a straight "
            "line through " + " and ".join(str(n) for n in x["from"]),
            f"{x['cpu_share']:.1%} of a core, RSS {x['rss_mb']:.0f} MB (extrapolated)",
            "-",
            "-",
            "< 10% of a core, < 300 MB",
        )
    )
    return lines


if __name__ == "__main__":  # the measured process (see idle_many)
    spec = json.loads(sys.argv[1])
    idle = measure_here(spec["urls"], Path(spec["folder"]), spec["interval"], spec["rounds"])
    print(json.dumps(asdict(idle)))
