"""A newcomer's first hour (issue 15): `init` asks for a name and a signature and drafts never
sign with a name made from an address; sandbox sessions keep a database of their own, which a
command removes, so a later `introbot auth` is not refused because of them; bad addresses are
refused before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from introbot.config import Account
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from introbot.settings import Settings
from introbot.store import Store
from tests.cli import INTROBOT, invoke
from tests.test_auth import sign_in_without_browser
from tests.test_doctor import lines
from tests.world import ALEX, DANA, REQUEST, World


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


# ------------------------------------------------------------------ (a) your name
@pytest.mark.slow  # starts introbot as a process
def test_init_asks_for_your_name_and_signature_on_a_terminal(home: Path) -> None:
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            [*INTROBOT, "init"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        os.write(controller, b"Sam Rivera\nSam R. | Rivera Ventures\nsam@alias.example\n")
        out, err = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 0, err
    assert b"Wrote" in out
    loaded = Settings.model_validate(tomllib.loads(Account.named(None).config_file.read_text()))
    assert loaded.connector.name == "Sam Rivera"
    assert loaded.connector.signature == "Sam R. | Rivera Ventures"
    assert loaded.connector.addresses == ("sam@alias.example",)


def test_init_takes_name_and_signature_as_options(home: Path) -> None:
    done = invoke("init", "--name", "Sam Rivera", "--signature", "Sam\nRivera Ventures")
    assert done.exit_code == 0, done.output
    text = Account.named(None).config_file.read_text()
    assert 'name = "Sam Rivera"' in text and 'signature = "Sam\\nRivera Ventures"' in text
    doctor = invoke("doctor")
    assert lines(doctor)["name"] == [
        "ok drafts are from Sam Rivera, signed 'Sam\\nRivera Ventures'"
    ]


def test_without_a_name_init_says_so_and_doctor_warns(home: Path) -> None:
    done = invoke("init")  # not a terminal: nothing asked
    assert done.exit_code == 0
    assert "No name given: drafts will be signed without one" in done.stdout
    assert '# name = "Your Name"' in Account.named(None).config_file.read_text()
    (name,) = lines(invoke("doctor"))["name"]
    assert name.startswith("warn no name set: drafts are signed without one")
    assert "[connector] name in" in name and "config.toml" in name


def _story(world: World) -> list[dict[str, Any]]:
    world.request(REQUEST)
    world.poll()
    drafts = world.drafts()
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Yes please!")
    world.reply(DANA, "Yes, happy to. Email is best.")
    world.poll()
    return drafts + world.drafts()


@pytest.mark.parametrize(
    ("connector", "sign_off"),
    [
        ({}, None),  # no name: no name made from connector@example.com ("Connector")
        ({"name": "Sam Rivera"}, "Sam"),
        ({"name": "Sam Rivera", "signature": "Sam R.\nRivera Ventures"}, "Sam R.\nRivera Ventures"),
    ],
    ids=["no-name", "name", "signature"],
)
def test_drafts_sign_with_your_name_or_signature_never_one_made_from_the_address(
    tmp_path: Path, connector: dict[str, str], sign_off: str | None
) -> None:
    with SandboxServer(realism="tests") as server:
        world = World(
            server, tmp_path / "introbot.db", Settings.model_validate({"connector": connector})
        )
        try:
            drafts = _story(world)
        finally:
            world.close()
    assert len(drafts) == 3  # two consent asks, one introduction
    for draft in drafts:
        text = draft["text"].replace("\r\n", "\n").rstrip()
        assert "Connector" not in text and "Connector" not in draft["headers"]["From"]
        last = text.rsplit("\n\n", 1)[-1]
        if sign_off is None:
            assert last.splitlines()[-1] in ("Best,", "Thanks,"), text
            assert draft["headers"]["From"] == "connector@example.com"
        else:
            assert last.endswith(sign_off), text
            assert draft["headers"]["From"] == "Sam Rivera <connector@example.com>"


# --------------------------------------------------------- (b) sandbox sessions
def _deliver_request(control: SandboxControl, to: str) -> None:
    raw = (
        f"From: {ALEX}\r\nTo: Sam <{to}>\r\nSubject: Intro to Dana?\r\n"
        "Message-ID: <req-1@tidepool.io>\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        f"\r\n{REQUEST.replace(chr(10), chr(13) + chr(10))}\r\n"
    ).encode()
    delivered = control.deliver(raw, auth="dmarc-pass")
    control.label_thread(delivered["threadId"], add=("intro-request",))


def test_a_sandbox_session_has_its_own_database_honoured_by_every_command(home: Path) -> None:
    account = Account.named(None)
    with SandboxServer(user="trial@example.com") as trial:
        url = trial.url
        _deliver_request(SandboxControl(url), "trial@example.com")
        polled = invoke("poll", "--sandbox", url)
        assert polled.exit_code == 0, polled.output
        assert "2 drafts written" in polled.stdout
        assert "no name is set, so the drafts are signed without one" in polled.stderr
        dry = invoke("poll", "--dry-run", "--sandbox", url)
        assert dry.exit_code == 0, dry.output
        doctor = lines(invoke("doctor", "--sandbox", url))
    database = account.sandbox_database(url)
    assert database.exists() and database.parent != account.folder
    assert not (account.folder / "introbot.db").exists()  # never the account's
    assert str(database) in doctor["database"][0]

    listed = json.loads(invoke("list", "--sandbox", url, "--json").stdout)["intros"]
    assert [i["requester"]["email"] for i in listed] == ["alex.kim@tidepool.io"]
    shown = invoke("show", listed[0]["id"], "--sandbox", url)
    assert shown.exit_code == 0 and "alex.kim@tidepool.io" in shown.stdout
    stats = json.loads(invoke("stats", "--sandbox", url, "--json").stdout)
    assert stats["intros"] == 1
    plain = invoke("list")  # the account itself has no intros, and no database
    assert plain.exit_code == 2 and "no introbot database" in plain.stderr
    # rules check uses neither Gmail nor a database: --sandbox is not offered to be ignored
    refused = invoke("rules", "check", "--sandbox", url)
    assert refused.exit_code == 2
    assert "No such option" in refused.stderr and "--sandbox" in refused.stderr

    forgotten = invoke("sandbox", "forget", url)
    assert forgotten.exit_code == 0 and f"Removed {database}" in forgotten.stdout
    assert not database.exists() and not database.with_name(database.name + ".lock").exists()
    again = invoke("sandbox", "forget", url)
    assert "nothing to remove" in again.stdout
    gone = invoke("list", "--sandbox", url)
    assert gone.exit_code == 2 and f"introbot poll --sandbox {url}" in gone.stderr


@pytest.mark.slow  # starts introbot as a process
def test_after_a_sandbox_trial_signing_in_to_gmail_is_not_refused(
    google: SandboxControl, home: Path
) -> None:
    with SandboxServer(user="trial@example.com") as trial:
        _deliver_request(SandboxControl(trial.url), "trial@example.com")
        assert invoke("poll", "--sandbox", trial.url, "--name", "Sam").exit_code == 0
    done = sign_in_without_browser()  # Gmail (the google fixture) is connector@example.com
    assert done.returncode == 0, done.stderr
    assert "Signed in as connector@example.com" in done.stdout


@pytest.mark.slow  # starts introbot as a process
def test_an_account_bound_to_another_mailbox_names_every_way_out(
    google: SandboxControl, home: Path
) -> None:
    database = Account.named(None).folder / "introbot.db"
    store = Store(database)
    store.set_meta("address", "someone.else@example.com")
    store.close()
    done = sign_in_without_browser()
    assert done.returncode == 1
    assert "Either sign in as someone.else@example.com" in done.stderr
    assert "`introbot auth --account NAME`" in done.stderr
    assert f"move {database} aside and run `introbot auth` again" in done.stderr


def test_a_sandbox_database_of_another_mailbox_is_refused_naming_forget(home: Path) -> None:
    with SandboxServer() as server:
        database = Account.named(None).sandbox_database(server.url)
        store = Store(database)
        store.set_meta("address", "earlier@example.com")  # the sandbox ran with another --user
        store.close()
        polled = invoke("poll", "--sandbox", server.url)
        doctor = lines(invoke("doctor", "--sandbox", server.url))
    assert polled.exit_code == 2
    assert f"`introbot sandbox forget {server.url}` removes it" in polled.stderr
    assert f"`introbot sandbox forget {server.url}`" in doctor["gmail"][0]


def test_the_demo_leaves_no_database_behind(home: Path) -> None:
    done = invoke("demo")
    assert done.exit_code == 0, done.output
    assert not list(home.rglob("*.db"))


# ------------------------------------------------------------ (c) bad addresses
@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("--address", "notanaddress"), "'notanaddress' is not an email address"),
        (("--address", "dana@northwind..io"), "'dana@northwind..io' is not an email address"),
        (("--name", "x" * 101), "option --name: String should have at most 100 characters"),
        (("--name", "Sam\nBcc: x@evil.example"), "option --name: must be one line of text"),
        (("--name", "Sam", "--signature", "S\u202eam"), "option --signature: must be lines"),
    ],
)
def test_init_with_a_bad_value_leaves_no_files_behind(
    home: Path, args: tuple[str, ...], why: str
) -> None:
    done = invoke("init", *args)
    assert done.exit_code == 2
    assert why in done.stderr
    assert _files(home) == []


def test_explain_request_refuses_a_bad_me(tmp_path: Path) -> None:
    mail = tmp_path / "request.eml"
    mail.write_bytes(b"From: Alex <alex@tidepool.io>\r\nSubject: Intro\r\n\r\nMeet Dana?\r\n")
    done = invoke("explain", "request", str(mail), "--me", "notanaddress")
    assert done.exit_code == 2
    assert "Invalid value for '--me': 'notanaddress' is not an email address" in done.stderr


def test_sandbox_serve_refuses_a_bad_user() -> None:
    done = invoke("sandbox", "serve", "--user", "notanemail", "--port", "0")
    assert done.exit_code == 2
    assert "Invalid value for '--user': 'notanemail' is not an email address" in done.stderr
