from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build

from introbot.gmail.client import GmailClient
from introbot.gmail.pacing import RetryPolicy
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl

if TYPE_CHECKING:
    from tests.world import World

# The PostgreSQL server and the fixtures that run store-level tests on both engines; the
# container image's install, made without docker.
pytest_plugins = ["tests.postgres", "tests.image"]

# pytest caches the test modules it rewrites for its assertion messages (tests/__pycache__,
# checked against each file's source hash: an edit is never missed), but not when bytecode
# writing is off, as PYTHONDONTWRITEBYTECODE turns it off on some machines: then every
# worker rewrote them all again (~5 s of CPU each). Bytecode is written while pytest
# collects (introbot's modules imported then get Python's usual __pycache__ too), and the
# setting is back as it was before the first test runs.
_DONT_WRITE_BYTECODE = sys.dont_write_bytecode
sys.dont_write_bytecode = False


def pytest_collection_finish(session: pytest.Session) -> None:
    sys.dont_write_bytecode = _DONT_WRITE_BYTECODE
    # The collector of reference cycles, tuned for a test run: what collection loaded
    # (every module, rule and test function) is frozen out of its scans, and it runs after
    # 20,000 new objects rather than 700. The fast lane allocates heavily (mail parsed and
    # written, HTTP on both ends): timed with gc.callbacks, a worker spent 2.1-2.8 s in
    # ~2,300 collections with the defaults, 0.8-0.9 s with these.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


# An xdist worker has sent its last report before Python exits; tearing its heap down after
# that (the parsed sources alone, ~1.5 s) only delays the end of the run, the controller
# waiting for it. Once its session finished, the worker's last exit handler (registered
# first, so run last) flushes what is open and ends the process at once.
_worker_finished: list[bool] = []


def _end_a_finished_worker() -> None:
    if _worker_finished:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if os.environ.get("PYTEST_XDIST_WORKER"):
    atexit.register(_end_a_finished_worker)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _worker_finished.append(True)


FAST_RETRY = RetryPolicy(max_attempts=5, base_delay=0.001, max_delay=0.01)

# The fast lane (`pytest -m "not slow"`) is every test that starts no process: a test not
# marked slow that starts one (subprocess, fork, exec) fails, saying so.
_STARTS_A_PROCESS = frozenset(
    {"subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec", "os.spawn", "os.system"}
)
_running_fast: list[str] = []  # the node id of the running test, when it is not marked slow


def _no_process_in_the_fast_lane(event: str, args: tuple[Any, ...]) -> None:
    if _running_fast and event in _STARTS_A_PROCESS:
        raise RuntimeError(
            f"{_running_fast[0]} starts a process ({event}) but is not marked slow: "
            "mark it @pytest.mark.slow, or drive introbot in this process (tests/cli.py invoke)"
        )


sys.addaudithook(_no_process_in_the_fast_lane)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the PostgreSQL server (tests/postgres.py starts one: a process) is
    slow, whether it asks for ``postgres_server`` or is the ``[postgresql]`` case of the
    ``engine`` parametrisation; its SQLite case stays in the fast lane."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("engine") if callspec else None
        if engine == "postgresql" or "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    fast = item.get_closest_marker("slow") is None
    if fast:
        _running_fast.append(item.nodeid)
    try:
        return (yield)
    finally:
        if fast:
            _running_fast.clear()


def left_out_by_markers(metafunc: pytest.Metafunc) -> bool:
    """Is this test left out of the run by ``-m`` (the fast lane leaves out ``slow``)? Then
    parameters that cost a run to work out are not worth working out. (pytest's own
    matcher, when this pytest has it; otherwise the parameters are worked out.)"""
    expression = metafunc.config.option.markexpr
    if not expression:
        return False
    try:
        from _pytest.mark import MarkMatcher
        from _pytest.mark.expression import Expression

        matcher = MarkMatcher.from_markers(metafunc.definition.iter_markers())
        return not Expression.compile(expression).evaluate(matcher)
    except Exception:
        return False


@pytest.fixture(autouse=True, scope="session")
def _private_config_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests (and the introbot processes they start) never touch the user's config folder."""
    import os

    previous = os.environ.get("INTROBOT_CONFIG_DIR")
    os.environ["INTROBOT_CONFIG_DIR"] = str(tmp_path_factory.mktemp("config"))
    yield
    if previous is None:
        del os.environ["INTROBOT_CONFIG_DIR"]
    else:
        os.environ["INTROBOT_CONFIG_DIR"] = previous


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def control(sandbox: SandboxServer) -> SandboxControl:
    return SandboxControl(sandbox.url)


@pytest.fixture
def service(sandbox: SandboxServer) -> Any:
    """The real googleapiclient Gmail service, pointed at the sandbox."""
    svc = build(
        "gmail",
        "v1",
        static_discovery=True,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": sandbox.url},
    )
    yield svc
    svc.close()


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[GmailClient]:
    gmail = GmailClient.for_sandbox(sandbox.url, retry=FAST_RETRY, timeout=5)
    yield gmail
    gmail.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh introbot config folder for this test (and the processes it starts), with no
    INTROBOT_* setting leaking in from outside."""
    for variable in list(os.environ):
        if variable.startswith("INTROBOT_"):
            monkeypatch.delenv(variable)
    folder = tmp_path / "config"
    monkeypatch.setenv("INTROBOT_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def google(sandbox: SandboxServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> SandboxControl:
    """The sandbox as Gmail *and* as Google's sign-in: the OAuth client file in its usual
    place, signed-in commands sent to the sandbox, and a Gmail API that demands a live
    access token, as Gmail does."""
    import json

    control = SandboxControl(sandbox.url)
    home.mkdir(parents=True, exist_ok=True)
    (home / "credentials.json").write_text(json.dumps(control.client_file()))
    monkeypatch.setenv("INTROBOT_GMAIL_ENDPOINT", sandbox.url)
    control.oauth(require_token=True)
    return control


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A sandbox Gmail and introbot's engine on a fresh database (see tests/world.py)."""
    from tests.world import make_world  # world.py uses this module's FAST_RETRY

    yield from make_world(tmp_path)
