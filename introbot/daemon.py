"""``introbot run``: poll on a schedule (APScheduler), one poll at a time per mailbox and a
bounded pool of them when one process serves several, one writer per database and per
mailbox, a daemon that never gives up on Gmail, and a clean stop on SIGINT/SIGTERM that lets
the running polls finish (a second signal stops at once)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import portalocker
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from introbot import logs
from introbot.gmail.errors import AuthExpired, GmailError
from introbot.paths import config_dir

if TYPE_CHECKING:
    from introbot.app import App

log = logging.getLogger("introbot")
AUTH_RETRY_SECONDS = 15 * 60
COMMAND_WAIT_SECONDS = 10.0  # how long decide/cancel/poll wait for a short-lived writer
DAEMON = "run"  # the role of a lock holder that never lets go while it runs


class AlreadyRunning(Exception):
    """Another introbot holds the lock on this database or mailbox, or its lease.
    ``who`` names it for people; ``same_store``: it works on this command's store, so it
    reads the commands queued there (a lock on the mailbox taken from another database
    does not); ``replica``: a replica elsewhere, holding the lease in PostgreSQL."""

    def __init__(
        self,
        message: str,
        pid: str = "?",
        role: str = "?",
        who: str = "another introbot",  # "introbot (pid 12, `introbot run`)", "the replica X"
        same_store: bool = True,
        replica: bool = False,
    ) -> None:
        super().__init__(message)
        self.pid = pid
        self.role = role
        self.who = who
        self.same_store = same_store
        self.replica = replica

    @property
    def daemon(self) -> bool:
        """Held by ``introbot run``, which keeps it until it stops (waiting cannot help)."""
        return self.role == DAEMON


def _holder(path: Path) -> tuple[str, str]:
    """Who holds the lock at ``path``: the pid and command its holder wrote beside it."""
    try:
        pid, _, role = path.read_text(encoding="utf-8").strip().partition(" ")
    except (OSError, UnicodeDecodeError):  # not written yet, or just removed
        return "?", "?"
    return pid or "?", role or "?"


@contextmanager
def _exclusive(
    path: Path, what: str, role: str = "poll", wait: float = 0.0, same_store: bool = True
) -> Iterator[None]:
    """An exclusive lock on ``path`` from the operating system (``flock`` on Linux and
    macOS, ``LockFileEx``/``msvcrt.locking`` on Windows, through portalocker). The system
    drops it when the process dies, so a crash can never leave it stuck. The holder's pid and
    command are written beside it (``path`` + ``.holder``: Windows locks are mandatory, so
    the locked file itself cannot be read by others), for the error message and for the next
    comer to know whether waiting can help. A holder that is not a daemon is waited for up
    to ``wait`` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    holder_file = path.with_name(path.name + ".holder")
    handle = path.open("a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            portalocker.lock(handle, portalocker.LOCK_EX | portalocker.LOCK_NB)
            break
        except portalocker.AlreadyLocked:
            pid, holder = _holder(holder_file)
            if holder == DAEMON or time.monotonic() >= deadline:
                handle.close()
                command = f", `introbot {holder}`" if holder != "?" else ""
                who = f"introbot (pid {pid}{command})"
                raise AlreadyRunning(
                    f"another {who} is already working on {what}; stop it first",
                    pid,
                    holder,
                    who,
                    same_store,
                ) from None
            time.sleep(0.05)
    holder_file.write_text(f"{os.getpid()} {role}", encoding="utf-8")
    try:
        yield
    finally:
        # Removed while still held: the next holder's own note is never the one removed.
        with contextlib.suppress(OSError):
            holder_file.unlink()
        portalocker.unlock(handle)
        handle.close()


def single_instance(
    db: Path, role: str = "poll", wait: float = 0.0
) -> AbstractContextManager[None]:
    """One writer per database."""
    return _exclusive(db.with_name(db.name + ".lock"), str(db), role, wait)


def mailbox_lock(
    mailbox: str, role: str = "poll", wait: float = 0.0
) -> AbstractContextManager[None]:
    """One writer per mailbox, whatever database it uses: two would draft everything twice."""
    digest = hashlib.sha256(mailbox.encode()).hexdigest()[:20]
    return _exclusive(
        config_dir() / "locks" / f"{digest}.lock", f"the mailbox {mailbox}", role, wait, False
    )


@contextmanager
def writer_locks(app: App, role: str, wait: float = COMMAND_WAIT_SECONDS) -> Iterator[None]:
    """What a one-shot command that writes (``poll``, ``decide``, ``cancel``, ``ask-again``)
    holds while it runs: the database's lock, then, for a mailbox in a PostgreSQL store
    that replicas may share, the mailbox's lease (claimed for the run and fencing its
    writes, as a replica's: :func:`introbot.leases.command_lease`), then the mailbox's
    lock. Short-lived holders are waited for up to ``wait`` seconds; a daemon, or a live
    replica holding the lease, is not (AlreadyRunning: its ``same_store`` says whether the
    holder reads the commands queued in this store). Which mailbox it is may need Gmail,
    so its lock comes last."""
    with ExitStack() as held:
        held.enter_context(single_instance(app.store.path, role, wait))
        if app.store.dialect == "postgresql":
            from introbot.leases import LeaseHeld, command_lease

            try:
                held.enter_context(
                    command_lease(app.store.db, role, app.settings.store.lease_seconds, wait)
                )
            except LeaseHeld as exc:
                role_held = DAEMON if exc.replica else "?"
                raise AlreadyRunning(
                    str(exc), "?", role_held, exc.who, replica=exc.replica
                ) from None
        held.enter_context(mailbox_lock(app.mailbox(), role, wait))
        yield


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter, for a daemon that never gives up:
    the n-th failure in a row waits between half and all of min(cap, base * 2**(n-1)) (and
    never less than the poll interval: the first failures cost nothing extra)."""

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    failures: int = 0

    def failed(self) -> float:
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** (self.failures - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def succeeded(self) -> int:
        """Forget the failures; how many there were."""
        failures, self.failures = self.failures, 0
        return failures


class _Demote(logging.Filter):
    """While Gmail is known to be down for a mailbox, its client's per-retry warnings go to
    DEBUG: the daemon said once that it keeps trying, and a flood would bury everything else
    (the other mailboxes' warnings among it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        box = _WORKING_ON.get()
        if box is not None and box.quiet and record.levelno == logging.WARNING:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


class _NoSkipNotes(logging.Filter):
    """A mailbox whose poll outlasts its interval is simply polled again when it is done: the
    scheduler's "skipped: maximum number of running instances" warning is no news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in str(record.msg)


@dataclass
class Mailbox:
    """One mailbox the daemon keeps polling, and how it is doing. ``name`` is its account's,
    or None when the process serves one account (its log lines then name none). Each has
    its own backoff, sign-in wait and quiet spell: nothing here is shared between two.
    ``release`` gives back what the mailbox holds only while it polls (its store's
    connection): called after each turn and once before the first."""

    name: str | None
    poll: Callable[[], None]
    interval: float
    signed_in_again: Callable[[], bool] | None = None
    backoff: Backoff = field(default_factory=Backoff)
    sign_in_fix: str = "`introbot auth` signs in anew"  # what to do, for the status
    release: Callable[[], None] | None = None
    polls: int = 0  # polls that succeeded
    last_polled: datetime | None = None
    status: str = "not polled yet"
    stopped_by: Exception | None = None  # a fatal error: this mailbox is polled no more
    quiet: bool = False  # Gmail is known down for it: its client's retries go to DEBUG
    _retry_at: float = 0.0
    _auth_wait: bool = False

    def tick(self, stop: threading.Event, fatal: tuple[type[Exception], ...]) -> None:
        """One scheduled turn: poll, unless stopped, retired or waiting out a failure."""
        if stop.is_set() or self.stopped_by is not None:
            return
        if time.monotonic() < self._retry_at:
            if not self._auth_wait or self.signed_in_again is None or not self.signed_in_again():
                return
            log.info("sign_in renewed=true; polling again")
        try:
            self.poll()
        except fatal as exc:
            self.stopped_by = exc
            self.status = f"stopped: {exc}"
        except AuthExpired as exc:
            self._signed_out(exc)
        except Exception as exc:
            self._failed(exc)
        else:
            self._succeeded()
        finally:
            self.let_go()

    def let_go(self) -> None:
        """Give back what only a poll needs (``release``); a failure to is logged, never
        raised: the next poll takes it again."""
        if self.release is None:
            return
        try:
            self.release()
        except Exception:
            log.exception("releasing the store's connection after a poll failed")

    def _signed_out(self, exc: AuthExpired) -> None:
        if not self._auth_wait:
            log.error(
                "%s introbot keeps its state and retries every %d minutes.",
                exc,
                AUTH_RETRY_SECONDS // 60,
            )
        self._auth_wait = True
        self._retry_at = time.monotonic() + AUTH_RETRY_SECONDS
        self.status = (
            f"signed out: Gmail refused the sign-in; {self.sign_in_fix} "
            "(picked up without a restart)"
        )

    def _failed(self, exc: Exception) -> None:
        pause = max(self.interval, self.backoff.failed())
        self._retry_at = time.monotonic() + pause
        self.status = f"failing ({self.backoff.failures} in a row): {exc}"
        if self.backoff.failures > 1:
            log.debug(
                "poll_failed failures=%d next_in=%.0fs why=%r",
                self.backoff.failures,
                pause,
                str(exc),
            )
        elif isinstance(exc, GmailError):
            log.warning(
                "gmail_unreachable why=%r; introbot keeps trying, backing off up to "
                "%d s, and says when Gmail answers again",
                str(exc),
                int(self.backoff.cap),
            )
        else:
            log.exception(
                "poll failed unexpectedly; introbot keeps trying, backing off up to %d s",
                int(self.backoff.cap),
            )
        self.quiet = True

    def _succeeded(self) -> None:
        self._retry_at = 0.0
        self._auth_wait = False
        self.quiet = False
        self.polls += 1
        self.last_polled = datetime.now().astimezone()
        self.status = "ok"
        failures = self.backoff.succeeded()
        if failures:
            log.warning("gmail_reachable again after %d failed poll(s)", failures)


_WORKING_ON: ContextVar[Mailbox | None] = ContextVar("introbot_mailbox", default=None)
DEFAULT_WORKERS = 8  # polls at once, at most, when a process serves several mailboxes


def default_workers(mailboxes: int) -> int:
    return max(1, min(mailboxes, DEFAULT_WORKERS))


def _turn(
    box: Mailbox,
    every: Sequence[Mailbox],
    stop: threading.Event,
    fatal: tuple[type[Exception], ...],
    on_tick: Callable[[], None] | None = None,
) -> None:
    """A mailbox's turn on a worker, its log lines naming its account; the daemon stops
    once no mailbox is left to poll."""
    if on_tick is not None:
        on_tick()
    working = _WORKING_ON.set(box)
    named = logs.ACCOUNT.set(box.name)
    try:
        box.tick(stop, fatal)
        if box.stopped_by is not None and all(b.stopped_by is not None for b in every):
            stop.set()
    finally:
        logs.ACCOUNT.reset(named)
        _WORKING_ON.reset(working)


def run_forever(
    poll: Callable[[], None],
    interval: float,
    stop: threading.Event | None = None,
    signed_in_again: Callable[[], bool] | None = None,
    fatal: tuple[type[Exception], ...] = (),
    backoff: Backoff | None = None,
    on_tick: Callable[[], None] | None = None,
) -> int | None:
    """Call ``poll`` every ``interval`` seconds until SIGINT/SIGTERM (or ``stop``): one
    mailbox, as :func:`run_many` serves several (see there)."""
    box = Mailbox(None, poll, interval, signed_in_again, backoff or Backoff())
    return run_many([box], 1, stop, fatal, on_tick)


def run_many(
    mailboxes: Sequence[Mailbox],
    workers: int,
    stop: threading.Event | None = None,
    fatal: tuple[type[Exception], ...] = (),
    on_tick: Callable[[], None] | None = None,
) -> int | None:
    """Poll each mailbox every ``interval`` of its own, on a pool of ``workers`` threads,
    until SIGINT/SIGTERM (or ``stop``). A mailbox is polled by one worker at a time; a slow
    one holds one worker and is polled again when it is done; the others go on on the rest
    (with as many workers as mailboxes, nothing one does can delay another). The first polls
    are spread over the first interval, so that many mailboxes do not all poll at once.

    Gmail unreachable, DNS failing, a poll that fails: logged once, then retried with capped
    backoff and jitter (at least ``interval`` apart), quietly, until Gmail answers again,
    which is logged too. A sign-in Gmail no longer accepts is retried slowly (every 15
    minutes), never in a tight loop, or as soon as ``signed_in_again`` says the user signed
    in anew. An exception of a ``fatal`` type retires that mailbox; when none is left the
    daemon stops and the first is raised here. A second SIGINT/SIGTERM ends the process at
    once (exit 130, or 143 for SIGTERM): whatever a poll was doing is resumed safely by the
    next start, as after a crash. Returns the signal that stopped it cleanly (None when
    ``stop`` did). ``on_tick`` is told each time the scheduler gives a mailbox its turn (the
    health endpoint's sign of life)."""
    stop = stop or threading.Event()
    signals = [0]
    stopped_on: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals[0] += 1
        stopped_on.append(signum)
        if signals[0] > 1:
            log.warning("stopping now on a second signal %d; the next start resumes", signum)
            os._exit(130 if signum == signal.SIGINT else 128 + signum)
        log.info(
            "stopping on signal %d; the current poll finishes first (Ctrl-C again stops at once)",
            signum,
        )
        stop.set()

    # Signals reach the main thread only; elsewhere (a test, an embedding) ``stop`` stops it.
    in_main = threading.current_thread() is threading.main_thread()
    stopping_on = (signal.SIGINT, signal.SIGTERM) if in_main else ()
    previous = {s: signal.signal(s, on_signal) for s in stopping_on}
    quiet, no_skip_notes = _Demote(), _NoSkipNotes()
    client_log = logging.getLogger("introbot.gmail.client")  # its per-retry warnings
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    client_log.addFilter(quiet)
    scheduler_log.addFilter(no_skip_notes)
    for box in mailboxes:  # each opened its store: none holds a connection while it waits
        box.let_go()
    scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(workers)})
    began = datetime.now().astimezone()
    for n, box in enumerate(mailboxes):
        scheduler.add_job(
            _turn,
            "interval",
            args=(box, mailboxes, stop, fatal, on_tick),
            seconds=box.interval,
            id=f"poll-{n}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # late (every worker was busy) is no reason to skip
            next_run_time=began + timedelta(seconds=box.interval * n / len(mailboxes)),
        )
    scheduler.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)
        client_log.removeFilter(quiet)
        scheduler_log.removeFilter(no_skip_notes)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    retired = [box.stopped_by for box in mailboxes if box.stopped_by is not None]
    if retired and len(retired) == len(mailboxes):
        raise retired[0]
    return stopped_on[0] if stopped_on else None


def raise_open_files_limit(wanted: int) -> None:
    """Let this process open ``wanted`` files (a database, its locks and a connection per
    mailbox add up): the soft limit goes up to the hard one where the system has both."""
    try:  # POSIX only: imported by name, so that no plain import refuses Windows
        resource: Any = importlib.import_module("resource")
    except ImportError:  # Windows: no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
