"""Running the ``introbot`` command in tests: in process (fast) or as a real subprocess
(when a real terminal, signals or a second process matter), in a private config folder."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from click.testing import CliRunner, Result
from google.oauth2.credentials import Credentials

from introbot.cli import main
from introbot.gmail.auth import SCOPE, new_sign_in
from introbot.sandbox.control import SandboxControl

INTROBOT = [sys.executable, "-m", "introbot"]


def invoke(*args: str, input: str | None = None) -> Result:
    """``introbot ARGS`` in this process; the result has exit_code, stdout and stderr."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def run(*args: str, timeout: float = 60, **options: object) -> subprocess.CompletedProcess[str]:
    """``introbot ARGS`` as a separate process."""
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*INTROBOT, *args], capture_output=True, text=True, timeout=timeout, **options
    )


def consent_screen_answer(url: str) -> str:
    """Where a browser lands after the (sandbox's) consent screen: the redirect's address."""

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        urllib.request.build_opener(Stay).open(url, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        return str(redirect.headers["Location"])
    raise AssertionError("the consent screen did not redirect")


def sign_in_directly(control: SandboxControl, token_file: Path, scope: str = SCOPE) -> None:
    """A saved sign-in from the sandbox's OAuth endpoints, without the flow's ceremony
    (``introbot auth`` itself is tested in test_auth.py)."""
    client = control.client_file()["installed"]
    query = urllib.parse.urlencode(
        {"client_id": client["client_id"], "redirect_uri": "http://localhost:1/", "scope": scope}
    )

    landed = consent_screen_answer(f"{client['auth_uri']}?{query}")
    answer = urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)
    form = {
        "grant_type": "authorization_code",
        "code": answer["code"][0],
        "redirect_uri": "http://localhost:1/",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    with urllib.request.urlopen(
        client["token_uri"], urllib.parse.urlencode(form).encode(), timeout=10
    ) as reply:
        token = json.load(reply)
    credentials = Credentials(
        token["access_token"],
        refresh_token=token["refresh_token"],
        token_uri=client["token_uri"],
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        scopes=[scope],
        granted_scopes=token["scope"].split(),
    )
    new_sign_in(credentials, token_file).save()


def fake_browser(folder: Path) -> Path:
    """A `BROWSER` for introbot auth: returns at once (as xdg-open does), then follows the
    consent screen's redirect to introbot's local server."""
    browser = folder / "browser"
    browser.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, urllib.request\n"
        "if os.fork() == 0:\n"
        "    urllib.request.urlopen(sys.argv[1], timeout=30)\n"
    )
    browser.chmod(0o755)
    return browser
