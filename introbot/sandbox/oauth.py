"""Google's OAuth endpoints, stood in for: the consent screen (``GET /o/oauth2/auth``) and
the token endpoint (``POST /token``), enough for google-auth-oauthlib's installed-app flow,
google-auth's refresh and a service account's JWT bearer grant with domain-wide delegation
(:mod:`introbot.sandbox.delegation`), so that ``introbot auth``, Workspace sign-in and every
sign-in failure can be tested without Google. Every token belongs to one mailbox (its
``user``): the API's ``me`` is that mailbox.

The consent screen answers at once (no page): it redirects to the ``redirect_uri`` with a
code, or with ``error=access_denied`` when the scenario says the user refused. When
``require_token`` is on, the Gmail API answers 401 to a call without a live access token,
as Gmail does. Controlled under ``/_sandbox/oauth`` (see docs/sandbox.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from introbot.sandbox.delegation import JWT_BEARER, Granted, ServiceAccounts

Reply = tuple[int, dict[str, str], bytes]
ACCESS_SECONDS = 3599
UNAUTHENTICATED = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential.",
        "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError"}],
        "status": "UNAUTHENTICATED",
    }
}


def _json(status: int, value: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


def _token_error(error: str, description: str) -> Reply:
    return _json(400, {"error": error, "error_description": description})


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    challenge: str | None
    user: str


class Grant(NamedTuple):
    scopes: list[str]
    user: str  # the mailbox the token is for


class Access(NamedTuple):
    expiry: float
    user: str


@dataclass
class OAuthServer:
    """The sign-in side of the sandbox: codes, refresh tokens and access tokens it issued."""

    consent: str = "allow"  # or "deny": the user refuses on the consent screen
    grant_scopes: list[str] | None = None  # None: every scope asked for
    require_token: bool = False  # the Gmail API demands a live access token
    access_seconds: int = ACCESS_SECONDS
    user: str = ""  # who signs in on the consent screen (the sandbox's first mailbox)
    codes: dict[str, _Code] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, Access] = field(default_factory=dict)
    service_accounts: ServiceAccounts = field(default_factory=ServiceAccounts)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ the consent screen
    def authorize(self, query: str) -> Reply:
        args = {k: v[-1] for k, v in parse_qs(query).items()}
        redirect = args.get("redirect_uri", "")
        host = urlsplit(redirect).hostname
        if host not in ("localhost", "127.0.0.1", "::1"):
            return _json(400, {"error": "invalid_request", "error_description": "redirect_uri"})
        answer: dict[str, str] = {}
        if "state" in args:
            answer["state"] = args["state"]
        if self.consent == "deny":
            answer["error"] = "access_denied"
        else:
            asked = args.get("scope", "").split()
            granted = [s for s in asked if self.grant_scopes is None or s in self.grant_scopes]
            code = "4/sandbox-" + secrets.token_urlsafe(12)
            with self.lock:
                self.codes[code] = _Code(
                    args.get("client_id", ""),
                    redirect,
                    granted,
                    args.get("code_challenge"),
                    self.user,
                )
            answer |= {"code": code, "scope": " ".join(granted)}
        return 302, {"Location": f"{redirect}?{urlencode(answer)}", "Content-Length": "0"}, b""

    # ------------------------------------------------------------- the token endpoint
    def token(self, body: bytes, authorization: str | None = None, audience: str = "") -> Reply:
        """``audience``: this endpoint's own address, which a JWT assertion must name."""
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") == JWT_BEARER:  # a service account: no client secret
            granted = self.service_accounts.grant(form.get("assertion", ""), audience)
            if isinstance(granted, Granted):
                return _json(200, self._access(granted.scopes, granted.subject))
            status, error, description = granted
            return _json(status, {"error": error, "error_description": description})
        scheme, _, basic = (authorization or "").partition(" ")
        if scheme.lower() == "basic":  # client credentials may come as HTTP Basic auth
            try:
                pair = base64.b64decode(basic).decode()
            except (ValueError, UnicodeDecodeError):
                pair = ""
            user, _, password = pair.partition(":")
            form.setdefault("client_id", unquote_plus(user))
            form.setdefault("client_secret", unquote_plus(password))
        if not form.get("client_id") or not form.get("client_secret"):
            return _json(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange(form)
        if grant == "refresh_token":
            with self.lock:
                grant_of = self.refresh_tokens.get(form.get("refresh_token", ""))
            if grant_of is None:
                return _token_error("invalid_grant", "Token has been expired or revoked.")
            return _json(200, self._access(*grant_of))
        return _token_error("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _exchange(self, form: dict[str, str]) -> Reply:
        with self.lock:
            code = self.codes.pop(form.get("code", ""), None)
        if code is None:
            return _token_error("invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != code.redirect_uri:
            return _token_error("redirect_uri_mismatch", "Bad Request")
        if code.challenge is not None:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != code.challenge:
                return _token_error("invalid_grant", "Invalid code verifier.")
        refresh = "1//sandbox-" + secrets.token_urlsafe(16)
        with self.lock:
            self.refresh_tokens[refresh] = Grant(code.scopes, code.user)
        return _json(200, self._access(code.scopes, code.user) | {"refresh_token": refresh})

    def _access(self, scopes: list[str], user: str) -> dict[str, Any]:
        token = "ya29.sandbox-" + secrets.token_urlsafe(16)
        with self.lock:
            self.access_tokens[token] = Access(time.time() + self.access_seconds, user)
        return {
            "access_token": token,
            "expires_in": self.access_seconds,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }

    # ---------------------------------------------------------------- the Gmail API
    def admits(self, authorization: str | None) -> bool:
        return not self.require_token or self.user_of(authorization) is not None

    def user_of(self, authorization: str | None) -> str | None:
        """The mailbox a live access token was issued for; None without one."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self.lock:
            access = self.access_tokens.get(token)
        return access.user if access is not None and access.expiry > time.time() else None

    # ------------------------------------------------------------------ the controls
    def control(self, http_method: str, path: str, body: bytes) -> Reply | None:
        """``/oauth`` (GET, POST settings), ``/oauth/revoke``, ``/oauth/expire-access`` and
        ``/oauth/service-accounts``; None for other paths."""
        if path == "/oauth/service-accounts":
            return self.service_accounts.control(http_method, body)
        if path == "/oauth/tokens" and http_method == "POST":
            return self._mint(body)
        if path == "/oauth/revoke" and http_method == "POST":
            with self.lock:
                revoked = len(self.refresh_tokens)
                self.refresh_tokens.clear()
                self.access_tokens.clear()
            return _json(200, {"revoked": revoked})
        if path == "/oauth/expire-access" and http_method == "POST":
            with self.lock:
                self.access_tokens = {
                    token: access._replace(expiry=0.0)
                    for token, access in self.access_tokens.items()
                }
            return _json(200, {"expired": len(self.access_tokens)})
        if path != "/oauth":
            return None
        if http_method == "POST":
            spec = json.loads(body or b"{}")
            unknown = set(spec) - {
                "consent",
                "grant_scopes",
                "require_token",
                "access_seconds",
                "user",
            }
            if unknown or spec.get("consent", "allow") not in ("allow", "deny"):
                return _json(400, {"error": f"unknown or invalid settings: {sorted(unknown)}"})
            self.consent = spec.get("consent", self.consent)
            self.user = str(spec.get("user", self.user))
            self.grant_scopes = spec.get("grant_scopes", self.grant_scopes)
            self.require_token = bool(spec.get("require_token", self.require_token))
            self.access_seconds = int(spec.get("access_seconds", self.access_seconds))
        return _json(200, self.settings())

    def _mint(self, body: bytes) -> Reply:
        """An access token for a mailbox without any sign-in ceremony (tests, the bench)."""
        try:
            spec = json.loads(body or b"{}")
            user = spec["user"]
            seconds = int(spec.get("seconds", self.access_seconds))
            if not isinstance(user, str) or "@" not in user or seconds <= 0:
                raise ValueError
        except (ValueError, TypeError, KeyError, AttributeError):
            return _json(400, {"error": 'body must be {"user": ADDRESS, "seconds": N > 0}'})
        token = "ya29.sandbox-" + secrets.token_urlsafe(16)
        with self.lock:
            self.access_tokens[token] = Access(time.time() + seconds, user)
        return _json(200, {"access_token": token, "expires_in": seconds, "user": user})

    def settings(self) -> dict[str, Any]:
        return {
            "consent": self.consent,
            "grant_scopes": self.grant_scopes,
            "require_token": self.require_token,
            "access_seconds": self.access_seconds,
            "user": self.user,
            "refresh_tokens": len(self.refresh_tokens),
            "access_tokens": len(self.access_tokens),
        }
