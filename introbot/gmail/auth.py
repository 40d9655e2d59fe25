"""Signing in to Gmail: the saved token, read and kept fresh. (The sign-in flow itself is
``introbot auth``.)"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from google.oauth2.credentials import Credentials

from introbot.gmail.errors import AuthExpired

SCOPES = ("https://www.googleapis.com/auth/gmail.modify",)


def load_credentials(token_file: Path) -> Credentials:
    """The saved sign-in, or a clear error saying how to create it."""
    if not token_file.exists():
        raise AuthExpired(f"no saved sign-in at {token_file}")
    try:
        info = json.loads(token_file.read_text(encoding="utf-8"))
        credentials: Credentials = Credentials.from_authorized_user_info(info, list(SCOPES))  # type: ignore[no-untyped-call]
        return credentials
    except (ValueError, KeyError) as exc:
        raise AuthExpired(f"the saved sign-in at {token_file} is unreadable: {exc}") from None


def save_credentials(credentials: Credentials, token_file: Path) -> None:
    """Write the token atomically, readable by the owner only (mode 0600)."""
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=token_file.parent, prefix=".token.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(credentials.to_json())  # type: ignore[no-untyped-call]
        os.replace(tmp, token_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
