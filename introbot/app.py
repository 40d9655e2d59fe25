"""Putting introbot together for one account: settings, rules, store, Gmail client, engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

from introbot.engine import Engine
from introbot.gmail.auth import load_credentials
from introbot.gmail.client import GmailClient
from introbot.gmail.errors import GmailError
from introbot.paths import APP, config_dir
from introbot.rules import Rules, load_rules
from introbot.settings import Settings
from introbot.store import Store


class SignInMissing(GmailError):
    """No saved Gmail sign-in."""


def default_db() -> Path:
    return platformdirs.user_data_path(APP) / "introbot.db"


def token_file() -> Path:
    return config_dir() / "token.json"


@dataclass
class App:
    settings: Settings
    rules: Rules
    store: Store
    client: GmailClient
    engine: Engine

    def close(self) -> None:
        self.client.close()
        self.store.close()

    def mailbox(self) -> str:
        """Which mailbox this is, for the one-process-per-mailbox lock."""
        return f"{self.engine.me()[0]} at {self.client.endpoint}"


def open_app(
    settings: Settings, db: Path | None = None, sandbox: str | None = None, timeout: float = 30.0
) -> App:
    """Raises RulesError, StoreError or AuthExpired with a message for the user."""
    rules = load_rules(settings.rules_dir)
    if sandbox:
        client = GmailClient.for_sandbox(sandbox, timeout=timeout)
    elif not token_file().exists():
        raise SignInMissing(
            f"introbot is not signed in to Gmail yet (no token at {token_file()}). This version "
            "cannot sign in by itself: use --sandbox URL (see `introbot sandbox serve`)."
        )
    else:
        client = GmailClient(load_credentials(token_file()), timeout=timeout)
    store = Store(db or default_db())
    return App(settings, rules, store, client, Engine(client, store, settings, rules))
