"""The sandbox: a Gmail API server on 127.0.0.1 for the demo, the tests and the benchmark.

:class:`Sandbox` answers requests (transport-free); :class:`SandboxServer` puts it behind a
real HTTP server that the real googleapiclient talks to. The REST surface is Gmail's
(``/gmail/v1/users/{userId}/...`` and ``/batch/gmail/v1``); the control API for scripting a
scenario lives under ``/_sandbox/`` (see ``docs/sandbox.md``). :class:`Sandboxes` serves
several mailboxes side by side, one per address, each with its own quota and state, and
the Google sign-in they share: ``me`` is the mailbox of the request's access token.
"""

from __future__ import annotations

import contextlib
import email
import email.message
import email.policy
import email.utils
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import ValidationError

from introbot.gmail.quota import units
from introbot.sandbox import authresults, discovery, fields
from introbot.sandbox.accounting import Faults, RateLimiter, RateLimitSettings, Stats
from introbot.sandbox.api import HANDLERS
from introbot.sandbox.errors import ApiError, bad_request, not_found
from introbot.sandbox.mailbox import Mailbox, Message, PendingSend
from introbot.sandbox.oauth import UNAUTHENTICATED, OAuthServer, Reply
from introbot.sandbox.realism import Realism, realism_of

log = logging.getLogger(__name__)

DEFAULT_USER = "connector@example.com"
MAX_BATCH_PARTS = 100
MAX_REQUEST_BYTES = 50 * 1024 * 1024
_USER_IN_PATH = re.compile(r"/gmail/v1/users/([^/?\s]+)/")


def _json_reply(status: int, value: Any, headers: dict[str, str] | None = None) -> Reply:
    if value is None and status == 204:
        return 204, dict(headers or {}), b""
    body = json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")
    return status, {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}, body


def _error_reply(error: ApiError) -> Reply:
    return _json_reply(error.status, error.body(), error.headers)


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request(f"Invalid JSON payload received. {exc}") from None


class Sandbox:
    """The state of one sandbox mailbox and every answer it gives, independent of HTTP:
    its own quota counters, rate limit, faults, clock and saved state."""

    def __init__(
        self,
        user: str = DEFAULT_USER,
        state_file: Path | None = None,
        rate_limit: RateLimitSettings | None = None,
        clock: Callable[[], float] = time.time,
        realism: Realism | str | None = None,
        oauth: OAuthServer | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.limiter.configure(rate_limit)
        self.faults = Faults()
        self.oauth = oauth or OAuthServer(user=user)
        self.state_file = state_file
        self.stopping = threading.Event()
        self._clock = clock
        self.clock_offset = 0.0  # POST /_sandbox/clock moves the sandbox's time forward
        self._in_flight = 0  # requests and batch parts being answered (Realism.concurrent_requests)
        self._flight_lock = threading.Lock()
        if state_file is not None and state_file.exists():
            with state_file.open(encoding="utf-8") as f:
                self.mailbox = Mailbox.from_json(json.load(f), self.now)
        else:
            self.mailbox = Mailbox(user, self.now)
        self.realism = realism_of(realism)

    # ------------------------------------------------------------------ time, realism
    def now(self) -> float:
        """The sandbox's clock (epoch seconds): the real clock, moved on by ``advance``."""
        return self._clock() + self.clock_offset

    @property
    def realism(self) -> Realism:
        return self.mailbox.realism

    @realism.setter
    def realism(self, value: Realism) -> None:
        self.mailbox.realism = value

    def advance(self, seconds: float) -> list[Message]:
        """Move the sandbox's clock on; pending sends that fall due appear."""
        if seconds < 0:
            raise bad_request("the sandbox's clock only moves forward")
        with self.lock:
            self.clock_offset += seconds
            return self.mailbox.run_due()

    def _claim(self, wanted: int) -> int:
        """Take up to ``wanted`` places under Gmail's concurrency limit; how many were got."""
        limit = self.realism.concurrent_requests
        with self._flight_lock:
            got = wanted if limit is None else max(0, min(wanted, limit - self._in_flight))
            self._in_flight += got
            return got

    def _release(self, places: int) -> None:
        with self._flight_lock:
            self._in_flight -= places

    # ------------------------------------------------------------------- persistence
    def save(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            data = json.dumps(self.mailbox.to_json())
        target = self.state_file
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, target)

    # ------------------------------------------------------------------------ the API
    def api_call(self, http_method: str, path: str, query: str, body: bytes) -> Reply:
        """One Gmail API call, as a plain request or as a part of a batch."""
        try:
            return self._api_call(http_method, path, query, body)
        except ApiError as error:
            return _error_reply(error)
        except Exception as exc:  # a sandbox bug must answer, not drop the connection
            log.exception("sandbox failed on %s %s", http_method, path)
            return _error_reply(ApiError(500, f"Sandbox internal error: {exc!r}"))

    def _api_call(self, http_method: str, path: str, query: str, body: bytes) -> Reply:
        if path.startswith("/upload/"):
            raise bad_request("The sandbox takes messages as 'raw' in the JSON body, not uploads.")
        routed = discovery.route(http_method, path)
        if routed is None:
            raise ApiError(404, f"Not Found: {http_method} {path}")
        method, params = routed
        params = {k: unquote(v) for k, v in params.items()}
        self.stats.count_call(method.name)
        if params.get("userId", "").lower() not in ("me", self.mailbox.user.lower()):
            raise ApiError(403, f"Delegation denied for {params.get('userId')}")
        typed = discovery.check_query(method, parse_qs(query, keep_blank_values=True))
        payload = _json_body(body) if method.request_schema else {}
        if method.request_schema:
            discovery.check_body(method.request_schema, payload)
        handler = HANDLERS.get(method.name)
        if handler is None:
            raise ApiError(501, f"The sandbox does not implement {method.name}.")
        try:
            self.limiter.admit(units(method.name))
        except ApiError:
            self.stats.count_rejection(rate_limited=True)
            raise
        fault = self.faults.take(method.name)
        if fault is not None and not fault.after_effect:
            self.stats.count_rejection(rate_limited=False)
            self._hang(fault.hang)
            raise fault.error()
        with self.lock:
            if self.mailbox.pending:
                self.mailbox.run_due()
            result = handler(self.mailbox, params, typed, payload)
        if http_method != "GET":
            self.save()
        if fault is not None:
            self.stats.count_rejection(rate_limited=False)
            self._hang(fault.hang)
            raise fault.error()
        if "fields" in typed and result is not None:
            result = fields.apply(result, fields.parse(typed["fields"]))
        return _json_reply(200 if result is not None else 204, result)

    def _hang(self, seconds: float | None) -> None:
        if seconds:
            self.stopping.wait(seconds)

    # ----------------------------------------------------------------------- batches
    def batch(self, content_type: str, body: bytes) -> Reply:
        try:
            fault = self.faults.take("batch", wildcard=False)
            if fault is not None:
                self.stats.count_rejection(rate_limited=False)
                self._hang(fault.hang)
                raise fault.error()
            parts = _split_batch(content_type, body)
        except ApiError as error:
            return _error_reply(error)
        boundary = f"batch_{uuid.uuid4().hex}"
        out = []
        admitted = self._claim(len(parts))  # Gmail runs the parts side by side
        try:
            answers = [
                self._batch_part(request) if i < admitted else self._too_many()
                for i, (_, request) in enumerate(parts)
            ]
        finally:
            self._release(admitted)
        for (content_id, _), (status, headers, content) in zip(parts, answers, strict=True):
            reason = HTTPStatus(status).phrase
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            response_id = f"<response-{content_id.strip('<>')}>" if content_id else ""
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: {response_id}\r\n\r\n"
                f"HTTP/1.1 {status} {reason}\r\n{head}Content-Length: {len(content)}\r\n\r\n"
                f"{content.decode('utf-8')}\r\n"
            )
        text = "".join(out) + f"--{boundary}--\r\n"
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, text.encode("utf-8")

    def _too_many(self) -> Reply:
        self.stats.count_rejection(rate_limited=True)
        return _error_reply(
            ApiError(429, "Too many concurrent requests for user", "rateLimitExceeded")
        )

    def plain_call(self, http_method: str, path: str, query: str, body: bytes) -> Reply:
        """One API call over its own HTTP request, within Gmail's concurrency limit."""
        if not self._claim(1):
            return self._too_many()
        try:
            return self.api_call(http_method, path, query, body)
        finally:
            self._release(1)

    def _batch_part(self, request: str) -> Reply:
        head, _, part_body = _split_head(request)
        lines = head.splitlines() or [""]
        match = re.fullmatch(r"(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.[01]", lines[0].strip())
        if not match:
            return _error_reply(bad_request("Invalid batch part: no request line"))
        data = part_body.encode("utf-8")
        length = re.search(r"(?im)^content-length:\s*(\d+)\s*$", head)
        if length:
            data = data[: int(length[1])]
        url = urlsplit(match[2])
        return self.api_call(match[1], url.path, url.query, data)

    # ------------------------------------------------------------------ control API
    def control(self, http_method: str, path: str, query: str, body: bytes) -> Reply:
        try:
            return self._control(http_method, path.removeprefix("/_sandbox"), query, body)
        except ApiError as error:
            return _error_reply(error)
        except Exception as exc:
            log.exception("sandbox control failed on %s %s", http_method, path)
            return _error_reply(ApiError(500, f"Sandbox internal error: {exc!r}"))

    def _control(self, http_method: str, path: str, query: str, body: bytes) -> Reply:
        args = {k: v[-1] for k, v in parse_qs(query).items()}
        route = f"{http_method} {path.rstrip('/') or '/'}"
        if self.mailbox.pending:
            with self.lock:
                self.mailbox.run_due()
        box = self.mailbox
        if path.startswith("/oauth"):
            try:
                oauth_reply = self.oauth.control(http_method, path.rstrip("/"), body)
            except (ValueError, TypeError) as exc:
                raise bad_request(f"Invalid oauth settings: {exc}") from None
            if oauth_reply is None:
                raise not_found()
            return oauth_reply
        if route == "GET /":
            return _json_reply(200, {"endpoints": CONTROL_ENDPOINTS})
        if route == "GET /stats":
            return _json_reply(200, self.stats.snapshot())
        if route == "POST /stats/reset":
            self.stats.reset()
            return _json_reply(200, self.stats.snapshot())
        if route == "GET /mailbox":
            with self.lock:
                return _json_reply(200, _mailbox_view(box))
        if route == "GET /faults":
            return _json_reply(
                200, {"faults": self.faults.pending(), "history_floor": box.history_floor}
            )
        if route == "DELETE /faults":
            self.faults.clear()
            return _json_reply(200, {"faults": []})
        if route == "POST /faults":
            return self._add_faults(_json_body(body))
        if route in ("GET /rate-limit", "POST /rate-limit"):
            if http_method == "POST":
                spec = _json_body(body) if body.strip() else None
                try:
                    settings = None if spec is None else RateLimitSettings.model_validate(spec)
                except ValidationError as exc:
                    raise bad_request(f"Invalid rate limit: {exc.errors()[0]['msg']}") from None
                self.limiter.configure(settings)
            current = self.limiter.settings
            return _json_reply(200, current.model_dump() if current else None)
        if route in ("GET /realism", "POST /realism"):
            if http_method == "POST":
                self.realism = realism_of(_json_body(body) or "kind")
            return _json_reply(200, self.realism.to_json())
        if route in ("GET /clock", "POST /clock"):
            if http_method == "POST":
                spec = _json_body(body)
                if not isinstance(spec, dict) or len(spec) != 1 or set(spec) - {"advance", "set"}:
                    raise bad_request('body must be {"advance": seconds} or {"set": epoch}')
                try:
                    seconds = float(spec.get("advance", 0))
                    if "set" in spec:
                        seconds = float(spec["set"]) - self.now()
                    self.advance(seconds)
                except (TypeError, ValueError):
                    raise bad_request("advance and set take seconds") from None
                self.save()
            return _json_reply(
                200, {"now": self.now(), "offset": self.clock_offset, "pending": len(box.pending)}
            )
        if route == "GET /auth-cases":
            return _json_reply(200, authresults.CASES)
        if route == "POST /reset":
            with self.lock:
                realism = self.realism
                self.mailbox = Mailbox(args.get("user", box.user), self.now)
                self.realism = realism
            self.stats.reset()
            self.faults.clear()
            self.save()
            return _json_reply(200, {"user": self.mailbox.user})
        if route == "POST /deliver":
            return self._deliver(body, args)
        match = re.fullmatch(r"POST /drafts/([^/]+)/(send|undo|discard|send-elsewhere|edit)", route)
        if match:
            spec = _json_body(body)
            if not isinstance(spec, dict):
                raise bad_request("the body must be a JSON object")
            with self.lock:
                answer = self._draft_action(unquote(match[1]), match[2], spec)
            self.save()
            return _json_reply(200, answer)
        match = re.fullmatch(r"POST /threads/([^/]+)/labels", route)
        if match:
            return self._label_thread(unquote(match[1]), _json_body(body))
        match = re.fullmatch(r"GET /messages/([^/]+)/raw", route)
        if match:
            with self.lock:
                raw = box.message(unquote(match[1])).raw
            return 200, {"Content-Type": "message/rfc822"}, raw
        raise not_found()

    def _draft_action(self, draft_id: str, action: str, spec: dict[str, Any]) -> Any:
        box = self.mailbox
        allowed = {
            "send": {"at"},
            "undo": set(),
            "discard": set(),
            "send-elsewhere": {"subject", "client", "delay", "keep_references"},
            "edit": {"text", "subject", "to", "cc", "autosaves"},
        }[action]
        if set(spec) - allowed:
            raise bad_request(f"{action} takes {sorted(allowed) or 'no settings'}")
        try:
            if action == "discard":
                box.delete_draft(draft_id)
                return {}
            if action == "undo":
                new_id, message = box.undo_send(draft_id)
                return {"id": new_id, "messageId": message.id, "threadId": message.thread_id}
            if action == "edit":
                message = box.edit_in_ui(draft_id, **spec)
                return {"id": draft_id, "messageId": message.id, "threadId": message.thread_id}
            if action == "send":
                at = spec.get("at")
                sent = box.send_from_ui(draft_id, at=None if at is None else float(at))
            else:
                sent = box.send_elsewhere(draft_id, **spec)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"Invalid {action} settings: {exc}") from None
        if isinstance(sent, PendingSend):
            return {"id": sent.keep_id, "threadId": sent.thread_id, "at": sent.due}
        return {"id": sent.id, "threadId": sent.thread_id, "at": sent.internal_date / 1000}

    def _deliver(self, raw: bytes, args: dict[str, str]) -> Reply:
        if not raw.strip():
            raise bad_request("deliver needs the message/rfc822 bytes as the request body")
        if args.get("auth"):
            sender = email.utils.parseaddr(
                email.message_from_bytes(raw, policy=email.policy.compat32).get("From", "")
            )[1]
            raw = authresults.stamp(raw, args["auth"], sender)
        names = [n for n in args.get("labels", "INBOX,UNREAD").split(",") if n.strip()]
        internal_date = int(args["internalDate"]) if "internalDate" in args else None
        with self.lock:
            label_ids = [self.mailbox.ensure_label(name.strip()).id for name in names]
            message = self.mailbox.add_message(raw, label_ids, internal_date=internal_date)
        self.save()
        return _json_reply(200, {"id": message.id, "threadId": message.thread_id})

    def _label_thread(self, thread_id: str, spec: Any) -> Reply:
        if not isinstance(spec, dict) or set(spec) - {"add", "remove"}:
            raise bad_request('body must be {"add": [names], "remove": [names]}')
        with self.lock:
            box = self.mailbox
            ids = [m.id for m in box.thread(thread_id) if not m.is_draft]
            add = [box.ensure_label(name).id for name in spec.get("add", [])]
            remove = [box.ensure_label(name).id for name in spec.get("remove", [])]
            box.modify_messages(ids, add, remove)
            labels = sorted(
                {box.labels[lab].name for i in ids for lab in box.messages[i].label_ids}
            )
        self.save()
        return _json_reply(200, {"threadId": thread_id, "labels": labels})

    def _add_faults(self, spec: Any) -> Reply:
        specs = spec.get("faults", [spec]) if isinstance(spec, dict) else spec
        if not isinstance(specs, list):
            raise bad_request('body must be a fault object, a list, or {"faults": [...]}')
        for item in specs:
            if not isinstance(item, dict):
                raise bad_request("each fault must be an object")
            if "expire_history_before" in item:
                value = item["expire_history_before"]
                with self.lock:
                    floor = self.mailbox.history_id if value == "now" else int(value)
                    self.mailbox.expire_history_before(floor)
                continue
            self.faults.add(item)
        return _json_reply(
            200, {"faults": self.faults.pending(), "history_floor": self.mailbox.history_floor}
        )


CONTROL_ENDPOINTS = [
    "POST /_sandbox/deliver?labels=INBOX,UNREAD[&internalDate=MS][&auth=CASE]  "
    "body: message/rfc822",
    'POST /_sandbox/drafts/{draftId}/send  body: {} | {"at": EPOCH} (Schedule send)',
    "POST /_sandbox/drafts/{draftId}/undo  (Undo inside the Undo-send window)",
    "POST /_sandbox/drafts/{draftId}/discard",
    'POST /_sandbox/drafts/{draftId}/edit  body: {"text", "subject", "to", "cc", "autosaves"}',
    'POST /_sandbox/drafts/{draftId}/send-elsewhere  body: {"subject", "client", "delay", '
    '"keep_references"}',
    'GET|POST /_sandbox/realism  body: "kind" | "realistic" | {"profile": name, field: value}',
    'GET|POST /_sandbox/clock  body: {"advance": seconds} | {"set": epoch}',
    "GET  /_sandbox/auth-cases",
    'POST /_sandbox/threads/{threadId}/labels  body: {"add": [names], "remove": [names]}',
    "GET  /_sandbox/mailbox",
    "GET  /_sandbox/messages/{id}/raw",
    "GET  /_sandbox/stats",
    "POST /_sandbox/stats/reset",
    "GET|POST|DELETE /_sandbox/faults",
    "GET|POST /_sandbox/rate-limit",
    "POST /_sandbox/reset",
    'GET|POST /_sandbox/oauth  body: {"consent": "allow|deny", "grant_scopes": [...], '
    '"require_token": bool, "access_seconds": N}',
    "POST /_sandbox/oauth/revoke",
    "POST /_sandbox/oauth/expire-access",
    'POST /_sandbox/oauth/tokens  body: {"user": ADDRESS, "seconds": N} (an access token for it)',
    'GET|POST /_sandbox/oauth/service-accounts  body: {"client_email", "client_id", '
    '"key_id", "public_key", "domains": [...], "scopes": [...]} (domain-wide delegation)',
    'GET|POST /_sandbox/mailboxes  body: {"user": ADDRESS} (serve one more mailbox)',
    "ANY  /_sandbox/users/{address}/...  the calls above for that mailbox (default: the first)",
    "GET  /o/oauth2/auth (the consent screen), POST /token (the token endpoint)",
]


def _key(address: str) -> str:
    return address.strip().lower()


def state_file_of(base: Path | None, user: str, first: bool) -> Path | None:
    """Where a mailbox is saved: ``base`` for the first, ``STEM.ADDRESS.SUFFIX`` beside it
    for each other one."""
    if base is None or first:
        return base
    return base.with_name(f"{base.stem}.{_key(user)}{base.suffix}")


class Sandboxes:
    """Every mailbox the sandbox serves, by address, and the Google they share (sign-in,
    service accounts). The first mailbox is the default: the plain ``/_sandbox/`` controls
    and a call without an access token go to it."""

    def __init__(
        self,
        users: Sequence[str] = (DEFAULT_USER,),
        state_file: Path | None = None,
        rate_limit: RateLimitSettings | None = None,
        clock: Callable[[], float] = time.time,
        realism: Realism | str | None = None,
    ) -> None:
        if not users:
            raise ValueError("a sandbox serves at least one mailbox")
        self.oauth = OAuthServer(user=users[0])
        self.oauth.service_accounts.mailbox_exists = lambda address: self.get(address) is not None
        self.oauth.service_accounts.default_domains = self.domains
        self._make = (state_file, rate_limit, clock, realism)
        self._lock = threading.Lock()
        self._all: list[Sandbox] = []
        self._by_user: dict[str, Sandbox] = {}
        for user in users:
            self.add(user)
        self.default = self._all[0]

    def add(self, user: str) -> Sandbox:
        """Serve the mailbox ``user`` too (a no-op when it is served already)."""
        state_file, rate_limit, clock, realism = self._make
        with self._lock:
            known = self._by_user.get(_key(user))
            if known is not None:
                return known
            first = not self._all
            box = Sandbox(
                user,
                state_file_of(state_file, user, first),
                rate_limit,
                clock,
                realism,
                self.oauth,
            )
            self._all.append(box)
            self._by_user[_key(box.mailbox.user)] = box
            return box

    def get(self, user: str) -> Sandbox | None:
        return self._by_user.get(_key(user))

    def all(self) -> list[Sandbox]:
        with self._lock:
            return list(self._all)

    def domains(self) -> frozenset[str]:
        return frozenset(_key(b.mailbox.user).rpartition("@")[2] for b in self.all())

    def _reindex(self) -> None:
        """After ``POST /_sandbox/reset?user=`` renamed a mailbox."""
        with self._lock:
            self._by_user = {_key(b.mailbox.user): b for b in self._all}

    def for_call(self, authorization: str | None, user_id: str | None) -> Sandbox:
        """The mailbox a Gmail API call works on: the access token's, else (no token, as
        when ``require_token`` is off) the one its path names, else the default."""
        token_user = self.oauth.user_of(authorization)
        if token_user is not None:
            box = self.get(token_user)
            if box is None:  # a service account's own token, without a mailbox (``sub``)
                raise ApiError(400, "Precondition check failed.", "failedPrecondition")
            return box
        named = self.get(unquote(user_id)) if user_id and user_id != "me" else None
        return named or self.default

    def control(self, http_method: str, path: str, query: str, body: bytes) -> Reply:
        rest = path.removeprefix("/_sandbox")
        match = re.fullmatch(r"/users/([^/]+)(/.*)?", rest)
        if match:
            box = self.get(unquote(match[1]))
            if box is None:
                return _error_reply(
                    ApiError(
                        404,
                        f"The sandbox serves no mailbox {unquote(match[1])}; add it with "
                        'POST /_sandbox/mailboxes {"user": ADDRESS}.',
                        "notFound",
                    )
                )
            reply = box.control(http_method, "/_sandbox" + (match[2] or "/"), query, body)
        elif rest.rstrip("/") == "/mailboxes":
            return self._mailboxes(http_method, body)
        else:
            reply = self.default.control(http_method, path, query, body)
        if rest.endswith("/reset"):
            self._reindex()
        return reply

    def _mailboxes(self, http_method: str, body: bytes) -> Reply:
        if http_method == "POST":
            try:
                spec = _json_body(body)
                if not isinstance(spec, dict) or not isinstance(spec.get("user"), str):
                    raise bad_request('body must be {"user": ADDRESS}')
                local, at, domain = spec["user"].strip().rpartition("@")
                if not (local and at and "." in domain):
                    raise bad_request(f"not an email address: {spec['user']!r}")
            except ApiError as error:
                return _error_reply(error)
            self.add(spec["user"].strip())
        elif http_method != "GET":
            return _error_reply(ApiError(405, "GET or POST", None))
        listed = []
        for box in self.all():
            stats = box.stats.snapshot()
            listed.append(
                {
                    "user": box.mailbox.user,
                    "requests": stats["requests"],
                    "quota_units": stats["quota_units"],
                    "rate_limited": stats["rate_limited"],
                }
            )
        return _json_reply(200, {"mailboxes": listed})

    def stop(self) -> None:
        for box in self.all():
            box.stopping.set()

    def save(self) -> None:
        for box in self.all():
            box.save()


def _mailbox_view(box: Mailbox) -> dict[str, Any]:
    draft_of = {message_id: draft_id for draft_id, message_id in box.drafts.items()}
    messages = sorted(box.messages.values(), key=lambda m: m.seq)
    return {
        "user": box.user,
        "historyId": str(box.history_id),
        "labels": [
            {"id": lab.id, "name": lab.name, "type": lab.type} for lab in box.labels.values()
        ],
        "messages": [
            {
                "id": m.id,
                "threadId": m.thread_id,
                "labelIds": [box.labels[lab].name for lab in m.label_ids],
                "headers": dict(reversed(m.parsed.headers)),
                "text": m.parsed.text,
            }
            for m in messages
            if m.id not in draft_of
        ],
        "drafts": [
            {
                "id": draft_of[m.id],
                "messageId": m.id,
                "threadId": m.thread_id,
                "to": m.parsed.header("To"),
                "cc": m.parsed.header("Cc"),
                "subject": m.parsed.subject,
                "headers": dict(reversed(m.parsed.headers)),
                "text": m.parsed.text,
            }
            for m in messages
            if m.id in draft_of
        ],
    }


def _split_head(text: str) -> tuple[str, str, str]:
    match = re.search(r"\r?\n\r?\n", text)
    if match is None:
        return text, "", ""
    return text[: match.start()], match[0], text[match.end() :]


def _split_batch(content_type: str, body: bytes) -> list[tuple[str, str]]:
    if not content_type.lower().startswith("multipart/mixed"):
        raise bad_request("A batch request must be multipart/mixed.")
    envelope = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    container = email.message_from_bytes(envelope, policy=email.policy.compat32)
    parts = container.get_payload()
    if not container.is_multipart() or not isinstance(parts, list):
        raise bad_request("A batch request must be multipart/mixed.")
    if len(parts) > MAX_BATCH_PARTS:
        raise bad_request(f"A batch may hold at most {MAX_BATCH_PARTS} calls; got {len(parts)}.")
    out = []
    for part in parts:
        payload = part.get_payload() if isinstance(part, email.message.Message) else None
        if not isinstance(part, email.message.Message) or not isinstance(payload, str):
            raise bad_request("Each batch part must be application/http.")
        out.append((part.get("Content-ID", ""), payload))
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for
    # the client's delayed ACK (~40 ms a request on Linux).
    disable_nagle_algorithm = True
    server: _HTTPServer

    def _dispatch(self) -> None:
        sandboxes = self.server.sandboxes
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._send(_error_reply(ApiError(413, "Request too large")), close=True)
            return
        body = self.rfile.read(length) if length else b""
        authorization = self.headers.get("Authorization")
        batch = url.path.rstrip("/") == "/batch/gmail/v1" and self.command == "POST"
        if url.path.startswith("/_sandbox"):
            self._send(sandboxes.control(self.command, url.path, url.query, body))
            return
        if url.path == "/o/oauth2/auth" and self.command == "GET":
            self._send(sandboxes.oauth.authorize(url.query))
            return
        if url.path == "/token" and self.command == "POST":
            audience = f"http://{self.headers.get('Host', '')}/token"
            self._send(sandboxes.oauth.token(body, authorization, audience))
            return
        if not sandboxes.oauth.admits(authorization):
            self._send(
                _json_reply(401, UNAUTHENTICATED, {"WWW-Authenticate": 'Bearer realm="sandbox"'})
            )
            return
        named = _USER_IN_PATH.search(body.decode("utf-8", "replace") if batch else url.path)
        try:
            sandbox = sandboxes.for_call(authorization, named[1] if named else None)
        except ApiError as error:
            self._send(_error_reply(error))
            return
        if batch:
            sandbox.stats.count_http(batch=True)
            reply = sandbox.batch(self.headers.get("Content-Type", ""), body)
        else:
            sandbox.stats.count_http()
            try:
                sandbox.limiter.enter()
            except ApiError as error:
                sandbox.stats.count_rejection(rate_limited=True)
                self._send(_error_reply(error))
                return
            try:
                reply = sandbox.plain_call(self.command, url.path, url.query, body)
            finally:
                sandbox.limiter.leave()
        self._send(reply)

    def _send(self, reply: Reply, close: bool = False) -> None:
        status, headers, body = reply
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout): nothing to answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    """Kept-alive connections are served by their own threads until the client closes
    them, even after the listening socket is closed; :meth:`close_connections` ends them,
    so a stopped sandbox answers no one (as a stopped Gmail would), not a client that
    happens to hold a connection from before."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandboxes: Sandboxes) -> None:
        self.sandboxes = sandboxes
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            still_open = list(self._open)
        for connection in still_open:
            with contextlib.suppress(OSError):  # closed meanwhile
                connection.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A running sandbox: ``with SandboxServer() as sb: build(..., api_endpoint=sb.url)``.

    ``user`` is one address or several (``["a@firm.example", "b@firm.example"]``): each is
    a mailbox of its own; the first is ``sb.sandbox``, any is ``sb.mailbox(address)``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str | Sequence[str] = DEFAULT_USER,
        state_file: Path | None = None,
        rate_limit: RateLimitSettings | None = None,
        realism: Realism | str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        users = [user] if isinstance(user, str) else list(user)
        self.sandboxes = Sandboxes(users, state_file, rate_limit, clock, realism)
        self.sandbox = self.sandboxes.default
        self._httpd = _HTTPServer((host, port), self.sandboxes)
        self._thread: threading.Thread | None = None

    def mailbox(self, user: str) -> Sandbox:
        """The mailbox ``user`` (served from now on if it was not)."""
        return self.sandboxes.add(user)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            # stop() waits for the loop to see it (half of this on average): a test starts
            # and stops hundreds of servers, so 5 ms, not the 0.5 s default (wakeups cost ~0).
            kwargs={"poll_interval": 0.005},
            name="introbot-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self.sandboxes.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sandboxes.save()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
