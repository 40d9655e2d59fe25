"""Accounts and their settings: flags > INTROBOT_* > config.toml > defaults, and every
mistake named by where it came from. Also `introbot init`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from introbot.config import Account, ConfigError, env_name, load, render_config, setting_keys
from introbot.model import Order
from introbot.rules import default_rules_dir
from tests.cli import invoke


def _write(account: Account, text: str) -> None:
    account.folder.mkdir(parents=True, exist_ok=True)
    account.config_file.write_text(text, encoding="utf-8")


def test_without_a_file_the_defaults_hold(home: Path) -> None:
    loaded = load(Account.named(None), environ={})
    assert not loaded.file_found
    assert loaded.settings.labels.request == "intro-request"
    assert loaded.settings.workflow.order is Order.PARALLEL
    assert loaded.settings.daemon.poll_interval_seconds == 60
    assert Account.named(None).folder == home / "accounts" / "default"


def test_flags_beat_environment_beat_file_beat_defaults(home: Path) -> None:
    account = Account.named("work")
    _write(
        account,
        '[connector]\nname = "From File"\n[workflow]\nremind_after_days = 5\n'
        "[daemon]\npoll_interval_seconds = 120\n",
    )
    environ = {
        "INTROBOT_CONNECTOR_NAME": "From Env",
        "INTROBOT_WORKFLOW_REMIND_AFTER_DAYS": "6",
        "INTROBOT_CONNECTOR_ADDRESSES": "a@x.example, b@y.example",
    }
    flags = {"connector.name": ("--name", "From Flag"), "paths.rules": ("--rules", None)}
    loaded = load(account, flags, environ)
    s = loaded.settings
    assert s.connector.name == "From Flag"  # flag over env over file
    assert s.workflow.remind_after_days == 6  # env over file
    assert s.daemon.poll_interval_seconds == 120  # file over default
    assert s.workflow.expire_after_days == 21  # default
    assert s.connector.addresses == ("a@x.example", "b@y.example")
    assert s.paths.rules is None  # an option not given changes nothing
    assert loaded.sources["connector.name"] == "option --name"
    assert loaded.sources["workflow.remind_after_days"].endswith("REMIND_AFTER_DAYS")


def test_every_setting_has_an_environment_variable(home: Path) -> None:
    keys = setting_keys()
    assert "workflow.order" in keys and "paths.database" in keys
    environ = {env_name("workflow.order"): "requester_first", env_name("labels.prefix"): "ib/"}
    settings = load(Account.named(None), environ=environ).settings
    assert settings.workflow.order is Order.REQUESTER_FIRST
    assert settings.label("yes") == "ib/yes"


def test_relative_paths_in_the_file_are_relative_to_the_file(home: Path) -> None:
    account = Account.named(None)
    _write(account, '[paths]\nrules = "my-rules"\ndatabase = "~/intros.db"\n')
    settings = load(account, environ={}).settings
    assert settings.paths.rules == account.folder / "my-rules"
    assert settings.paths.database == Path("~/intros.db").expanduser()
    assert account.database(settings) == Path("~/intros.db").expanduser()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[workflow]\nremind_after_days = 0\n", r"\[workflow\] remind_after_days: .*greater than"),
        (
            '[workflow]\norder = "random"\n',
            r"\[workflow\] order: .*'parallel' or 'requester_first'",
        ),
        ("[workflow]\nremind_after_days = 30\n", r"\[workflow\] remind_after_days: .*larger than"),
        ('[labels]\nrequest = "INBOX"\n', r"\[labels\] request: .*Gmail's own labels"),
        ('[labels]\nrequest = "introbot/yes"\n', r"same name 'introbot/yes'"),
        ('[connector]\naddresses = ["not-an-address"]\n', r"not an email address"),
        ('[labels]\nrequets = "x"\n', r"\[labels\] requets: unknown key; \[labels\] takes request"),
        ('[label]\nrequest = "x"\n', r"unknown section \[label\]; the sections are \[connector\]"),
        ("workflow = 3\n", r"must be a \[workflow\] section"),
        ("[workflow\norder = 1\n", r"not valid TOML: .*line 1"),
    ],
)
def test_a_mistake_in_the_file_names_the_file_and_the_key(
    home: Path, text: str, expected: str
) -> None:
    account = Account.named(None)
    _write(account, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load(account, environ={})
    assert str(account.config_file) in str(caught.value)


def test_a_mistake_in_the_environment_or_a_flag_names_it(home: Path) -> None:
    account = Account.named(None)
    with pytest.raises(ConfigError, match=r"INTROBOT_DAEMON_POLL_INTERVAL_SECONDS: .*integer"):
        load(account, environ={"INTROBOT_DAEMON_POLL_INTERVAL_SECONDS": "often"})
    with pytest.raises(ConfigError, match="INTROBOT_LABELS_REQUST is not a setting"):
        load(account, environ={"INTROBOT_LABELS_REQUST": "x"})
    with pytest.raises(ConfigError, match="option --name: "):
        load(account, {"connector.name": ("--name", "")}, environ={})


def test_a_rule_across_two_keys_names_both_places(home: Path) -> None:
    account = Account.named(None)
    _write(account, "[workflow]\nexpire_after_days = 5\n")
    with pytest.raises(ConfigError) as caught:
        load(account, environ={"INTROBOT_WORKFLOW_REMIND_AFTER_DAYS": "9"})
    message = str(caught.value)
    assert "[workflow] expire_after_days" in message
    assert "INTROBOT_WORKFLOW_REMIND_AFTER_DAYS" in message


@pytest.mark.parametrize("name", ["", "Work", "../up", "a b", "x" * 41, "-lead"])
def test_account_names_are_checked(home: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="not a usable account name"):
        Account.named(name or " ")


def test_the_rendered_config_loads_back_to_the_same_settings(home: Path) -> None:
    account = Account.named("x")
    _write(account, render_config('Ana "Quotes" Ruiz', ["ana@alias.example"], "rules"))
    settings = load(account, environ={}).settings
    assert settings.connector.name == 'Ana "Quotes" Ruiz'
    assert settings.connector.addresses == ("ana@alias.example",)
    assert settings.paths.rules == account.folder / "rules"


# ------------------------------------------------------------------------ introbot init
def test_init_writes_the_config_and_copies_the_rules(home: Path) -> None:
    result = invoke("init", "--name", "Sam Rivera", "--address", "sam@alias.example")
    assert result.exit_code == 0, result.output
    account = Account.named(None)
    assert stat.S_IMODE(account.config_file.stat().st_mode) == 0o600
    settings = load(account, environ={}).settings
    assert settings.connector.name == "Sam Rivera"
    assert settings.paths.rules == account.rules_copy
    copied = sorted(p.relative_to(account.rules_copy) for p in account.rules_copy.rglob("*.t*"))
    shipped = sorted(p.relative_to(default_rules_dir()) for p in default_rules_dir().rglob("*.t*"))
    assert copied == shipped and copied  # every phrase file and template
    assert "introbot auth" in result.output and "introbot doctor" in result.output
    assert "credentials.json" in result.output  # the client file is not there yet


def test_init_never_overwrites_without_force_and_force_keeps_edited_rules(home: Path) -> None:
    assert invoke("init", "--name", "Sam").exit_code == 0
    account = Account.named(None)
    edited = account.rules_copy / "templates" / "joint.txt"
    edited.write_text(edited.read_text() + "\nP.S. edited\n")
    again = invoke("init", "--name", "Other")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert load(account, environ={}).settings.connector.name == "Sam"
    forced = invoke("init", "--name", "Other", "--force")
    assert forced.exit_code == 0 and "Kept your rules" in forced.output
    assert "P.S. edited" in edited.read_text()
    assert load(account, environ={}).settings.connector.name == "Other"


def test_init_with_a_bad_address_writes_nothing(home: Path) -> None:
    result = invoke("init", "--address", "nobody")
    assert result.exit_code == 2 and "not an email address" in result.stderr
    assert not Account.named(None).config_file.exists()


def test_a_bad_config_stops_a_command_with_the_place_to_fix(home: Path) -> None:
    account = Account.named(None)
    _write(account, "[daemon]\npoll_interval_seconds = -5\n")
    result = invoke("list")
    assert result.exit_code == 2
    assert f"{account.config_file}: [daemon] poll_interval_seconds" in result.stderr
    assert "Traceback" not in result.output + result.stderr
