"""Gmail REST methods over a :class:`Mailbox`: typed query and body in, Gmail's JSON out.

Each handler takes ``(mailbox, path_params, query, body)`` and returns the JSON answer
(``None`` for an empty 204). Query values are already checked and typed against the
discovery document; bodies are already checked against its schemas.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Sequence
from typing import Any

from introbot.sandbox.errors import ApiError, bad_request, not_found
from introbot.sandbox.mailbox import HistoryRecord, Label, Mailbox, Message
from introbot.sandbox.message import b64url, b64url_decode

Handler = Callable[[Mailbox, dict[str, str], dict[str, Any], dict[str, Any]], Any]

DEFAULT_PAGE = 100
MAX_RAW_BYTES = 36 * 1024 * 1024  # Gmail's ceiling for a message with attachments


# ------------------------------------------------------------------------- rendering
def render_label(label: Label, box: Mailbox | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": label.id, "name": label.name, "type": label.type}
    if label.message_list_visibility:
        out["messageListVisibility"] = label.message_list_visibility
    if label.label_list_visibility:
        out["labelListVisibility"] = label.label_list_visibility
    if label.color:
        out["color"] = label.color
    if box is not None:
        out.update(box.label_counts(label.id))
    return out


def render_message(
    message: Message, fmt: str = "full", metadata_headers: Sequence[str] = ()
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": message.id, "threadId": message.thread_id}
    if message.label_ids:
        out["labelIds"] = list(message.label_ids)
    out.update(
        snippet=message.parsed.snippet,
        sizeEstimate=len(message.raw),
        historyId=str(message.history_id),
        internalDate=str(message.internal_date),
    )
    if fmt == "raw":
        out["raw"] = b64url(message.raw)
    elif fmt == "full":
        out["payload"] = message.parsed.payload
    elif fmt == "metadata":
        wanted = {h.lower() for h in metadata_headers}
        root = message.parsed.payload
        out["payload"] = {
            "partId": root["partId"],
            "mimeType": root["mimeType"],
            "filename": root["filename"],
            "headers": [h for h in root["headers"] if not wanted or h["name"].lower() in wanted],
            "body": {"size": 0},
        }
    return out


def _ref(message: Message) -> dict[str, Any]:
    return {"id": message.id, "threadId": message.thread_id}


def render_history(record: HistoryRecord) -> dict[str, Any]:
    ref = {"id": record.message_id, "threadId": record.thread_id}
    with_labels = {**ref, "labelIds": list(record.label_ids)}
    out: dict[str, Any] = {"id": str(record.id), "messages": [ref]}
    if record.kind == "messageAdded":
        out["messagesAdded"] = [{"message": with_labels}]
    elif record.kind == "messageDeleted":
        out["messagesDeleted"] = [{"message": ref}]
    elif record.kind == "labelAdded":
        out["labelsAdded"] = [{"message": with_labels, "labelIds": list(record.changed)}]
    else:
        out["labelsRemoved"] = [{"message": with_labels, "labelIds": list(record.changed)}]
    return out


# ---------------------------------------------------------------------------- helpers
def _page(
    items: list[Any], query: dict[str, Any], maximum: int = 500
) -> tuple[list[Any], str | None]:
    try:
        start = int(query.get("pageToken") or 0)
    except ValueError:
        raise bad_request("Invalid pageToken") from None
    size = min(int(query.get("maxResults") or DEFAULT_PAGE), maximum)
    chunk = items[start : start + size]
    more = start + size < len(items)
    return chunk, str(start + size) if more else None


def _raw(container: dict[str, Any], what: str = "message") -> bytes:
    raw = container.get("raw")
    if not raw:
        raise bad_request(f"Missing {what} raw content: 'raw' is required")
    try:
        data = b64url_decode(raw)
    except (binascii.Error, ValueError):
        raise bad_request("Invalid value for 'raw': not base64") from None
    if len(data) > MAX_RAW_BYTES:
        raise ApiError(413, "Message too large")
    return data


def _listed(key: str, items: list[dict[str, Any]], token: str | None, total: int) -> dict[str, Any]:
    out: dict[str, Any] = {key: items} if items else {}
    if token:
        out["nextPageToken"] = token
    out["resultSizeEstimate"] = total
    return out


def _draft(box: Mailbox, draft_id: str, fmt: str = "full") -> dict[str, Any]:
    return {"id": draft_id, "message": render_message(box.draft_message(draft_id), fmt)}


# --------------------------------------------------------------------------- handlers
def get_profile(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return {
        "emailAddress": box.user,
        "messagesTotal": len(box.messages),
        "threadsTotal": len(box.threads),
        "historyId": str(box.history_id),
    }


def labels_list(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return {"labels": [render_label(label) for label in box.labels.values()]}


def labels_get(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return render_label(box.label(p["id"]), box)


def labels_create(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    if "name" not in b:
        raise bad_request("Invalid label name")
    extra = {k: b[k] for k in ("messageListVisibility", "labelListVisibility", "color") if k in b}
    return render_label(box.create_label(b["name"], **extra))


def labels_patch(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return render_label(box.patch_label(p["id"], b))


def labels_delete(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    box.delete_label(p["id"])
    return None


def messages_list(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    found = box.matching(q.get("q"), q.get("labelIds", []), q.get("includeSpamTrash", False))
    chunk, token = _page(found, q)
    return _listed("messages", [_ref(m) for m in chunk], token, len(found))


def messages_get(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return render_message(
        box.message(p["id"]), q.get("format", "full"), q.get("metadataHeaders", [])
    )


def messages_modify(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    (message,) = box.modify_messages(
        [p["id"]], b.get("addLabelIds", []), b.get("removeLabelIds", [])
    )
    return render_message(message, "minimal")


def messages_batch_modify(
    box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]
) -> Any:
    ids = b.get("ids", [])
    if len(ids) > 1000:
        raise bad_request("Too many ids: at most 1000")
    box.modify_messages(ids, b.get("addLabelIds", []), b.get("removeLabelIds", []))
    return None


def messages_insert(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    message = box.add_message(
        _raw(b),
        b.get("labelIds", []),
        thread_id=b.get("threadId"),
        date_from_header=q.get("internalDateSource") == "dateHeader",
    )
    return render_message(message, "minimal")


def messages_send(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return render_message(box.send_message(_raw(b), b.get("threadId")), "minimal")


def messages_trash(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    message = box.message(p["id"])
    box.modify_messages([message.id], ["TRASH"], [])
    return render_message(message, "minimal")


def messages_untrash(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    message = box.message(p["id"])
    box.modify_messages([message.id], [], ["TRASH"])
    return render_message(message, "minimal")


def messages_delete(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    box.remove_message(p["id"])
    return None


def messages_batch_delete(
    box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]
) -> Any:
    for message_id in b.get("ids", []):
        if message_id in box.messages:
            box.remove_message(message_id)
    return None


def attachments_get(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    data = box.message(p["messageId"]).attachments.get(p["id"])
    if data is None:
        raise not_found()
    return {"attachmentId": p["id"], "size": len(data), "data": b64url(data)}


def threads_list(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    found = box.matching_threads(
        q.get("q"), q.get("labelIds", []), q.get("includeSpamTrash", False)
    )
    chunk, token = _page(found, q)
    items = []
    for thread_id in chunk:
        members = box.thread(thread_id)
        items.append(
            {
                "id": thread_id,
                "snippet": members[-1].parsed.snippet,
                "historyId": str(box.thread_history_id(thread_id)),
            }
        )
    return _listed("threads", items, token, len(found))


def _render_thread(box: Mailbox, thread_id: str, fmt: str, headers: Sequence[str] = ()) -> Any:
    return {
        "id": thread_id,
        "historyId": str(box.thread_history_id(thread_id)),
        "messages": [render_message(m, fmt, headers) for m in box.thread(thread_id)],
    }


def threads_get(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return _render_thread(box, p["id"], q.get("format", "full"), q.get("metadataHeaders", []))


def threads_modify(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    ids = [m.id for m in box.thread(p["id"]) if not m.is_draft]
    box.modify_messages(ids, b.get("addLabelIds", []), b.get("removeLabelIds", []))
    return _render_thread(box, p["id"], "minimal")


def threads_trash(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    box.modify_messages([m.id for m in box.thread(p["id"])], ["TRASH"], [])
    return _render_thread(box, p["id"], "minimal")


def threads_untrash(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    box.modify_messages([m.id for m in box.thread(p["id"])], [], ["TRASH"])
    return _render_thread(box, p["id"], "minimal")


def threads_delete(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    for message in box.thread(p["id"]):
        box.remove_message(message.id)
    return None


def drafts_create(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    message = b.get("message") or {}
    draft_id, _ = box.create_draft(_raw(message, "draft message"), message.get("threadId"))
    return _draft(box, draft_id, "minimal")


def drafts_get(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    return _draft(box, p["id"], q.get("format", "full"))


def drafts_list(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    draft_of = {message_id: draft_id for draft_id, message_id in box.drafts.items()}
    found = box.matching(q.get("q"), (), q.get("includeSpamTrash", False), drafts_only=True)
    found = [m for m in found if m.id in draft_of]
    chunk, token = _page(found, q)
    items = [{"id": draft_of[m.id], "message": _ref(m)} for m in chunk]
    return _listed("drafts", items, token, len(found))


def drafts_update(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    message = b.get("message") or {}
    box.update_draft(p["id"], _raw(message, "draft message"), message.get("threadId"))
    return _draft(box, p["id"], "minimal")


def drafts_delete(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    box.delete_draft(p["id"])
    return None


def drafts_send(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    if not b.get("id"):
        raise bad_request("Missing draft id")
    return render_message(box.send_draft(b["id"]), "minimal")


def history_list(box: Mailbox, p: dict[str, str], q: dict[str, Any], b: dict[str, Any]) -> Any:
    if "startHistoryId" not in q:
        raise bad_request("Missing required parameter: startHistoryId")
    kinds = set(q["historyTypes"]) if q.get("historyTypes") else None
    records = box.history_since(int(q["startHistoryId"]), kinds, q.get("labelId"))
    chunk, token = _page(records, q)
    out: dict[str, Any] = {}
    if chunk:
        out["history"] = [render_history(r) for r in chunk]
    if token:
        out["nextPageToken"] = token
    out["historyId"] = str(box.history_id)
    return out


HANDLERS: dict[str, Handler] = {
    "getProfile": get_profile,
    "labels.list": labels_list,
    "labels.get": labels_get,
    "labels.create": labels_create,
    "labels.patch": labels_patch,
    "labels.update": labels_patch,
    "labels.delete": labels_delete,
    "messages.list": messages_list,
    "messages.get": messages_get,
    "messages.modify": messages_modify,
    "messages.batchModify": messages_batch_modify,
    "messages.insert": messages_insert,
    "messages.send": messages_send,
    "messages.trash": messages_trash,
    "messages.untrash": messages_untrash,
    "messages.delete": messages_delete,
    "messages.batchDelete": messages_batch_delete,
    "messages.attachments.get": attachments_get,
    "threads.list": threads_list,
    "threads.get": threads_get,
    "threads.modify": threads_modify,
    "threads.trash": threads_trash,
    "threads.untrash": threads_untrash,
    "threads.delete": threads_delete,
    "drafts.create": drafts_create,
    "drafts.get": drafts_get,
    "drafts.list": drafts_list,
    "drafts.update": drafts_update,
    "drafts.delete": drafts_delete,
    "drafts.send": drafts_send,
    "history.list": history_list,
}
