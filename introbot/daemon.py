"""``introbot run``: poll on a schedule (APScheduler), one poll at a time, one process per
database, a clean stop on SIGINT/SIGTERM that lets the running poll finish."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from introbot.gmail.errors import AuthExpired, GmailError
from introbot.paths import config_dir

log = logging.getLogger("introbot")
AUTH_RETRY_SECONDS = 15 * 60


class AlreadyRunning(Exception):
    """Another introbot holds the lock on this database."""


@contextmanager
def _exclusive(path: Path, what: str) -> Iterator[None]:
    """An exclusive flock on ``path``. The kernel drops it when the process dies, so a crash
    can never leave it stuck; the holder's pid is written inside for the error message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise AlreadyRunning(
            f"another introbot (pid {holder}) is already working on {what}; stop it first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def single_instance(db: Path) -> AbstractContextManager[None]:
    """One process per database."""
    return _exclusive(db.with_name(db.name + ".lock"), str(db))


def mailbox_lock(mailbox: str) -> AbstractContextManager[None]:
    """One process per mailbox, whatever database it uses: two would draft everything twice."""
    digest = hashlib.sha256(mailbox.encode()).hexdigest()[:20]
    return _exclusive(config_dir() / "locks" / f"{digest}.lock", f"the mailbox {mailbox}")


def run_forever(
    poll: Callable[[], None],
    interval: float,
    stop: threading.Event | None = None,
    signed_in_again: Callable[[], bool] | None = None,
) -> None:
    """Call ``poll`` every ``interval`` seconds until SIGINT/SIGTERM (or ``stop``).

    A poll that fails is logged and retried at the next interval; a sign-in Gmail no longer
    accepts is retried slowly (every 15 minutes), never in a tight loop, or as soon as
    ``signed_in_again`` says the user signed in anew."""
    stop = stop or threading.Event()
    retry_at = [0.0]

    def job() -> None:
        if stop.is_set():
            return
        if time.monotonic() < retry_at[0]:
            if signed_in_again is None or not signed_in_again():
                return
            log.info("sign_in renewed=true; polling again")
        try:
            poll()
            retry_at[0] = 0.0
        except AuthExpired as exc:
            log.error(
                "%s introbot keeps its state and retries every %d minutes.",
                exc,
                AUTH_RETRY_SECONDS // 60,
            )
            retry_at[0] = time.monotonic() + AUTH_RETRY_SECONDS
        except GmailError as exc:
            log.warning("poll stopped early, next poll resumes: %s", exc)
        except Exception:
            log.exception("poll failed unexpectedly; the next poll retries")

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("stopping on signal %d; the current poll finishes first", signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
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
        for signum, handler in previous.items():
            signal.signal(signum, handler)
