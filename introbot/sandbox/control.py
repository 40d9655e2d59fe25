"""A small HTTP client for the sandbox's control API (``/_sandbox/``): how the demo, the
tests and the benchmark play the outside world and the connector's Gmail UI."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode, urlsplit


class ControlError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"sandbox control call failed ({status}): {body}")
        self.status = status
        self.body = body


class _Connections:
    """Kept-alive connections to one sandbox, one per thread: a test makes thousands of
    control calls, and a new connection each (plus a server thread to serve it) cost three
    times the call. Shared by the controls of every mailbox of that sandbox."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []

    def request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        """Status, content type and body. A kept connection the server has since closed
        (it restarted, or timed out) is opened again once; a fresh one failing is the
        error."""
        for attempt in (1, 2):
            connection: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
            reused = connection is not None
            if connection is None:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self._local.conn = connection
                with self._lock:
                    self._all.append(connection)
            try:
                connection.request(method, url, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except ConnectionError:  # RemoteDisconnected, a reset, a broken pipe
                connection.close()
                if not reused or attempt == 2:
                    raise
                continue
            except Exception:
                connection.close()  # a timeout or worse: the next call starts afresh
                raise
            if response.will_close:
                connection.close()
            return response.status, response.headers.get("Content-Type", ""), data
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()

    def __del__(self) -> None:
        self.close()


class SandboxControl:
    """The controls of one mailbox: the sandbox's first, or ``user``'s."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 10.0,
        user: str | None = None,
        connections: _Connections | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.base = self.base_url + "_sandbox"
        if user is not None:
            self.base += f"/users/{quote(user)}"
        self.timeout = timeout
        self._connections = connections or _Connections(self.base_url, timeout)

    def of(self, user: str) -> SandboxControl:
        """The controls of the mailbox ``user``, served by the same sandbox."""
        return SandboxControl(self.base_url, self.timeout, user, self._connections)

    def close(self) -> None:
        """Close the kept connections (they close by themselves when the last control of
        this sandbox is dropped)."""
        self._connections.close()

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        headers = {"Content-Type": content_type} if body is not None else {}
        url = urlsplit(self.base + path)
        target = url.path + (f"?{url.query}" if url.query else "")
        status, kind, data = self._connections.request(method, target, body, headers)
        if status >= 400:
            raise ControlError(status, data.decode("utf-8", "replace"))
        return json.loads(data) if kind.startswith("application/json") else data

    def _json(self, method: str, path: str, value: Any = None) -> Any:
        body = None if value is None else json.dumps(value).encode()
        return self._request(method, path, body if body is not None else b"")

    # the outside world
    def deliver(
        self,
        raw: bytes,
        labels: tuple[str, ...] = ("INBOX", "UNREAD"),
        internal_date: int | None = None,
        auth: str | None = None,
    ) -> dict[str, str]:
        """A message arrives from outside; returns ``{"id", "threadId"}``. With ``auth`` (a
        case of ``GET /_sandbox/auth-cases``) Gmail's Authentication-Results for that case
        goes on top, as Gmail writes it on arrival."""
        query: dict[str, str] = {"labels": ",".join(labels)}
        if internal_date is not None:
            query["internalDate"] = str(internal_date)
        if auth is not None:
            query["auth"] = auth
        result: dict[str, str] = self._request(
            "POST", "/deliver?" + urlencode(query), raw, "message/rfc822"
        )
        return result

    # the connector in the Gmail UI
    def send_draft(self, draft_id: str, at: float | None = None) -> dict[str, Any]:
        """Send (or, with ``at`` in epoch seconds, Schedule send) as the Gmail UI does. Returns
        ``{"id", "threadId", "at"}``; ``id`` is None while the copy is still to appear (Undo
        send, Schedule send) unless the draft's own message becomes the sent copy."""
        body = {} if at is None else {"at": at}
        result: dict[str, Any] = self._json("POST", f"/drafts/{quote(draft_id)}/send", body)
        return result

    def undo_send(self, draft_id: str) -> dict[str, str]:
        """The connector presses Undo on the send of ``draft_id`` while its copy is still
        to appear: the message comes back as a draft with a new draft id and message id;
        returns ``{"id", "messageId", "threadId"}``."""
        result: dict[str, str] = self._json("POST", f"/drafts/{quote(draft_id)}/undo")
        return result

    def send_elsewhere(
        self,
        draft_id: str,
        subject: str | None = None,
        client: str = "apple-mail",
        delay: float = 0.0,
        keep_references: bool = True,
    ) -> dict[str, Any]:
        """The connector sends the draft from another client (Apple Mail, Outlook): the
        draft is deleted, a separately composed message appears in Sent."""
        spec: dict[str, Any] = {"client": client, "delay": delay}
        spec["keep_references"] = keep_references
        if subject is not None:
            spec["subject"] = subject
        result: dict[str, Any] = self._json(
            "POST", f"/drafts/{quote(draft_id)}/send-elsewhere", spec
        )
        return result

    def edit_draft(
        self,
        draft_id: str,
        *,
        text: str | None = None,
        subject: str | None = None,
        to: str | None = None,
        cc: str | None = None,
        autosaves: int = 1,
    ) -> dict[str, str]:
        """The connector edits the draft in Gmail (each autosave a new message id); returns
        ``{"id", "messageId", "threadId"}``."""
        spec: dict[str, Any] = {"autosaves": autosaves}
        for name, value in (("text", text), ("subject", subject), ("to", to), ("cc", cc)):
            if value is not None:
                spec[name] = value
        result: dict[str, str] = self._json("POST", f"/drafts/{quote(draft_id)}/edit", spec)
        return result

    # time and realism
    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the sandbox's clock on: delayed and scheduled sends that fall due appear,
        and search catches up."""
        result: dict[str, Any] = self._json("POST", "/clock", {"advance": seconds})
        return result

    def set_clock(self, epoch: float) -> dict[str, Any]:
        """Move the sandbox's clock on to ``epoch`` (never back), e.g. to introbot's now."""
        result: dict[str, Any] = self._json("POST", "/clock", {"set": epoch})
        return result

    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/clock")
        return result

    def set_realism(self, profile: str = "realistic", **fields: Any) -> dict[str, Any]:
        """Choose a realism profile (``kind``, ``realistic``), with fields overridden."""
        result: dict[str, Any] = self._json("POST", "/realism", {"profile": profile, **fields})
        return result

    def realism(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/realism")
        return result

    def discard_draft(self, draft_id: str) -> None:
        self._json("POST", f"/drafts/{quote(draft_id)}/discard")

    def label_thread(
        self, thread_id: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
    ) -> list[str]:
        result = self._json(
            "POST",
            f"/threads/{quote(thread_id)}/labels",
            {"add": list(add), "remove": list(remove)},
        )
        labels: list[str] = result["labels"]
        return labels

    # looking and scripting
    def mailbox(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/mailbox")
        return result

    def raw(self, message_id: str) -> bytes:
        data: bytes = self._request("GET", f"/messages/{quote(message_id)}/raw")
        return data

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/stats")
        return result

    def reset_stats(self) -> None:
        self._json("POST", "/stats/reset")

    def add_faults(self, *faults: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", "/faults", {"faults": list(faults)})
        return result

    def clear_faults(self) -> None:
        self._json("DELETE", "/faults")

    def expire_history(self, before: int | str = "now") -> None:
        self.add_faults({"expire_history_before": before})

    def set_rate_limit(self, settings: dict[str, Any] | None) -> Any:
        return self._request(
            "POST", "/rate-limit", b"" if settings is None else json.dumps(settings).encode()
        )

    def reset(self) -> None:
        self._json("POST", "/reset")

    def oauth(self, **settings: Any) -> dict[str, Any]:
        """The sign-in side: consent ("allow"/"deny"), grant_scopes, require_token, ..."""
        result: dict[str, Any] = self._json("POST", "/oauth", settings)
        return result

    def revoke_sign_ins(self) -> None:
        """As if the user removed introbot at myaccount.google.com/permissions."""
        self._json("POST", "/oauth/revoke")

    def expire_access_tokens(self) -> None:
        self._json("POST", "/oauth/expire-access")

    def access_token(self, user: str, seconds: int = 3599) -> str:
        """A live access token for the mailbox ``user``, as if it had signed in:
        ``GmailClient(google.oauth2.credentials.Credentials(token), url)`` works on it."""
        result: dict[str, Any] = self._at_root(
            "POST", "/oauth/tokens", {"user": user, "seconds": seconds}
        )
        return str(result["access_token"])

    def add_mailbox(self, user: str) -> list[dict[str, Any]]:
        """Serve one more mailbox (its own quota and state); returns every mailbox served."""
        result: dict[str, Any] = self._at_root("POST", "/mailboxes", {"user": user})
        return list(result["mailboxes"])

    def mailboxes(self) -> list[dict[str, Any]]:
        result: dict[str, Any] = self._at_root("GET", "/mailboxes")
        return list(result["mailboxes"])

    def _at_root(self, method: str, path: str, value: Any = None) -> Any:
        """A call of the sandbox as a whole (not of one mailbox)."""
        root = SandboxControl(self.base_url, self.timeout, connections=self._connections)
        return root._json(method, path, value)

    def service_account(
        self,
        client_email: str = "introbot@introbot-sandbox.iam.gserviceaccount.com",
        *,
        domains: list[str] | None = None,
        scopes: tuple[str, ...] = ("https://www.googleapis.com/auth/gmail.modify",),
    ) -> dict[str, Any]:
        """A new service-account key file (a fresh RSA key, as Google Cloud Console's
        "Add key" downloads) whose Google is this sandbox, with domain-wide delegation of
        ``scopes`` on ``domains`` (default: the domains of the mailboxes served), as a
        Workspace admin grants it in the Admin console. ``scopes=()``: never delegated."""
        import secrets

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        key_id = secrets.token_hex(20)
        client_id = str(10**20 + secrets.randbelow(10**20))
        spec: dict[str, Any] = {
            "client_email": client_email,
            "client_id": client_id,
            "key_id": key_id,
            "public_key": public,
            "scopes": list(scopes),
        }
        if domains is not None:
            spec["domains"] = domains
        self._at_root("POST", "/oauth/service-accounts", spec)
        return {
            "type": "service_account",
            "project_id": "introbot-sandbox",
            "private_key_id": key_id,
            "private_key": private,
            "client_email": client_email,
            "client_id": client_id,
            "auth_uri": f"{self.base_url}o/oauth2/auth",
            "token_uri": f"{self.base_url}token",
        }

    def client_file(self) -> dict[str, Any]:
        """A Desktop-app OAuth client file whose Google is this sandbox."""
        return {
            "installed": {
                "client_id": "1234-sandbox.apps.googleusercontent.com",
                "project_id": "introbot-sandbox",
                "auth_uri": f"{self.base_url}o/oauth2/auth",
                "token_uri": f"{self.base_url}token",
                "client_secret": "GOCSPX-sandbox-secret",
                "redirect_uris": ["http://localhost"],
            }
        }


def authentication_results(address: str, result: str = "pass") -> str:
    """The header Gmail writes on arrival: ``pass`` for an authentic sender."""
    domain = address.rpartition("@")[2]
    return f"mx.google.com; dkim={result} header.i=@{domain}; dmarc={result} header.from={domain}"


def compose_reply(
    original: dict[str, Any],
    sender: str,
    text: str,
    *,
    at: datetime,
    auth: str | None = "pass",
    subject: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A reply as a party's mail client writes it: quoting ``original`` (a message from
    ``GET /_sandbox/mailbox``), threaded by In-Reply-To/References."""
    address = parseaddr(sender)[1]
    msg = EmailMessage()
    if auth is not None:
        msg["Authentication-Results"] = authentication_results(address, auth)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg["From"] = sender
    msg["To"] = original["headers"].get("From", "")
    msg["Subject"] = subject or f"Re: {original['headers'].get('Subject', '')}"
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or "example.org")
    msg["In-Reply-To"] = original["headers"]["Message-ID"]
    msg["References"] = original["headers"]["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in str(original["text"]).splitlines())
    sent_at = original["headers"].get("Date", "")
    msg.set_content(
        f"{text}\n\nOn {sent_at}, {original['headers'].get('From', '')} wrote:\n{quoted}\n"
    )
    return msg.as_bytes()


def seed_messages() -> list[tuple[str, bytes]]:
    """The demo mailbox: realistic intro requests and one newsletter, by file name."""
    folder = resources.files("introbot.sandbox") / "seed"
    return sorted(
        (entry.name, entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".eml")
    )
