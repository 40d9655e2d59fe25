"""A Gmail client that reads but never writes: ``introbot poll --dry-run``.

:class:`DryRunClient` is a :class:`~introbot.gmail.client.GmailClient` whose write methods
record what they would have done (:class:`PlannedWrites`) and answer as Gmail would, so
the engine runs its ordinary code. The real client knows nothing of dry runs; a caller
chooses this one by passing the class (``open_app(..., gmail=DryRunClient)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from introbot.gmail.client import GmailClient, draft_key, message_id_header
from introbot.gmail.types import Draft, Label

# Every Gmail method that changes the mailbox. A dry-run client never lets one through:
# its typed methods record what they would have done instead.
WRITE_METHODS = frozenset(
    {
        "labels.create",
        "labels.update",
        "labels.patch",
        "labels.delete",
        "messages.modify",
        "messages.batchModify",
        "messages.insert",
        "messages.import",
        "messages.send",
        "messages.trash",
        "messages.untrash",
        "messages.delete",
        "messages.batchDelete",
        "threads.modify",
        "threads.trash",
        "threads.untrash",
        "threads.delete",
        "drafts.create",
        "drafts.update",
        "drafts.delete",
        "drafts.send",
    }
)


@dataclass
class PlannedWrites:
    """What a dry-run client was asked to change, in order; nothing of it reached Gmail."""

    labels_created: list[str] = field(default_factory=list)
    drafts_created: list[tuple[bytes, str | None]] = field(default_factory=list)
    drafts_updated: list[str] = field(default_factory=list)
    drafts_deleted: list[str] = field(default_factory=list)
    # (message or thread ids, label ids added, label ids removed)
    relabeled: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=list
    )
    label_names: dict[str, str] = field(default_factory=dict)  # label id -> name

    @property
    def empty(self) -> bool:
        return not (
            self.labels_created
            or self.drafts_created
            or self.drafts_updated
            or self.drafts_deleted
            or self.relabeled
        )


class DryRunClient(GmailClient):
    """Reads go to Gmail; writes are recorded in :attr:`planned` and change nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.planned = PlannedWrites()

    # A write that slipped past the typed methods below is a bug, never input.
    def _call(self, method: str, make_request: Callable[[], Any], **options: Any) -> Any:
        if method in WRITE_METHODS:
            raise RuntimeError(f"dry run: {method} must not reach Gmail")
        return super()._call(method, make_request, **options)

    def _batch(self, method: str, make_request: Callable[[str], Any], keys: Any) -> dict[str, Any]:
        if method in WRITE_METHODS:
            raise RuntimeError(f"dry run: {method} must not reach Gmail")
        return super()._batch(method, make_request, keys)

    def labels(self) -> list[Label]:
        found = super().labels()
        self.planned.label_names.update((label.id, label.name) for label in found)
        return found + [Label(f"(new) {n}", n, "user") for n in self.planned.labels_created]

    def create_label(self, name: str) -> Label:
        self.planned.labels_created.append(name)
        self.planned.label_names[f"(new) {name}"] = name
        return Label(f"(new) {name}", name, "user")

    def create_labels(self, names: Sequence[str]) -> dict[str, str]:
        return {name: self.create_label(name).id for name in names}

    def modify_messages(
        self, ids: Sequence[str], add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        if ids and (add or remove):
            self.planned.relabeled.append((tuple(ids), tuple(add), tuple(remove)))

    def modify_message(
        self, message_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> bool:
        self.planned.relabeled.append(((message_id,), tuple(add), tuple(remove)))
        return True

    def modify_thread(
        self, thread_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> bool:
        self.planned.relabeled.append(((f"thread {thread_id}",), tuple(add), tuple(remove)))
        return True

    def create_draft(self, raw: bytes, thread_id: str | None = None) -> Draft:
        key = draft_key(raw)
        self.planned.drafts_created.append((raw, thread_id))
        number = len(self.planned.drafts_created)
        return Draft(f"(new) {number}", key, thread_id or f"(new thread) {number}")

    def update_draft(self, draft_id: str, raw: bytes, thread_id: str | None = None) -> Draft | None:
        self.planned.drafts_updated.append(draft_id)
        return Draft(draft_id, message_id_header(raw) or draft_id, thread_id or "")

    def delete_draft(self, draft_id: str) -> bool:
        self.planned.drafts_deleted.append(draft_id)
        return True
