"""The Gmail client: the only module that talks to googleapiclient.

It offers typed methods for what introbot needs (never a send method: introbot only ever
drafts), paces calls with a token bucket under the per-user quota, retries rate limits,
server errors and timeouts with bounded exponential backoff, reads in batches of 50 whose
failed parts are retried alone, and turns every failure into a :mod:`introbot.gmail.errors`
exception whose message says what to do.

The same code talks to Gmail and to the sandbox: only the endpoint and the credentials
differ (``GmailClient.for_sandbox(url)``).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self, TypeVar

import google_auth_httplib2
import httplib2
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from introbot.gmail.auth import refusal
from introbot.gmail.errors import (
    AuthExpired,
    GmailError,
    GmailRejected,
    GmailUnavailable,
    HistoryExpired,
    NotFound,
)
from introbot.gmail.pacing import Outcome, RetryPolicy, TokenBucket, classify, retry_after_seconds
from introbot.gmail.quota import units
from introbot.gmail.types import (
    Draft,
    History,
    HistoryEvent,
    HistoryKind,
    Label,
    MessageMeta,
    MessageRef,
    Profile,
    RawMessage,
    Thread,
)

log = logging.getLogger(__name__)

GMAIL_ENDPOINT = "https://gmail.googleapis.com/"
BATCH_SIZE = 50  # Gmail allows 100 calls per batch and recommends at most 50
MODIFY_CHUNK = 1000  # messages.batchModify takes at most 1,000 ids
PAGE_SIZE = 500
_TRANSPORT_ERRORS = (TimeoutError, ConnectionError, OSError, httplib2.HttpLib2Error, TransportError)
# Everything a call can fail with that is Gmail's or the network's doing, not a bug.
_FAILURES = (HttpError, RefreshError, *_TRANSPORT_ERRORS)

T = TypeVar("T")


@dataclass
class ClientStats:
    """What this client spent: calls and quota units per method, HTTP round trips, retries."""

    calls: Counter[str] = field(default_factory=Counter)
    units: Counter[str] = field(default_factory=Counter)
    http_requests: int = 0
    retries: int = 0

    def count(self, method: str, calls: int = 1) -> None:
        self.calls[method] += calls
        self.units[method] += units(method) * calls


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _error_details(exc: HttpError) -> tuple[str | None, str]:
    """Gmail's reason (``userRateLimitExceeded``) and message from an error answer."""
    details = exc.error_details if isinstance(exc.error_details, list) else []
    reason = next((d.get("reason") for d in details if isinstance(d, dict)), None)
    return reason, str(exc.reason or "")


@dataclass(frozen=True)
class _Failure:
    """A failed call, classified: the one place that reads an error (``pacing.classify``
    decides what an HTTP answer means; no answer at all is a transient fault)."""

    outcome: Outcome
    status: int  # the HTTP status; 0 when no answer came
    reason: str | None  # Gmail's reason, like userRateLimitExceeded
    message: str
    why: str  # for the retry log
    hint: float | None = None  # seconds the server asked to wait

    @property
    def transient(self) -> bool:
        return self.outcome in (Outcome.RETRY, Outcome.RETRY_UNCERTAIN)


def _failure(exc: BaseException) -> _Failure:
    """What one of the :data:`_FAILURES` means."""
    if isinstance(exc, HttpError):
        reason, message = _error_details(exc)
        hint = retry_after_seconds(exc.resp.get("retry-after"), message)
        status = exc.status_code
        return _Failure(
            classify(status, reason), status, reason, message, f"{status} {reason}", hint
        )
    if isinstance(exc, RefreshError):  # the sign-in was refused when refreshed
        return _Failure(Outcome.AUTH, 0, None, refusal(exc), "refused sign-in")
    # A timeout or a lost connection: the call may have taken effect.
    return _Failure(Outcome.RETRY_UNCERTAIN, 0, None, str(exc), f"{type(exc).__name__}: {exc}")


def message_id_header(raw: bytes) -> str | None:
    """The Message-ID of an RFC 822 message, read from its header block only."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    value = headers.get("Message-ID")
    return str(value).strip() if value else None


def draft_key(raw: bytes) -> str:
    """The Message-ID a draft is found again by; a draft without one is a bug."""
    key = message_id_header(raw)
    if not key:
        raise ValueError("a draft needs a Message-ID header: it is how introbot finds it again")
    return key


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class _Resources:
    """The Gmail API's request factories (googleapiclient resources)."""

    users: Any
    drafts: Any
    messages: Any
    threads: Any
    labels: Any
    history: Any


_RESOURCES: list[_Resources] = []
_RESOURCES_LOCK = threading.Lock()


def _resources() -> _Resources:
    """The request factories, built once per process: a process serving a thousand
    mailboxes keeps one set (most of a megabyte) rather than a thousand. They make
    requests for Gmail's own address and hold no sign-in and no connection: each client
    sends its requests to its endpoint, on its own connection (``GmailClient._own``), and
    making requests from several threads only reads them."""
    with _RESOURCES_LOCK:
        if not _RESOURCES:
            service = build(
                "gmail",
                "v1",
                http=httplib2.Http(),  # never used: every request gets its client's own
                static_discovery=True,
                client_options={"api_endpoint": GMAIL_ENDPOINT},
            )
            users = service.users()
            # googleapiclient builds a resource's methods each time it is asked for one:
            # ask once (a burst of a thousand drafts spent a fifth of its time there).
            _RESOURCES.append(
                _Resources(
                    users,
                    users.drafts(),
                    users.messages(),
                    users.threads(),
                    users.labels(),
                    users.history(),
                )
            )
        return _RESOURCES[0]


class GmailClient:
    """Typed access to one Gmail mailbox (``userId=me``)."""

    def __init__(
        self,
        credentials: Credentials,
        endpoint: str = GMAIL_ENDPOINT,
        *,
        timeout: float = 30.0,
        bucket: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httplib2.Http | None = None,
        signed_in_at: datetime | None = None,
    ) -> None:
        """``transport`` replaces the plain HTTP connection (it must carry its own timeout);
        tests pass one that dies on purpose at a chosen request. ``signed_in_at`` (when the
        sign-in was made) lets a refused sign-in be explained."""
        endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self._timeout = timeout
        self._transport = transport
        self._connect(credentials, endpoint, signed_in_at)
        self.endpoint = endpoint
        self._batch_uri = endpoint + "batch/gmail/v1"
        self.bucket = bucket or TokenBucket()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.stats = ClientStats()

    def _connect(
        self, credentials: Credentials, endpoint: str, signed_in_at: datetime | None
    ) -> None:
        self._signed_in_at = signed_in_at
        transport = self._transport or httplib2.Http(timeout=self._timeout)
        # Every request is sent on this client's own connection and sign-in (_own); what
        # makes the requests is shared by every client of the endpoint (_resources).
        self._http = google_auth_httplib2.AuthorizedHttp(credentials, http=transport)
        api = _resources()
        self._users, self._drafts, self._messages = api.users, api.drafts, api.messages
        self._threads, self._labels, self._history = api.threads, api.labels, api.history

    def _own(self, request: HttpRequest) -> HttpRequest:
        """The request, to be sent to this client's endpoint, on its connection, with its
        sign-in."""
        if request.uri.startswith(GMAIL_ENDPOINT):
            request.uri = self.endpoint + request.uri.removeprefix(GMAIL_ENDPOINT)
        request.http = self._http
        return request

    def use_sign_in(self, credentials: Credentials, signed_in_at: datetime | None) -> None:
        """Carry on with a new sign-in (the user ran ``introbot auth`` again)."""
        self._http.close()
        self._connect(credentials, self.endpoint, signed_in_at)

    @classmethod
    def for_sandbox(cls, url: str, **options: Any) -> Self:
        """A client for a sandbox server: same code path, anonymous credentials."""
        return cls(AnonymousCredentials(), url, **options)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the plumbing
    def _error(self, method: str, failure: _Failure) -> GmailError:
        """The exception for a failure that retrying cannot mend."""
        if failure.outcome is Outcome.AUTH:
            return AuthExpired(failure.message, self._signed_in_at)
        if failure.outcome is Outcome.NOT_FOUND and method != "batch":
            # (a 404 for a whole batch is no object gone: the batch endpoint refused)
            return NotFound(method, failure.status, failure.reason, failure.message)
        return GmailRejected(method, failure.status, failure.reason, failure.message)

    def _pause(self, method: str, attempt: int, why: str, hint: float | None) -> None:
        if attempt >= self.retry.max_attempts:
            raise GmailUnavailable(
                f"Gmail kept failing {method} ({why}) after {attempt} attempts; "
                "introbot stops this pass and tries again on the next one."
            )
        pause = self.retry.delay(attempt, hint)
        self.stats.retries += 1
        log.warning(
            "gmail_retry method=%s why=%r attempt=%d pause=%.2fs", method, why, attempt, pause
        )
        self._sleep(pause)

    def _call(
        self,
        method: str,
        make_request: Callable[[], HttpRequest],
        *,
        on_uncertain: Callable[[], Any] | None = None,
    ) -> Any:
        """Execute one call with pacing and retries.

        ``on_uncertain`` is for calls that are not idempotent: after a failure that may
        have taken effect (5xx, timeout) it is asked first and may return the result
        that the earlier attempt produced, instead of doing the call again.
        """
        attempt = 0
        uncertain = False
        while True:
            attempt += 1
            if uncertain and on_uncertain is not None:
                found = on_uncertain()
                if found is not None:
                    return found
            self.bucket.acquire(units(method))
            self.stats.count(method)
            self.stats.http_requests += 1
            try:
                return self._own(make_request()).execute(num_retries=0)
            except _FAILURES as exc:
                failure = _failure(exc)
                if not failure.transient:
                    raise self._error(method, failure) from None
                uncertain = uncertain or failure.outcome is Outcome.RETRY_UNCERTAIN
                self._pause(method, attempt, failure.why, failure.hint)

    def _batch(
        self, method: str, make_request: Callable[[str], HttpRequest], keys: Iterable[str]
    ) -> dict[str, Any]:
        """Run one idempotent call per key in batches of 50; parts that fail transiently are
        retried alone. Returns each key's answer; keys whose object is gone (404) or that
        Gmail refuses for good (400) are left out."""
        results: dict[str, Any] = {}
        pending = list(dict.fromkeys(keys))
        attempt = 0
        while pending:
            attempt += 1
            again: list[str] = []
            why, hint = "", None
            for chunk in _chunks(pending, BATCH_SIZE):
                failures: dict[str, HttpError] = {}

                def collect(
                    key: str,
                    response: Any,
                    exc: Exception | None,
                    failures: dict[str, HttpError] = failures,
                ) -> None:
                    if exc is None:
                        results[key] = response
                    elif isinstance(exc, HttpError):
                        failures[key] = exc
                    else:
                        raise exc

                batch = BatchHttpRequest(callback=collect, batch_uri=self._batch_uri)
                for key in chunk:
                    batch.add(self._own(make_request(key)), request_id=key)
                self.bucket.acquire(units(method) * len(chunk))
                self.stats.count(method, len(chunk))
                self.stats.http_requests += 1
                try:
                    batch.execute()
                except _FAILURES as exc:  # the whole batch failed
                    failure = _failure(exc)
                    if not failure.transient:
                        raise self._error("batch", failure) from None
                    again += chunk
                    why, hint = f"batch {failure.why}", failure.hint
                    continue
                for key, error in failures.items():
                    failure = _failure(error)
                    if failure.outcome is Outcome.AUTH:
                        raise self._error(method, failure) from None
                    if not failure.transient:
                        # Gone, or refused for good (400): this one is left out, the
                        # others are answered; one message never fails the whole read.
                        if failure.outcome is Outcome.FAIL:
                            log.warning(
                                "gmail_refused method=%s id=%s status=%d reason=%s",
                                method,
                                key,
                                failure.status,
                                failure.reason,
                            )
                        continue
                    again.append(key)
                    why = failure.why
                    hint = failure.hint or hint
            if again:
                self._pause(method, attempt, f"{why}, {len(again)} part(s) to redo", hint)
            pending = again
        return results

    def _pages(
        self, method: str, make_request: Callable[[str | None], HttpRequest]
    ) -> Iterator[Any]:
        token: str | None = None
        while True:
            page = self._call(method, functools.partial(make_request, token))
            yield page
            token = page.get("nextPageToken")
            if not token:
                return

    # ------------------------------------------------------------- mailbox and labels
    def profile(self) -> Profile:
        data = self._call("getProfile", lambda: self._users.getProfile(userId="me"))
        return Profile(
            email=data["emailAddress"],
            history_id=int(data["historyId"]),
            messages_total=int(data.get("messagesTotal", 0)),
            threads_total=int(data.get("threadsTotal", 0)),
        )

    def labels(self) -> list[Label]:
        data = self._call("labels.list", lambda: self._labels.list(userId="me"))
        found = [Label(d["id"], d["name"], d.get("type", "user")) for d in data.get("labels", [])]
        return found

    def create_label(self, name: str) -> Label:
        data = self._call("labels.create", lambda: self._create_label(name))
        return Label(data["id"], data["name"], data.get("type", "user"))

    def create_labels(self, names: Sequence[str]) -> dict[str, str]:
        """Make these labels in one batch: name -> id of each Gmail made (one it refused,
        such as a name taken meanwhile, is left out)."""
        parts = {str(n): name for n, name in enumerate(names)}
        made = self._batch("labels.create", lambda n: self._create_label(parts[n]), parts)
        return {str(d["name"]): str(d["id"]) for d in made.values()}

    def _create_label(self, name: str) -> HttpRequest:
        body = {"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}
        return self._labels.create(userId="me", body=body)

    def ensure_labels(self, names: Iterable[str]) -> dict[str, str]:
        """Label ids by name, creating the missing labels: one labels.list, then the missing
        ones in one batch (a first poll makes nine). A part Gmail refused (409: made
        meanwhile, perhaps by an earlier attempt of this batch) is looked up by a second
        list; one still missing is created alone, so its error is Gmail's own."""
        wanted = list(dict.fromkeys(names))
        existing = {label.name.casefold(): label.id for label in self.labels()}
        missing = [name for name in wanted if name.casefold() not in existing]
        if len(missing) > 1:
            made = self.create_labels(missing)
            existing |= {name.casefold(): label_id for name, label_id in made.items()}
            if len(made) < len(missing):
                existing |= {label.name.casefold(): label.id for label in self.labels()}
        ids: dict[str, str] = {}
        for name in wanted:
            if name.casefold() not in existing:
                try:
                    existing[name.casefold()] = self.create_label(name).id
                except GmailRejected as exc:
                    if exc.status != 409:  # created meanwhile by someone else: list again
                        raise
                    existing = {label.name.casefold(): label.id for label in self.labels()}
            ids[name] = existing[name.casefold()]
        return ids

    # ---------------------------------------------------------------------- messages
    def list_messages(
        self, query: str | None = None, label_ids: Sequence[str] = (), limit: int | None = None
    ) -> list[MessageRef]:
        """Messages matching a Gmail search, newest first (all pages, or up to ``limit``)."""
        found: list[MessageRef] = []
        for page in self._pages(
            "messages.list",
            lambda token: self._messages.list(
                userId="me",
                q=query,
                labelIds=list(label_ids) or None,
                maxResults=PAGE_SIZE,
                pageToken=token,
                fields="messages(id,threadId),nextPageToken",
            ),
        ):
            found += [MessageRef(m["id"], m["threadId"]) for m in page.get("messages", [])]
            if limit is not None and len(found) >= limit:
                return found[:limit]
        return found

    def list_threads(self, query: str | None = None, label_ids: Sequence[str] = ()) -> list[str]:
        """Ids of threads matching a search (all pages), newest activity first."""
        found: list[str] = []
        for page in self._pages(
            "threads.list",
            lambda token: self._threads.list(
                userId="me",
                q=query,
                labelIds=list(label_ids) or None,
                maxResults=PAGE_SIZE,
                pageToken=token,
                fields="threads(id),nextPageToken",
            ),
        ):
            found += [t["id"] for t in page.get("threads", [])]
        return found

    def get_raw_messages(self, ids: Iterable[str]) -> dict[str, RawMessage]:
        """RFC 822 bytes of each message, batched; messages that are gone are left out."""

        def get(message_id: str) -> HttpRequest:
            return self._messages.get(userId="me", id=message_id, format="raw")

        answers = self._batch("messages.get", get, ids)
        return {key: _raw_message(data) for key, data in answers.items()}

    def get_message_metadata(
        self, ids: Iterable[str], headers: Sequence[str] = ()
    ) -> dict[str, MessageMeta]:
        """Labels and the named headers of each message, batched; gone ones left out."""

        def get(message_id: str) -> HttpRequest:
            return self._messages.get(
                userId="me",
                id=message_id,
                format="metadata",
                metadataHeaders=list(headers) or None,
                fields="id,threadId,labelIds,historyId,internalDate,payload/headers",
            )

        answers = self._batch("messages.get", get, ids)
        return {key: _message_meta(data) for key, data in answers.items()}

    def modify_messages(
        self, ids: Sequence[str], add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        """Add and remove label ids on messages (messages.batchModify, 1,000 at a time)."""
        if not ids or not (add or remove):
            return
        for chunk in _chunks(list(ids), MODIFY_CHUNK):
            body = {"ids": list(chunk), "addLabelIds": list(add), "removeLabelIds": list(remove)}
            self._call(
                "messages.batchModify",
                functools.partial(self._messages.batchModify, userId="me", body=body),
            )

    def modify_message(
        self, message_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> bool:
        """Add and remove label ids on one message (5 units). False if it is gone."""
        body = {"addLabelIds": list(add), "removeLabelIds": list(remove)}
        try:
            self._call(
                "messages.modify",
                lambda: self._messages.modify(userId="me", id=message_id, body=body),
            )
        except NotFound:
            return False
        return True

    def find_messages(self, rfc822_message_id: str) -> list[MessageRef]:
        """Messages (not drafts) carrying this Message-ID header, anywhere in the mailbox."""
        query = f"rfc822msgid:{rfc822_message_id.strip().strip('<>')} -in:drafts"
        return self.list_messages(query)

    # ----------------------------------------------------------------------- threads
    def get_thread(self, thread_id: str, headers: Sequence[str] = ()) -> Thread | None:
        """A thread's messages (drafts included) with labels and the named headers."""
        try:
            data = self._call(
                "threads.get",
                lambda: self._threads.get(
                    userId="me",
                    id=thread_id,
                    format="metadata",
                    metadataHeaders=list(headers) or None,
                ),
            )
        except NotFound:
            return None
        return Thread(
            id=data["id"],
            history_id=int(data["historyId"]),
            messages=tuple(_message_meta(m) for m in data.get("messages", [])),
        )

    def modify_thread(
        self, thread_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> bool:
        """Add and remove label ids on a whole conversation. False if the thread is gone."""
        body = {"addLabelIds": list(add), "removeLabelIds": list(remove)}
        try:
            self._call(
                "threads.modify",
                lambda: self._threads.modify(userId="me", id=thread_id, body=body),
            )
        except NotFound:
            return False
        return True

    # ------------------------------------------------------------------------ drafts
    def create_draft(self, raw: bytes, thread_id: str | None = None) -> Draft:
        """Create a draft. Safe to repeat: the raw message must carry a Message-ID, and
        after a failure that may have created the draft anyway, the draft is looked up by
        that Message-ID instead of being created twice."""
        key = draft_key(raw)
        message: dict[str, Any] = {"raw": _b64(raw)}
        if thread_id:
            message["threadId"] = thread_id

        def already_created() -> dict[str, Any] | None:
            found = self.find_new_draft(key)
            if not found:
                return None
            draft = found[0]
            return {
                "id": draft.id,
                "message": {"id": draft.message_id, "threadId": draft.thread_id},
            }

        data = self._call(
            "drafts.create",
            lambda: self._drafts.create(userId="me", body={"message": message}),
            on_uncertain=already_created,
        )
        return _draft(data)

    def update_draft(self, draft_id: str, raw: bytes, thread_id: str | None = None) -> Draft | None:
        """Replace a draft's content (its id stays, its message id changes). None if gone."""
        message: dict[str, Any] = {"raw": _b64(raw)}
        if thread_id:
            message["threadId"] = thread_id
        body = {"id": draft_id, "message": message}
        try:
            data = self._call(
                "drafts.update",
                lambda: self._drafts.update(userId="me", id=draft_id, body=body),
            )
        except NotFound:
            return None
        return _draft(data)

    def get_draft(self, draft_id: str) -> Draft | None:
        try:
            data = self._call(
                "drafts.get",
                lambda: self._drafts.get(userId="me", id=draft_id, format="minimal"),
            )
        except NotFound:
            return None
        return _draft(data)

    def list_drafts(self, query: str | None = None) -> list[Draft]:
        found: list[Draft] = []
        for page in self._pages(
            "drafts.list",
            lambda token: self._drafts.list(
                userId="me", q=query, maxResults=PAGE_SIZE, pageToken=token
            ),
        ):
            found += [_draft(d) for d in page.get("drafts", [])]
        return found

    def find_drafts(self, rfc822_message_id: str) -> list[Draft]:
        """Drafts whose message carries this Message-ID header."""
        return self.list_drafts(f"rfc822msgid:{rfc822_message_id.strip().strip('<>')}")

    def find_new_draft(self, rfc822_message_id: str, known: Collection[str] = ()) -> list[Draft]:
        """Drafts carrying this Message-ID, one of them perhaps created seconds ago. Search
        (``q=``) can lag behind drafts.create, so when it finds nothing the drafts whose
        message is not in ``known`` are listed without a query and their Message-ID read
        (5 units each): for the rare call after a failure that may have created one."""
        found = self.find_drafts(rfc822_message_id)
        if found:
            return found
        key = rfc822_message_id.strip()
        unknown = [d for d in self.list_drafts() if d.message_id not in known]
        if not unknown:
            return []
        metas = self.get_message_metadata([d.message_id for d in unknown], ("Message-ID",))
        return [
            d
            for d in unknown
            if (meta := metas.get(d.message_id)) is not None
            and (meta.header("Message-ID") or "").strip() == key
        ]

    def delete_draft(self, draft_id: str) -> bool:
        """Delete a draft; False if it was already gone."""
        try:
            self._call("drafts.delete", lambda: self._drafts.delete(userId="me", id=draft_id))
        except NotFound:
            return False
        return True

    # ----------------------------------------------------------------------- history
    def history(
        self,
        start_history_id: int,
        *,
        kinds: Sequence[HistoryKind] = (),
        label_id: str | None = None,
    ) -> History:
        """Every change after ``start_history_id`` (all pages).

        Raises :class:`HistoryExpired` when Gmail no longer has that history (404).
        """
        events: list[HistoryEvent] = []
        history_id = start_history_id
        try:
            for page in self._pages(
                "history.list",
                lambda token: self._history.list(
                    userId="me",
                    startHistoryId=str(start_history_id),
                    historyTypes=list(kinds) or None,
                    labelId=label_id,
                    maxResults=PAGE_SIZE,
                    pageToken=token,
                    fields="history(id,messagesAdded,messagesDeleted,labelsAdded,labelsRemoved),"
                    "nextPageToken,historyId",
                ),
            ):
                events += [e for record in page.get("history", []) for e in _history_events(record)]
                history_id = int(page["historyId"])
        except NotFound:
            raise HistoryExpired(start_history_id) from None
        return History(tuple(events), history_id)


# ------------------------------------------------------------------- JSON -> values
def _labels(data: dict[str, Any]) -> frozenset[str]:
    return frozenset(data.get("labelIds", []))


def _raw_message(data: dict[str, Any]) -> RawMessage:
    return RawMessage(
        id=data["id"],
        thread_id=data["threadId"],
        label_ids=_labels(data),
        history_id=int(data.get("historyId", 0)),
        internal_date=int(data.get("internalDate", 0)),
        raw=_unb64(data["raw"]),
    )


def _message_meta(data: dict[str, Any]) -> MessageMeta:
    headers = data.get("payload", {}).get("headers", [])
    return MessageMeta(
        id=data["id"],
        thread_id=data["threadId"],
        label_ids=_labels(data),
        history_id=int(data.get("historyId", 0)),
        internal_date=int(data.get("internalDate", 0)),
        headers=tuple((h["name"], h["value"]) for h in headers),
    )


def _draft(data: dict[str, Any]) -> Draft:
    message = data.get("message", {})
    return Draft(
        id=data["id"], message_id=message.get("id", ""), thread_id=message.get("threadId", "")
    )


_HISTORY_FIELDS: dict[str, HistoryKind] = {
    "messagesAdded": "messageAdded",
    "messagesDeleted": "messageDeleted",
    "labelsAdded": "labelAdded",
    "labelsRemoved": "labelRemoved",
}


def _history_events(record: dict[str, Any]) -> Iterator[HistoryEvent]:
    history_id = int(record["id"])
    for json_field, kind in _HISTORY_FIELDS.items():
        for item in record.get(json_field, []):
            message = item["message"]
            yield HistoryEvent(
                history_id=history_id,
                kind=kind,
                message=MessageRef(message["id"], message["threadId"]),
                label_ids=_labels(message),
                changed=frozenset(item.get("labelIds", [])),
            )
