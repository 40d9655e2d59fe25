"""``introbot run``: poll on a schedule (APScheduler), one poll at a time, one writer per
database and per mailbox, a daemon that never gives up on Gmail, and a clean stop on
SIGINT/SIGTERM that lets the running poll finish (a second signal stops at once)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType

import portalocker
from apscheduler.schedulers.background import BackgroundScheduler

from introbot.gmail.errors import AuthExpired, GmailError
from introbot.paths import config_dir

log = logging.getLogger("introbot")
AUTH_RETRY_SECONDS = 15 * 60
COMMAND_WAIT_SECONDS = 10.0  # how long decide/cancel/poll wait for a short-lived writer
DAEMON = "run"  # the role of a lock holder that never lets go while it runs


class AlreadyRunning(Exception):
    """Another introbot holds the lock on this database or mailbox."""

    def __init__(self, message: str, pid: str = "?", role: str = "?") -> None:
        super().__init__(message)
        self.pid = pid
        self.role = role

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
def _exclusive(path: Path, what: str, role: str = "poll", wait: float = 0.0) -> Iterator[None]:
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
                raise AlreadyRunning(
                    f"another introbot (pid {pid}{command}) is already working on {what}; "
                    "stop it first",
                    pid,
                    holder,
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
        config_dir() / "locks" / f"{digest}.lock", f"the mailbox {mailbox}", role, wait
    )


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
    """While Gmail is known to be down, the client's per-retry warnings go to DEBUG: the
    daemon said once that it keeps trying, and a flood would bury everything else."""

    def __init__(self) -> None:
        super().__init__()
        self.active = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.active and record.levelno == logging.WARNING:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def run_forever(
    poll: Callable[[], None],
    interval: float,
    stop: threading.Event | None = None,
    signed_in_again: Callable[[], bool] | None = None,
    fatal: tuple[type[Exception], ...] = (),
    backoff: Backoff | None = None,
    on_tick: Callable[[], None] | None = None,
) -> int | None:
    """Call ``poll`` every ``interval`` seconds until SIGINT/SIGTERM (or ``stop``).

    Gmail unreachable, DNS failing, a poll that fails: logged once, then retried with capped
    backoff and jitter (at least ``interval`` apart), quietly, until Gmail answers again,
    which is logged too. A sign-in Gmail no longer accepts is retried slowly (every 15
    minutes), never in a tight loop, or as soon as ``signed_in_again`` says the user signed
    in anew. An exception of a ``fatal`` type stops the daemon and is raised here. A second
    SIGINT/SIGTERM ends the process at once (exit 130, or 143 for SIGTERM): whatever the poll
    was doing is resumed safely by the next start, as after a crash. Returns the signal that
    stopped it cleanly (None when ``stop`` did). ``on_tick`` is told each time the scheduler
    runs the job (the health endpoint's sign of life)."""
    stop = stop or threading.Event()
    backoff = backoff or Backoff()
    retry_at = [0.0]
    auth_wait = [False]
    stopped_by: list[BaseException] = []
    quiet = _Demote()
    client_log = logging.getLogger("introbot.gmail.client")  # its per-retry warnings

    def job() -> None:
        if on_tick is not None:
            on_tick()
        if stop.is_set():
            return
        if time.monotonic() < retry_at[0]:
            if not auth_wait[0] or signed_in_again is None or not signed_in_again():
                return
            log.info("sign_in renewed=true; polling again")
        try:
            poll()
        except fatal as exc:
            stopped_by.append(exc)
            stop.set()
            return
        except AuthExpired as exc:
            if not auth_wait[0]:
                log.error(
                    "%s introbot keeps its state and retries every %d minutes.",
                    exc,
                    AUTH_RETRY_SECONDS // 60,
                )
            auth_wait[0] = True
            retry_at[0] = time.monotonic() + AUTH_RETRY_SECONDS
            return
        except Exception as exc:
            pause = max(interval, backoff.failed())
            retry_at[0] = time.monotonic() + pause
            if backoff.failures == 1:
                if isinstance(exc, GmailError):
                    log.warning(
                        "gmail_unreachable why=%r; introbot keeps trying, backing off up to "
                        "%d s, and says when Gmail answers again",
                        str(exc),
                        int(backoff.cap),
                    )
                else:
                    log.exception(
                        "poll failed unexpectedly; introbot keeps trying, backing off up to %d s",
                        int(backoff.cap),
                    )
                quiet.active = True
            else:
                log.debug(
                    "poll_failed failures=%d next_in=%.0fs why=%r",
                    backoff.failures,
                    pause,
                    str(exc),
                )
            return
        retry_at[0] = 0.0
        auth_wait[0] = False
        quiet.active = False
        failures = backoff.succeeded()
        if failures:
            log.warning("gmail_reachable again after %d failed poll(s)", failures)

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

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    client_log.addFilter(quiet)
    scheduler = BackgroundScheduler()
    scheduler.add_job(
        job,
        "interval",
        seconds=interval,
        id="poll",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now().astimezone(),
    )
    scheduler.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)
        client_log.removeFilter(quiet)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stopped_by:
        raise stopped_by[0]
    return stopped_on[0] if stopped_on else None
