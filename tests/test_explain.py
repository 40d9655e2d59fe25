"""`introbot explain`, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
SEED = Path(__file__).parent.parent / "introbot" / "sandbox" / "seed"


def _explain(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "introbot", "explain", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.slow
def test_reply_json_is_exactly_one_object_of_the_documented_shape() -> None:
    done = _explain("reply", str(CORPUS / "replies/yes/001-happy-to.eml"), "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer == {
        "verdict": "yes",
        "evidence": 'yes ("yes", "happy to"); the rest is preference',
        "text": "Yes, happy to! Email is the best way to reach me.",
        "sender": {"email": "dana@northwind.example", "authenticated": True},
    }


@pytest.mark.slow
def test_reply_report_for_people() -> None:
    path = next((CORPUS / "replies/bounce").glob("*gmail-address-not-found.eml"))
    done = _explain("reply", str(path))
    out = done.stdout.decode()
    assert done.returncode == 0
    assert "verdict:   bounce" in out
    assert "failed:    dana@northwind.example" in out


@pytest.mark.slow
def test_reply_from_stdin_and_exit_zero_whatever_the_verdict() -> None:
    path = next((CORPUS / "replies/unclear").glob("*forged-yes.eml"))
    done = _explain("reply", "-", "--json", stdin=path.read_bytes())
    assert done.returncode == 0
    answer = json.loads(done.stdout)
    assert answer["verdict"] == "unclear"
    assert answer["sender"]["authenticated"] is False


@pytest.mark.slow
def test_request_json() -> None:
    done = _explain(
        "request",
        str(SEED / "02-forwarded-request.eml"),
        "--me",
        "connector@example.com",
        "--in-sent",  # the connector forwarded it: it is in their Sent mail
        "--json",
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"intros", "problems"}
    (intro,) = answer["intros"]
    assert intro["requester"] == {"name": "Maria Santos", "email": "maria@solstice.energy"}
    assert intro["contact"] == {"name": "Jordan Lee", "email": "jordan@greenfield.vc"}
    assert "community solar" in intro["context"]
    assert answer["problems"] == []


@pytest.mark.slow
def test_request_problems_in_the_report() -> None:
    done = _explain("request", str(SEED / "04-newsletter.eml"), "--me", "connector@example.com")
    out = done.stdout.decode()
    assert done.returncode == 0
    assert "intros:    none" in out
    assert "problem:   this looks like a newsletter" in out


@pytest.mark.slow
def test_not_mail_is_a_clear_error_with_exit_2(tmp_path: Path) -> None:
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    done = _explain("reply", str(picture))
    assert done.returncode == 2
    assert b"is not an email message" in done.stderr
    assert b"Traceback" not in done.stderr
    missing = _explain("request", str(tmp_path / "nope.eml"), "--me", "a@b.example")
    assert missing.returncode == 2
    assert b"cannot read" in missing.stderr


@pytest.mark.slow
def test_request_needs_me() -> None:
    done = _explain("request", str(SEED / "01-alex-asks-for-dana.eml"))
    assert done.returncode == 2
    assert b"--me" in done.stderr


@pytest.mark.slow
def test_broken_rules_are_reported(tmp_path: Path) -> None:
    (tmp_path / "phrases").mkdir()
    (tmp_path / "phrases" / "en.toml").write_text("language = 'en'\n[consent]\nyes = 1\n")
    done = _explain("reply", str(CORPUS / "replies/yes/001-happy-to.eml"), "--rules", str(tmp_path))
    assert done.returncode == 2
    assert b"en.toml" in done.stderr and b"consent.yes" in done.stderr


@pytest.mark.slow
def test_sent_message_lines_are_not_read_as_the_reply(tmp_path: Path) -> None:
    path = next((CORPUS / "replies/yes").glob("*pasted-prompt.eml"))
    cases = json.loads((CORPUS / "replies.json").read_text())
    consent = next(c["sent"] for c in cases if c["file"].endswith(path.name))
    without = json.loads(_explain("reply", str(path), "--json").stdout)
    assert without["verdict"] == "unclear"  # the pasted prompt says both yes and no
    sent = tmp_path / "consent.txt"
    sent.write_text(consent)
    with_sent = json.loads(_explain("reply", str(path), "--json", "--sent", str(sent)).stdout)
    assert with_sent["verdict"] == "yes"
    assert with_sent["text"] == "yes!"


def test_an_account_brings_its_own_phrases_and_addresses(home: Path) -> None:
    from tests.cli import invoke

    reply = CORPUS / "replies/yes/001-happy-to.eml"
    assert invoke("explain", "reply", str(reply), "--json").exit_code == 0
    assert invoke("init", "--account", "work", "--address", "alex.kim@tidepool.io").exit_code == 0
    english = home / "accounts" / "work" / "rules" / "phrases" / "en.toml"
    # This account counts "reach me" as a hedge: the account's own phrases are used.
    english.write_text(english.read_text().replace("hedges = [", 'hedges = [\n  "reach me",', 1))
    mine = json.loads(invoke("explain", "reply", str(reply), "--json", "--account", "work").stdout)
    assert mine["verdict"] == "unclear"
    # With no --me, the account's own addresses are never made a party.
    request = invoke("explain", "request", str(SEED / "01-alex-asks-for-dana.eml"), "--json",
                     "--account", "work")  # fmt: skip
    assert request.exit_code == 0, request.stderr
    parties = json.loads(request.stdout)["intros"]
    assert all("alex.kim@tidepool.io" not in json.dumps(p["requester"]) for p in parties)


@pytest.mark.slow
def test_reply_report_explains_every_clause_and_reads_a_requester_in_parts() -> None:
    raw = (
        b"Authentication-Results: mx.google.com; dmarc=pass header.from=tidepool.io\r\n"
        b"From: Alex Kim <alex@tidepool.io>\r\nTo: connector@example.com\r\n"
        b"Subject: Re: Your intro to Dana Whitfield\r\n\r\n"
        b"Yes please! We'd love twenty minutes on the first pilot.\r\n"
    )
    as_contact = _explain("reply", "-", stdin=raw)
    assert b"verdict:   unclear" in as_contact.stdout
    assert b"left over | We'd love twenty minutes" in as_contact.stdout
    as_requester = _explain("reply", "-", "--as", "requester", stdin=raw)
    assert b"verdict:   yes" in as_requester.stdout, as_requester.stdout
    assert b"note for the contact:\n  | We'd love twenty minutes on the first pilot." in (
        as_requester.stdout
    )
