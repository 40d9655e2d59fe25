"""`introbot poll --dry-run` reads Gmail and shows what it would do, and changes nothing:
the sandbox's saved mailbox is byte-identical before and after, and so is the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from introbot.sandbox import SandboxServer
from introbot.settings import Settings
from tests.cli import invoke
from tests.world import ALEX, DANA, REQUEST, World

WRITES = ("create", "modify", "batchModify", "delete", "update", "send", "insert", "trash")


@pytest.fixture
def saved(tmp_path: Path, home: Path) -> Iterator[tuple[World, Path]]:
    """A world whose sandbox saves its mailbox to a file after every change."""
    state = tmp_path / "mailbox.json"
    with SandboxServer(state_file=state) as server:
        world = World(server, tmp_path / "introbot.db", Settings.of("Sam Rivera"))
        try:
            yield world, state
        finally:
            world.close()


def _dump(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return list(db.iterdump())


def _dry_run(world: World, database: Path) -> str:
    result = invoke(
        "poll", "--dry-run", "--sandbox", world.server.url, "--db", str(database),
        "--name", "Sam Rivera",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def _writes(world: World) -> dict[str, int]:
    calls: dict[str, int] = world.control.stats()["by_method"]
    return {m: n for m, n in calls.items() if m.rsplit(".", 1)[-1] in WRITES}


def test_first_run_shows_the_consent_drafts_and_changes_nothing(
    saved: tuple[World, Path], tmp_path: Path
) -> None:
    world, state = saved
    world.request(REQUEST, sender=ALEX)
    mailbox_before = state.read_bytes()
    fresh = tmp_path / "never-created.db"
    world.control.reset_stats()

    shown = _dry_run(world, fresh)

    assert state.read_bytes() == mailbox_before  # the saved mailbox, byte for byte
    assert _writes(world) == {}
    assert not fresh.exists()  # not even an empty database
    assert "nothing was created or changed" in shown
    assert "Would write 2 draft(s):" in shown
    assert "To: Alex Kim <alex.kim@tidepool.io>" in shown
    assert "To: Dana Whitfield <dana@northwind.example>" in shown
    assert "Would create label(s): introbot/awaiting-consent" in shown
    assert '"Could you introduce me to Dana Whitfield?"' in shown
    assert "+introbot/awaiting-consent" in shown

    world.poll()  # what the dry run showed is what a real poll does
    subjects = sorted(d["subject"] for d in world.drafts())
    for subject in subjects:
        assert f"Subject: {subject}" in shown
    assert len(subjects) == 2


@pytest.mark.slow
def test_mid_intro_it_shows_the_joint_draft_and_leaves_the_database_alone(
    saved: tuple[World, Path],
) -> None:
    world, state = saved
    world.request(REQUEST, sender=ALEX)
    world.poll()
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Yes please, happy to meet Dana.")
    world.reply(DANA, "Sure, glad to help.")
    database_before = _dump(world.db)
    mailbox_before = state.read_bytes()

    shown = _dry_run(world, world.db)

    assert _dump(world.db) == database_before
    assert state.read_bytes() == mailbox_before
    assert "Would write 1 draft(s):" in shown
    assert "To: Alex Kim <alex.kim@tidepool.io>, Dana Whitfield <dana@northwind.example>" in (shown)
    assert "requester said yes" in shown and "contact said yes" in shown
    assert "+introbot/ready" in shown and "-introbot/awaiting-consent" in shown

    world.poll()  # the real poll still has all of it to do
    assert [i.stage.value for i in world.intros()] == ["ready"]


def test_an_idle_mailbox_says_so(saved: tuple[World, Path]) -> None:
    world, _ = saved
    world.poll()
    shown = _dry_run(world, world.db)
    assert "Nothing to do." in shown
