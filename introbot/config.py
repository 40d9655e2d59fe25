"""Accounts and their configuration.

An account is one Gmail mailbox and one folder, ``<config dir>/accounts/<name>/``, holding
everything that belongs to it: ``config.toml``, the sign-in (``token.json``, mode 0600),
the database and, after ``introbot init``, an editable copy of the rules. Several accounts
live side by side and never share a file.

Settings come from four places; the first that sets a key wins:

    command-line flags > INTROBOT_<SECTION>_<KEY> environment variables > config.toml > defaults

Everything is validated before anything runs, and a mistake is reported by where it came
from: the file and key, the environment variable, or the flag.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from introbot.paths import config_dir
from introbot.settings import Settings
from introbot.store import StoreLocation

DEFAULT_ACCOUNT = "default"
_ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
ENV_PREFIX = "INTROBOT_"


class ConfigError(Exception):
    """The configuration cannot be used; ``str(error)`` says where and what is allowed."""


@dataclass(frozen=True)
class Account:
    name: str
    folder: Path

    @classmethod
    def named(cls, name: str | None = None) -> Account:
        name = name or DEFAULT_ACCOUNT
        if not _ACCOUNT_NAME.fullmatch(name):
            raise ConfigError(
                f"{name!r} is not a usable account name: use 1-40 lower-case letters, digits, "
                "'.', '_' or '-', starting with a letter or digit (for example 'work')"
            )
        return cls(name, config_dir() / "accounts" / name)

    @property
    def config_file(self) -> Path:
        return self.folder / "config.toml"

    @property
    def token_file(self) -> Path:
        return self.folder / "token.json"

    @property
    def rules_copy(self) -> Path:
        """Where ``introbot init`` puts the editable rules."""
        return self.folder / "rules"

    def database(self, settings: Settings) -> Path:
        return settings.paths.database or self.folder / "introbot.db"

    def sandbox_database(self, url: str) -> Path:
        """The database of this account's sessions against the sandbox at ``url``: its own,
        never the account's (a trial must not bind the account to a sandbox mailbox)."""
        return sandbox_folder() / self.name / f"{sandbox_slug(url)}.db"

    def command(self, name: str) -> str:
        """How the user runs an introbot command for this account: ``introbot auth``, or
        ``introbot auth --account work``."""
        flag = "" if self.name == DEFAULT_ACCOUNT else f" --account {self.name}"
        return f"introbot {name}{flag}"


def configured_accounts() -> list[Account]:
    """Every account set up on this machine (a folder with a config.toml or a sign-in), by
    name: what ``introbot run --all`` serves. A folder whose name is no account name is no
    account."""
    found = []
    for folder in sorted((config_dir() / "accounts").glob("*/")):
        if _ACCOUNT_NAME.fullmatch(folder.name) and (
            (folder / "config.toml").exists() or (folder / "token.json").exists()
        ):
            found.append(Account(folder.name, folder))
    return found


def sandbox_folder() -> Path:
    """Where the databases of sandbox sessions live, one folder per account."""
    return config_dir() / "sandbox"


def sandbox_slug(url: str) -> str:
    """A file name for a sandbox address: ``127.0.0.1-8765`` for http://127.0.0.1:8765/."""
    parts = urllib.parse.urlsplit(url.strip())
    where = (parts.netloc + parts.path) if parts.netloc else url
    slug = re.sub(r"[^a-z0-9.]+", "-", where.lower().replace(":", "-")).strip("-.")
    return slug[:80] or "sandbox"


def database_for(
    account: Account, settings: Settings, sandbox: str | None, flags: Flags | None = None
) -> Path:
    """The database a command works on: with ``--sandbox``, the sandbox's own (unless
    ``--db`` names one); otherwise the account's."""
    explicit = (flags or {}).get("paths.database", ("--db", None))[1]
    if sandbox and explicit is None:
        return account.sandbox_database(sandbox)
    return account.database(settings)


def store_for(
    account: Account, settings: Settings, sandbox: str | None, flags: Flags | None = None
) -> StoreLocation:
    """Where a command's store is: ``[store] url``'s PostgreSQL database (the mailbox named
    ``[store] mailbox``, or the account's name), else the SQLite file of
    :func:`database_for`. ``--db`` means an SQLite file; so does ``--sandbox`` unless
    ``--store`` names a database for this command: a trial against the sandbox never
    touches the team's database of the account's config."""
    explicit = (flags or {}).get("paths.database", ("--db", None))[1]
    for_this_command = (flags or {}).get("store.url", ("--store", None))[1] is not None
    if settings.store.url and explicit is None and (not sandbox or for_this_command):
        return StoreLocation.postgres(
            settings.store.url,
            settings.store.mailbox or account.name,
            config_dir() / "locks",
        )
    return StoreLocation.sqlite(database_for(account, settings, sandbox, flags))


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    file_found: bool
    sources: dict[str, str]  # "workflow.order" -> where its value came from


Flags = Mapping[str, tuple[str, Any]]  # "paths.rules" -> ("--rules", value or None)


def load(
    account: Account, flags: Flags | None = None, environ: Mapping[str, str] | None = None
) -> Loaded:
    """The account's settings: flags over environment over file over defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    file_found = account.config_file.exists()
    if file_found:
        for key, value in _flatten(_read_toml(account.config_file)).items():
            if _is_path(key) and isinstance(value, str):
                value = _path(value, account.config_file.parent)
            values[key] = value
            section, _, name = key.partition(".")
            sources[key] = f"{account.config_file}: [{section}] {name}"
    for key, (variable, value) in _from_environment(environ).items():
        values[key] = _path(value, Path.cwd()) if _is_path(key) else value
        sources[key] = f"environment variable {variable}"
    for key, (flag, value) in (flags or {}).items():
        if value is not None:
            values[key] = value
            sources[key] = f"option {flag}"
    try:
        settings = Settings.model_validate(_nest(values))
    except ValidationError as exc:
        raise ConfigError(_explain(exc, sources)) from None
    return Loaded(settings, file_found, sources)


def check_flags(flags: Flags) -> Settings:
    """Settings from flags alone, checked (``init`` checks what it is about to write before
    it writes anything); a mistake names the flag."""
    given = {key: (flag, value) for key, (flag, value) in flags.items() if value is not None}
    try:
        return Settings.model_validate(_nest({key: value for key, (_, value) in given.items()}))
    except ValidationError as exc:
        sources = {key: f"option {flag}" for key, (flag, _) in given.items()}
        raise ConfigError(_explain(exc, sources)) from None


# --------------------------------------------------------------------------- sources
def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    sections = _sections()
    for section, content in data.items():
        if section not in sections:
            raise ConfigError(
                f"{path}: unknown section [{section}]; the sections are "
                + ", ".join(f"[{s}]" for s in sections)
            )
        if not isinstance(content, dict):
            raise ConfigError(f"{path}: {section} must be a [{section}] section, not a value")
    return data


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{section}.{key}": value for section, keys in data.items() for key, value in keys.items()
    }


def _nest(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        section, _, name = key.partition(".")
        nested.setdefault(section, {})[name] = value
    return nested


def _sections() -> dict[str, type[BaseModel]]:
    out: dict[str, type[BaseModel]] = {}
    for name, field in Settings.model_fields.items():
        assert isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        out[name] = field.annotation
    return out


def setting_keys() -> list[str]:
    """Every key, dotted: ``connector.name``, ``labels.request``, ..."""
    return [f"{s}.{k}" for s, model in _sections().items() for k in model.model_fields]


def env_name(key: str) -> str:
    return ENV_PREFIX + key.replace(".", "_").upper()


def _from_environment(environ: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    known = {env_name(key): key for key in setting_keys()}
    prefixes = tuple(f"{ENV_PREFIX}{section.upper()}_" for section in _sections())
    found: dict[str, tuple[str, Any]] = {}
    for variable, raw in environ.items():
        if not variable.startswith(prefixes):
            continue
        key = known.get(variable)
        if key is None:
            raise ConfigError(
                f"environment variable {variable} is not a setting; the settings are "
                + ", ".join(sorted(known))
            )
        value: Any = raw
        if key in ("connector.addresses", "workspace.mailboxes"):
            value = [part.strip() for part in raw.split(",") if part.strip()]
        found[key] = (variable, value)
    return found


def _is_path(key: str) -> bool:
    """A setting that names a file: a relative one is relative to where it was written."""
    return key.startswith("paths.") or key == "workspace.service_account_key"


def _path(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


# ---------------------------------------------------------------------------- errors
def _explain(exc: ValidationError, sources: dict[str, str]) -> str:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        key = ".".join(loc[:2])
        if error["type"] == "extra_forbidden" and len(loc) == 2:
            allowed = ", ".join(_sections()[loc[0]].model_fields)
            message = f"unknown key; [{loc[0]}] takes {allowed}"
        if len(loc) >= 2:
            where = sources.get(key, key)
        else:  # a rule across several keys: name the places that set the keys it names
            prefix = f"{loc[0]}." if loc else ""
            places = [place for k, place in sources.items() if k.startswith(prefix)]
            named = [
                place
                for k, place in sources.items()
                if k.startswith(prefix) and k.removeprefix(prefix) in message
            ]
            where = "; ".join(named or places) or "the defaults"
        problems.append(f"{where}: {message}")
    if len(problems) == 1:
        return f"invalid setting: {problems[0]}"
    return "invalid settings:\n" + "\n".join(f"  - {p}" for p in problems)


# -------------------------------------------------------------------------- writing
def render_config(
    name: str | None, addresses: list[str], rules: str | None, signature: str | None = None
) -> str:
    """A new, commented ``config.toml``; every other key shows its default, commented out."""

    def toml(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)  # a JSON string or list is valid TOML

    defaults = Settings()
    lines = [
        "# introbot settings for this account. Environment variables (INTROBOT_<SECTION>_<KEY>)",
        "# and command-line options override what is here. `introbot doctor` checks it.",
        "",
        "[connector]",
        "# Your name, as the drafts sign it. Unset: drafts are signed without a name.",
        f"name = {toml(name)}" if name else '# name = "Your Name"',
        '# What the drafts put under "Best,"; unset: the first word of your name.',
        f"signature = {toml(signature)}" if signature else '# signature = "Sam\\nAcme Ventures"',
        "# Your other addresses (aliases): never made a party. The signed-in one is added.",
        f"addresses = {toml(addresses)}",
        "",
        "[labels]",
        "# The label you put on an email to ask for an introduction.",
        f"request = {toml(defaults.labels.request)}",
        "# Put in front of introbot's own labels (introbot/awaiting-consent, introbot/yes...).",
        f"prefix = {toml(defaults.labels.prefix)}",
        "",
        "[workflow]",
        '# "parallel": both consent drafts at once. "requester_first": the contact is asked',
        "# only after the requester confirms, with the requester's own words.",
        f"order = {toml(defaults.workflow.order.value)}",
        "# No reply this many days after a consent message was sent: one reminder draft.",
        f"remind_after_days = {defaults.workflow.remind_after_days}",
        "# Still no reply this many days after it was sent: the intro expires.",
        f"expire_after_days = {defaults.workflow.expire_after_days}",
        "# A contact who declined any intro this many days back is not asked again without",
        "# your say (`introbot ask-again`); one who declined the same requester, never.",
        f"remember_declines_days = {defaults.workflow.remember_declines_days}",
        "",
        "[drafts]",
        "# Name people's organisations as guessed from their addresses (harborbio.com ->",
        '# "Harborbio"). false: drafts say only what people wrote.',
        f"guess_organisation = {str(defaults.drafts.guess_organisation).lower()}",
        "",
        "[daemon]",
        f"poll_interval_seconds = {defaults.daemon.poll_interval_seconds}",
        "# Where `introbot run` answers /healthz, /readyz and /metrics; unset: nowhere.",
        '# http = "127.0.0.1:9464"',
        "",
        "[languages]",
        "# Drafts are written in the language of the request (en, fr, de, es) when it tells;",
        "# otherwise, and for the introduction when the two write in different languages,",
        "# in this one.",
        f"default = {toml(defaults.languages.default)}",
        "# Someone always written to in one language, whatever the request:",
        '# "dana@northwind.io" = "de"',
        "",
        "[gmail]",
        "# Where this account's Gmail calls go; unset: Gmail. A sandbox on this machine:",
        '# endpoint = "http://127.0.0.1:8765/"',
        "# The per-user quota to pace under, if your Cloud project's admin set it below Gmail's.",
        f"# units_per_minute = {defaults.gmail.units_per_minute}",
        "",
        "[paths]",
        "# Relative paths are relative to this file's folder.",
        "# Your rules folder (phrases and templates); unset: the built-in rules.",
        f"rules = {toml(rules)}" if rules else '# rules = "rules"',
        "# introbot's database; unset: introbot.db next to this file.",
        '# database = "introbot.db"',
        "",
        "[store]",
        "# A team's PostgreSQL database instead of the SQLite file above (pip install",
        "# 'introbot[postgres]'); every mailbox in it under a name of its own.",
        '# url = "postgresql://introbot@db.example.com:5432/introbot"',
        '# mailbox = "sam"',
        "# Replicas sharing the database each work a mailbox under a lease this long.",
        f"# lease_seconds = {defaults.store.lease_seconds}",
        "",
        "[workspace]",
        "# A Google Workspace domain: a service account with domain-wide delegation signs in",
        "# as these mailboxes instead of `introbot auth` (README: 'Run it for a team').",
        '# service_account_key = "service-account.json"',
        '# mailboxes = ["dana@firm.example"]',
        "",
    ]
    return "\n".join(lines)
