"""Log output: one line per event in ``key=value`` form for people, or one JSON object per
line for log shippers (``--log-format json``).

What reaches INFO is safe by construction: intro ids, stages, counts and Gmail ids, never a
message body, a token or a party's address (those are for the audit trail in the
database, and for DEBUG)."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
_PAIR = re.compile(r"""(\w+)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)""")
QUIET_LIBRARIES = ("googleapiclient", "apscheduler", "google_auth_oauthlib", "urllib3")
_handler: logging.Handler | None = None
# The account a thread is working for, while a process serves several (``introbot run
# --all``): each line logged then ends with ``account=NAME`` (a field in JSON).
ACCOUNT: ContextVar[str | None] = ContextVar("introbot_account", default=None)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``2026-11-27T18:00:00.000Z INFO introbot decision intro=ab12 stage=declined``"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        account = ACCOUNT.get()
        if account is not None:
            line += f" account={account}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``key=value`` pairs in the message become fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        event: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": message.split(" ", 1)[0],
            "message": message,
        }
        account = ACCOUNT.get()
        if account is not None:
            event["account"] = account
        for key, value in _PAIR.findall(message):
            if key not in event:
                event[key] = _value(value)
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def _value(text: str) -> object:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        return text


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (a test may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def setup(verbosity: int = 0, fmt: LogFormat = "text") -> None:
    """``verbosity``: -1 errors only (-q), 0 warnings, 1 decisions (-v), 2 debug (-vv)."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(verbosity, 2)), logging.DEBUG
    )
    global _handler
    root = logging.getLogger()
    if _handler is not None:  # set up again (tests run many commands in one process)
        root.removeHandler(_handler)
    _handler = _Stderr()
    _handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(_handler)
    root.setLevel(level)
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
