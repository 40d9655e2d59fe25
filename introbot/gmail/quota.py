"""Gmail API quota units per method, shared by the client's pacing and the sandbox's accounting.

Method names are the discovery ids without the ``gmail.users.`` prefix
(``messages.get``, ``history.list``, ``getProfile``). Figures are Gmail's published
per-method costs; the per-user limit is 15,000 units a minute (250 a second on average).
"""

from __future__ import annotations

UNITS_PER_USER_PER_MINUTE = 15_000
UNITS_PER_USER_PER_SECOND = 250

_UNITS: dict[str, int] = {
    "getProfile": 1,
    "watch": 100,
    "stop": 50,
    "drafts.create": 10,
    "drafts.delete": 10,
    "drafts.get": 5,
    "drafts.list": 5,
    "drafts.send": 100,
    "drafts.update": 15,
    "history.list": 2,
    "labels.create": 5,
    "labels.delete": 5,
    "labels.get": 1,
    "labels.list": 1,
    "labels.patch": 5,
    "labels.update": 5,
    "messages.attachments.get": 5,
    "messages.batchDelete": 50,
    "messages.batchModify": 50,
    "messages.delete": 10,
    "messages.get": 5,
    "messages.import": 25,
    "messages.insert": 25,
    "messages.list": 5,
    "messages.modify": 5,
    "messages.send": 100,
    "messages.trash": 5,
    "messages.untrash": 5,
    "threads.delete": 20,
    "threads.get": 10,
    "threads.list": 10,
    "threads.modify": 10,
    "threads.trash": 10,
    "threads.untrash": 10,
}


def short_method_name(discovery_id: str) -> str:
    """``gmail.users.messages.get`` -> ``messages.get``."""
    return discovery_id.removeprefix("gmail.").removeprefix("users.")


def units(method: str) -> int:
    """Quota cost of one call. Settings methods not listed cost 1 (reads) as in Gmail's table."""
    return _UNITS.get(method, 1)
