"""How unkind the sandbox is: one field per behaviour of Gmail that a kinder server would hide.

``Realism()`` (the ``kind`` profile) is the sandbox as it always was; ``REALISTIC`` turns every
behaviour on, in the variant that is harder for a client where public reports disagree. Each
field names its source in ``docs/sandbox.md`` ("Realism").
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from introbot.sandbox.errors import bad_request

SentMessageId = Literal["draft", "gmail", "gmail-keeps-original"]


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Realism:
    """The behaviours, each off (as the sandbox always behaved) unless set."""

    # The connector presses Send in the Gmail UI (POST /_sandbox/drafts/{id}/send).
    sent_message_id: SentMessageId = "draft"
    """``draft``: the sent copy keeps the draft's Message-ID header. ``gmail``: Gmail writes
    its own (``<CA...@mail.gmail.com>``) and a new Date. ``gmail-keeps-original``: as
    ``gmail``, and the draft's id survives in ``X-Google-Original-Message-ID``."""
    sent_copy_id: Literal["new", "draft"] = "new"
    """``new``: the sent copy is a new message (new id; the draft's message is deleted), as
    Gmail documents. ``draft``: the draft's message itself loses DRAFT and gains SENT."""
    undo_send_seconds: float = 0.0
    """Undo send: the draft disappears at once, the SENT copy appears this much later."""

    # The connector edits a draft in the Gmail UI (POST /_sandbox/drafts/{id}/edit).
    subject_edit_moves_thread: bool = False
    """Editing the subject moves the draft into a new thread of its own."""
    lone_draft_changes_thread: bool = False
    """A draft alone in its thread gets a new thread id at each autosave."""
    ui_rewrites_mime: bool = False
    """The Gmail UI saves its own MIME: multipart/alternative, text/plain and text/html."""

    # Search.
    search_lag_seconds: float = 0.0
    """A new message (a new draft message too) is found by ``q=`` only this much later."""

    # Errors.
    unknown_thread_status: Literal[404, 400] = 404
    """drafts.create/update, messages.send/insert with a deleted or unknown threadId: 404,
    or 400 ``Invalid thread_id value`` as reported against Gmail."""
    malformed_id_status: Literal[404, 400] = 404
    """An id that is not an in-range hex number (``messages.get(id="nope")``): 404, or
    Gmail's 400 ``Invalid id value``."""

    # Limits.
    concurrent_requests: int | None = None
    """Gmail's per-user concurrency limit, counting each batch part as one request: parts
    beyond it answer 429 ``Too many concurrent requests for user`` in their part."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


KIND = Realism()
REALISTIC = Realism(
    sent_message_id="gmail",
    sent_copy_id="new",
    undo_send_seconds=30.0,
    subject_edit_moves_thread=True,
    lone_draft_changes_thread=True,
    ui_rewrites_mime=True,
    search_lag_seconds=10.0,
    unknown_thread_status=400,
    malformed_id_status=400,
    concurrent_requests=50,
)
# The end-to-end tests' Gmail: every behaviour of REALISTIC but Undo send, which a test that
# wants it turns on (with the sandbox's clock moved on), so a poll right after a send can
# see the sent copy.
TESTS = dataclasses.replace(REALISTIC, undo_send_seconds=0.0)
PROFILES: dict[str, Realism] = {"kind": KIND, "realistic": REALISTIC, "tests": TESTS}

_ADAPTER: TypeAdapter[Realism] = TypeAdapter(Realism)


def realism_of(value: Realism | str | dict[str, Any] | None) -> Realism:
    """A profile name, a :class:`Realism`, or ``{"profile": name, field: value...}``."""
    if value is None:
        return KIND
    if isinstance(value, Realism):
        return value
    if isinstance(value, str):
        try:
            return PROFILES[value]
        except KeyError:
            raise bad_request(
                f"Unknown realism profile {value!r}; choose one of {', '.join(PROFILES)}"
            ) from None
    if not isinstance(value, dict):
        raise bad_request('realism must be a profile name or {"profile": name, field: value}')
    fields = dict(value)
    base = realism_of(fields.pop("profile", "kind"))
    try:
        return _ADAPTER.validate_python({**base.to_json(), **fields})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise bad_request(f"Invalid realism setting {where}: {error['msg']}") from None
