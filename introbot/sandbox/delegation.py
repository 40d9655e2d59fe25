"""Google's token endpoint for a service account with domain-wide delegation, stood in for:
the JWT bearer grant (RFC 7523, ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``)
that google-auth's ``service_account.Credentials.with_subject(mailbox)`` makes.

The assertion is an RS256 JWT signed with the service account's private key; the sandbox
checks it against the public key it was given, then the delegation an admin grants in the
Google Admin console (which domains, which scopes), then the mailbox, and answers each
refusal with Google's error (docs/sandbox.md, "Workspace sign-in"). A grant without ``sub``
is the service account itself, which Gmail refuses (400 ``failedPrecondition``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from google.auth import crypt

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_LIFETIME_SECONDS = 3600  # Google: "a short-lived token (60 minutes)"
CLOCK_SKEW_SECONDS = 300
# The audience an assertion names: Google's token endpoint (google-auth always writes it,
# whatever endpoint it posts to), or the sandbox's own.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"

Reply = tuple[int, dict[str, str], bytes]
Refusal = tuple[int, str, str]  # HTTP status, OAuth error, error_description

NOT_A_JWT: Refusal = (400, "invalid_grant", "Invalid JWT: the assertion is not a JWT.")
NO_ACCOUNT: Refusal = (400, "invalid_grant", "Invalid grant: account not found")
BAD_SIGNATURE: Refusal = (400, "invalid_grant", "Invalid JWT Signature.")
BAD_TIME: Refusal = (
    400,
    "invalid_grant",
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim.",
)
BAD_AUDIENCE: Refusal = (400, "invalid_grant", "Invalid JWT: Failed audience check.")
NOT_DELEGATED: Refusal = (
    401,
    "unauthorized_client",
    "Client is unauthorized to retrieve access tokens using this method, or client not "
    "authorized for any of the scopes requested.",
)
NO_SUCH_USER: Refusal = (400, "invalid_grant", "Invalid email or User ID")


class Granted(NamedTuple):
    scopes: list[str]
    subject: str  # the mailbox, or the service account's own address without ``sub``


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    client_id: str
    keys: dict[str, str]  # private_key_id -> public key (PEM)
    domains: frozenset[str]  # the Workspace domains whose admin delegated to its client id
    scopes: frozenset[str]  # the scopes the admin authorised for it


def _verifier(public_key: str) -> crypt.Verifier:
    verifier: crypt.Verifier = crypt.RSAVerifier.from_string(public_key)  # type: ignore[no-untyped-call]
    return verifier


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass
class ServiceAccounts:
    """The service accounts the sandbox knows and the delegation each was granted."""

    mailbox_exists: Callable[[str], bool] = lambda address: True
    default_domains: Callable[[], frozenset[str]] = frozenset
    clock: Callable[[], float] = time.time
    accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, spec: dict[str, Any]) -> ServiceAccount:
        """``{"client_email", "client_id", "key_id", "public_key", "domains", "scopes"}``;
        registering the same address again adds the key and replaces the delegation."""
        for key in ("client_email", "key_id", "public_key"):
            if not isinstance(spec.get(key), str) or not spec[key]:
                raise ValueError(f"{key} is required (a string)")
        _verifier(spec["public_key"])  # a PEM public key, or ValueError
        domains = spec.get("domains")
        with self.lock:
            known = self.accounts.get(spec["client_email"])
            account = ServiceAccount(
                spec["client_email"],
                str(spec.get("client_id") or (known.client_id if known else "")),
                {**(known.keys if known else {}), spec["key_id"]: spec["public_key"]},
                frozenset(d.lower() for d in domains)
                if domains is not None
                else self.default_domains(),
                frozenset(spec.get("scopes", [])),
            )
            self.accounts[account.client_email] = account
        return account

    def grant(self, assertion: str, audience: str) -> Granted | Refusal:
        """The token endpoint's answer to a JWT bearer grant: what it grants, or why not.
        ``audience``: the address this endpoint was called at."""
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64(header_b64))
            claims = json.loads(_b64(payload_b64))
            signature = _b64(signature_b64)
        except ValueError:
            return NOT_A_JWT
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return NOT_A_JWT
        with self.lock:
            account = self.accounts.get(str(claims.get("iss", "")))
        if account is None:
            return NO_ACCOUNT
        public_key = account.keys.get(str(header.get("kid", "")))
        signed = f"{header_b64}.{payload_b64}".encode()
        if (
            header.get("alg") != "RS256"
            or public_key is None
            or not _verifier(public_key).verify(signed, signature)  # type: ignore[no-untyped-call]
        ):
            return BAD_SIGNATURE
        now = self.clock()
        try:
            issued, expires = float(claims["iat"]), float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            return BAD_TIME
        if (
            expires - issued > MAX_LIFETIME_SECONDS
            or issued > now + CLOCK_SKEW_SECONDS
            or expires < now - CLOCK_SKEW_SECONDS
        ):
            return BAD_TIME
        if claims.get("aud") not in (GOOGLE_TOKEN_URI, audience):
            return BAD_AUDIENCE
        scopes = str(claims.get("scope", "")).split()
        subject = claims.get("sub")
        if not subject:
            return Granted(scopes, account.client_email)
        subject = str(subject)
        if _domain(subject) not in account.domains or not set(scopes) <= account.scopes:
            return NOT_DELEGATED
        if not self.mailbox_exists(subject):
            return NO_SUCH_USER
        return Granted(scopes, subject)

    def control(self, http_method: str, body: bytes) -> Reply:
        """``GET`` lists the service accounts, ``POST`` registers one (see :meth:`register`)."""
        if http_method == "POST":
            try:
                spec = json.loads(body or b"{}")
                if not isinstance(spec, dict):
                    raise ValueError("the body must be a JSON object")
                self.register(spec)
            except (ValueError, TypeError) as exc:
                return _json(400, {"error": f"invalid service account: {exc}"})
        elif http_method != "GET":
            return _json(405, {"error": "GET or POST"})
        with self.lock:
            listed = [
                {
                    "client_email": a.client_email,
                    "client_id": a.client_id,
                    "key_ids": sorted(a.keys),
                    "domains": sorted(a.domains),
                    "scopes": sorted(a.scopes),
                }
                for a in self.accounts.values()
            ]
        return _json(200, {"service_accounts": listed})


def _json(status: int, value: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()
