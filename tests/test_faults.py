"""Gmail faults and the connector's surprises, end to end against the sandbox."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from introbot.daemon import run_forever
from introbot.gmail.errors import AuthExpired, GmailUnavailable
from introbot.model import Consent, Stage
from tests.world import ALEX, DANA, REQUEST, World


def test_bursts_of_errors_are_ridden_out(world: World) -> None:
    world.request(REQUEST)
    world.control.add_faults(
        {"method": "*", "status": 429, "count": 3},
        {"method": "drafts.create", "status": 503, "count": 2},
        {"method": "messages.get", "status": 500, "count": 2},
    )
    world.poll()
    assert len(world.drafts()) == 2
    assert world.control.stats()["faults_injected"] == 7


def test_a_persistent_fault_stops_the_pass_and_the_next_one_resumes(world: World) -> None:
    world.request(REQUEST)
    world.control.add_faults({"method": "drafts.create", "status": 503, "count": 1000})
    with pytest.raises(GmailUnavailable, match=r"drafts\.create"):
        world.poll()
    assert world.drafts() == []
    assert world.store.cursor() is None  # nothing was skipped over
    world.control.clear_faults()
    world.poll()
    assert len(world.drafts()) == 2
    assert len(world.intros()) == 1


def test_expired_history_means_a_full_resync_and_nothing_twice(world: World) -> None:
    world.asked()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.control.expire_history()
    report = world.poll()
    assert report.full_sync
    assert world.only_intro().stage is Stage.READY
    assert len(world.intros()) == 1
    assert len(world.drafts()) == 1  # just the joint draft
    world.control.expire_history()
    world.poll()
    assert len(world.drafts()) == 1


def test_a_label_deleted_in_gmail_comes_back(world: World) -> None:
    request = world.request(REQUEST)
    world.poll()
    labels = world.client.labels()
    waiting = next(lab for lab in labels if lab.name == "introbot/awaiting-consent")
    world.gmail.labels().delete(userId="me", id=waiting.id).execute()
    world.send_drafts()
    world.poll()  # nothing to relabel yet
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    assert "introbot/ready" in world.thread_labels(request["threadId"])
    ready = next(lab for lab in world.client.labels() if lab.name == "introbot/ready")
    world.gmail.labels().delete(userId="me", id=ready.id).execute()
    world.send_drafts()
    world.poll()  # the stale "ready" id is refused: labels are looked up again
    assert "introbot/introduced" in world.thread_labels(request["threadId"])


def test_a_renamed_label_keeps_working(world: World) -> None:
    request = world.request(REQUEST)
    world.poll()
    waiting = next(lab for lab in world.client.labels() if lab.name == "introbot/awaiting-consent")
    world.gmail.labels().patch(
        userId="me", id=waiting.id, body={"name": "Intros/waiting"}
    ).execute()
    world.send_drafts()
    world.poll()
    world.reply(ALEX, "Yes please.")
    world.reply(DANA, "Yes, happy to.")
    world.poll()
    labels = world.thread_labels(request["threadId"])
    assert "introbot/ready" in labels and "Intros/waiting" not in labels


@pytest.mark.parametrize("how", ["trash", "delete"])
def test_a_request_thread_thrown_away_cancels_its_intro(world: World, how: str) -> None:
    request = world.asked()
    threads = world.gmail.threads()
    if how == "trash":
        threads.trash(userId="me", id=request["threadId"]).execute()
    else:
        threads.delete(userId="me", id=request["threadId"]).execute()
    world.poll()
    assert world.only_intro().stage is Stage.CANCELLED


def test_a_draft_sent_to_an_edited_address_follows_the_connector(world: World) -> None:
    world.request(REQUEST)
    world.poll()
    draft = world.draft_to("dana@northwind.example")
    raw = world.control.raw(draft["messageId"]).replace(
        b"dana@northwind.example", b"dana.w@northwind.example"
    )
    body = {
        "message": {"raw": base64.urlsafe_b64encode(raw).decode(), "threadId": draft["threadId"]}
    }
    world.gmail.drafts().update(userId="me", id=draft["id"], body=body).execute()
    world.poll()
    world.send_drafts()
    world.poll()
    contact = world.only_intro().contact
    assert contact.person.email == "dana.w@northwind.example"
    world.reply(ALEX, "Yes please.")
    world.reply("Dana Whitfield <dana.w@northwind.example>", "Yes, happy to.")
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.READY
    assert "dana.w@northwind.example" in world.draft_to("alex.kim@tidepool.io")["to"]


def test_a_deleted_reply_thread_still_lets_introbot_answer(world: World) -> None:
    request = world.asked()
    world.reply(ALEX, "Yes please.")
    world.gmail.threads().delete(userId="me", id=request["threadId"]).execute()
    world.reply(DANA, "No thanks.", to_message=world.sent_to("dana@northwind.example"))
    world.poll()
    intro = world.only_intro()
    assert intro.stage in (Stage.CANCELLED, Stage.DECLINED)


# ------------------------------------------------------------------- sign-in
@pytest.mark.slow
def test_a_revoked_sign_in_stops_the_poll_and_keeps_the_state(world: World) -> None:
    world.asked()
    cursor = world.store.cursor()
    from introbot.engine import Engine
    from introbot.gmail.client import GmailClient
    from introbot.rules import load_rules
    from tests.test_client import _expired_credentials, _TokenEndpoint

    handler = type(
        "Revoked",
        (_TokenEndpoint,),
        {
            "answer": (
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        },
    )
    from http.server import HTTPServer

    endpoint = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=endpoint.serve_forever, args=(0.005,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{endpoint.server_address[1]}/token"
        client = GmailClient(_expired_credentials(url), world.server.url)
        engine = Engine(client, world.store, world.settings, load_rules())
        with pytest.raises(AuthExpired, match="introbot auth"):
            engine.poll(world.now)
        assert world.store.cursor() == cursor
        assert world.only_intro().contact.consent is Consent.ASKED
    finally:
        endpoint.shutdown()
        endpoint.server_close()


@pytest.mark.slow
def test_the_daemon_waits_slowly_after_a_revoked_sign_in(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def poll() -> None:
        calls.append(time.monotonic())
        raise AuthExpired("Token has been expired or revoked.")

    stop = threading.Event()
    timer = threading.Timer(2.5, stop.set)
    timer.start()
    with caplog.at_level("ERROR", logger="introbot"):
        run_forever(poll, interval=0.5, stop=stop)
    assert len(calls) == 1  # no crash loop: the next try is minutes away
    assert "Run `introbot auth` again" in caplog.text


# -------------------------------------------------------------- two copies
@pytest.mark.slow
def test_a_second_copy_on_the_same_mailbox_refuses(world: World, tmp_path: Path) -> None:
    world.request(REQUEST)
    args = [
        sys.executable,
        "-m",
        "introbot",
        "run",
        "--sandbox",
        world.server.url,
        "--interval",
        "1",
    ]
    first = subprocess.Popen(
        [*args, "--db", str(tmp_path / "one.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(world.drafts()) < 2:
            time.sleep(0.1)
        second = subprocess.run(
            [sys.executable, "-m", "introbot", "poll", "--sandbox", world.server.url, "--db", str(tmp_path / "two.db")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 2
        assert "already working on the mailbox connector@example.com" in second.stderr
        assert len(world.drafts()) == 2  # nothing drafted twice
    finally:
        first.terminate()
        first.communicate(timeout=30)
