"""Replicas: any number of ``introbot run`` processes share one PostgreSQL, and each mailbox
is worked by one of them at a time, through a lease held in the database.

The pure part says which replica should hold each mailbox given what every live replica
serves (:func:`assign`: rendezvous hashing with bounded loads, so the spread is even to one
mailbox, and a replica joining or leaving moves little more than its own share). The
PostgreSQL part keeps, in the shared schema ``introbot``:

- ``introbot.replicas``: one row per live replica, its heartbeat (``expires_at``) and the
  mailboxes it serves, so that every replica plans from the same lists;
- ``introbot.leases``: one row per mailbox: ``holder``, ``token`` (a fencing token that grows
  by one on every takeover) and ``expires_at``, always from the database's clock.

A :class:`Replica` claims what it should hold once the lease is free or lapsed, renews
what it holds, lets go of what another replica should hold, and adopts a mailbox it serves
that no one took for a whole term. Every write transaction of a
leased mailbox's store checks, in that same transaction (:func:`check_fence`, ``SELECT ...
FOR SHARE``), that the token it holds is still the row's and the lease has not lapsed; a
replica that lost its lease (paused past it, cut off) gets :class:`LeaseLost` and writes
nothing, and a takeover waits for a write in progress to commit. The daemon then stops
working that mailbox and goes back to claiming.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from introbot.store.backend import StoreError
from introbot.store.postgres import connect

log = logging.getLogger("introbot")
DEFAULT_LEASE_SECONDS = 30
_BOOTSTRAP_LOCK = 0x1A7B_0002  # two replicas creating the tables at once: one at a time
_TABLES = (
    "CREATE SCHEMA IF NOT EXISTS introbot",
    """CREATE TABLE IF NOT EXISTS introbot.leases (
        mailbox TEXT PRIMARY KEY,
        holder TEXT,
        token BIGINT NOT NULL DEFAULT 0,
        expires_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        taken_at TIMESTAMPTZ
    )""",
    """CREATE TABLE IF NOT EXISTS introbot.replicas (
        id TEXT PRIMARY KEY,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    # What the replica serves (its configured mailboxes), written once: every replica plans
    # the spread from the same lists. NULL: a replica of a version before this column.
    "ALTER TABLE introbot.replicas ADD COLUMN IF NOT EXISTS mailboxes TEXT[]",
)


class LeaseLost(Exception):
    """This replica no longer holds the mailbox's lease (it lapsed, or another replica took
    it over): nothing was written; the daemon stops working the mailbox and claims again."""

    def __init__(self, mailbox: str, why: str) -> None:
        super().__init__(f"the lease on the mailbox {mailbox} is lost ({why}): nothing written")
        self.mailbox = mailbox


# ------------------------------------------------------------------ the pure part
def _weight(replica: str, mailbox: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{replica}\0{mailbox}".encode()).digest()[:8], "big")


def _place(mailbox: str) -> bytes:
    return hashlib.sha256(mailbox.encode()).digest()


def assign(serves: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Every mailbox's replica, from what each live replica serves (its configured mailboxes,
    which differ between replicas during a rollout that adds one).

    Rendezvous hashing with bounded loads: replicas that share a mailbox, directly or through
    others, form a group, and each of its mailboxes, in an order fixed by its hash (those
    fewer replicas serve first), goes to the replica of highest weight for it among those
    that serve it and hold fewer than their share: the group's mailboxes over its replicas,
    rounded up (10 over 2: 5/5; over 4: 3/3/2/2). Where every replica that serves it is
    full, to the least loaded of them: no mailbox a live replica serves is left out. A
    replica joining takes its share, nearly all from the others' (a few move between the
    others: a bounded load is what keeps them even); one leaving hands over mostly its own.
    Every replica that reads the same ``serves`` computes the same answer."""
    servers: dict[str, list[str]] = {}
    for replica in sorted(serves):
        for mailbox in dict.fromkeys(serves[replica]):
            servers.setdefault(mailbox, []).append(replica)
    plan: dict[str, str] = {}
    for replicas, mailboxes in _groups(servers):
        share = -(-len(mailboxes) // len(replicas))  # rounded up
        load = dict.fromkeys(replicas, 0)
        for mailbox in sorted(mailboxes, key=lambda m: (len(servers[m]), _place(m))):
            ranked = sorted(servers[mailbox], key=lambda r: (_weight(r, mailbox), r), reverse=True)
            room = [r for r in ranked if load[r] < share]
            chosen = room[0] if room else min(ranked, key=lambda r: load[r])
            plan[mailbox] = chosen
            load[chosen] += 1
    return plan


def _groups(servers: Mapping[str, Sequence[str]]) -> list[tuple[set[str], list[str]]]:
    """The replicas joined by a mailbox they both serve, with their mailboxes (so that
    replicas serving other teams' mailboxes do not change a group's share)."""
    parent: dict[str, str] = {}

    def root(r: str) -> str:
        while parent.setdefault(r, r) != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for replicas in servers.values():
        for other in replicas[1:]:
            parent[root(other)] = root(replicas[0])
    groups: dict[str, tuple[set[str], list[str]]] = {}
    for mailbox, replicas in servers.items():
        group = groups.setdefault(root(replicas[0]), (set(), []))
        group[0].update(replicas)
        group[1].append(mailbox)
    return list(groups.values())


def wanted(me: str, serves: Mapping[str, Iterable[str]]) -> set[str]:
    """The mailboxes ``me`` should hold, given what every live replica serves (``me`` among
    them)."""
    return {m for m, r in assign(serves).items() if r == me}


@dataclass(frozen=True)
class Lease:
    mailbox: str
    holder: str | None
    token: int
    expires_at: datetime
    live: bool  # unexpired by the database's clock when read


@dataclass
class Fence:
    """What a store's writes for one mailbox are checked against: the token of the lease
    this replica holds (None: none held) and until when, by this process's monotonic clock,
    it may rely on it (a process paused by SIGSTOP finds the clock moved on)."""

    mailbox: str
    holder: str
    token: int | None = None
    valid_until: float = 0.0
    margin: float = 0.0  # seconds before the lease ends that writing stops

    def held(self, now: float | None = None) -> bool:
        moment = time.monotonic() if now is None else now
        return self.token is not None and moment < self.valid_until - self.margin


def check_fence(conn: Any, fence: Fence) -> None:
    """In a write transaction: the mailbox's lease is ours, with our token, unexpired; the
    row stays locked (FOR SHARE) until the transaction ends, so no takeover meets a write
    half done. Raises LeaseLost otherwise (and forgets the token: the next write fails at
    once)."""
    if not fence.held():
        fence.token = None
        raise LeaseLost(fence.mailbox, "it ran out while this replica was not renewing it")
    row = conn.execute(
        "SELECT holder, token, expires_at > now() FROM introbot.leases WHERE mailbox = %s "
        "FOR SHARE",
        (fence.mailbox,),
    ).fetchone()
    if row is None or row[0] != fence.holder or int(row[1]) != fence.token or not row[2]:
        held_by = "nobody" if row is None or row[0] is None else str(row[0])
        fence.token = None
        raise LeaseLost(fence.mailbox, f"token mismatch or lapsed; now held by {held_by}")


class LeaseHeld(Exception):
    """Another process works the mailbox under its lease: a live replica (``introbot run``,
    which keeps it while it runs) or another one-shot command (for a moment)."""

    def __init__(self, mailbox: str, holder: str, until: datetime, replica: bool) -> None:
        when = f"{until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        who = f"the replica {holder}" if replica else f"`introbot {command_of(holder)}` ({holder})"
        super().__init__(
            f"{who} works the mailbox {mailbox} under its lease, until {when}"
            + (" and renewed while it runs" if replica else "")
        )
        self.mailbox = mailbox
        self.holder = holder
        self.until = until
        self.replica = replica
        self.who = who


# ------------------------------------------------------------- the PostgreSQL part
def replica_name() -> str:
    """This process, for people: host, pid and a few random characters (a pid is reused)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaseBoard:
    """The leases and replicas tables, on a connection of their own (autocommit)."""

    def __init__(self, url: str, me: str, seconds: float) -> None:
        self.url = url
        self.me = me
        self.seconds = seconds
        self.conn: Any = None
        self._serves: dict[str, tuple[str, ...] | None] = {}

    def _connection(self) -> Any:
        if self.conn is None or self.conn.closed or self.conn.broken:
            conn = connect(self.url, "introbot-leases")
            # No lease call waits longer than a third of a term (a lock held by a write in
            # progress, a server that stalls): it fails, is logged, and the next round retries.
            bound = f"{max(100, int(self.seconds * 1000 / 3))}ms"
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (bound,))
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (bound,))
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_BOOTSTRAP_LOCK,))
                for statement in _TABLES:
                    conn.execute(statement)
            self.conn = conn
        return self.conn

    def heartbeat(self, mailboxes: Sequence[str]) -> dict[str, tuple[str, ...] | None]:
        """Say this replica is live for another lease term, serving ``mailboxes``; the live
        replicas (with it) and what each serves (None: a replica that does not say)."""
        conn = self._connection()
        renewed = conn.execute(
            "UPDATE introbot.replicas SET expires_at = now() + make_interval(secs => %s) "
            "WHERE id = %s AND mailboxes IS NOT NULL",
            (self.seconds, self.me),
        ).rowcount
        if not renewed:  # the first heartbeat: the list goes in once, not every round
            conn.execute(
                "INSERT INTO introbot.replicas (id, expires_at, mailboxes) VALUES "
                "(%s, now() + make_interval(secs => %s), %s) ON CONFLICT (id) DO UPDATE "
                "SET expires_at = excluded.expires_at, mailboxes = excluded.mailboxes",
                (self.me, self.seconds, list(mailboxes)),
            )
        live = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM introbot.replicas WHERE expires_at > now() ORDER BY id"
            ).fetchall()
        ]
        unknown = [r for r in live if r not in self._serves]
        if unknown:  # a replica's list never changes: each is read once
            for rid, served in conn.execute(
                "SELECT id, mailboxes FROM introbot.replicas WHERE id = ANY(%s)", (unknown,)
            ).fetchall():
                self._serves[str(rid)] = None if served is None else tuple(served)
        self._serves = {r: self._serves.get(r) for r in live}  # the gone forgotten
        return dict(self._serves)

    def unclaimed(self, mailboxes: Sequence[str]) -> list[str]:
        """Those of ``mailboxes`` that no one has held for a whole lease term (let go or
        lapsed that long ago, or never claimed): the replica meant to take them is not."""
        rows = (
            self._connection()
            .execute(
                "SELECT m FROM unnest(%s::text[]) AS m LEFT JOIN introbot.leases l "
                "ON l.mailbox = m WHERE l.mailbox IS NULL "
                "OR l.expires_at < now() - make_interval(secs => %s)",
                (list(mailboxes), self.seconds),
            )
            .fetchall()
        )
        return [str(r[0]) for r in rows]

    def claim(self, mailbox: str) -> int | None:
        """The lease on ``mailbox`` if it is free, lapsed or already ours: its token (one
        more than the last holder's on a takeover). None: another replica holds it, or is
        writing under it right now."""
        conn = self._connection()
        conn.execute(
            "INSERT INTO introbot.leases (mailbox) VALUES (%s) ON CONFLICT DO NOTHING",
            (mailbox,),
        )
        with conn.transaction():
            row = conn.execute(
                "SELECT holder, token, expires_at > now() FROM introbot.leases "
                "WHERE mailbox = %s FOR UPDATE SKIP LOCKED",
                (mailbox,),
            ).fetchone()
            if row is None or (row[2] and row[0] != self.me):
                return None
            taken = conn.execute(
                "UPDATE introbot.leases SET holder = %s, expires_at = now() + "
                "make_interval(secs => %s), token = token + (CASE WHEN %s THEN 0 ELSE 1 END), "
                "taken_at = CASE WHEN %s THEN taken_at ELSE now() END "
                "WHERE mailbox = %s RETURNING token",
                (self.me, self.seconds, bool(row[2]), bool(row[2]), mailbox),
            ).fetchone()
            return int(taken[0])

    def renew(self, mailbox: str, token: int) -> bool:
        """Another lease term, if the lease is still ours with this token and unexpired."""
        row = (
            self._connection()
            .execute(
                "UPDATE introbot.leases SET expires_at = now() + make_interval(secs => %s) "
                "WHERE mailbox = %s AND holder = %s AND token = %s AND expires_at > now() "
                "RETURNING token",
                (self.seconds, mailbox, self.me, token),
            )
            .fetchone()
        )
        return row is not None

    def release(self, mailbox: str, token: int) -> None:
        """Let go at once (a stop, a rebalance): the next claimer need not wait it out."""
        self._connection().execute(
            "UPDATE introbot.leases SET holder = NULL, expires_at = now() "
            "WHERE mailbox = %s AND holder = %s AND token = %s",
            (mailbox, self.me, token),
        )

    def lease(self, mailbox: str) -> Lease | None:
        """The mailbox's lease as the database has it now."""
        row = (
            self._connection()
            .execute(
                "SELECT mailbox, holder, token, expires_at, expires_at > now() "
                "FROM introbot.leases WHERE mailbox = %s",
                (mailbox,),
            )
            .fetchone()
        )
        return Lease(row[0], row[1], int(row[2]), row[3], bool(row[4])) if row else None

    def leave(self) -> None:
        self._connection().execute("DELETE FROM introbot.replicas WHERE id = %s", (self.me,))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def read_leases(url: str) -> tuple[list[Lease], list[str]]:
    """Every mailbox's lease and the live replicas, creating nothing (for ``doctor``)."""
    with connect(url, "introbot-doctor") as conn:
        found = conn.execute("SELECT to_regclass('introbot.leases')").fetchone()
        if found is None or found[0] is None:
            return [], []
        rows = conn.execute(
            "SELECT mailbox, holder, token, expires_at, expires_at > now() "
            "FROM introbot.leases ORDER BY mailbox"
        ).fetchall()
        live = conn.execute(
            "SELECT id FROM introbot.replicas WHERE expires_at > now() ORDER BY id"
        ).fetchall()
    return [Lease(r[0], r[1], int(r[2]), r[3], bool(r[4])) for r in rows], [r[0] for r in live]


def read_plan(url: str) -> dict[str, str]:
    """Mailbox -> the replica the live replicas' lists give it, as each replica plans it."""
    with connect(url, "introbot-doctor") as conn:
        found = conn.execute("SELECT to_regclass('introbot.replicas')").fetchone()
        if found is None or found[0] is None:
            return {}
        rows = conn.execute(
            "SELECT id, mailboxes FROM introbot.replicas "
            "WHERE expires_at > now() AND mailboxes IS NOT NULL"
        ).fetchall()
    return assign({str(r[0]): tuple(r[1]) for r in rows})


class Replica:
    """One ``introbot run`` among others: keeps the fences of its mailboxes up to date from
    a thread of its own that every third of a lease term heartbeats, renews what it holds,
    lets go of what another live replica should now hold, and claims what it should."""

    def __init__(self, url: str, mailboxes: Sequence[str], seconds: float) -> None:
        self.me = replica_name()
        self.seconds = float(seconds)
        self.board = LeaseBoard(url, self.me, self.seconds)
        self.fences = {m: Fence(m, self.me, margin=self.seconds / 3) for m in mailboxes}
        self.working = {m: threading.Lock() for m in mailboxes}  # held during a poll
        self.adopted: dict[str, str] = {}  # mailbox -> the replica the plan named when taken
        self.idle: dict[str, tuple[str, float]] = {}  # not held here: (meant for, since)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="introbot-leases", daemon=True)

    def start(self) -> None:
        self._round()  # the first claims before the first poll
        self._thread.start()

    def stop(self) -> None:
        """Let go of every lease (another replica takes over at once) and leave."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.seconds)
        for mailbox, fence in self.fences.items():
            with self.working[mailbox]:
                if fence.token is not None:
                    self._quietly(self.board.release, mailbox, fence.token)
                    fence.token = None
        self._quietly(self.board.leave)
        self.board.close()

    def _quietly(self, call: Callable[..., object], *args: object) -> None:
        try:
            call(*args)
        except Exception as exc:  # the server is gone: the lease lapses by itself
            log.warning("lease bookkeeping failed why=%r", str(exc))

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self._round()
            except Exception as exc:  # PostgreSQL restarting: the next round reconnects
                log.warning("leases unreachable why=%r; retrying", str(exc).splitlines()[0])
                self.board.close()
                self.board.conn = None

    def _round(self) -> None:
        started = time.monotonic()
        live = self.board.heartbeat(list(self.fences))
        serves = {r: served for r, served in live.items() if served is not None}
        serves[self.me] = tuple(self.fences)
        plan = assign(serves)
        mine = {m for m in self.fences if plan.get(m) == self.me}
        for mailbox, fence in self.fences.items():
            if mailbox in mine:
                self.adopted.pop(mailbox, None)
            if fence.token is not None:
                kept = mailbox in mine or self.adopted.get(mailbox) == plan.get(mailbox)
                if not self.board.renew(mailbox, fence.token):
                    log.warning("lease_lost mailbox=%s token=%d", mailbox, fence.token)
                    fence.token = None
                    self.adopted.pop(mailbox, None)
                elif not kept and self.working[mailbox].acquire(blocking=False):
                    try:  # another live replica should hold it: hand it over between polls
                        self.board.release(mailbox, fence.token)
                        log.info("lease_released mailbox=%s for=%s", mailbox, plan.get(mailbox))
                        fence.token = None
                        self.adopted.pop(mailbox, None)
                    finally:
                        self.working[mailbox].release()
                    continue
                else:
                    fence.valid_until = started + self.seconds
                    continue
            if mailbox in mine:
                self._take(mailbox, started)
        self._adopt(plan, mine, started)

    def _take(self, mailbox: str, started: float) -> bool:
        token = self.board.claim(mailbox)
        if token is None:
            return False
        fence = self.fences[mailbox]
        fence.token, fence.valid_until = token, started + self.seconds
        log.info("lease_taken mailbox=%s token=%d", mailbox, token)
        return True

    def _adopt(self, plan: Mapping[str, str], mine: set[str], now: float) -> None:
        """Take what this replica serves that nobody has held for a whole term although the
        plan has named the same live replica for it all that while (one of a version that
        plans otherwise, one whose claims fail): served here until the plan names another."""
        before = self.idle
        self.idle = {}
        for mailbox, fence in self.fences.items():
            if fence.token is None and mailbox not in mine:
                meant = plan.get(mailbox, self.me)
                seen = before.get(mailbox)
                self.idle[mailbox] = seen if seen and seen[0] == meant else (meant, now)
        due = [m for m, (_, since) in self.idle.items() if now - since >= self.seconds]
        for mailbox in self.board.unclaimed(due) if due else []:
            if self._take(mailbox, now):
                meant = self.idle.pop(mailbox)[0]
                self.adopted[mailbox] = meant
                log.warning(
                    "lease_adopted mailbox=%s meant_for=%s (no one took it in %d s)",
                    mailbox,
                    meant,
                    self.seconds,
                )

    def holds(self, mailbox: str) -> bool:
        return self.fences[mailbox].held()

    def guard(self, mailbox: str, poll: Callable[[], None]) -> Callable[[], None]:
        """``poll`` run only while this replica holds the mailbox; a lease lost on the way
        ends that poll quietly (its writes were refused) and the mailbox is claimed again."""

        def leased_poll() -> None:
            with self.working[mailbox]:
                if not self.holds(mailbox):
                    return
                try:
                    poll()
                except LeaseLost as exc:
                    log.warning("lease_lost mailbox=%s why=%r", mailbox, str(exc))

        return leased_poll


@contextmanager
def replicas(
    url: str, mailboxes: Sequence[str], seconds: float = DEFAULT_LEASE_SECONDS
) -> Iterator[Replica]:
    """A started :class:`Replica`, stopped (its leases let go) on the way out."""
    replica = Replica(url, mailboxes, seconds)
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()


@dataclass
class Leased:
    """The daemon's polls, each under its mailbox's lease where the store is PostgreSQL."""

    polls: list[Callable[[], None]]
    replicas: list[Replica]

    def owned(self) -> dict[str, bool]:
        """Mailbox -> whether this process holds its lease now (for /metrics)."""
        return {m: r.holds(m) for r in self.replicas for m in r.fences}


def under_leases(
    stack: ExitStack, works: Sequence[tuple[Any, Callable[[], None]]], seconds: float
) -> Leased:
    """The daemon's hook: for each (store backend, poll) the poll to schedule. An SQLite
    store's as it is (one process, file locks); a PostgreSQL one's run only under its lease,
    by one :class:`Replica` per database (started here, stopped with ``stack``), its
    store's writes fenced by the lease's token."""
    polls = [poll for _, poll in works]
    by_url: dict[str, list[int]] = {}
    for n, (db, _) in enumerate(works):
        if getattr(db, "dialect", None) == "postgresql":
            by_url.setdefault(db.url, []).append(n)
    started = []
    for url, indexes in by_url.items():
        names = [works[n][0].mailbox for n in indexes]
        replica = stack.enter_context(replicas(url, names, seconds))
        started.append(replica)
        log.info("replica=%s mailboxes=%d lease_seconds=%d", replica.me, len(indexes), seconds)
        for n in indexes:
            db = works[n][0]
            db.fence = replica.fences[db.mailbox]
            polls[n] = replica.guard(db.mailbox, polls[n])
    return Leased(polls, started)


def describe_lease(lease: Lease | None, live: Sequence[str]) -> tuple[bool, str]:
    """For ``doctor``: (all is well, what the mailbox's lease says)."""
    replicas_live = f"{len(live)} replica(s) live" + (f" ({', '.join(live[:5])})" if live else "")
    if lease is None or (lease.holder is None and not lease.live):
        return True, f"not held by any replica; {replicas_live}"
    until = f"{lease.expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if lease.live:
        return True, f"held by {lease.holder} (token {lease.token}) until {until}; {replicas_live}"
    if lease.holder is None:
        return True, f"let go at {until} (token {lease.token}); {replicas_live}"
    if live:
        return False, (
            f"lapsed at {until}: {lease.holder} stopped renewing it (token {lease.token}); "
            f"a live replica takes it over within a lease term; {replicas_live}"
        )
    return True, f"lapsed at {until}, last held by {lease.holder}; no replica is running"


def lease_of(url: str, mailbox: str) -> tuple[bool, str]:
    """What the mailbox's lease says in the database at ``url`` (creating nothing)."""
    leases, live = read_leases(url)
    found = next((lease for lease in leases if lease.mailbox == mailbox), None)
    return describe_lease(found, live)


# ------------------------------------------------------------ one-shot commands
def command_holder(command: str) -> str:
    """The lease holder a one-shot command writes as: ``poll@host-pid-abc123``."""
    return f"{command}@{replica_name()}"


def command_of(holder: str) -> str:
    """The command a one-shot holder names (``poll``), or ``run`` for a replica's."""
    command, at, _ = holder.partition("@")
    return command if at and command else "run"


@contextmanager
def command_lease(db: Any, command: str, seconds: float, wait: float = 0.0) -> Iterator[Fence]:
    """A one-shot command (``poll``, ``decide``...) works a PostgreSQL mailbox as a replica
    does: under the mailbox's lease, claimed for the command's run, renewed from a thread
    of its own every third of a term while it runs, let go at the end, its token fencing
    every write of ``db`` (the store's backend), so a command whose lease lapsed (paused,
    cut off) writes nothing. A live replica holding the lease keeps it while it runs:
    :class:`LeaseHeld` at once. Another one-shot command holding it is waited for up to
    ``wait`` seconds."""
    me = command_holder(command)
    board = LeaseBoard(db.url, me, seconds)
    try:
        try:
            token, started = _claim_for_command(board, db.mailbox, wait)
        except db.errors as exc:  # the server failed or stalled (a lease call's timeout)
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(
                f"cannot take the lease on {db.where} ({why}); run the command again"
            ) from None
        fence = Fence(db.mailbox, me, token, started + seconds, margin=seconds / 3)
        db.fence = fence
        stop = threading.Event()
        renewer = threading.Thread(
            target=_keep_renewing, args=(board, fence, stop), name="introbot-lease", daemon=True
        )
        renewer.start()
        try:
            yield fence
        finally:
            stop.set()
            renewer.join()
            db.fence = None
            if fence.token is not None:
                with contextlib.suppress(Exception):  # the server is gone: it lapses by itself
                    board.release(db.mailbox, fence.token)
    finally:
        board.close()


def _claim_for_command(board: LeaseBoard, mailbox: str, wait: float) -> tuple[int, float]:
    """The lease's token once claimed, and when (monotonic) the claim was asked; LeaseHeld
    at once for a live replica, after ``wait`` for another command."""
    deadline = time.monotonic() + wait
    while True:
        started = time.monotonic()
        token = board.claim(mailbox)
        if token is not None:
            return token, started
        lease = board.lease(mailbox)
        if lease is not None and lease.holder is not None and lease.live:
            replica = command_of(lease.holder) == "run"
            if replica or time.monotonic() >= deadline:
                raise LeaseHeld(mailbox, lease.holder, lease.expires_at, replica)
        elif time.monotonic() >= deadline + board.seconds:  # locked by a write in progress
            holder = lease.holder if lease and lease.holder else "another introbot"
            raise LeaseHeld(mailbox, holder, datetime.now(UTC), replica=False)
        time.sleep(0.1)


def _keep_renewing(board: LeaseBoard, fence: Fence, stop: threading.Event) -> None:
    """A one-shot command's lease, renewed every third of a term until ``stop``; lost (the
    command's next write fails) when the database says it is no longer ours."""
    while not stop.wait(board.seconds / 3):
        token = fence.token
        if token is None:
            return
        started = time.monotonic()
        try:
            if not board.renew(fence.mailbox, token):
                log.warning("lease_lost mailbox=%s token=%d", fence.mailbox, token)
                fence.token = None
                return
        except Exception as exc:  # unreachable for a moment: the fence runs out by itself
            log.warning("lease renewal failed why=%r", str(exc).splitlines()[0])
            board.close()
            board.conn = None
            continue
        fence.valid_until = started + board.seconds
