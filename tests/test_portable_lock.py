"""The one-writer locks are the operating system's own (through portalocker, so they work
on Linux, macOS and Windows): the holder's pid and command are readable beside the lock,
waiting helps only against a short-lived holder, and a dead holder's lock is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from introbot.daemon import DAEMON, AlreadyRunning, single_instance
from tests import sources


def test_the_holder_is_named_and_its_note_goes_with_the_lock(tmp_path: Path) -> None:
    database = tmp_path / "introbot.db"
    note = tmp_path / "introbot.db.lock.holder"
    with single_instance(database, "decide"):
        assert note.read_text() == f"{os.getpid()} decide"
        with pytest.raises(AlreadyRunning) as refused:
            single_instance(database, "poll").__enter__()
        assert refused.value.pid == str(os.getpid()) and refused.value.role == "decide"
        assert f"pid {os.getpid()}, `introbot decide`" in str(refused.value)
    assert not note.exists()
    with single_instance(database, "poll"):  # free again
        pass


def test_a_daemon_is_not_waited_for_but_a_short_command_is(tmp_path: Path) -> None:
    database = tmp_path / "introbot.db"
    with single_instance(database, DAEMON):
        started = time.monotonic()
        with pytest.raises(AlreadyRunning) as refused:
            single_instance(database, "poll", wait=30).__enter__()
        assert refused.value.daemon and time.monotonic() - started < 5
    with single_instance(database, "decide"):
        started = time.monotonic()
        with pytest.raises(AlreadyRunning):
            single_instance(database, "poll", wait=0.1).__enter__()
        assert time.monotonic() - started >= 0.1


@pytest.mark.slow
def test_a_killed_holder_leaves_no_lock(tmp_path: Path) -> None:
    database = tmp_path / "introbot.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from introbot.daemon import "
            "single_instance\nwith single_instance(Path(sys.argv[1]), 'run'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(AlreadyRunning) as refused:
        single_instance(database, "poll").__enter__()
    assert refused.value.pid == str(holder.pid) and refused.value.daemon
    holder.kill()
    holder.wait()
    with single_instance(database, "poll"):  # the system dropped it with its holder
        pass


def test_no_module_of_introbot_needs_a_posix_only_import() -> None:
    """fcntl, termios, pwd and grp do not exist on Windows: importing any would refuse it."""
    posix_only = {"fcntl", "termios", "pwd", "grp", "resource"}
    found = [
        f"{source.relative_to(sources.PACKAGE)}: {name}"
        for source in sources.package_files()
        for name in sources.imported(source)
        if name in posix_only
    ]
    assert not found
