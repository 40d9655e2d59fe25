"""What ``introbot run`` tells a service manager and a monitor over HTTP (``[daemon] http``
or ``--http``): ``/healthz`` (the process and its scheduler are alive, no poll stuck),
``/readyz`` (the store answers and a mailbox polled well recently: the rule is
:meth:`Health.readiness`'s) and ``/metrics`` in Prometheus' text format (version 0.0.4):
polls, Gmail quota units, errors, intros by state, per mailbox.

The standard library's HTTP server in a thread of its own: what it answers is what the poll
threads recorded (a scrape only reads), plus the store check of ``/readyz``: one statement per
database, never one per mailbox, so a probe costs the same for one mailbox or a thousand.
Series are labelled by account (or mailbox) name, never by an address. One :class:`Health`
per process, one :class:`AccountHealth` per mailbox it works.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from introbot.gmail.errors import AuthExpired, GmailError
from introbot.settings import split_host_port

if TYPE_CHECKING:
    from introbot.app import App

log = logging.getLogger(__name__)

STALL_SECONDS = 900.0  # a poll running longer than this is wedged: /healthz fails
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
StoreCheck = Callable[[], str | None]  # None when reachable, else why not
Sample = tuple[str, dict[str, str], float]  # family, labels, value

#: The metric families, in the order /metrics lists them: name -> (type, help).
FAMILIES = {
    "introbot_start_time_seconds": ("gauge", "When the daemon started (epoch seconds)."),
    "introbot_healthy": ("gauge", "1 when /healthz answers 200."),
    "introbot_ready": ("gauge", "1 when /readyz answers 200."),
    "introbot_polls_total": ("counter", "Polls finished, by outcome."),
    "introbot_poll_seconds_total": ("counter", "Time spent polling."),
    "introbot_errors_total": ("counter", "Failed polls, by kind of failure."),
    "introbot_poll_running_seconds": ("gauge", "How long the poll in progress has run (0: none)."),
    "introbot_signed_in": ("gauge", "1 while Gmail accepts the sign-in."),
    "introbot_last_success_timestamp_seconds": ("gauge", "When the last good poll ended."),
    "introbot_gmail_units_total": ("counter", "Gmail quota units spent, by method."),
    "introbot_gmail_calls_total": ("counter", "Gmail API calls, by method."),
    "introbot_intros": ("gauge", "Intros by state (the Gmail label's name)."),
    "introbot_intros_needing_attention": ("gauge", "Intros waiting for you."),
    "introbot_mailboxes": ("gauge", "Mailboxes served, by how their polls are going."),
    # Replicas sharing one store (issue 16): 1 while this process holds a mailbox's lease.
    "introbot_lease_owned": ("gauge", "1 while this process holds the mailbox's lease."),
}


ERROR_KINDS = ("gmail", "sign_in", "store", "other")
#: How a mailbox's polls are going (``introbot_mailboxes{state}``); only "ok" counts as ready.
STATES = ("ok", "signed_out", "store_failing", "stale", "not_polled")


def failure_kind(exc: BaseException) -> str:
    """Which of :data:`ERROR_KINDS` a failed poll was."""
    from introbot.store import is_store_failure

    if isinstance(exc, AuthExpired):
        return "sign_in"
    if isinstance(exc, GmailError):
        return "gmail"
    return "store" if is_store_failure(exc) else "other"


@dataclass
class AccountHealth:
    """One mailbox's polls as its poll thread saw them (each mailbox its own: nothing here
    is shared between two)."""

    name: str
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    polls: Counter[str] = field(default_factory=Counter)  # "ok", "failed"
    errors: Counter[str] = field(default_factory=Counter)  # ERROR_KINDS
    poll_seconds: float = 0.0
    signed_in: bool | None = None  # None: no poll has reached Gmail yet
    store_failed: bool = False  # its last poll failed on its store
    polling_since: float | None = None  # monotonic: when the poll in progress began
    last_success: float | None = None  # monotonic
    last_success_at: float | None = None  # epoch seconds
    last_error: str | None = None
    units: dict[str, int] = field(default_factory=dict)  # Gmail quota units by method
    calls: dict[str, int] = field(default_factory=dict)
    intros: dict[str, int] = field(default_factory=dict)  # by state (the Gmail label names)
    attention: int = 0

    def started(self, now: float) -> None:
        with self.lock:
            self.polling_since = now

    def succeeded(self, seconds: float, now: float) -> None:
        with self.lock:
            self.polls["ok"] += 1
            self.poll_seconds += seconds
            self.polling_since = None
            self.signed_in = True
            self.store_failed = False
            self.last_success, self.last_success_at = now, time.time()
            self.last_error = None

    def failed(self, exc: BaseException, seconds: float) -> None:
        kind = failure_kind(exc)
        with self.lock:
            self.polls["failed"] += 1
            self.errors[kind] += 1
            self.poll_seconds += seconds
            self.polling_since = None
            if kind == "sign_in":
                self.signed_in = False
            self.store_failed = kind == "store"
            self.last_error = f"{type(exc).__name__}: {exc}"

    def state(self, now: float, stale_after: float) -> tuple[str, str]:
        """(one of :data:`STATES`, why it is not "ok", for /readyz)."""
        with self.lock:
            signed_in, last, error = self.signed_in, self.last_success, self.last_error
            store_failed = self.store_failed
        if signed_in is False:
            return "signed_out", f"{self.name}: Gmail refuses the sign-in ({error})"
        if store_failed:
            return "store_failing", f"{self.name}: its last poll failed on its store ({error})"
        if last is None:
            return "not_polled", f"{self.name}: no poll has succeeded yet"
        if now - last >= stale_after:
            why = f": {error}" if error else ""
            return "stale", f"{self.name}: last good poll {now - last:.0f} s ago{why}"
        return "ok", ""

    def samples(self, now: float) -> list[Sample]:
        """This mailbox's series for /metrics, read at one instant."""
        with self.lock:
            mine = {"account": self.name}
            out: list[Sample] = [
                ("introbot_polls_total", mine | {"outcome": outcome}, self.polls[outcome])
                for outcome in ("ok", "failed")
            ]
            out.append(("introbot_poll_seconds_total", mine, self.poll_seconds))
            out += [
                ("introbot_errors_total", mine | {"kind": kind}, self.errors[kind])
                for kind in ERROR_KINDS
            ]
            since = self.polling_since
            running = 0.0 if since is None else now - since
            out.append(("introbot_poll_running_seconds", mine, running))
            out.append(("introbot_signed_in", mine, int(bool(self.signed_in))))
            if self.last_success_at is not None:
                out.append(("introbot_last_success_timestamp_seconds", mine, self.last_success_at))
            for family, counts in (
                ("introbot_gmail_units_total", self.units),
                ("introbot_gmail_calls_total", self.calls),
            ):
                out += [(family, mine | {"method": m}, counts[m]) for m in sorted(counts)]
            out += [
                ("introbot_intros", mine | {"state": state}, self.intros[state])
                for state in sorted(self.intros)
            ]
            out.append(("introbot_intros_needing_attention", mine, self.attention))
            return out

    def observe(
        self,
        units: Mapping[str, int],
        calls: Mapping[str, int],
        intros: Mapping[str, int],
        attention: int,
    ) -> None:
        """What the poll thread counted: the client's totals and the store's intros."""
        with self.lock:
            self.units, self.calls = dict(units), dict(calls)
            self.intros, self.attention = dict(intros), attention


@dataclass
class Health:
    """The daemon's vital signs, for ``/healthz``, ``/readyz`` and ``/metrics``."""

    interval: float
    store_check: StoreCheck = lambda: None
    clock: Callable[[], float] = time.monotonic
    # Lease ownership (mailbox -> held by this process), when replicas share a store.
    leases: Callable[[], Mapping[str, bool]] | None = None
    started_at: float = field(default_factory=time.time)
    booted: float = 0.0  # the clock's reading at the start
    accounts: dict[str, AccountHealth] = field(default_factory=dict)
    last_tick: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.booted = self.clock()

    def account(self, name: str) -> AccountHealth:
        with self.lock:
            return self.accounts.setdefault(name, AccountHealth(name))

    def _every(self) -> list[AccountHealth]:
        with self.lock:
            return list(self.accounts.values())

    @property
    def stale_after(self) -> float:
        """A poll older than this is no longer "recent"; a scheduler silent this long is dead."""
        return max(3 * self.interval, 120.0)

    def tick(self) -> None:
        """The scheduler ran its job (called by the daemon at each tick)."""
        self.last_tick = self.clock()

    def watch(
        self, poll: Callable[[], None], account: str, after: Callable[[AccountHealth], None]
    ) -> Callable[[], None]:
        """``poll`` that records each outcome for ``account``; ``after`` runs in the poll's
        thread after a poll that succeeded (to count intros, read the client's units)."""
        health = self.account(account)

        def watched() -> None:
            started = self.clock()
            health.started(started)
            try:
                poll()
            except BaseException as exc:
                health.failed(exc, self.clock() - started)
                raise
            health.succeeded(self.clock() - started, self.clock())
            try:
                after(health)
            except Exception:  # counting must never stop the daemon
                log.exception("health: counting after the poll failed")

        return watched

    # ------------------------------------------------------------------- the probes
    def liveness(self) -> list[str]:
        """Why the process is not alive ([] when it is): a poll of some mailbox has run
        longer than :data:`STALL_SECONDS` (each mailbox's own poll is timed), or the
        scheduler has not run for ``stale_after``."""
        now = self.clock()
        running = [(a.polling_since, a.name) for a in self._every() if a.polling_since is not None]
        if running:
            since, name = min(running)
            stall = max(STALL_SECONDS, self.stale_after)
            if now - since >= stall:
                return [f"{name}: a poll has run for {now - since:.0f} s"]
            return []
        if self.last_tick is None:
            return [] if now - self.booted < self.stale_after else ["the scheduler never ran"]
        if now - self.last_tick >= self.stale_after:
            return [f"the scheduler last ran {now - self.last_tick:.0f} s ago"]
        return []

    def states(self) -> list[tuple[AccountHealth, str, str]]:
        """Each mailbox, its state (:data:`STATES`) and why it is not "ok"."""
        now, stale = self.clock(), self.stale_after
        return [(a, *a.state(now, stale)) for a in self._every()]

    def readiness(self, shown: int = 10) -> list[str]:
        """Why the daemon is not ready ([] when it is). Ready when all of:

        - it is alive (:meth:`liveness`);
        - its store answers (``store_check``: one statement per database, however many
          mailboxes it holds; an SQLite file is judged by its mailbox's polls instead);
        - at least one mailbox polls well: Gmail takes its sign-in, its last poll did not
          fail on its store, and its last good poll ended less than ``stale_after`` ago
          (three intervals, at least two minutes).

        Read from what the polls recorded, never opening a mailbox's database. A process
        serving one mailbox is ready while that one is; one serving many stays ready while
        any is, so that one mailbox signed out does not take a replica out of service (nor
        stall a rolling update): which mailboxes are not well is in ``/metrics``
        (``introbot_mailboxes{state}``, and per mailbox). When not ready, the reasons name
        the first ``shown`` mailboxes."""
        reasons = self.liveness()
        store = self.store_check()
        if store is not None:
            reasons.append(store)
        states = self.states()
        if not states:
            reasons.append("no account polled yet")
        elif not any(state == "ok" for _, state, _ in states):
            reasons += [why for _, _, why in states[:shown]]
            if len(states) > shown:
                reasons.append(f"... and {len(states) - shown} more mailboxes, none polled well")
        return reasons

    # ------------------------------------------------------------------- /metrics
    def metrics(self) -> str:
        """Every family of :data:`FAMILIES`, in order, with the samples it has now."""
        samples: list[Sample] = [
            ("introbot_start_time_seconds", {}, self.started_at),
            ("introbot_healthy", {}, 0 if self.liveness() else 1),
            ("introbot_ready", {}, 0 if self.readiness() else 1),
        ]
        now = self.clock()
        counts = Counter(state for _, state, _ in self.states())
        samples += [("introbot_mailboxes", {"state": state}, counts[state]) for state in STATES]
        for health in sorted(self._every(), key=lambda a: a.name):
            samples += health.samples(now)
        if self.leases is not None:
            for mailbox, held in sorted(self.leases().items()):
                samples.append(("introbot_lease_owned", {"mailbox": mailbox}, int(held)))
        return exposition(samples)


def exposition(samples: Iterable[Sample]) -> str:
    """Prometheus' text format: per family ``# HELP``, ``# TYPE``, then its samples
    (``name{label="value"} number``); a family with no sample yet is still declared, except
    the leases', which only a process with leases has."""
    by_family: dict[str, list[Sample]] = {}
    for sample in samples:
        by_family.setdefault(sample[0], []).append(sample)
    lines = []
    for name, (kind, help_text) in FAMILIES.items():
        if name == "introbot_lease_owned" and name not in by_family:
            continue
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for _, labels, value in by_family.get(name, []):
            text = ",".join(f'{key}="{_escape(str(v))}"' for key, v in labels.items())
            number = repr(float(value)) if isinstance(value, float) else str(value)
            lines.append(f"{name}{{{text}}} {number}" if text else f"{name} {number}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ---------------------------------------------------------------------- the server
class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        health = self.server.health
        path = self.path.split("?", 1)[0]
        try:
            if path == "/metrics":
                self._answer(200, health.metrics(), CONTENT_TYPE)
            elif path in ("/healthz", "/readyz"):
                reasons = health.liveness() if path == "/healthz" else health.readiness()
                body = "ok\n" if not reasons else "".join(f"{r}\n" for r in reasons)
                self._answer(503 if reasons else 200, body)
            else:
                self._answer(404, "introbot answers /healthz, /readyz and /metrics\n")
        except Exception as exc:  # a bug here must answer, never kill the daemon
            log.exception("health: %s failed", path)
            self._answer(500, f"{type(exc).__name__}: {exc}\n")

    do_HEAD = do_GET

    def _answer(self, status: int, body: str, kind: str = "text/plain; charset=utf-8") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("health %s", format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], health: Health) -> None:
        self.health = health
        super().__init__(address, _Handler)


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``HOST:PORT``, in a thread."""

    def __init__(self, listen: str, health: Health) -> None:
        host, port = split_host_port(listen)
        try:
            self._httpd = _Server((host, port), health)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot listen on {listen} for /healthz, /readyz and /metrics "
                f"({exc.strerror}); choose another [daemon] http or --http",
            ) from None
        # Stopping waits for the loop to look (half of poll_interval on average): 50 ms.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="introbot-health",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def __enter__(self) -> HealthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def intros_by_state(states: Iterable[tuple[str, bool]]) -> tuple[dict[str, int], int]:
    """(state, needs attention) pairs -> counts by state, and how many need attention."""
    counts: Counter[str] = Counter()
    attention = 0
    for state, needs_you in states:
        counts[state] += 1
        attention += needs_you
    return dict(counts), attention


def counting(app: App) -> Callable[[AccountHealth], None]:
    """What to record after each good poll of ``app``: its client's calls and units, its
    store's intros by state (in the poll's thread, which owns the store)."""
    from introbot.workflow import STAGE_LABELS

    def record(health: AccountHealth) -> None:
        stats = app.client.stats
        intros, attention = intros_by_state(
            (STAGE_LABELS[intro.stage], bool(intro.attention)) for intro in app.store.intros()
        )
        health.observe(stats.units, stats.calls, intros, attention)

    return record


@contextmanager
def serving(listen: str | None, health: Health) -> Iterator[HealthServer | None]:
    """The health server on ``listen`` while the block runs; nothing when ``listen`` is
    None (``[daemon] http`` unset)."""
    if listen is None:
        yield None
        return
    with HealthServer(listen, health) as server:
        yield server
