"""Windows, as far as Linux can show it. This project's CI runs on Linux only, so these tests
run introbot in a process made to lack what Windows lacks: the POSIX-only modules (fcntl,
pwd, grp, resource, termios) cannot be imported, the os functions Windows has none of
(os.fchmod before Python 3.13, os.getloadavg, os.fork...) are gone, and the signal module
holds only the signals Windows has. Every module imports there, and the demo and a poll run
there. Paths come from platformdirs; a file mode is no permission on Windows."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import platformdirs
import pytest

import introbot
from introbot.gmail.auth import write_private
from introbot.paths import config_dir, readable_by_others
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, seed_messages
from tests import sources

ROOT = Path(introbot.__file__).parent
POSIX_ONLY_MODULES = ("fcntl", "pwd", "grp", "resource", "termios")
# What Python's signal module holds on Windows (besides the SIG_DFL/SIG_IGN handlers).
WINDOWS_SIGNALS = ("SIGABRT", "SIGBREAK", "SIGFPE", "SIGILL", "SIGINT", "SIGSEGV", "SIGTERM")
# os functions that Windows' Python lacks (os.fchmod until 3.13; introbot supports 3.11).
POSIX_ONLY_OS = (
    "fchmod", "fchown", "chown", "lchown", "getloadavg", "getuid", "geteuid", "getgid",
    "getegid", "fork", "forkpty", "killpg", "setsid", "getpgid", "uname", "nice", "sync",
    "statvfs", "mkfifo", "getpwnam",
)  # fmt: skip

# Run first in the process: from then on it lacks what Windows lacks. The libraries that pick
# a backend per platform when imported (portalocker: msvcrt and pywin32 on Windows, fcntl
# here; platformdirs: the Windows folders there, os.getuid here) are imported before, as
# they are: on Windows they take their Windows branch.
AS_ON_WINDOWS = textwrap.dedent(
    f"""
    import os, signal, sys
    import platformdirs, portalocker
    BLOCKED = {POSIX_ONLY_MODULES!r}
    for name in BLOCKED:
        sys.modules.pop(name, None)

    class NotOnWindows:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (as on Windows)", name=name)
            return None

    sys.meta_path.insert(0, NotOnWindows())
    for name in [n for n in dir(signal) if n.startswith("SIG") and "_" not in n]:
        if name not in {WINDOWS_SIGNALS!r}:
            delattr(signal, name)
    for name in ("pthread_sigmask", "pthread_kill", "alarm", "setitimer", "siginterrupt"):
        if hasattr(signal, name):
            delattr(signal, name)
    for name in {POSIX_ONLY_OS!r}:
        if hasattr(os, name):
            delattr(os, name)
    """
)


def _as_on_windows(
    code: str, tmp_path: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INTROBOT_CONFIG_DIR": str(tmp_path / "config"), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", AS_ON_WINDOWS + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.slow  # runs Python in a process of its own
def test_the_simulation_takes_away_what_windows_lacks(tmp_path: Path) -> None:
    """The process really lacks them (else the tests below could not fail)."""
    done = _as_on_windows(
        """
        import importlib, os, signal
        for name in ("fcntl", "pwd", "grp", "resource", "termios"):
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:
                print("no", name)
        print("fchmod" if hasattr(os, "fchmod") else "no fchmod")
        print("SIGHUP" if hasattr(signal, "SIGHUP") else "no SIGHUP")
        print("SIGINT" if hasattr(signal, "SIGINT") else "no SIGINT")
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout.splitlines()
    assert said == [*(f"no {m}" for m in POSIX_ONLY_MODULES), "no fchmod", "no SIGHUP", "SIGINT"]


@pytest.mark.slow  # imports every module of introbot in a process of its own
def test_every_module_imports_without_what_windows_lacks(tmp_path: Path) -> None:
    done = _as_on_windows(
        """
        import importlib, pkgutil
        import introbot
        every = pkgutil.walk_packages(introbot.__path__, "introbot.")
        names = [m.name for m in every if m.name != "introbot.__main__"]  # that one runs
        for name in names:
            importlib.import_module(name)
        print(len(names), "modules")
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    count = len([p for p in ROOT.rglob("*.py") if p.name != "__main__.py"]) - 1  # introbot
    assert done.stdout.strip() == f"{count} modules"


@pytest.mark.slow  # runs Python in a process of its own
def test_saving_a_sign_in_and_taking_the_lock_work_without_what_windows_lacks(
    tmp_path: Path,
) -> None:
    done = _as_on_windows(
        f"""
        from pathlib import Path
        from introbot.daemon import single_instance
        from introbot.gmail.auth import write_private
        from introbot.paths import readable_by_others
        token = Path({str(tmp_path / "token.json")!r})
        write_private(token, "{{}}")
        with single_instance(Path({str(tmp_path / "introbot.db")!r}), "poll"):
            print("locked", token.read_text(), readable_by_others(token))
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["locked", "{}", "None"]


@pytest.mark.slow  # the demo, then a poll, each in a process of its own
def test_the_demo_and_a_poll_run_without_what_windows_lacks(
    tmp_path: Path, sandbox: SandboxServer, control: SandboxControl
) -> None:
    demo = _as_on_windows(
        """
        import sys
        from introbot.cli import main
        sys.argv = ["introbot", "demo"]
        main()
        """,
        tmp_path,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Messages sent by introbot: 0" in demo.stdout and "Traceback" not in demo.stderr

    (request,) = [raw for name, raw in seed_messages() if name.startswith("01")]
    control.label_thread(control.deliver(request)["threadId"], add=("intro-request",))
    polled = _as_on_windows(
        f"""
        import sys
        from introbot.cli import main
        sys.argv = ["introbot", "poll", "--sandbox", {sandbox.url!r}, "--name", "Sam"]
        main()
        """,
        tmp_path,
    )
    assert polled.returncode == 0, polled.stderr
    assert "intro opened: Alex Kim" in polled.stdout
    assert len(control.mailbox()["drafts"]) == 2


# ----------------------------------------------------------- read from the source
def _attributes_of(module: str) -> set[str]:
    """Every ``module.NAME`` that introbot's code reads."""
    found: set[str] = set()
    for source in sources.package_files():
        for node in sources.nodes(source):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == module
            ):
                found.add(node.attr)
    return found


def test_signal_handling_uses_only_signals_windows_has() -> None:
    """SIGINT and SIGTERM; any other signal must be looked up guarded (getattr(signal,
    "SIGHUP", None)), which this does not count."""
    named = {a for a in _attributes_of("signal") if a.startswith("SIG") and "_" not in a}
    assert named <= set(WINDOWS_SIGNALS) and named >= {"SIGINT", "SIGTERM"}, named


def test_os_functions_windows_lacks_are_used_only_behind_a_check() -> None:
    """os.fchmod, os.getloadavg...: each use sits behind ``hasattr(os, NAME)``."""
    unguarded = []
    for source in ROOT.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for name in POSIX_ONLY_OS:
            if f"os.{name}(" in text and f'hasattr(os, "{name}")' not in text:
                unguarded.append(f"{source.relative_to(ROOT)}: os.{name}")
    assert not unguarded


def test_paths_come_from_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTROBOT_CONFIG_DIR", raising=False)
    assert config_dir() == platformdirs.user_config_path("introbot")
    # No module but paths.py decides where files go: no home folder, no hard-coded place.
    places = ("Path.home", 'os.path.expanduser("~', "/.config", "AppData", "Application Support")
    for source in ROOT.rglob("*.py"):
        if source.name == "paths.py" and source.parent == ROOT:
            continue
        text = source.read_text(encoding="utf-8")
        assert not [p for p in places if p in text], source


def test_a_file_mode_is_checked_on_posix_and_is_no_permission_on_windows(tmp_path: Path) -> None:
    token = tmp_path / "token.json"
    write_private(token, "{}")
    assert readable_by_others(token) is None  # 0600 here
    token.chmod(0o644)
    assert readable_by_others(token, posix=True) == 0o644
    # On Windows st_mode says 0666 for any writable file: no reason to refuse it.
    assert readable_by_others(token, posix=False) is None


def test_the_github_workflow_runs_the_readmes_test_command_on_three_systems() -> None:
    """Ready for when the repository is pushed: the same command as the README's, on Ubuntu,
    macOS and Windows (where the virtual environment's programs are in Scripts/)."""
    top = ROOT.parent
    readme = (top / "README.md").read_text(encoding="utf-8")
    workflow = (top / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    (command,) = [line for line in readme.splitlines() if line.endswith("-m pytest")]
    (ran,) = [line.strip() for line in workflow.splitlines() if line.endswith("-m pytest")]
    assert ran.replace('"$bin/', ".venv/bin/").replace('"', "") == command.replace(
        "python3 -m venv", "python -m venv"
    )
    assert "os: [ubuntu-latest, macos-latest, windows-latest]" in workflow
    assert "bin=.venv/Scripts" in workflow
