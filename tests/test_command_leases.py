"""One-shot commands on a PostgreSQL store that replicas share (issue 16): `poll`, `decide`,
`cancel` and `ask-again` work the mailbox under its lease, as a replica does, their writes
fenced by its token; while a live replica holds it, `poll` refuses and says who and what to
do, and `decide`, `cancel` and `ask-again` are recorded for that replica's next poll. A real
PostgreSQL server and the sandbox."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from click.testing import Result

from introbot.leases import LeaseBoard, LeaseHeld, LeaseLost, command_lease
from introbot.model import Consent, Stage
from tests.cli import invoke
from tests.postgres import PostgresServer
from tests.test_store_cli import world
from tests.world import ALEX, DANA, World

__all__ = ["world"]  # the fixture: a sandbox world whose store is a PostgreSQL mailbox

DANA_AGAIN = (
    "Hi Sam,\n\nA second thought, from another side: might you put me in touch with Dana "
    "Whitfield (dana@northwind.example)? Our next product could interest her.\n\nAlex"
)


@contextlib.contextmanager
def live_replica(server: PostgresServer, name: str) -> Iterator[LeaseBoard]:
    """A replica named ``name``, live (it heartbeat, serving nothing) for the block; it
    leaves after."""
    board = LeaseBoard(server.url, name, 60)
    board.heartbeat([])
    try:
        yield board
    finally:
        board.leave()
        board.close()


# ------------------------------------------------------------ the lease itself
def test_a_command_holds_the_lease_while_it_runs_and_lets_go_after(
    postgres_server: PostgresServer,
) -> None:
    store = postgres_server.location().open()
    watcher = LeaseBoard(postgres_server.url, "watcher", 30)
    try:
        mailbox = store.db.mailbox  # type: ignore[attr-defined]
        with command_lease(store.db, "decide", 30) as fence:
            lease = watcher.lease(mailbox)
            assert lease is not None and lease.live
            assert lease.holder == fence.holder and lease.holder.startswith("decide@")
            store.set_meta("written", "under the lease")  # fenced by its token
        lease = watcher.lease(mailbox)
        assert lease is not None and lease.holder is None and not lease.live
        assert store.db.fence is None  # type: ignore[attr-defined]
        store.set_meta("after", "no lease needed by an open store")  # the fence is gone
    finally:
        watcher.close()
        store.close()


def test_a_command_whose_lease_was_taken_over_writes_nothing(
    postgres_server: PostgresServer,
) -> None:
    store = postgres_server.location().open()
    mailbox = store.db.mailbox  # type: ignore[attr-defined]
    try:
        with live_replica(postgres_server, "pod-b") as rival:
            with command_lease(store.db, "poll", 30):
                store.set_meta("first", "1")
                # The command was paused past its lease (forced here); a replica took over.
                rival._connection().execute(
                    "UPDATE introbot.leases SET expires_at = now() - interval '1 second' "
                    "WHERE mailbox = %s",
                    (mailbox,),
                )
                assert rival.claim(mailbox) is not None
                with pytest.raises(LeaseLost):
                    store.set_meta("second", "2")
            lease = rival.lease(mailbox)
            assert lease is not None and lease.holder == "pod-b" and lease.live  # not let go
        assert (store.get_meta("first"), store.get_meta("second")) == ("1", None)
    finally:
        store.close()


def test_a_replica_or_another_command_holding_the_lease_is_named(
    postgres_server: PostgresServer,
) -> None:
    location = postgres_server.location()
    store, other = location.open(), location.open()  # two commands' connections
    mailbox = location.mailbox
    try:
        with live_replica(postgres_server, "pod-a") as replica:
            token = replica.claim(mailbox)
            with pytest.raises(LeaseHeld) as held, command_lease(store.db, "poll", 30, wait=5):
                pass
            replica.release(mailbox, token or 0)
        assert held.value.replica and held.value.holder == "pod-a"
        assert str(held.value).startswith(f"the replica pod-a works the mailbox {mailbox} under")
        assert "until 20" in str(held.value) and "renewed while it runs" in str(held.value)
        assert store.db.fence is None  # type: ignore[attr-defined]

        with (
            command_lease(other.db, "cancel", 30),
            pytest.raises(LeaseHeld) as busy,
            command_lease(store.db, "decide", 30, wait=0),
        ):
            pass
        assert not busy.value.replica
        assert str(busy.value).startswith("`introbot cancel` (cancel@")
    finally:
        store.close()
        other.close()


# ------------------------------------------------------------ the commands
@pytest.fixture
def unclear(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The PostgreSQL mailbox with an intro whose contact answered unclearly (Sam decides),
    and the commands pointed at it (--store, the mailbox by environment)."""
    world.asked()
    world.reply(ALEX, "Yes please, that would be great.")
    world.reply(DANA, "Maybe. I need to ask my team first.")
    world.poll()
    assert world.only_intro().contact.consent is Consent.UNCLEAR
    _, environ = world.store_options()
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return world


def _cli(world: World, *args: str) -> Result:
    options, _ = world.store_options()
    return invoke(*args, "--sandbox", world.server.url, *options, "--name", "Sam Rivera")


@contextlib.contextmanager
def _replica_working(server: PostgresServer, world: World) -> Iterator[tuple[LeaseBoard, int]]:
    """The live replica pod-a holding the world's mailbox's lease, and its token; it stops
    after."""
    assert world.location is not None
    with live_replica(server, "pod-a") as replica:
        token = replica.claim(world.location.mailbox)
        assert token is not None
        yield replica, token


def _joint_drafts(world: World) -> list[dict[str, object]]:
    return [d for d in world.drafts() if str(d["subject"]).startswith("Intro:")]


def test_while_a_replica_works_the_mailbox_poll_refuses_and_decide_is_its_to_apply(
    unclear: World, postgres_server: PostgresServer
) -> None:
    world = unclear
    mailbox = world.location.mailbox  # type: ignore[union-attr]
    intro = world.only_intro()
    world.control.reset_stats()
    with _replica_working(postgres_server, world) as (replica, token):
        polled = _cli(world, "poll")
        assert polled.exit_code == 2, polled.output
        assert f"the replica pod-a works the mailbox {mailbox} under its lease, until" in (
            polled.stderr
        )
        assert "its polls do what `introbot poll` would" in polled.stderr
        assert "`introbot doctor` says who holds the mailbox" in polled.stderr

        decided = _cli(world, "decide", intro.id, "contact", "yes")
        assert decided.exit_code == 0, decided.output
        assert f"intro {intro.id}: queued, since the replica pod-a is working on this" in (
            decided.stdout
        )
        assert "its next poll acts on it" in decided.stdout
        by_method = world.control.stats()["by_method"]
        assert not [m for m in by_method if m.endswith(("create", "modify", "update", "delete"))]
        world.store.close()
        world.store = world.open_store()
        assert len(world.store.pending_commands()) == 1
        assert world.only_intro().contact.consent is Consent.UNCLEAR  # not acted on here

        lease = replica.lease(mailbox)
        assert lease is not None and (lease.holder, lease.token) == ("pod-a", token)
        replica.release(mailbox, token)  # the replica stops; a command may now work it

    polled = _cli(world, "poll")  # under the lease now free: applies the queued decision
    assert polled.exit_code == 0, polled.stderr
    world.store.close()
    world.store = world.open_store()
    assert world.only_intro().stage is Stage.READY
    assert world.store.pending_commands() == []
    assert len(_joint_drafts(world)) == 1
    watcher = LeaseBoard(postgres_server.url, "watcher", 30)
    try:
        after = watcher.lease(mailbox)
    finally:
        watcher.close()
    assert after is not None and after.holder is None and after.token == token + 1
    again = _cli(world, "poll")
    assert again.exit_code == 0 and len(_joint_drafts(world)) == 1  # drafted once


def test_cancel_and_ask_again_beside_a_replica_are_recorded_for_it(
    unclear: World, postgres_server: PostgresServer
) -> None:
    world = unclear
    intro = world.only_intro()
    second = world.request(DANA_AGAIN, subject="Dana, once more?")["threadId"]
    world.poll()  # the same pair under way: set aside until Sam says
    assert [t for t, _ in world.store.problem_threads()] == [second]
    with _replica_working(postgres_server, world) as (replica, token):
        cancelled = _cli(world, "cancel", intro.id)
        assert cancelled.exit_code == 0, cancelled.output
        assert "queued, since the replica pod-a is working on this mailbox" in cancelled.stdout
        asked = _cli(world, "ask-again", second)
        assert asked.exit_code == 0, asked.output
        assert f"thread {second}: recorded, since the replica pod-a is working" in asked.stdout
        assert "its next poll asks again" in asked.stdout
        replica.release(world.location.mailbox, token)  # type: ignore[union-attr]
    world.poll()  # the replica's next poll, as any poll of this store
    intros = {i.request.thread_id: i for i in world.intros()}
    assert intros[intro.request.thread_id].stage is Stage.CANCELLED
    assert intros[second].stage is Stage.ASKING
