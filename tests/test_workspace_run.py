"""`introbot run` for a Workspace account whose [workspace] mailboxes lists several: one
process serves every listed mailbox (one sandbox standing in for the domain's Gmail and
Google's token endpoint), each with its own sign-in as that mailbox, store, lock and
lease; a mailbox Google refuses is told and the others carry on. The one-mailbox commands
pick theirs with --mailbox."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from introbot.app import mailbox_label, mailbox_name, mailbox_store
from introbot.config import Account, load
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from introbot.store import SCHEMA_VERSION, StoreLocation
from tests.cli import INTROBOT, invoke
from tests.postgres import _free_port
from tests.test_doctor import lines
from tests.test_many_mailboxes import _drafts, _request, _until

ANA = "ana@firm.example"
BEN = "ben@firm.example"
OUTSIDER = "cy@other.example"  # a mailbox of another domain: no delegation for it


@pytest.fixture
def domain(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """The domain's Gmail (three mailboxes, one outside the delegated domain) and the
    default account set up for a service account, by environment as a Deployment does."""
    with SandboxServer(user=[ANA, BEN, OUTSIDER]) as server:
        control = SandboxControl(server.url)
        control.oauth(require_token=True)
        key = tmp_path / "key.json"
        key.write_text(json.dumps(control.service_account(domains=["firm.example"])))
        monkeypatch.setenv("INTROBOT_GMAIL_ENDPOINT", server.url)
        monkeypatch.setenv("INTROBOT_WORKSPACE_SERVICE_ACCOUNT_KEY", str(key))
        monkeypatch.setenv("INTROBOT_WORKSPACE_MAILBOXES", f"{ANA}, {BEN}")
        monkeypatch.setenv("INTROBOT_NAME", "Firm Connector")
        yield server


def _metrics(port: int) -> str:
    """The daemon's /metrics ("" before it answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def _failed_polls(metrics: str, mailbox: str) -> int:
    """The mailbox's failed polls, by its series (named without its address)."""
    label = f'"{mailbox_label("default", mailbox)}"'
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in metrics.splitlines()
        if line.startswith("introbot_errors_total{") and label in line
    )


def _requesters(mailbox: str) -> list[str]:
    listed = invoke("list", "--mailbox", mailbox, "--json")
    assert listed.exit_code == 0, listed.output
    return [intro["requester"]["email"] for intro in json.loads(listed.stdout)["intros"]]


# ------------------------------------------------------------------ the daemon
@pytest.mark.slow  # starts introbot as a process
def test_run_serves_every_workspace_mailbox_each_with_its_own_state(
    domain: SandboxServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    control = SandboxControl(domain.url)
    ana, ben, outsider = control.of(ANA), control.of(BEN), control.of(OUTSIDER)
    _request(ana, ANA, "rosa@r.example", "karl@k.example")
    _request(ben, BEN, "sven@s.example", "tara@t.example")
    monkeypatch.setenv("INTROBOT_WORKSPACE_MAILBOXES", f"{ANA}, {BEN}, {OUTSIDER}")
    port = _free_port()  # for the metrics
    daemon = subprocess.Popen(
        [*INTROBOT, "run", "--interval", "1", "--http", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(
            lambda: len(_drafts(ana)) >= 2 and len(_drafts(ben)) >= 2, "both mailboxes' asks", 60
        )
        _until(lambda: _failed_polls(_metrics(port), OUTSIDER) >= 1, "the refusal", 60)
        metrics = _metrics(port)
        assert "@" not in metrics  # series name the mailboxes, never by their address
        assert f'"{mailbox_label("default", ANA)}"' in metrics
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, err
    assert f"introbot is watching Gmail for 3 mailboxes ({ANA}, {BEN}, {OUTSIDER}" in out

    # Each mailbox drafted the asks of its own request only, as itself.
    ana_to = " ".join(d["to"] for d in _drafts(ana))
    ben_to = " ".join(d["to"] for d in _drafts(ben))
    assert "rosa@r.example" in ana_to and "karl@k.example" in ana_to
    assert "sven@s.example" in ben_to and "tara@t.example" in ben_to
    assert "sven@s.example" not in ana_to and "rosa@r.example" not in ben_to

    # The outsider was refused by Google's token endpoint: told, never reached; the rest ran.
    status = {line.split(": ")[0].strip(): line for line in out.splitlines() if ": " in line}
    assert status[ANA].endswith("; ok") and status[BEN].endswith("; ok")
    assert "0 polls; signed out" in status[OUTSIDER]
    assert "Manage Domain Wide Delegation" in status[OUTSIDER]  # no `introbot auth` here
    assert "introbot auth" not in status[OUTSIDER]
    refused = [line for line in err.splitlines() if line.endswith(f"account={OUTSIDER}")]
    assert any("unauthorized_client" in line for line in refused), err
    assert outsider.stats()["requests"] == 0 and _drafts(outsider) == []

    # Separate stores, one file each beside the account's database.
    folder = Account.named(None).folder
    assert (folder / f"introbot-{mailbox_name(ANA)}.db").exists()
    assert (folder / f"introbot-{mailbox_name(BEN)}.db").exists()
    assert not (folder / "introbot.db").exists()
    assert _requesters(ANA) == ["rosa@r.example"]
    assert _requesters(BEN) == ["sven@s.example"]


# ------------------------------------------------------- the one-mailbox commands
def test_a_one_mailbox_command_asks_which_and_works_on_the_one_picked(
    domain: SandboxServer, home: Path
) -> None:
    control = SandboxControl(domain.url)
    _request(control.of(BEN), BEN, "sven@s.example", "tara@t.example")
    for command in ("poll", "list"):
        refused = invoke(command)
        assert refused.exit_code == 2, refused.output
        assert "--mailbox ADDRESS" in refused.stderr and ANA in refused.stderr
    assert control.of(ANA).stats()["requests"] == control.of(BEN).stats()["requests"] == 0

    polled = invoke("poll", "--mailbox", "Ben@Firm.example")
    assert polled.exit_code == 0, polled.output
    assert len(_drafts(control.of(BEN))) == 2 and control.of(ANA).stats()["requests"] == 0
    assert _requesters(BEN) == ["sven@s.example"]
    never_polled = invoke("list", "--mailbox", ANA)
    assert never_polled.exit_code == 2 and "no introbot database" in never_polled.stderr

    stranger = invoke("poll", "--mailbox", OUTSIDER)
    assert stranger.exit_code == 2
    assert f"--mailbox {OUTSIDER}: not one of the account's [workspace] mailboxes" in (
        stranger.stderr
    )
    assert "not an email address" in invoke("poll", "--mailbox", "ben").stderr


def test_doctor_checks_the_sign_in_of_each_listed_mailbox(
    domain: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTROBOT_WORKSPACE_MAILBOXES", f"{ANA}, {OUTSIDER}")
    doctor = invoke("doctor")
    assert f"the service account may act as {ANA}" in doctor.output
    assert "unauthorized_client" in doctor.output and OUTSIDER in doctor.output
    assert doctor.exit_code == 1


@pytest.mark.slow  # a poll and four doctors: over a second
def test_doctor_with_mailbox_checks_that_mailboxs_gmail_and_store(
    domain: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTROBOT_WORKSPACE_MAILBOXES", f"{ANA}, {BEN}, {OUTSIDER}")
    control = SandboxControl(domain.url)
    _request(control.of(BEN), BEN, "sven@s.example", "tara@t.example")
    assert invoke("poll", "--mailbox", BEN).exit_code == 0

    ben = lines(invoke("doctor", "--mailbox", BEN))
    assert ben["sign-in"] == [f"ok the service account may act as {BEN}"]  # that one only
    assert ben["gmail"][0].startswith(f"ok {BEN}: ") and ben["gmail"][0].endswith("reachable")
    ben_file = Account.named(None).folder / f"introbot-{mailbox_name(BEN)}.db"
    assert ben["database"] == [f"ok {ben_file}: schema {SCHEMA_VERSION}, 1 intro(s)"]
    assert ben["labels"][0].startswith("ok all ") and ben["labels"][0].endswith(" labels exist")
    ana = lines(invoke("doctor", "--mailbox", ANA))
    assert ana["database"][0].endswith("will be created by the first poll")
    assert ana["gmail"][0].startswith(f"ok {ANA}: ")

    # Gmail refusing the mailbox (here: its service is off) is told, with the store checked.
    control.of(ANA).add_faults({"method": "getProfile", "status": 400, "count": 5})
    refused = invoke("doctor", "--mailbox", ANA)
    assert refused.exit_code == 1
    (line,) = lines(refused)["gmail"]
    assert line.startswith("FAIL Gmail refused getProfile (400") and "has Gmail on" in line
    assert "database" in lines(refused)

    outsider = invoke("doctor", "--mailbox", OUTSIDER)
    assert outsider.exit_code == 1
    (line,) = lines(outsider)["sign-in"]
    assert line.startswith("FAIL") and "unauthorized_client" in line
    assert "Manage Domain Wide Delegation" in line  # the fix: the admin's step
    assert lines(outsider)["gmail"] == ["skip needs a working sign-in first"]

    stranger = invoke("doctor", "--mailbox", "dee@firm.example")
    assert stranger.exit_code == 1
    assert lines(stranger)["mailbox"][0].startswith(
        "FAIL --mailbox dee@firm.example: not one of the account's [workspace] mailboxes"
    )


@pytest.mark.slow  # a poll and four doctors: over a second
def test_doctor_without_mailbox_sums_up_the_stores_and_says_how_to_check_one(
    domain: SandboxServer,
) -> None:
    control = SandboxControl(domain.url)
    _request(control.of(BEN), BEN, "sven@s.example", "tara@t.example")
    assert invoke("poll", "--mailbox", BEN).exit_code == 0
    found = lines(invoke("doctor"))
    assert len(found["sign-in"]) == 2
    assert found["gmail"] == [
        "skip several mailboxes: `introbot doctor --mailbox ADDRESS` checks one's Gmail, "
        "labels, store and lease"
    ]
    assert found["database"][0].startswith("ok 1 of the 2 mailboxes' files exist in ")


# ----------------------------------------------------------------- the stores
def test_each_mailbox_store_is_named_after_its_address(home: Path) -> None:
    account = Account.named("firm")
    account.folder.mkdir(parents=True)
    account.config_file.write_text(
        f'[workspace]\nservice_account_key = "sa.json"\nmailboxes = ["{ANA}", "{BEN}"]\n'
    )
    settings = load(account, environ={}).settings
    team = StoreLocation.postgres("postgresql://db.example/introbot", "firm", home / "locks")
    assert mailbox_store(team, settings, ANA).mailbox == "ana_at_firm.example"
    assert (
        mailbox_store(team, settings, BEN).lock_path != mailbox_store(team, settings, ANA).lock_path
    )
    alone = StoreLocation.sqlite(account.folder / "introbot.db")
    assert (
        mailbox_store(alone, settings, BEN).path
        == account.folder / "introbot-ben_at_firm.example.db"
    )

    one = account.folder.parent / "solo"
    one.mkdir()
    (one / "config.toml").write_text(
        f'[workspace]\nservice_account_key = "sa.json"\nmailboxes = ["{ANA}"]\n'
    )
    solo = load(Account.named("solo"), environ={}).settings
    assert mailbox_store(team, solo, None) == team == mailbox_store(team, solo, ANA)


def test_mailbox_names_are_safe_schema_names_and_tell_addresses_apart() -> None:
    from introbot.store.postgres import MAILBOX_NAME

    addresses = [
        ANA,
        "Ana@Firm.example",
        "ana+deals@firm.example",
        "ana-deals@firm.example",
        "a.very.long.local.part.for.a.person@subsidiary.firm.example",
        "a.very.long.local.part.for.a.person@subsidiary.firm.example.org",
    ]
    names = [mailbox_name(address) for address in addresses]
    assert names[0] == names[1] == "ana_at_firm.example"
    assert all(MAILBOX_NAME.fullmatch(name) for name in names), names
    assert len(set(names)) == len(addresses) - 1
