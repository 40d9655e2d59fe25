"""A Workspace domain's mailboxes in PostgreSQL, end to end: an account whose config.toml
lists two mailboxes, signs in as each with the domain's service account (the sandbox's JWT
bearer grant) and keeps their records in one PostgreSQL database (`[store] url`), each
mailbox in a schema of its own. `introbot run --all` works intros in both, each under its
lease, nothing of one visible in the other; `doctor --mailbox` checks one mailbox's Gmail,
store and lease. A real PostgreSQL server and the sandbox."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from introbot.app import mailbox_name
from introbot.config import Account
from introbot.leases import read_leases
from introbot.model import Stage
from introbot.paths import config_dir
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, compose_reply
from introbot.store import SCHEMA_VERSION, Store, StoreLocation
from introbot.store.schema import tables
from tests.cli import INTROBOT, invoke
from tests.postgres import PostgresServer
from tests.test_command_leases import live_replica
from tests.test_doctor import lines
from tests.test_many_mailboxes import _drafts, _request, _until

ANA = "ana@firm.example"
BEN = "ben@firm.example"
ANA_PAIR = ("rosa@r.example", "karl@k.example")
BEN_PAIR = ("sven@s.example", "tara@t.example")


@dataclass
class Firm:
    """The domain's Gmail (the sandbox), the database, and the account that serves both."""

    gmail: SandboxControl
    server: PostgresServer
    account: Account

    def store(self, address: str) -> StoreLocation:
        return StoreLocation.postgres(
            self.server.url, mailbox_name(address), config_dir() / "locks"
        )


def _forget(server: PostgresServer, *addresses: str) -> None:
    """The mailboxes gone from the shared test database (another test may have used the
    same names): their schemas, registry rows and leases."""
    import psycopg

    names = [mailbox_name(a) for a in addresses]
    with psycopg.connect(server.url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "introbot_{name}" CASCADE')
        for table, column in (("mailboxes", "name"), ("leases", "mailbox")):
            found = conn.execute(f"SELECT to_regclass('introbot.{table}')").fetchone()
            if found is not None and found[0] is not None:
                conn.execute(f"DELETE FROM introbot.{table} WHERE {column} = ANY(%s)", (names,))


@pytest.fixture
def firm(home: Path, tmp_path: Path, postgres_server: PostgresServer) -> Iterator[Firm]:
    """The account 'firm' set up as the README's team section says, in its config.toml."""
    _forget(postgres_server, ANA, BEN)
    with SandboxServer(user=[ANA, BEN]) as sandbox:
        control = SandboxControl(sandbox.url)
        control.oauth(require_token=True)
        account = Account.named("firm")
        account.folder.mkdir(parents=True)
        key = account.folder / "service-account.json"
        key.write_text(json.dumps(control.service_account(domains=["firm.example"])))
        account.config_file.write_text(
            f'[connector]\nname = "Firm Connector"\n\n[gmail]\nendpoint = "{sandbox.url}"\n\n'
            f'[workspace]\nservice_account_key = "service-account.json"\n'
            f'mailboxes = ["{ANA}", "{BEN}"]\n\n[store]\nurl = "{postgres_server.url}"\n'
        )
        yield Firm(control, postgres_server, account)
    _forget(postgres_server, ANA, BEN)


def _everyone_says_yes(control: SandboxControl) -> None:
    """The connector sends introbot's drafts; each one's recipient answers yes."""
    for draft in _drafts(control):
        control.send_draft(draft["id"])
    for sent in control.mailbox()["messages"]:
        if "SENT" in sent["labelIds"]:
            to = sent["headers"]["To"]
            answer = compose_reply(sent, to, "Yes, glad to be introduced.", at=datetime.now(UTC))
            control.deliver(answer)


def _joint(control: SandboxControl) -> list[dict[str, Any]]:
    return [d for d in _drafts(control) if str(d["subject"]).startswith("Intro:")]


def _every_value(store: Store) -> str:
    """Every row of every table of a mailbox's store, as one text to search."""
    return "\n".join(
        repr(tuple(row))
        for table in tables()
        for row in store.db.execute(f"SELECT * FROM {table}").fetchall()
    )


@pytest.mark.slow  # starts introbot as a process
def test_run_all_works_each_mailbox_in_its_own_schema_under_its_lease(firm: Firm) -> None:
    ana, ben = firm.gmail.of(ANA), firm.gmail.of(BEN)
    _request(ana, ANA, *ANA_PAIR)
    _request(ben, BEN, *BEN_PAIR)
    daemon = subprocess.Popen(
        [*INTROBOT, "run", "--all", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(lambda: len(_drafts(ana)) >= 2 and len(_drafts(ben)) >= 2, "both asks", 60)
        leases, _ = read_leases(firm.server.url)
        held = {lease.mailbox: lease for lease in leases if lease.live}
        assert {mailbox_name(ANA), mailbox_name(BEN)} <= set(held)  # each worked under one
        for control in (ana, ben):  # each connector sends the asks; both parties say yes
            _everyone_says_yes(control)
        _until(lambda: bool(_joint(ana)) and bool(_joint(ben)), "both intros", 60)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, err
    assert f"introbot is watching Gmail for 2 mailboxes ({ANA}, {BEN}" in out
    assert not (firm.account.folder / "introbot.db").exists()  # nothing went to SQLite
    assert not list(firm.account.folder.glob("introbot-*.db"))

    # Each mailbox drafted its own intro, once, to its own pair.
    for control, pair in ((ana, ANA_PAIR), (ben, BEN_PAIR)):
        (joint,) = _joint(control)
        assert all(address in f"{joint['to']} {joint.get('cc') or ''}" for address in pair)

    # Each schema holds its mailbox's records only: nothing of one is in the other.
    stores = {address: firm.store(address).open() for address in (ANA, BEN)}
    try:
        for address, pair, others in ((ANA, ANA_PAIR, BEN_PAIR), (BEN, BEN_PAIR, ANA_PAIR)):
            store = stores[address]
            assert store.get_meta("address") == address
            (intro,) = store.intros()
            assert intro.requester.person.email == pair[0] and intro.stage is Stage.READY
            everything = _every_value(store).lower()
            assert not [other for other in (*others, ANA if address == BEN else BEN)
                        if other in everything]  # fmt: skip
    finally:
        for store in stores.values():
            store.close()

    # The leases were let go on the way out; the one-mailbox commands read each schema.
    leases, live = read_leases(firm.server.url)
    mine = [lease for lease in leases if lease.mailbox in (mailbox_name(ANA), mailbox_name(BEN))]
    assert len(mine) == 2 and all(lease.holder is None and lease.token >= 1 for lease in mine)
    assert live == []
    listed = invoke("list", "--account", "firm", "--mailbox", BEN, "--json")
    assert listed.exit_code == 0, listed.output
    assert [i["requester"]["email"] for i in json.loads(listed.stdout)["intros"]] == [BEN_PAIR[0]]


def test_doctor_with_mailbox_checks_its_schema_and_lease_in_postgresql(firm: Firm) -> None:
    where = firm.store(ANA).describe()
    before = lines(invoke("doctor", "--account", "firm", "--mailbox", ANA))
    assert before["sign-in"] == [f"ok the service account may act as {ANA}"]
    assert before["gmail"][0].startswith(f"ok {ANA}: ")
    (database,) = before["database"]
    assert database.startswith(f"ok {where} on PostgreSQL ")
    assert database.endswith("the mailbox will be created by the first poll")
    assert before["lease"][0].startswith("ok not held by any replica")

    _request(firm.gmail.of(ANA), ANA, *ANA_PAIR)
    assert invoke("poll", "--account", "firm", "--mailbox", ANA).exit_code == 0
    with live_replica(firm.server, "pod-a") as replica:
        token = replica.claim(mailbox_name(ANA))
        after = lines(invoke("doctor", "--account", "firm", "--mailbox", ANA))
    (database,) = after["database"]
    assert database.startswith(f"ok {where} on PostgreSQL ")
    assert database.endswith(f": schema {SCHEMA_VERSION}, 1 intro(s)")
    assert after["lease"][0].startswith(f"ok held by pod-a (token {token}) until 20")
    assert "gmail" in after and after["gmail"][0].startswith("ok ")


def test_doctor_without_mailbox_counts_the_stores_in_one_look(firm: Firm) -> None:
    first = lines(invoke("doctor", "--account", "firm"))
    assert len(first["sign-in"]) == 2
    (database,) = first["database"]
    assert database.endswith(": 0 of the 2 mailboxes have a store; the others are created by "
                             "their first poll")  # fmt: skip
    assert invoke("poll", "--account", "firm", "--mailbox", BEN).exit_code == 0
    (database,) = lines(invoke("doctor", "--account", "firm"))["database"]
    assert ": 1 of the 2 mailboxes have a store" in database

    store = firm.store(BEN).open()
    try:  # one of them written by a newer introbot: named, with the fix
        store.db.execute(
            "UPDATE introbot.mailboxes SET schema_version = ? WHERE name = ?",
            (SCHEMA_VERSION + 1, mailbox_name(BEN)),
        )
    finally:
        store.close()
    newer = invoke("doctor", "--account", "firm")
    assert newer.exit_code == 1
    (database,) = lines(newer)["database"]
    assert database.startswith("FAIL ") and f"mailboxes {mailbox_name(BEN)} were written" in (
        database
    )
    assert database.endswith("upgrade introbot")
