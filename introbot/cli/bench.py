"""``introbot bench``: what introbot costs in Gmail quota and time, against a sandbox with
Gmail's per-user rate limit switched on, side by side with a typical label-scanning poller.

Scenarios: an idle poll; one full introduction; a burst of requests labeled at once; growth
(idle and per-intro cost with many finished intros in the store and the mailbox, and the
daemon's peak memory); and the cost of reading mail (messages per second on the corpora,
the 99th percentile and the worst over hostile mail, a 25 MB request). The *baseline* does
what a typical script does each poll: ``messages.list`` on the label, ``messages.get`` on
every result, and ``threads.get`` plus ``messages.get`` on every message of every thread it
follows; it writes the same drafts and labels introbot writes. Nothing here is asserted: it
prints figures.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import click

from introbot.cli.bench_burst import options as burst_options
from introbot.engine import Engine
from introbot.gmail.client import GmailClient
from introbot.gmail.quota import UNITS_PER_USER_PER_SECOND, units
from introbot.model import Intro, Party, Person, RequestRef, Role, Stage
from introbot.rules import load_rules
from introbot.sandbox import SandboxServer
from introbot.sandbox.accounting import RateLimitSettings
from introbot.sandbox.control import SandboxControl, compose_reply
from introbot.settings import Settings
from introbot.store import Store
from introbot.store.postgres import describe, is_postgres_url
from introbot.workflow import threads_to_relabel

SETTINGS = Settings.of("Sam Rivera")
WRITES = (
    "drafts.create",
    "drafts.delete",
    "messages.modify",
    "messages.batchModify",
    "threads.modify",
    "labels.create",
)
# The calls no implementation can avoid for one introduction over four polls: one history
# read per poll, reading the request, writing three drafts, reading two replies, and one
# label change per stage (awaiting, ready, introduced) on one message.
FLOOR = {"history.list": 4, "messages.get": 3, "drafts.create": 3, "messages.modify": 3}


def floor_units() -> int:
    return sum(units(method) * n for method, n in FLOOR.items())


@dataclass
class Cost:
    requests: int = 0
    units: int = 0
    http_requests: int = 0
    rate_limited: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, stats: dict[str, Any]) -> Cost:
        return cls(
            stats["requests"],
            stats["quota_units"],
            stats["http_requests"],
            stats["rate_limited"],
            dict(stats["by_method"]),
        )

    def writes(self) -> int:
        return sum(units(m) * n for m, n in self.by_method.items() if m in WRITES)


# --------------------------------------------------------------------- the world
def request_bytes(n: int, contact: str = "dana@northwind.example") -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = "mx.google.com; dmarc=pass header.from=tidepool.io"
    msg["From"] = f"Requester {n} <requester{n}@tidepool.io>"
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = f"Could you introduce me to Dana? ({n})"
    msg["Message-ID"] = make_msgid(domain="tidepool.io")
    ask = f"Could you introduce me to Dana Whitfield ({contact})? We build sensors."
    msg.set_content(f"Hi Sam,\n\n{ask}\n\nThanks\n")
    return msg.as_bytes()


class Bench:
    """A sandbox, a database and an engine: the same code a user runs, on 127.0.0.1."""

    def __init__(self, folder: Path, rate_limited: bool = True) -> None:
        limit = RateLimitSettings() if rate_limited else None
        self.server = SandboxServer(rate_limit=limit).start()
        self.control = SandboxControl(self.server.url, timeout=120)
        self.db = folder / f"bench-{time.monotonic_ns()}.db"
        self.client = GmailClient.for_sandbox(self.server.url)
        self.store = Store(self.db)
        self.engine = Engine(self.client, self.store, SETTINGS, load_rules())
        self.now = datetime.now(UTC)
        self.followed: set[str] = set()  # threads the baseline poller follows

    def close(self) -> None:
        self.client.close()
        self.store.close()
        self.server.stop()

    def poll(self) -> None:
        self.now += timedelta(seconds=30)
        self.engine.poll(self.now)

    @contextmanager
    def counting(self) -> Iterator[Cost]:
        cost = Cost()
        self.control.reset_stats()
        yield cost
        measured = Cost.of(self.control.stats())
        cost.__dict__.update(measured.__dict__)

    def send_all(self) -> None:
        for draft in self.control.mailbox()["drafts"]:
            self.control.send_draft(draft["id"])
            self.followed.add(draft["threadId"])

    def answer(self, address: str, sender: str, text: str) -> None:
        box = self.control.mailbox()["messages"]
        sent = [
            m for m in box if "SENT" in m["labelIds"] and address in m["headers"].get("To", "")
        ][-1]
        self.control.deliver(compose_reply(sent, sender, text, at=self.now))

    def deliver_request(self, n: int) -> str:
        delivered = self.control.deliver(request_bytes(n))
        self.control.label_thread(delivered["threadId"], add=("intro-request",))
        self.followed.add(delivered["threadId"])
        return delivered["threadId"]

    # ---------------------------------------------------------- the baseline
    def baseline_poll(self) -> Cost:
        """What a typical script's poll costs on this mailbox now: list the label (100 a
        page), get every result, get every thread it follows and every message in it.
        Computed from the mailbox rather than run, so it needs no quota to measure."""
        box = self.control.mailbox()
        labeled = [m for m in box["messages"] if "intro-request" in m["labelIds"]]
        sizes: dict[str, int] = {}
        for message in box["messages"] + box["drafts"]:
            sizes[message["threadId"]] = sizes.get(message["threadId"], 0) + 1
        pages = max(1, -(-len(labeled) // 100))
        followed = [sizes.get(t, 0) for t in self.followed if t in sizes]
        gets = len(labeled) + sum(followed)
        calls = {"messages.list": pages, "messages.get": gets, "threads.get": len(followed)}
        return Cost(
            requests=sum(calls.values()),
            units=sum(units(method) * n for method, n in calls.items()),
            by_method=calls,
        )


# ----------------------------------------------------------------- scenarios
@dataclass
class Lifecycle:
    introbot: Cost
    baseline_units: int
    floor: int


def lifecycle(bench: Bench) -> Lifecycle:
    """One introduction, request to introduced: four polls."""
    bench.poll()  # warm-up: labels exist, the cursor is set
    baseline = 0

    def both_say_yes() -> None:
        bench.answer(
            "requester0@tidepool.io", "Requester 0 <requester0@tidepool.io>", "Yes please!"
        )
        bench.answer(
            "dana@northwind.example", "Dana Whitfield <dana@northwind.example>", "Yes, happy to."
        )

    steps: list[Callable[[], object]] = [
        lambda: bench.deliver_request(0),
        bench.send_all,
        both_say_yes,
        bench.send_all,
    ]
    total = Cost()
    for act in steps:
        act()
        with bench.counting() as cost:
            bench.poll()
        total = _add(total, cost)
        baseline += bench.baseline_poll().units
    return Lifecycle(total, baseline + total.writes(), floor_units())


def _add(a: Cost, b: Cost) -> Cost:
    methods = dict(a.by_method)
    for m, n in b.by_method.items():
        methods[m] = methods.get(m, 0) + n
    return Cost(
        a.requests + b.requests,
        a.units + b.units,
        a.http_requests + b.http_requests,
        a.rate_limited + b.rate_limited,
        methods,
    )


def idle(bench: Bench) -> tuple[Cost, Cost]:
    with bench.counting() as cost:
        bench.poll()
    return cost, bench.baseline_poll()


@dataclass
class Burst:
    requests: int
    seconds: float
    units: int
    units_per_second: float
    share_of_limit: float
    rate_limited: int
    baseline_units: int
    baseline_seconds_at_limit: float


def burst(bench: Bench, n: int) -> Burst:
    bench.poll()
    for i in range(n):
        bench.deliver_request(i)
    with bench.counting() as cost:
        start = time.monotonic()
        while len(bench.control.mailbox()["drafts"]) < 2 * n:
            bench.poll()
        seconds = time.monotonic() - start
    baseline_reads = bench.baseline_poll().units
    rate = cost.units / seconds if seconds else 0.0
    baseline = baseline_reads + cost.writes()
    return Burst(
        n,
        seconds,
        cost.units,
        rate,
        rate / UNITS_PER_USER_PER_SECOND,
        cost.rate_limited,
        baseline,
        baseline / UNITS_PER_USER_PER_SECOND,
    )


@dataclass
class Growth:
    finished: int
    idle_units: int
    idle_requests: int
    intro_units: int
    baseline_idle_units: int
    peak_rss_mb: float


def grow(bench: Bench, n: int) -> None:
    """n finished introductions: labeled threads in the mailbox, intros in the store."""
    box = bench.server.sandbox.mailbox
    with bench.server.sandbox.lock:
        labels = [
            box.ensure_label(name).id for name in ("INBOX", "intro-request", "introbot/introduced")
        ]
        threads = []
        for i in range(n):
            message = box.add_message(
                request_bytes(100_000 + i, f"contact{i}@corp{i}.example"), labels
            )
            threads.append((message.id, message.thread_id))
    with bench.store.transaction():
        for i, (message_id, thread_id) in enumerate(threads):
            requester = Person(f"Requester {i}", f"requester{100_000 + i}@tidepool.io")
            contact = Person(f"Contact {i}", f"contact{i}@corp{i}.example")
            intro = Intro(
                id=f"g{i:06d}",
                request=RequestRef(thread_id, message_id, None, "Intro", requester, "direct"),
                requester=Party(Role.REQUESTER, requester),
                contact=Party(Role.CONTACT, contact),
                context="",
                order=bench.engine.workflow_rules().order,
                stage=Stage.INTRODUCED,
                created_at=bench.now,
                closed_at=bench.now,
            )
            bench.store.save(intro, (), bench.now, relabel=threads_to_relabel(intro))
        bench.store.mark_labelled(bench.store.dirty_threads())
    bench.followed.update(t for _, t in threads)


# `introbot ARGS...`, run as `python -m introbot` does, then the process's peak memory.
_MEASURED_POLL = """
import runpy, sys
sys.argv[0] = "introbot"
try:
    runpy.run_module("introbot", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    status = open("/proc/self/status").read()
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    print("PEAK_KB", peak, file=sys.stderr)
"""


def peak_rss_mb(bench: Bench) -> float:
    """The peak memory of a real `introbot poll` process on this database. Read from the
    process's own high-water mark after exec: the rusage of a forked child would also
    count the pages of the (large) benchmark process it was forked from."""
    bench.store.checkpoint()
    args = ["poll", "--sandbox", bench.server.url, "--db", str(bench.db), "--name", "Sam Rivera"]
    env = {**os.environ, "INTROBOT_CONFIG_DIR": str(bench.db.parent / "config")}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED_POLL, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    return int(peaks[-1]) / 1024 if peaks else float("nan")


def growth(folder: Path, n: int) -> Growth:
    bench = Bench(folder)
    try:
        bench.poll()  # labels, cursor
        grow(bench, n)
        bench.control.expire_history()  # the daemon starts over these: a full sync, once
        bench.poll()
        idle_cost, baseline = idle(bench)
        intro = lifecycle(bench)
        rss = peak_rss_mb(bench)
        return Growth(
            n, idle_cost.units, idle_cost.requests, intro.introbot.units, baseline.units, rss
        )
    finally:
        bench.close()


# ------------------------------------------------------------------- reading cost
REPO = Path(__file__).resolve().parents[2]
CORPORA = ("tests/corpus/requests", "tests/corpus/replies")
HOSTILE = "tests/hostile/messages"
_HEAD = (
    "From: Alex Kim <alex.kim@tidepool.io>\r\nTo: Sam Rivera <connector@example.com>\r\n"
    "Subject: Intro to Dana?\r\nMessage-ID: <bench@tidepool.io>\r\n"
)
_ASK = "Hi Sam,\r\n\r\nCould you introduce me to Dana Whitfield (dana@northwind.example)?\r\n\r\n"


def _mail(content_type: str, body: str, extra: str = "") -> bytes:
    return (_HEAD + extra + f"Content-Type: {content_type}\r\n\r\n" + body).encode("utf-8")


def shapes(big: int) -> list[tuple[str, bytes]]:
    """The messages issue 12 found slow or fatal, made here (the largest are not kept in
    the repository); ``big`` is the size of the largest, in bytes (25 MB)."""
    lines = "short line of text\r\n"
    divs = '<div style="color:#333">' * 14_000 + _ASK + "</div>" * 14_000
    bordered = '<div style="border-top:solid #ccc 1pt">' * 5_000 + "From: x</div>" * 5_000
    attachment = "A" * 76 + "\r\n"
    return [
        ("14k nested styled divs", _mail("text/html; charset=utf-8", divs)),
        ("5k nested bordered divs", _mail("text/html; charset=utf-8", bordered)),
        ("11 MB request of short lines", _mail("text/plain", _ASK + lines * (11 * 2**20 // 20))),
        ("25 MB attachment", _mail(
            'multipart/mixed; boundary="b"',
            f"--b\r\nContent-Type: text/plain\r\n\r\n{_ASK}--b\r\nContent-Type: application/pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + attachment * (big // 78) + "--b--\r\n",
        )),
        ("postmaster, =?\u00fc?q?x?=", _mail(
            "text/plain", "Undeliverable.\r\n",
            "Reply-To: =?\u00fc?q?x?= Postmaster <postmaster@evil.example>\r\n",
        )),
        ("empty domain labels", _mail(
            "text/plain", _ASK.replace("northwind.example", "northwind..io"),
            "Cc: Dana <x@.y.io>\r\n",
        )),
        ("lines that all end in a colon", _mail("text/plain", _ASK + "On it:\r\n" * 20_000)),
        ("100k nested divs", _mail("text/html", "<div>" * 100_000 + _ASK + "</div>" * 100_000)),
    ]  # fmt: skip


def at_the_caps() -> list[tuple[str, bytes]]:
    """The costliest messages that are still read in full (just within the caps of
    reading/: HTML tags checked, lines of a reply read): beyond them, reading is rough
    and cheap. Timed apart from the sample set above (the issue's shapes and the hostile
    corpus), to show what the caps bound."""
    from introbot.reading.html_text import MAX_TAGS
    from introbot.reading.quotes import MAX_LINES

    para = "<p class=MsoNormal><span style='font-size:11.0pt'>Words of the thread, {}.</span></p>"
    paragraphs = "\r\n".join(para.format(n) for n in range(MAX_TAGS // 4 - 2))
    styled = '<span style="color:#333">x</span>' * (MAX_TAGS // 2 - 1)
    lines = "a line with a 1 and : in it\r\n" * (MAX_LINES - 1)
    return [
        (f"Outlook-like HTML, {MAX_TAGS:,} tags", _mail("text/html", "<p>Yes.</p>" + paragraphs)),
        (f"{MAX_TAGS // 2:,} styled spans", _mail("text/html", styled)),
        (f"{MAX_LINES} lines with digits and colons", _mail("text/plain", "Yes.\r\n" + lines)),
    ]


def _timed(raw: bytes, phrases: Any, as_reply: bool = True) -> float:
    return _timed_both(raw, phrases, as_reply)[0]


def _timed_both(raw: bytes, phrases: Any, as_reply: bool = True) -> tuple[float, float]:
    """Seconds to read one message: wall time, and this process's CPU time (on a shared
    machine the wall time also counts the time spent waiting for a core)."""
    from introbot.reading.mime import read_mail
    from introbot.reading.replies import read_reply
    from introbot.reading.requests import read_request

    start, cpu = time.perf_counter(), time.process_time()
    mail = read_mail(raw)
    read_request(mail, ["connector@example.com"], phrases)
    if as_reply:
        read_reply(mail, phrases)
    return time.perf_counter() - start, time.process_time() - cpu


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0  # linear, lower


def _eml(folder: str) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted((REPO / folder).rglob("*.eml"))]


def reading(big: int = 25 * 2**20) -> dict[str, Any]:
    """Time to read each message as a request and as a reply (mime, requests, replies):
    messages per second over the corpora; the 99th percentile and the worst over the
    hostile corpus and the shapes of issue 12; a request of ``big`` bytes of short lines.
    Corpora are read from a source checkout (tests/); without one, only the shapes."""
    from introbot.reading.mime import read_mail
    from introbot.reading.replies import read_reply
    from introbot.rules import default_phrases

    phrases = default_phrases()
    for language in phrases.languages:  # compiled once per process, not per message
        phrases.consent(language)
    read_reply(read_mail(_mail("text/html", "<p>Yes</p>")), phrases)
    corpus = [m for folder in CORPORA for m in _eml(folder)]
    start = time.perf_counter()
    for _, raw in corpus:
        _timed(raw, phrases)
    corpus_seconds = time.perf_counter() - start
    samples = [(*_timed_both(raw, phrases), name) for name, raw in [*_eml(HOSTILE), *shapes(big)]]
    times = sorted(((wall, name) for wall, _, name in samples), reverse=True)
    p99 = _p99([wall for wall, _, _ in samples])
    p99_cpu = _p99([cpu for _, cpu, _ in samples])
    lines = "short line of text\r\n" * (big // 20)
    request_seconds = _timed(_mail("text/plain", _ASK + lines), phrases, as_reply=False)
    capped = sorted(((_timed(raw, phrases), name) for name, raw in at_the_caps()), reverse=True)
    return {
        "corpus_messages": len(corpus),
        "messages_per_second": len(corpus) / corpus_seconds if corpus_seconds else 0.0,
        "hostile_messages": len(times),
        "p99_seconds": p99,
        "p99_cpu_seconds": p99_cpu,
        "worst_cpu_seconds": max((cpu for _, cpu, _ in samples), default=0.0),
        "worst_seconds": times[0][0] if times else 0.0,
        "worst": times[0][1] if times else "",
        "slowest": [[name, seconds] for seconds, name in times[:5]],
        "big_request_bytes": big,
        "big_request_seconds": request_seconds,
        "at_the_caps": [[name, seconds] for seconds, name in capped],
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,  # Windows
    }


# ---------------------------------------------------------------------- running
def run(
    burst_size: int = 1000, sizes: tuple[int, ...] = (100, 1000, 10_000), big: int = 25 * 2**20
) -> dict[str, Any]:
    read = reading(big)
    with tempfile.TemporaryDirectory(prefix="introbot-bench-") as tmp:
        folder = Path(tmp)
        bench = Bench(folder)
        try:
            one = lifecycle(bench)
            idle_cost, idle_baseline = idle(bench)
        finally:
            bench.close()
        bench = Bench(folder)
        try:
            flood = burst(bench, burst_size)
        finally:
            bench.close()
        grown = [growth(folder, n) for n in sizes]
    return {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
        },
        "idle": {"introbot": asdict(idle_cost), "baseline": asdict(idle_baseline)},
        "lifecycle": {
            "introbot": asdict(one.introbot),
            "units": one.introbot.units,
            "floor": one.floor,
            "ratio_to_floor": one.introbot.units / one.floor,
            "baseline_units": one.baseline_units,
        },
        "burst": asdict(flood),
        "growth": [asdict(g) for g in grown],
        "reading": read,
    }


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def table(result: dict[str, Any]) -> str:
    idle_i, idle_b = result["idle"]["introbot"], result["idle"]["baseline"]
    life = result["lifecycle"]
    flood = result["burst"]
    m = result["machine"]
    rows = [
        f"introbot bench - {m['system']}, {m['cores']} cores, Python {m['python']}; "
        "sandbox with Gmail's per-user limit on",
        "",
        _row("scenario", "introbot", "baseline poller", "introbot / baseline", "target"),
        _row("---", "---", "---", "---", "---"),
        _row(
            "idle poll",
            f"{idle_i['requests']} request, {idle_i['units']} units",
            f"{idle_b['requests']} requests, {idle_b['units']} units",
            _ratio(idle_i["units"], idle_b["units"]),
            "1 request, 2 units",
        ),
        _row(
            "one introduction",
            f"{life['units']} units ({life['ratio_to_floor']:.2f}x the floor of {life['floor']})",
            f"{life['baseline_units']} units",
            _ratio(life["units"], life["baseline_units"]),
            "<= 100 units",
        ),
        _row(
            f"burst of {flood['requests']} requests",
            f"{flood['seconds']:.0f} s, {flood['units_per_second']:.0f} units/s = "
            f"{flood['share_of_limit']:.0%} of 250/s, {flood['rate_limited']} x 429",
            f"{flood['baseline_units']} units: "
            f">= {flood['baseline_seconds_at_limit']:.0f} s at the limit",
            _ratio(flood["units"], flood["baseline_units"]),
            ">= 80% of the limit, 0 x 429",
        ),
    ]
    for g in result["growth"]:
        rows.append(
            _row(
                f"{g['finished']:,} finished intros",
                f"idle {g['idle_units']} units, one intro {g['intro_units']} units, "
                f"peak RSS {g['peak_rss_mb']:.0f} MB",
                f"idle {g['baseline_idle_units']:,} units",
                f"{_ratio(g['idle_units'], g['baseline_idle_units'])} (idle)",
                "flat; < 150 MB",
            )
        )
    rows += _reading_rows(result["reading"])
    return "\n".join(rows)


def reading_table(read: dict[str, Any]) -> str:
    """The reading rows alone (``introbot bench --reading``)."""
    load = read["load_average"]
    rows = [
        f"introbot bench --reading - {platform.system()}, {os.cpu_count()} cores, "
        f"load {'unknown' if load is None else f'{load:.1f}'}",
        "",
        _row("scenario", "introbot", "baseline poller", "introbot / baseline", "target"),
        _row("---", "---", "---", "---", "---"),
        *_reading_rows(read),
        "",
        "slowest: " + "; ".join(f"{name} {s * 1000:.0f} ms" for name, s in read["slowest"]),
    ]
    return "\n".join(rows)


def _reading_rows(read: dict[str, Any]) -> list[str]:
    size = read["big_request_bytes"] / 2**20
    caps: list[list[Any]] = read.get("at_the_caps") or [["-", 0.0]]
    worst_capped = max(caps, key=lambda item: float(item[1]))
    return [
        _row(
            f"reading the corpora ({read['corpus_messages']} messages)",
            f"{read['messages_per_second']:.0f} messages/s (each as a request and a reply)",
            "-",
            "-",
            "-",
        ),
        _row(
            f"reading hostile mail and issue 12's shapes ({read['hostile_messages']})",
            f"p99 {read['p99_seconds'] * 1000:.0f} ms, worst {read['worst_seconds'] * 1000:.0f} ms"
            f" ({read['worst']}); CPU p99 {read.get('p99_cpu_seconds', 0.0) * 1000:.0f} ms,"
            f" worst {read.get('worst_cpu_seconds', 0.0) * 1000:.0f} ms",
            "-",
            "-",
            "p99 <= 50 ms, worst <= 1 s",
        ),
        _row(
            "the costliest mail still read in full (just within the caps)",
            f"{float(worst_capped[1]) * 1000:.0f} ms ({worst_capped[0]})",
            "-",
            "-",
            "-",
        ),
        _row(
            f"a {size:.0f} MB request of short lines",
            f"{read['big_request_seconds']:.2f} s",
            "-",
            "-",
            "<= 2 s (25 MB)",
        ),
    ]


def mailboxes_table(
    quick: bool, store_url: str | None = None, sizes: tuple[int, ...] = ()
) -> dict[str, Any]:
    """``introbot bench --mailboxes``: its figures, and a table of them under "table"; the
    stores SQLite files, or mailboxes in the PostgreSQL database at ``store_url``."""
    from introbot.cli import bench_mailboxes

    click.echo("Idle-polling many mailboxes (one sandbox; minutes unless --quick)...", err=True)
    if quick:
        many = bench_mailboxes.many_mailboxes(sizes or (2, 4), 1.0, 3, store_url)
    else:
        interval = float(SETTINGS.daemon.poll_interval_seconds)
        many = bench_mailboxes.many_mailboxes(
            sizes or bench_mailboxes.SIZES, interval, store_url=store_url
        )
    where = f"stores in {describe(store_url)}" if store_url else "SQLite stores"
    title = (
        f"introbot bench --mailboxes - {_machine()}, {datetime.now(UTC):%Y-%m-%d}; one sandbox "
        f"serving every mailbox, Gmail's per-user limit on; {where}"
    )
    rows = [title, *_TABLE_HEAD, *bench_mailboxes.rows(many, _row)]
    return {**many, "table": "\n".join(rows)}


def _machine() -> str:
    """What a bench title says of the machine the figures came from."""
    return f"{platform.system()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def burst_table(quick: bool, **options: Any) -> dict[str, Any]:
    """``introbot bench --burst``: its figures, and a table of them under "table"."""
    from introbot.cli import bench_burst

    click.echo("A burst worked by 1, 2 and 4 replicas (minutes unless --quick)...", err=True)
    result = bench_burst.from_options(quick, options)
    title = (
        f"introbot bench --burst - {_machine()}; one sandbox serving every mailbox, "
        f"each with a quota of {result['quota_units_per_minute']:,} units a minute"
    )
    rows = [title, *_TABLE_HEAD, *bench_burst.rows(result, _row)]
    return {**result, "table": "\n".join(rows)}


# A table's head: a blank line under its title, the column names, the separator.
_TABLE_HEAD = (
    "",
    _row("scenario", "introbot", "baseline poller", "introbot / baseline", "target"),
    _row("---", "---", "---", "---", "---"),
)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.UsageError(f"--sizes takes numbers (10,100), not {text!r}") from None
    if any(n < 1 for n in sizes):
        raise click.UsageError("--sizes: each run needs at least one mailbox")
    return sizes


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "-"


@click.command("bench")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--quick", is_flag=True, help="Tiny sizes (seconds, not minutes): to check it runs.")
@click.option("--reading", "reading_only", is_flag=True, help="Only the cost of reading mail.")
@click.option(
    "--mailboxes",
    "mailboxes_only",
    is_flag=True,
    help="Only one process idle-polling 10, 100, then 1,000 mailboxes (CPU and memory; "
    "about 13 minutes).",
)
@click.option(
    "--sizes",
    metavar="N,N,...",
    default="",
    help="With --mailboxes: how many mailboxes each run has (default 10,100,1000).",
)
@burst_options
def command(
    as_json: bool, quick: bool, reading_only: bool, mailboxes_only: bool, sizes: str, **burst: Any
) -> None:
    """Measure Gmail quota and time against a rate-limited sandbox, beside a typical poller."""
    store_url = burst.get("store")  # --mailboxes: the stores there, else SQLite files
    if sizes and not mailboxes_only:
        raise click.UsageError("--sizes goes with --mailboxes")
    if mailboxes_only and store_url and not is_postgres_url(store_url):
        raise click.UsageError(f"--store takes a postgresql:// URL, not {store_url!r}")
    if burst["burst_only"]:
        result = burst_table(quick, **burst)
        click.echo(json.dumps(result, indent=1) if as_json else result["table"])
        return
    if mailboxes_only:
        many = mailboxes_table(quick, store_url, _sizes(sizes))
        click.echo(json.dumps(many, indent=1) if as_json else many["table"])
        return
    if reading_only:
        read = reading(2 * 2**20 if quick else 25 * 2**20)
        click.echo(json.dumps(read, indent=1) if as_json else reading_table(read))
        return
    click.echo(
        "Running the benchmark (a sandbox on 127.0.0.1; minutes unless --quick)...", err=True
    )
    result = run(burst_size=20, sizes=(10, 50), big=2 * 2**20) if quick else run()
    click.echo(json.dumps(result, indent=1) if as_json else table(result))


if __name__ == "__main__":
    command(sys.argv[1:])
