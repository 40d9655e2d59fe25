"""Signing in to Gmail: the OAuth client file, Google's installed-app flow, and the saved
sign-in (``token.json``: written atomically, mode 0600, refreshed as needed); or, for a
Workspace domain, a service account with domain-wide delegation acting as each mailbox
(``[workspace]`` settings: no one runs ``introbot auth``).

Every failure is a :class:`SignInError` whose message says what happened and the next step.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.auth.exceptions import RefreshError, TransportError
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials

from introbot.gmail.errors import AuthExpired, GmailError

SCOPE = "https://www.googleapis.com/auth/gmail.modify"
SCOPES = (SCOPE,)
# Google ends the sign-ins of an app whose consent screen is still in "Testing" after 7 days.
TESTING_TOKEN_LIFETIME = timedelta(days=7)
CREDENTIALS_HELP = "the README's 'Use it on your Gmail' walks through it"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
DELEGATION_STEP = (
    "Google Admin console (admin.google.com) > Security > Access and data control > API "
    "controls > Manage Domain Wide Delegation > Add new"
)


class SignInError(Exception):
    """Signing in failed or the saved sign-in is unusable; the message says what to do."""


# ------------------------------------------------------------------ the client file
def read_client_file(path: Path) -> dict[str, Any]:
    """The ``installed`` section of a Desktop-app OAuth client file, checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SignInError(
            f"No OAuth client file at {path}. In Google Cloud Console create an OAuth client "
            f"of type 'Desktop app', download its JSON and save it as {path} (or give "
            f"`introbot auth --credentials FILE`); {CREDENTIALS_HELP}."
        ) from None
    except OSError as exc:
        raise SignInError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SignInError(
            f"{path} is not JSON ({exc.msg}, line {exc.lineno}): download the OAuth client "
            "file from Google Cloud Console again."
        ) from None
    if not isinstance(data, dict):
        raise SignInError(f"{path} is not an OAuth client file (expected a JSON object).")
    if data.get("type") == "service_account":
        raise SignInError(
            f"{path} is a service-account key. introbot signs in as you: create an OAuth "
            f"client of type 'Desktop app' instead; {CREDENTIALS_HELP}."
        )
    if "web" in data:
        raise SignInError(
            f"{path} is a 'Web application' OAuth client. introbot needs a 'Desktop app' "
            "client: Google Cloud Console > APIs & Services > Credentials > Create "
            "credentials > OAuth client ID > Application type: Desktop app."
        )
    if data.get("type") == "authorized_user" or "refresh_token" in data:
        raise SignInError(
            f"{path} is a saved sign-in, not an OAuth client file: download the client "
            f"file of your Desktop app client from Google Cloud Console; {CREDENTIALS_HELP}."
        )
    installed = data.get("installed")
    if not isinstance(installed, dict):
        raise SignInError(
            f'{path} is not a Desktop-app OAuth client file (it has no "installed" section); '
            f"{CREDENTIALS_HELP}."
        )
    missing = [
        key
        for key in ("client_id", "client_secret", "auth_uri", "token_uri")
        if not isinstance(installed.get(key), str) or not installed[key]
    ]
    if missing:
        raise SignInError(
            f"{path} lacks {', '.join(missing)}: download the client file again from "
            "Google Cloud Console."
        )
    if "REPLACE_WITH" in installed["client_secret"]:
        raise SignInError(
            f"{path} still holds the placeholders of credentials.example.json: put the file "
            f"you downloaded from Google Cloud Console there; {CREDENTIALS_HELP}."
        )
    return {"installed": installed}


# ----------------------------------------------------------------------- the flow
def sign_in(
    client_config: dict[str, Any],
    *,
    port: int,
    open_browser: bool,
    ask_redirect: Callable[[str], str] | None = None,
) -> Credentials:
    """Google's installed-app flow for the ``gmail.modify`` scope, with offline access.

    With ``ask_redirect`` (headless machines) the user opens the URL anywhere and pastes
    back the ``http://localhost...`` address the browser was sent to; otherwise a local
    server on ``port`` (0: any free port) catches the redirect."""
    from google_auth_oauthlib.flow import InstalledAppFlow
    from oauthlib.oauth2.rfc6749 import errors as oauth_errors

    _allow_loopback_http(client_config["installed"])
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")  # we check the scope ourselves
    flow = InstalledAppFlow.from_client_config(client_config, scopes=list(SCOPES))
    options = {"access_type": "offline", "prompt": "consent"}
    try:
        if ask_redirect is None:
            credentials = flow.run_local_server(
                port=port,
                open_browser=open_browser,
                authorization_prompt_message=(
                    "Sign in to Google in your browser. If no browser opened, visit:\n{url}"
                ),
                success_message="introbot is signed in. You can close this tab.",
                **options,
            )
        else:
            flow.redirect_uri = f"http://localhost:{port}/"
            url, _ = flow.authorization_url(**options)
            pasted = ask_redirect(url).strip()
            flow.fetch_token(**_authorization_answer(pasted))
            credentials = flow.credentials
        assert isinstance(credentials, Credentials)
    except oauth_errors.AccessDeniedError:
        raise SignInError(
            "Sign-in was refused on Google's consent screen (access_denied). Run `introbot "
            "auth` again and allow access. If Google said the app is blocked or not verified, "
            "add your Gmail address as a test user on the OAuth consent screen, or publish "
            f"the app; {CREDENTIALS_HELP}."
        ) from None
    except oauth_errors.MismatchingStateError:
        raise SignInError(
            "The pasted address belongs to another sign-in attempt: run `introbot auth` "
            "again and paste the address of this attempt."
        ) from None
    except oauth_errors.InvalidGrantError:
        raise SignInError(
            "Google did not accept the sign-in code (expired or already used): run "
            "`introbot auth` again and finish within a few minutes."
        ) from None
    except oauth_errors.OAuth2Error as exc:
        raise SignInError(
            f"Google refused the sign-in ({exc.error}: {exc.description or 'no details'})."
        ) from None
    except OSError as exc:
        raise SignInError(
            f"cannot listen on localhost:{port} for Google's answer ({exc.strerror}); "
            "choose another --port, or use --no-browser."
        ) from None
    granted = set(credentials.granted_scopes or credentials.scopes or [])
    if SCOPE not in granted:
        raise SignInError(
            "Google signed you in without access to Gmail (the Gmail permission was left "
            "unticked on the consent screen). Run `introbot auth` again and tick it."
        )
    if not credentials.refresh_token:
        raise SignInError(
            "Google handed out no refresh token, so the sign-in would stop working within "
            "an hour. Remove introbot at https://myaccount.google.com/permissions and run "
            "`introbot auth` again."
        )
    return credentials


def _authorization_answer(pasted: str) -> dict[str, str]:
    """The pasted redirect address (or only its code) as arguments for fetch_token."""
    if not pasted:
        raise SignInError("Nothing was pasted: run `introbot auth --no-browser` again.")
    if "://" not in pasted:
        return {"code": pasted}
    query = parse_qs(urlsplit(pasted).query)
    if "code" not in query and "error" not in query:
        raise SignInError(
            "The pasted address has no sign-in code: paste the whole address the browser "
            "shows after you allowed access (it starts with http://localhost)."
        )
    # oauthlib accepts https only; the redirect to localhost is plain http by design.
    return {"authorization_response": "https://" + pasted.split("://", 1)[1]}


def _allow_loopback_http(installed: dict[str, Any]) -> None:
    """oauthlib refuses plain http; allow it only when Google's side is this machine
    (the sandbox), never for a remote server."""
    if all(_loopback(installed[key]) for key in ("auth_uri", "token_uri")):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _loopback(url: object) -> bool:
    return isinstance(url, str) and urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


# -------------------------------------------------------------------- the sign-in
@dataclass
class SignIn:
    """The saved sign-in of one account, kept fresh on disk."""

    credentials: Credentials
    path: Path
    signed_in_at: datetime | None
    _saved_token: str | None = None

    @classmethod
    def load(cls, path: Path) -> SignIn:
        if not path.exists():
            raise AuthExpired(f"no saved sign-in at {path}")
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            credentials: Credentials = Credentials.from_authorized_user_info(info)  # type: ignore[no-untyped-call]
            # google-auth always uses Google's token endpoint here, whatever the file says
            # (a tampered file must not send the refresh token elsewhere). The sandbox's,
            # on this machine, is the one exception.
            if _loopback(info.get("token_uri")):
                credentials = credentials.with_token_uri(info["token_uri"])
            since = info.get("introbot_signed_in_at")
            signed_in_at = datetime.fromisoformat(since) if isinstance(since, str) else None
        except (ValueError, KeyError, AttributeError) as exc:
            raise AuthExpired(f"the saved sign-in at {path} is unreadable: {exc}") from None
        return cls(credentials, path, signed_in_at, credentials.token)

    def save(self) -> None:
        info = json.loads(self.credentials.to_json())  # type: ignore[no-untyped-call]
        info["scopes"] = sorted(self.scopes)  # what Google granted, not what was asked
        if self.signed_in_at is not None:
            info["introbot_signed_in_at"] = self.signed_in_at.isoformat()
        write_private(self.path, json.dumps(info, indent=1))
        self._saved_token = self.credentials.token

    def save_if_refreshed(self) -> None:
        """Keep a refreshed access token, so the next start need not refresh again."""
        if self.credentials.token and self.credentials.token != self._saved_token:
            self.save()

    @property
    def scopes(self) -> set[str]:
        return set(self.credentials.granted_scopes or self.credentials.scopes or [])

    def age(self, now: datetime | None = None) -> timedelta | None:
        if self.signed_in_at is None:
            return None
        return (now or datetime.now(UTC)) - self.signed_in_at

    def refresh(self) -> None:
        """Ask Google for a fresh access token now; AuthExpired with advice if it refuses."""
        import google_auth_httplib2
        import httplib2

        try:
            self.credentials.refresh(google_auth_httplib2.Request(httplib2.Http(timeout=30)))  # type: ignore[no-untyped-call]
        except RefreshError as exc:
            raise AuthExpired(refusal(exc), self.signed_in_at) from None
        except (TransportError, OSError) as exc:
            raise SignInError(f"cannot reach Google's token server: {exc}") from None
        self.save_if_refreshed()


def refusal(exc: RefreshError) -> str:
    """Google's reason for refusing a refresh, in a few words."""
    detail = exc.args[0] if exc.args else ""
    return str(detail).split(":", 1)[-1].strip().strip("'\"") or "refused"


def new_sign_in(credentials: Credentials, path: Path) -> SignIn:
    return SignIn(credentials, path, datetime.now(UTC).replace(microsecond=0))


def write_private(path: Path, text: str) -> None:
    """Write atomically, readable by the owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if hasattr(os, "fchmod"):  # mkstemp made it 0600 already; Windows (< 3.13) has none
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------- Workspace sign-in
class DelegationRefused(AuthExpired):
    """Google refused to let the service account act as the mailbox; says what to change."""

    def __init__(self, message: str) -> None:
        GmailError.__init__(self, message)
        self.detail = message
        self.signed_in_at = None


def read_service_account_key(path: Path) -> dict[str, Any]:
    """A service account's JSON key file (Google Cloud Console > IAM & Admin > Service
    accounts > Keys > Add key > JSON), checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SignInError(
            f"No service-account key at {path} ([workspace] service_account_key). Create a "
            "JSON key for the service account in Google Cloud Console (IAM & Admin > Service "
            "accounts > Keys > Add key) and save it there."
        ) from None
    except OSError as exc:
        raise SignInError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SignInError(f"{path} is not a JSON key file ({exc}): download it again.") from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise SignInError(
            f"{path} is not a service-account key (its type is not 'service_account'). "
            "[workspace] service_account_key takes the JSON key of a service account; for "
            "your own mailbox, leave it unset and run `introbot auth`."
        )
    missing = [
        key
        for key in ("client_email", "private_key", "private_key_id", "client_id")
        if not isinstance(data.get(key), str) or not data[key]
    ]
    if missing:
        raise SignInError(f"{path} lacks {', '.join(missing)}: create a new JSON key for it.")
    return data


class DelegatedCredentials(service_account.Credentials):
    """A service account acting as one mailbox; a refusal says what the admin must do."""

    def refresh(self, request: Any) -> None:
        try:
            super().refresh(request)  # type: ignore[no-untyped-call]
        except RefreshError as exc:
            raise DelegationRefused(
                delegation_refusal(exc, self.service_account_email, self._subject, self._key)
            ) from None

    _key: tuple[str, str] = ("", "")  # the key file, the service account's client ID


# A key file's credentials by what it says: parsing the RSA key takes ~0.1 s of CPU, and a
# process serving 50 mailboxes of one domain would parse the same key 50 times at start.
_PARSED_KEYS: dict[str, DelegatedCredentials] = {}


def workspace_credentials(key_file: Path, mailbox: str) -> DelegatedCredentials:
    """The service account of ``key_file`` acting as ``mailbox`` (google-auth's
    ``with_subject``) with the gmail.modify scope. The key's token endpoint is used only when
    it is Google's or on this machine (the sandbox): a key that names another server would
    hand it a signed assertion."""
    info = dict(read_service_account_key(key_file))
    if info.get("token_uri") != GOOGLE_TOKEN_URI and not _loopback(info.get("token_uri")):
        info["token_uri"] = GOOGLE_TOKEN_URI
    known = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()
    base = _PARSED_KEYS.get(known)
    if base is None:
        try:
            base = DelegatedCredentials.from_service_account_info(info, scopes=list(SCOPES))  # type: ignore[no-untyped-call]
        except ValueError as exc:
            raise SignInError(f"the private key in {key_file} is unusable ({exc}).") from None
        _PARSED_KEYS[known] = base
    credentials: DelegatedCredentials = base.with_subject(mailbox)
    credentials._key = (str(key_file), info["client_id"])
    return credentials


def delegation_refusal(
    exc: RefreshError, service_account_email: str, mailbox: str | None, key: tuple[str, str]
) -> str:
    """Google's refusal of a service account's grant, with the step that fixes it."""
    key_file, client_id = key
    detail = refusal(exc)
    text = str(exc.args[0] if exc.args else "")
    who = f"the service account {service_account_email}"
    if text.startswith("unauthorized_client"):
        return (
            f"Google does not let {who} act as {mailbox} (unauthorized_client: {detail}). A "
            f"super admin of {str(mailbox).rpartition('@')[2]} must allow it: {DELEGATION_STEP}, "
            f"client ID {client_id}, OAuth scope {SCOPE}. A mailbox outside "
            "that Workspace domain cannot be delegated; a new entry can take hours to apply."
        )
    if "Invalid email or User ID" in text:
        return (
            f"{mailbox} is not a user of its Workspace domain (invalid_grant: {detail}): "
            "check the address in [workspace] mailboxes."
        )
    if "Invalid JWT Signature" in text:
        return (
            f"Google does not know the key in {key_file} for {who} (deleted or replaced): "
            "create a new JSON key in Google Cloud Console (IAM & Admin > Service accounts > "
            "Keys) and save it there."
        )
    return f"Google refused the sign-in of {who} as {mailbox} ({detail})."


def check_delegation(credentials: DelegatedCredentials) -> None:
    """Ask Google for an access token now: a refusal (DelegationRefused, with the admin's
    step) or an unreachable Google (SignInError) is told before any poll."""
    import google_auth_httplib2
    import httplib2

    try:
        credentials.refresh(google_auth_httplib2.Request(httplib2.Http(timeout=30)))
    except (TransportError, OSError) as exc:
        raise SignInError(f"cannot reach Google's token server: {exc}") from None
